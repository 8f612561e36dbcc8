import { type MatmulOptions, type Shape, sizeOf, type TensorInfo, type TypedArray } from '@sea/tensor';
import { allocArray, broadcastStrides } from '@sea/tensor/backend';
import type { CpuBackend } from '../cpu_backend.js';
import { forEachRowStrided } from './binary.js';

/**
 * Blocked GEMM in the GotoBLAS/BLIS shape: C (M×N) = A (M×K) · B (K×N) with A and B addressed
 * through (row stride, column stride), so transposes and views cost nothing. K is cut into KC
 * slices and N into NC panels; a KC×NC slice of B is packed into NR-wide column strips and an MC×KC
 * block of A into MR-tall row strips, both in Float64Array (the JS engine computes in double, so no
 * per-use conversion and every product is accumulated in double). An MR×NR micro-kernel keeps its
 * 4×4 block of C in 16 locals (registers) and walks both strips once: 8 loads per 16 multiply-adds.
 */
const MR = 4;
const NR = 4;
const KC = 256;
const MC = 64;
const NC = 1024;

let packA = new Float64Array(MC * KC);
let packB = new Float64Array(KC * NC);

function packBlockA(
  A: TypedArray,
  aOff: number,
  rs: number,
  cs: number,
  mc: number,
  kc: number,
  out: Float64Array,
): void {
  // strip s holds rows [s·MR, s·MR+MR) of the block, k-major: out[(s·kc + k)·MR + r]
  for (let s = 0; s * MR < mc; s++) {
    const r0 = s * MR;
    const rows = Math.min(MR, mc - r0);
    let o = s * kc * MR;
    if (rows === MR) {
      const p0 = aOff + r0 * rs;
      const p1 = p0 + rs;
      const p2 = p1 + rs;
      const p3 = p2 + rs;
      for (let k = 0; k < kc; k++, o += MR) {
        const c = k * cs;
        out[o] = A[p0 + c];
        out[o + 1] = A[p1 + c];
        out[o + 2] = A[p2 + c];
        out[o + 3] = A[p3 + c];
      }
    } else {
      for (let k = 0; k < kc; k++, o += MR) {
        for (let r = 0; r < MR; r++) out[o + r] = r < rows ? A[aOff + (r0 + r) * rs + k * cs] : 0;
      }
    }
  }
}

function packBlockB(
  B: TypedArray,
  bOff: number,
  rs: number,
  cs: number,
  kc: number,
  nc: number,
  out: Float64Array,
): void {
  // strip s holds columns [s·NR, s·NR+NR), k-major: out[(s·kc + k)·NR + c]
  for (let s = 0; s * NR < nc; s++) {
    const c0 = s * NR;
    const cols = Math.min(NR, nc - c0);
    let o = s * kc * NR;
    if (cols === NR) {
      const q0 = bOff + c0 * cs;
      const q1 = q0 + cs;
      const q2 = q1 + cs;
      const q3 = q2 + cs;
      for (let k = 0; k < kc; k++, o += NR) {
        const r = k * rs;
        out[o] = B[q0 + r];
        out[o + 1] = B[q1 + r];
        out[o + 2] = B[q2 + r];
        out[o + 3] = B[q3 + r];
      }
    } else {
      for (let k = 0; k < kc; k++, o += NR) {
        for (let c = 0; c < NR; c++) out[o + c] = c < cols ? B[bOff + k * rs + (c0 + c) * cs] : 0;
      }
    }
  }
}

/** C[cOff + i·ldc + j] (+)= Σ_k Ap·Bp for one MC×NC block; `first` overwrites instead of adding. */
function macroKernel(
  Ap: Float64Array,
  Bp: Float64Array,
  mc: number,
  nc: number,
  kc: number,
  C: TypedArray,
  cOff: number,
  ldc: number,
  first: boolean,
): void {
  for (let js = 0; js * NR < nc; js++) {
    const j0 = js * NR;
    const cols = Math.min(NR, nc - j0);
    const bBase = js * kc * NR;
    for (let is = 0; is * MR < mc; is++) {
      const i0 = is * MR;
      const rows = Math.min(MR, mc - i0);
      let ai = is * kc * MR;
      let bi = bBase;
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0;
      let c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0;
      let c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0;
      let c30 = 0,
        c31 = 0,
        c32 = 0,
        c33 = 0;
      for (let k = 0; k < kc; k++, ai += MR, bi += NR) {
        const a0 = Ap[ai];
        const a1 = Ap[ai + 1];
        const a2 = Ap[ai + 2];
        const a3 = Ap[ai + 3];
        const b0 = Bp[bi];
        const b1 = Bp[bi + 1];
        const b2 = Bp[bi + 2];
        const b3 = Bp[bi + 3];
        c00 += a0 * b0;
        c01 += a0 * b1;
        c02 += a0 * b2;
        c03 += a0 * b3;
        c10 += a1 * b0;
        c11 += a1 * b1;
        c12 += a1 * b2;
        c13 += a1 * b3;
        c20 += a2 * b0;
        c21 += a2 * b1;
        c22 += a2 * b2;
        c23 += a2 * b3;
        c30 += a3 * b0;
        c31 += a3 * b1;
        c32 += a3 * b2;
        c33 += a3 * b3;
      }
      const o = cOff + i0 * ldc + j0;
      if (rows === MR && cols === NR) {
        if (first) {
          C[o] = c00;
          C[o + 1] = c01;
          C[o + 2] = c02;
          C[o + 3] = c03;
          const o1 = o + ldc;
          C[o1] = c10;
          C[o1 + 1] = c11;
          C[o1 + 2] = c12;
          C[o1 + 3] = c13;
          const o2 = o1 + ldc;
          C[o2] = c20;
          C[o2 + 1] = c21;
          C[o2 + 2] = c22;
          C[o2 + 3] = c23;
          const o3 = o2 + ldc;
          C[o3] = c30;
          C[o3 + 1] = c31;
          C[o3 + 2] = c32;
          C[o3 + 3] = c33;
        } else {
          C[o] += c00;
          C[o + 1] += c01;
          C[o + 2] += c02;
          C[o + 3] += c03;
          const o1 = o + ldc;
          C[o1] += c10;
          C[o1 + 1] += c11;
          C[o1 + 2] += c12;
          C[o1 + 3] += c13;
          const o2 = o1 + ldc;
          C[o2] += c20;
          C[o2 + 1] += c21;
          C[o2 + 2] += c22;
          C[o2 + 3] += c23;
          const o3 = o2 + ldc;
          C[o3] += c30;
          C[o3 + 1] += c31;
          C[o3 + 2] += c32;
          C[o3 + 3] += c33;
        }
      } else {
        const t = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33];
        for (let r = 0; r < rows; r++) {
          for (let c = 0; c < cols; c++) {
            const at = o + r * ldc + c;
            C[at] = first ? t[r * NR + c] : C[at] + t[r * NR + c];
          }
        }
      }
    }
  }
}

// ---- WebAssembly SIMD micro-kernels ----
//
// Two hand-assembled functions (no toolchain needed): k32(ap, bp, cp, kc, ldb, strips, ldc) computes
// `strips` 4×8 float32 tiles down one column strip of C, and k64 the same with 4×4 float64 tiles.
// A is packed (4 values per k, strip after strip); B rows are ldb bytes apart (a packed strip:
// ldb = 32; or B in place in wasm memory); tile s is stored at cp + 4·s·ldc, rows ldc bytes apart.
// Eight v128 accumulators stay in registers; per k: two vector loads of B, four splat loads of A,
// eight multiplies and eight adds. float32 accumulates in float32 (as PyTorch's CPU sgemm does);
// float64 in float64.

function leb(n: number): number[] {
  const o: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    o.push(byte);
  } while (n);
  return o;
}

const section = (id: number, body: number[]): number[] => [id, ...leb(body.length), ...body];
const simd = (op: number, ...rest: number[]): number[] => [0xfd, ...leb(op), ...rest];

function kernelBody(f64: boolean): number[] {
  const esz = f64 ? 8 : 4;
  const [splat, mul, add] = f64 ? [0x0a, 0xf2, 0xf0] : [0x09, 0xe6, 0xe4];
  const get = (i: number) => [0x20, i];
  const set = (i: number) => [0x21, i];
  const tee = (i: number) => [0x22, i];
  const i32 = (v: number) => [0x41, ...leb(v)];
  // params: 0 ap, 1 bp, 2 cp, 3 kc, 4 ldb, 5 strips, 6 ldc; v128 locals 7..17; i32 locals 18, 19
  const [AP, BPARAM, CP, KC, LDB, STRIPS, LDC] = [0, 1, 2, 3, 4, 5, 6];
  const acc = (r: number, h: number) => 7 + r * 2 + h;
  const [B0, B1, A, END, BP] = [15, 16, 17, 18, 19];
  const c: number[] = [];
  c.push(0x02, 0x40, 0x03, 0x40); // block loop (over strips)
  c.push(...get(STRIPS), 0x45, 0x0d, 1); // br_if strips == 0
  for (let i = 0; i < 8; i++) c.push(...simd(0x0c, ...new Array(16).fill(0)), ...set(7 + i));
  c.push(...get(BPARAM), ...set(BP));
  c.push(...get(KC), ...get(LDB), 0x6c, ...get(BPARAM), 0x6a, ...set(END)); // end = bp + kc·ldb
  c.push(0x02, 0x40, 0x03, 0x40); // block loop (over k)
  c.push(...get(BP), ...get(END), 0x4f, 0x0d, 1); // br_if BP >= end
  c.push(...get(BP), ...simd(0x00, 0, 0), ...set(B0));
  c.push(...get(BP), ...simd(0x00, 0, 16), ...set(B1));
  for (let r = 0; r < 4; r++) {
    c.push(...get(AP), ...simd(splat, 0, r * esz), ...tee(A));
    c.push(...get(B0), ...simd(mul), ...get(acc(r, 0)), ...simd(add), ...set(acc(r, 0)));
    c.push(...get(A), ...get(B1), ...simd(mul), ...get(acc(r, 1)), ...simd(add), ...set(acc(r, 1)));
  }
  c.push(...get(AP), ...i32(4 * esz), 0x6a, ...set(AP));
  c.push(...get(BP), ...get(LDB), 0x6a, ...set(BP));
  c.push(0x0c, 0, 0x0b, 0x0b); // br 0; end loop; end block
  for (let r = 0; r < 4; r++) {
    for (let h = 0; h < 2; h++) {
      c.push(...get(CP), ...get(LDC), ...i32(r), 0x6c, 0x6a, ...get(acc(r, h)), ...simd(0x0b, 0, h * 16));
    }
  }
  c.push(...get(CP), ...get(LDC), ...i32(4), 0x6c, 0x6a, ...set(CP));
  c.push(...get(STRIPS), ...i32(1), 0x6b, ...set(STRIPS));
  c.push(0x0c, 0, 0x0b, 0x0b); // br 0; end loop; end block
  c.push(0x0b);
  const fn = [2, 11, 0x7b, 2, 0x7f, ...c]; // locals: 11 v128, 2 i32
  return [...leb(fn.length), ...fn];
}

const A_BYTES = MC * KC * 8;
const B_BYTES = KC * NC * 8;
/**
 * A block of C (MC × NC) that the kernels write and JS copies out row by row. Its rows are padded by
 * 64 bytes so that they are not a power of two apart (which would map every row to one cache set).
 */
const CPAD = 16;
const CBLOCK_AT = A_BYTES + B_BYTES;
const SCRATCH_AT = CBLOCK_AT + MC * (NC + CPAD) * 8;
const PAGES = Math.ceil(SCRATCH_AT / 65536);

type Kernel = (
  ap: number,
  bp: number,
  cp: number,
  kc: number,
  ldb: number,
  strips: number,
  ldc: number,
) => void;

interface SimdKernels {
  k32: Kernel;
  k64: Kernel;
  mem: WebAssembly.Memory;
  f32: Float32Array;
  f64: Float64Array;
}

function loadSimd(): SimdKernels | null {
  try {
    const bytes = new Uint8Array([
      0x00,
      0x61,
      0x73,
      0x6d,
      1,
      0,
      0,
      0,
      ...section(1, [1, 0x60, 7, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0]),
      ...section(3, [2, 0, 0]),
      ...section(5, [1, 0, ...leb(PAGES)]),
      ...section(7, [3, 3, 0x6b, 0x33, 0x32, 0, 0, 3, 0x6b, 0x36, 0x34, 0, 1, 1, 0x6d, 2, 0]),
      ...section(10, [2, ...kernelBody(false), ...kernelBody(true)]),
    ]);
    if (!WebAssembly.validate(bytes)) return null;
    const ex = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as unknown as {
      k32: SimdKernels['k32'];
      k64: SimdKernels['k64'];
      m: WebAssembly.Memory;
    };
    return {
      k32: ex.k32,
      k64: ex.k64,
      mem: ex.m,
      f32: new Float32Array(ex.m.buffer),
      f64: new Float64Array(ex.m.buffer),
    };
  } catch {
    return null;
  }
}

let simdKernels: SimdKernels | null | undefined;

/** Whether the WebAssembly SIMD path is in use (false: the plain JS kernel). */
export function simdAvailable(): boolean {
  if (simdKernels === undefined) {
    // SEA_CPU_NO_SIMD=1 forces the plain-JS kernel (Node only; browsers have no process)
    const off = typeof process !== 'undefined' && Boolean(process.env?.SEA_CPU_NO_SIMD);
    simdKernels = off ? null : loadSimd();
  }
  return simdKernels !== null;
}

/** Packs an mc×kc block of A into 4-row strips, k-major: out[at + (s·kc + k)·4 + r]. */
function packA4(
  A: TypedArray,
  aOff: number,
  rs: number,
  cs: number,
  mc: number,
  kc: number,
  out: TypedArray,
): void {
  for (let s = 0; s * 4 < mc; s++) {
    const r0 = s * 4;
    let o = s * kc * 4;
    if (mc - r0 >= 4) {
      const p0 = aOff + r0 * rs;
      const p1 = p0 + rs;
      const p2 = p1 + rs;
      const p3 = p2 + rs;
      for (let k = 0, c = 0; k < kc; k++, o += 4, c += cs) {
        out[o] = A[p0 + c];
        out[o + 1] = A[p1 + c];
        out[o + 2] = A[p2 + c];
        out[o + 3] = A[p3 + c];
      }
    } else {
      for (let k = 0; k < kc; k++, o += 4) {
        for (let r = 0; r < 4; r++) out[o + r] = r0 + r < mc ? A[aOff + (r0 + r) * rs + k * cs] : 0;
      }
    }
  }
}

/** Packs a kc×nc block of B into nr-column strips, k-major: out[at + (s·kc + k)·nr + c]. */
function packBn(
  B: TypedArray,
  bOff: number,
  rs: number,
  cs: number,
  kc: number,
  nc: number,
  nr: number,
  out: TypedArray,
  at: number,
): void {
  for (let s = 0; s * nr < nc; s++) {
    const c0 = s * nr;
    const cols = Math.min(nr, nc - c0);
    let o = at + s * kc * nr;
    if (cs === 1 && cols === nr) {
      for (let k = 0; k < kc; k++, o += nr) {
        const q = bOff + k * rs + c0;
        for (let c = 0; c < nr; c++) out[o + c] = B[q + c];
      }
    } else {
      for (let k = 0; k < kc; k++, o += nr) {
        const q = bOff + k * rs + c0 * cs;
        for (let c = 0; c < nr; c++) out[o + c] = c < cols ? B[q + c * cs] : 0;
      }
    }
  }
}

function gemmSimd(
  W: SimdKernels,
  f64: boolean,
  M: number,
  N: number,
  K: number,
  A: TypedArray,
  aOff: number,
  aRs: number,
  aCs: number,
  B: TypedArray,
  bOff: number,
  bRs: number,
  bCs: number,
  C: TypedArray,
  cOff: number,
  ldc: number,
): void {
  const esz = f64 ? 8 : 4;
  const nr = f64 ? 4 : 8;
  const view = f64 ? W.f64 : W.f32;
  const kern = f64 ? W.k64 : W.k32;
  const bAt = A_BYTES / esz;
  for (let j0 = 0; j0 < N; j0 += NC) {
    const nc = Math.min(NC, N - j0);
    for (let k0 = 0; k0 < K; k0 += KC) {
      const kc = Math.min(KC, K - k0);
      const first = k0 === 0;
      packBn(B, bOff + k0 * bRs + j0 * bCs, bRs, bCs, kc, nc, nr, view, bAt);
      const ncPad = Math.ceil(nc / nr) * nr + CPAD;
      for (let i0 = 0; i0 < M; i0 += MC) {
        const mc = Math.min(MC, M - i0);
        packA4(A, aOff + i0 * aRs + k0 * aCs, aRs, aCs, mc, kc, view);
        const strips = Math.ceil(mc / 4);
        for (let js = 0; js * nr < nc; js++) {
          kern(0, A_BYTES + js * kc * nr * esz, CBLOCK_AT + js * nr * esz, kc, nr * esz, strips, ncPad * esz);
        }
        copyOut(view, CBLOCK_AT / esz, ncPad, mc, nc, C, cOff + i0 * ldc + j0, ldc, first);
      }
    }
  }
}

/** Copies (first K slice) or adds the mc × nc block of C computed in wasm memory into C. */
function copyOut(
  view: TypedArray,
  at: number,
  ld: number,
  mc: number,
  nc: number,
  C: TypedArray,
  o: number,
  ldc: number,
  first: boolean,
): void {
  for (let r = 0; r < mc; r++, o += ldc, at += ld) {
    if (first) C.set(view.subarray(at, at + nc), o);
    else for (let c = 0; c < nc; c++) C[o + c] += view[at + c];
  }
}

/**
 * A float32 region of `elements` in the SIMD module's memory (grown on demand; valid until the next
 * call), for operands the micro-kernel should read in place; null when SIMD is unavailable.
 */
export function simdScratchF32(elements: number): Float32Array | null {
  if (!simdAvailable() || !simdKernels) return null;
  const W = simdKernels;
  const need = SCRATCH_AT + elements * 4;
  if (W.mem.buffer.byteLength < need) {
    W.mem.grow(Math.ceil((need - W.mem.buffer.byteLength) / 65536));
    W.f32 = new Float32Array(W.mem.buffer);
    W.f64 = new Float64Array(W.mem.buffer);
  }
  return new Float32Array(W.mem.buffer, SCRATCH_AT, elements);
}

/**
 * C = A·B for float32 with B (K×N, row stride ldb) at element `bAt` of the region from
 * `simdScratchF32`: full 8-column strips of B are read in place, so a wide B (conv2d's im2col
 * columns) is never packed; only A and a ragged last strip are. Requires SIMD.
 */
export function gemmScratchB(
  M: number,
  N: number,
  K: number,
  A: TypedArray,
  aOff: number,
  aRs: number,
  aCs: number,
  bAt: number,
  ldb: number,
  C: TypedArray,
  cOff: number,
  ldc: number,
): void {
  const W = simdKernels as SimdKernels;
  const view = W.f32;
  const bBase = SCRATCH_AT + bAt * 4;
  for (let j0 = 0; j0 < N; j0 += NC) {
    const nc = Math.min(NC, N - j0);
    const full = Math.floor(nc / 8);
    const strips = Math.ceil(nc / 8);
    for (let k0 = 0; k0 < K; k0 += KC) {
      const kc = Math.min(KC, K - k0);
      if (full < strips) {
        packBn(view, bBase / 4 + k0 * ldb + j0 + full * 8, ldb, 1, kc, nc - full * 8, 8, view, A_BYTES / 4);
      }
      for (let i0 = 0; i0 < M; i0 += MC) {
        const mc = Math.min(MC, M - i0);
        packA4(A, aOff + i0 * aRs + k0 * aCs, aRs, aCs, mc, kc, view);
        const mStrips = Math.ceil(mc / 4);
        for (let js = 0; js < strips; js++) {
          const inPlace = js < full;
          const bp = inPlace ? bBase + (k0 * ldb + j0 + js * 8) * 4 : A_BYTES;
          W.k32(0, bp, CBLOCK_AT + js * 32, kc, inPlace ? ldb * 4 : 32, mStrips, (strips * 8 + CPAD) * 4);
        }
        copyOut(view, CBLOCK_AT / 4, strips * 8 + CPAD, mc, nc, C, cOff + i0 * ldc + j0, ldc, k0 === 0);
      }
    }
  }
}

/**
 * C (M×N, row stride ldc, at cOff) = A·B where A[i,k] = A[aOff + i·aRs + k·aCs] and
 * B[k,j] = B[bOff + k·bRs + j·bCs]. Overwrites C (zero when K = 0).
 */
export function gemm(
  M: number,
  N: number,
  K: number,
  A: TypedArray,
  aOff: number,
  aRs: number,
  aCs: number,
  B: TypedArray,
  bOff: number,
  bRs: number,
  bCs: number,
  C: TypedArray,
  cOff: number,
  ldc: number,
): void {
  if (K === 0) {
    for (let i = 0; i < M; i++) C.fill(0, cOff + i * ldc, cOff + i * ldc + N);
    return;
  }
  if (simdAvailable() && simdKernels) {
    gemmSimd(
      simdKernels,
      C instanceof Float64Array,
      M,
      N,
      K,
      A,
      aOff,
      aRs,
      aCs,
      B,
      bOff,
      bRs,
      bCs,
      C,
      cOff,
      ldc,
    );
    return;
  }
  gemmJs(M, N, K, A, aOff, aRs, aCs, B, bOff, bRs, bCs, C, cOff, ldc);
}

/** The plain-JS path (no WebAssembly SIMD): same blocking, 4×4 micro-kernel in double. */
function gemmJs(
  M: number,
  N: number,
  K: number,
  A: TypedArray,
  aOff: number,
  aRs: number,
  aCs: number,
  B: TypedArray,
  bOff: number,
  bRs: number,
  bCs: number,
  C: TypedArray,
  cOff: number,
  ldc: number,
): void {
  const nc0 = Math.min(NC, N);
  const kc0 = Math.min(KC, K);
  const needB = kc0 * (Math.ceil(nc0 / NR) * NR);
  if (packB.length < needB) packB = new Float64Array(needB);
  const needA = kc0 * MC;
  if (packA.length < needA) packA = new Float64Array(needA);
  for (let j0 = 0; j0 < N; j0 += NC) {
    const nc = Math.min(NC, N - j0);
    for (let k0 = 0; k0 < K; k0 += KC) {
      const kc = Math.min(KC, K - k0);
      packBlockB(B, bOff + k0 * bRs + j0 * bCs, bRs, bCs, kc, nc, packB);
      for (let i0 = 0; i0 < M; i0 += MC) {
        const mc = Math.min(MC, M - i0);
        packBlockA(A, aOff + i0 * aRs + k0 * aCs, aRs, aCs, mc, kc, packA);
        macroKernel(packA, packB, mc, nc, kc, C, cOff + i0 * ldc + j0, ldc, k0 === 0);
      }
    }
  }
}

export function matmul(
  b: CpuBackend,
  a: TensorInfo,
  bt: TensorInfo,
  opts: MatmulOptions,
  outShape: Shape,
): TensorInfo {
  const av = b.values(a);
  const bv = b.values(bt);
  const ra = a.shape.length;
  const rb = bt.shape.length;
  const M = outShape[outShape.length - 2];
  const N = outShape[outShape.length - 1];
  const K = opts.transA ? a.shape[ra - 2] : a.shape[ra - 1];
  const lda = a.shape[ra - 1];
  const ldb = bt.shape[rb - 1];
  // element strides of A[i,k] and B[k,j] inside one matrix
  const [aRs, aCs] = opts.transA ? [1, lda] : [lda, 1];
  const [bRs, bCs] = opts.transB ? [1, ldb] : [ldb, 1];
  const out = allocArray(a.dtype, sizeOf(outShape));
  const batch = outShape.slice(0, -2);
  const matA = a.shape[ra - 2] * lda;
  const matB = bt.shape[rb - 2] * ldb;
  // batch strides in whole matrices, 0 where broadcast
  const sa = broadcastStrides(a.shape.slice(0, -2), batch).map((s) => s * matA);
  const sb = broadcastStrides(bt.shape.slice(0, -2), batch).map((s) => s * matB);
  forEachRowStrided(batch, [sa, sb], [0, 0], (bi, offs, n, inner) => {
    for (let t = 0; t < n; t++) {
      gemm(
        M,
        N,
        K,
        av,
        offs[0] + t * inner[0],
        aRs,
        aCs,
        bv,
        offs[1] + t * inner[1],
        bRs,
        bCs,
        out,
        (bi + t) * M * N,
        N,
      );
    }
  });
  return b.out(out, outShape, a.dtype);
}
