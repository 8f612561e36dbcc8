/**
 * WGSL code generation shared by the kernels: storage bindings with chunk-aware accessors, the
 * uniform parameter block, and linear workgroup ids for grids larger than one dispatch dimension.
 *
 * A tensor larger than one storage binding is held as several buffers ("chunks") of `chunkElems`
 * elements each. A kernel never indexes a binding directly; it calls `NAME_ld(i)` / `NAME_st(i, v)`
 * with a flat element index, and for a one-chunk tensor (the common case) the accessor is a plain
 * array access. Pipelines are specialised (and cached) by the chunk counts of their arguments.
 */
import type { DType } from '@sea/tensor';

export type WgslType = 'f32' | 'i32' | 'u32';

/** Storage type of a dtype on the GPU: bool is stored as one u32 per element. */
export function wgslType(dtype: DType): WgslType {
  switch (dtype) {
    case 'float32':
      return 'f32';
    case 'int32':
      return 'i32';
    case 'bool':
      return 'u32';
    default:
      throw new Error(`dtype ${dtype} has no WGSL storage type`);
  }
}

export interface BindingSpec {
  name: string;
  type: WgslType;
  chunks: number;
  /** Read-write (outputs) or read-only (inputs). */
  write: boolean;
  /** Bound as array<vec4<T>> (then the accessors are NAME_ld4 / NAME_st4 over vec4 indices). */
  vec4?: boolean;
}

/** Binding declarations and accessor functions for a list of tensors; bindings start at `first`. */
export function declareBindings(specs: readonly BindingSpec[], chunkElems: number, first = 0): string {
  const lines: string[] = [];
  let binding = first;
  for (const s of specs) {
    const el = s.vec4 ? `vec4<${s.type}>` : s.type;
    const access = s.write ? 'read_write' : 'read';
    for (let c = 0; c < s.chunks; c++) {
      lines.push(`@group(0) @binding(${binding++}) var<storage, ${access}> ${s.name}_${c}: array<${el}>;`);
    }
    const sfx = s.vec4 ? '4' : '';
    const per = s.vec4 ? chunkElems / 4 : chunkElems;
    if (s.chunks === 1) {
      lines.push(`fn ${s.name}_ld${sfx}(i: u32) -> ${el} { return ${s.name}_0[i]; }`);
      if (s.write) lines.push(`fn ${s.name}_st${sfx}(i: u32, v: ${el}) { ${s.name}_0[i] = v; }`);
    } else {
      const cases = (body: (c: number) => string) =>
        Array.from({ length: s.chunks }, (_, c) =>
          c === s.chunks - 1 ? `    default: { ${body(c)} }` : `    case ${c}u: { ${body(c)} }`,
        ).join('\n');
      lines.push(
        `fn ${s.name}_ld${sfx}(i: u32) -> ${el} {\n  let c = i / ${per}u; let r = i - c * ${per}u;\n  switch c {\n${cases((c) => `return ${s.name}_${c}[r];`)}\n  }\n}`,
      );
      if (s.write) {
        lines.push(
          `fn ${s.name}_st${sfx}(i: u32, v: ${el}) {\n  let c = i / ${per}u; let r = i - c * ${per}u;\n  switch c {\n${cases((c) => `${s.name}_${c}[r] = v;`)}\n  }\n}`,
        );
      }
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

/** Row-major strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    s[k] = acc;
    acc *= shape[k];
  }
  return s;
}

/** Strides of `shape` broadcast against `outShape` (0 on broadcast axes; left-padded). */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const st = stridesOf(shape);
  const off = outShape.length - shape.length;
  return outShape.map((_, k) => (k < off || shape[k - off] === 1 ? 0 : st[k - off]));
}

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
