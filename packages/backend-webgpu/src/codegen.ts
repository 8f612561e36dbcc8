/**
 * WGSL code generation shared by the kernels: storage bindings with chunk-aware accessors, the
 * uniform parameter block, and linear workgroup ids for grids larger than one dispatch dimension.
 *
 * A tensor larger than one storage binding is held as several buffers ("chunks") of `chunkElems`
 * elements each. A kernel never indexes a binding directly; it calls `NAME_ld(i)` / `NAME_st(i, v)`
 * with a flat element index, and for a one-chunk tensor (the common case) the accessor is a plain
 * array access. Pipelines are specialised (and cached) by the chunk counts of their arguments.
 */
import { type DType, isHalf } from '@sea/tensor';

/**
 * Storage of a tensor in WGSL. 16-bit floats come in three forms: `f16` (an `array<f16>`, where the
 * device has `shader-f16`), `f16p` and `bf16p` (two halves packed in each u32 word, on every
 * adapter: `unpack2x16float` reads f16, shifts read bfloat16, the high half of an f32). The
 * accessors of every 16-bit form read and write f32, so kernels compute in f32 and only storage is
 * 16-bit.
 */
export type WgslType = 'f32' | 'i32' | 'u32' | 'f16' | 'f16p' | 'bf16p';

/** A float dtype of this backend (float32 or one of the 16-bit ones). */
export function isFloatDType(dtype: DType): boolean {
  return dtype === 'float32' || isHalf(dtype);
}

/** Bytes per element on the GPU. */
export function gpuBytesPerElement(dtype: DType): number {
  return isHalf(dtype) ? 2 : 4;
}

/**
 * Storage type of a dtype on the GPU: bool is stored as one u32 per element; float16 as `f16` when
 * the device computes in f16 (`nativeF16`), packed in u32 words otherwise; bfloat16 always packed.
 */
export function wgslType(dtype: DType, nativeF16 = false): WgslType {
  switch (dtype) {
    case 'float32':
      return 'f32';
    case 'int32':
      return 'i32';
    case 'bool':
      return 'u32';
    case 'float16':
      return nativeF16 ? 'f16' : 'f16p';
    case 'bfloat16':
      return 'bf16p';
    default:
      throw new Error(`dtype ${dtype} has no WGSL storage type`);
  }
}

/** The WGSL type kernels compute a storage type's values in (16-bit storage reads as f32). */
export function computeType(t: WgslType): 'f32' | 'i32' | 'u32' {
  return t === 'i32' ? 'i32' : t === 'u32' ? 'u32' : 'f32';
}

const isPacked = (t: WgslType) => t === 'f16p' || t === 'bf16p';

/**
 * Conversions between f32 and the 16-bit formats, round to nearest even: out-of-range values
 * become ±∞ and NaN stays NaN (WGSL leaves both undefined for pack2x16float and f16()), f16
 * subnormals are kept.
 */
export const HALF_WGSL = `
fn f16_bits(v: f32) -> u32 {
  let b = bitcast<u32>(v);
  let s = (b >> 16u) & 0x8000u;
  let a = b & 0x7fffffffu;
  if (a > 0x7f800000u) { return s | 0x7e00u; }
  if (a >= 0x477ff000u) { return s | 0x7c00u; }
  if (a >= 0x38800000u) {
    let r = a - 0x38000000u;
    return s | ((r + 0xfffu + ((r >> 13u) & 1u)) >> 13u);
  }
  if (a <= 0x33000000u) { return s; }
  let m = (a & 0x7fffffu) | 0x800000u;
  let sh = 126u - (a >> 23u);
  var r = m >> sh;
  let rem = m - (r << sh);
  let half = 1u << (sh - 1u);
  if (rem > half || (rem == half && (r & 1u) == 1u)) { r += 1u; }
  return s | r;
}
fn bf16_bits(v: f32) -> u32 {
  let b = bitcast<u32>(v);
  if ((b & 0x7fffffffu) > 0x7f800000u) { return ((b >> 16u) | 0x40u) & 0xffffu; }
  return (b + 0x7fffu + ((b >> 16u) & 1u)) >> 16u;
}
fn f16_pair(v: vec2<f32>) -> u32 { return f16_bits(v.x) | (f16_bits(v.y) << 16u); }
fn bf16_pair(v: vec2<f32>) -> u32 { return bf16_bits(v.x) | (bf16_bits(v.y) << 16u); }
fn bf16_unpack(w: u32) -> vec2<f32> { return vec2<f32>(bitcast<f32>(w << 16u), bitcast<f32>(w & 0xffff0000u)); }
`;

/** WGSL enabling f16 and defining the conversions, for code whose bindings include 16-bit types. */
export function halfPrelude(types: readonly WgslType[]): string {
  const parts: string[] = [];
  if (types.includes('f16')) parts.push('enable f16;');
  if (types.some((t) => t === 'f16' || isPacked(t))) parts.push(HALF_WGSL);
  return parts.join('\n');
}

export interface BindingSpec {
  name: string;
  type: WgslType;
  chunks: number;
  /** Read-write (outputs) or read-only (inputs). */
  write: boolean;
  /** Bound as array<vec4<T>> (then the accessors are NAME_ld4 / NAME_st4 over vec4 indices). */
  vec4?: boolean;
  /**
   * A packed 16-bit output written only in whole words (NAME_st2 over pairs): bound as plain u32
   * instead of atomic<u32>, which single-element stores into a shared word need.
   */
  pairs?: boolean;
}

/**
 * Binding declarations and accessor functions for a list of tensors; bindings start at `first`.
 *
 * Accessors take flat element indices and move f32 for every float storage type (i32 and u32
 * otherwise): `NAME_ld(i)`, `NAME_st(i, v)`; with `vec4`, `NAME_ld4(q)` / `NAME_st4(q, v)` over
 * vec4 indices; for 16-bit types also `NAME_ld2(p)` and (outputs) `NAME_st2(p, v: vec2<f32>)` over
 * pair indices p (elements 2p, 2p+1). A packed output written by single elements is an
 * `array<atomic<u32>>`: `NAME_st` replaces its half of the word with two atomic operations, so
 * neighbouring threads never lose each other's halves.
 */
export function declareBindings(specs: readonly BindingSpec[], chunkElems: number, first = 0): string {
  const lines: string[] = [];
  let binding = first;
  for (const s of specs) {
    const packed = isPacked(s.type);
    const atomic = packed && s.write && !s.vec4 && !s.pairs;
    let el: string;
    if (s.type === 'f16') el = s.vec4 ? 'vec4<f16>' : 'f16';
    else if (packed) el = s.vec4 ? 'vec2<u32>' : atomic ? 'atomic<u32>' : 'u32';
    else el = s.vec4 ? `vec4<${s.type}>` : s.type;
    const access = s.write ? 'read_write' : 'read';
    for (let c = 0; c < s.chunks; c++) {
      lines.push(`@group(0) @binding(${binding++}) var<storage, ${access}> ${s.name}_${c}: array<${el}>;`);
    }
    const ct = computeType(s.type);
    const f16 = s.type === 'f16p';
    // Accessor bodies over chunk array `a` and the index `r` within the chunk.
    const fns: { name: string; sig: string; per: number; body: (a: string) => string; write: boolean }[] = [];
    const word = (a: string, w: string) => (atomic ? `atomicLoad(&${a}[${w}])` : `${a}[${w}]`);
    const unpack = (w: string) => (f16 ? `unpack2x16float(${w})` : `bf16_unpack(${w})`);
    const bits = f16 ? 'f16_bits' : 'bf16_bits';
    const pair = f16 ? 'f16_pair' : 'bf16_pair';
    if (s.vec4) {
      let ld: (a: string) => string;
      let st: (a: string) => string;
      if (s.type === 'f16') {
        ld = (a) => `return vec4<f32>(${a}[r]);`;
        st = (a) =>
          `${a}[r] = vec4<f16>(bitcast<vec2<f16>>(f16_pair(v.xy)), bitcast<vec2<f16>>(f16_pair(v.zw)));`;
      } else if (packed) {
        ld = (a) => `let w = ${a}[r]; return vec4<f32>(${unpack('w.x')}, ${unpack('w.y')});`;
        st = (a) => `${a}[r] = vec2<u32>(${pair}(v.xy), ${pair}(v.zw));`;
      } else {
        ld = (a) => `return ${a}[r];`;
        st = (a) => `${a}[r] = v;`;
      }
      fns.push({ name: 'ld4', sig: `(i: u32) -> vec4<${ct}>`, per: chunkElems / 4, body: ld, write: false });
      fns.push({ name: 'st4', sig: `(i: u32, v: vec4<${ct}>)`, per: chunkElems / 4, body: st, write: true });
    } else {
      let ld: (a: string) => string;
      let st: (a: string) => string;
      if (s.type === 'f16') {
        ld = (a) => `return f32(${a}[r]);`;
        st = (a) => `${a}[r] = bitcast<vec2<f16>>(f16_bits(v)).x;`;
      } else if (packed) {
        ld = (a) => `return ${unpack(word(a, 'r >> 1u'))}[r & 1u];`;
        st = atomic
          ? (a) =>
              `let sh = (r & 1u) * 16u; atomicAnd(&${a}[r >> 1u], ~(0xffffu << sh)); atomicOr(&${a}[r >> 1u], ${bits}(v) << sh);`
          : (a) =>
              `let sh = (r & 1u) * 16u; ${a}[r >> 1u] = (${a}[r >> 1u] & ~(0xffffu << sh)) | (${bits}(v) << sh);`;
      } else {
        ld = (a) => `return ${a}[r];`;
        st = (a) => `${a}[r] = v;`;
      }
      fns.push({ name: 'ld', sig: `(i: u32) -> ${ct}`, per: chunkElems, body: ld, write: false });
      fns.push({ name: 'st', sig: `(i: u32, v: ${ct})`, per: chunkElems, body: st, write: true });
      if (s.type === 'f16' || packed) {
        // Pair accessors: pair p is elements 2p and 2p+1 (chunks hold an even number of elements).
        let ld2: (a: string) => string;
        let st2: (a: string) => string;
        if (s.type === 'f16') {
          ld2 = (a) => `return vec2<f32>(f32(${a}[2u * r]), f32(${a}[2u * r + 1u]));`;
          st2 = (a) =>
            `let h = bitcast<vec2<f16>>(f16_pair(v)); ${a}[2u * r] = h.x; ${a}[2u * r + 1u] = h.y;`;
        } else {
          ld2 = (a) => `return ${unpack(word(a, 'r'))};`;
          st2 = atomic ? (a) => `atomicStore(&${a}[r], ${pair}(v));` : (a) => `${a}[r] = ${pair}(v);`;
        }
        fns.push({ name: 'ld2', sig: '(i: u32) -> vec2<f32>', per: chunkElems / 2, body: ld2, write: false });
        fns.push({ name: 'st2', sig: '(i: u32, v: vec2<f32>)', per: chunkElems / 2, body: st2, write: true });
      }
    }
    for (const fn of fns) {
      if (fn.write && !s.write) continue;
      if (s.chunks === 1) {
        lines.push(`fn ${s.name}_${fn.name}${fn.sig} { let r = i; ${fn.body(`${s.name}_0`)} }`);
        continue;
      }
      const cases = Array.from({ length: s.chunks }, (_, c) =>
        c === s.chunks - 1
          ? `    default: { ${fn.body(`${s.name}_${c}`)} }`
          : `    case ${c}u: { ${fn.body(`${s.name}_${c}`)} }`,
      ).join('\n');
      lines.push(
        `fn ${s.name}_${fn.name}${fn.sig} {\n  let c = i / ${fn.per}u; let r = i - c * ${fn.per}u;\n  switch c {\n${cases}\n  }\n}`,
      );
    }
  }
  return lines.join('\n');
}

/** The uniform parameter block: `pu(i)` reads word i as u32, `pi(i)` as i32, `pf(i)` as f32. */
export function declareParams(words: number, binding: number): string {
  const n = Math.max(1, Math.ceil(words / 4));
  return [
    `@group(0) @binding(${binding}) var<uniform> prm: array<vec4<u32>, ${n}>;`,
    'fn pu(i: u32) -> u32 { return prm[i >> 2u][i & 3u]; }',
    'fn pi(i: u32) -> i32 { return bitcast<i32>(pu(i)); }',
    'fn pf(i: u32) -> f32 { return bitcast<f32>(pu(i)); }',
    // WGSL rejects non-finite constants; a `var` makes these runtime values.
    'fn inf_f32() -> f32 { var b = 0x7f800000u; return bitcast<f32>(b); }',
    'fn nan_f32() -> f32 { var b = 0x7fc00000u; return bitcast<f32>(b); }',
    // On the bits: compilers may fold NaN comparisons away.
    'fn isnan_f32(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }',
  ].join('\n');
}

/** Standard entry point header: `wg` is the linear workgroup id, `lid` the local index. */
export function main(workgroupSize: number): string {
  return `@compute @workgroup_size(${workgroupSize})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let wg = wid.x + wid.y * nwg.x;`;
}

/** A parameter word: numbers tagged as u32, i32 or f32. */
export type Param = { u: number } | { i: number } | { f: number };
export const u = (v: number): Param => ({ u: v });
export const i = (v: number): Param => ({ i: v });
export const f = (v: number): Param => ({ f: v });

export function packParams(params: readonly Param[]): Uint32Array {
  const n = Math.max(4, Math.ceil(params.length / 4) * 4);
  const buf = new ArrayBuffer(n * 4);
  const w = new Uint32Array(buf);
  const fl = new Float32Array(buf);
  const it = new Int32Array(buf);
  params.forEach((p, k) => {
    if ('u' in p) w[k] = p.u >>> 0;
    else if ('i' in p) it[k] = p.i | 0;
    else fl[k] = p.f;
  });
  return w;
}

// strides of a shape, and of one broadcast against an output shape (0 on broadcast axes)
export { broadcastStrides, stridesOf } from '@sea/tensor/backend';

/**
 * WGSL computing a flat source offset from the flat output index `idx` for each of `n` operands:
 * out dims at params [dimAt..dimAt+rank), operand strides at [strAt + j·rank ..). Declares `o0..o{n-1}`.
 */
export function offsetsFromIndex(rank: number, n: number, dimAt: number, strAt: number, idx = 'idx'): string {
  const lines = [`var rem = ${idx};`];
  for (let j = 0; j < n; j++) lines.push(`var o${j} = 0u;`);
  if (rank === 0) return lines.join('\n  ');
  lines.push(`for (var k = ${rank - 1}i; k >= 0; k--) {`);
  lines.push(`    let d = pu(${dimAt}u + u32(k)); let c = rem % d; rem = rem / d;`);
  for (let j = 0; j < n; j++) lines.push(`    o${j} += c * pu(${strAt + j * rank}u + u32(k));`);
  lines.push('  }');
  return lines.join('\n  ');
}
