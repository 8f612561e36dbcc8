import { type CsrInfo, DeviceError, type TensorInfo } from '@sea/tensor';
import type {
  CellMaskAttentionOptions,
  CsrAttentionOptions,
  PrefixSumOptions,
  StretchOptions,
} from '@sea/tensor/backend';
import { type CudaBackend, floatSuffix } from '../cuda_backend.js';

const WARPS = 8; // warps per block for the one-warp-per-row kernels
/** Rows of T per chunk of the chunked Performer scan (CH in performer.cu). */
const PPS_CHUNK = 64;

/**
 * Causal Performer prefix sums (docs/algorithm.md §3) in chunked form: per-chunk sums KᵀV and Σk, an exclusive
 * scan of those over chunks, then per chunk Q·S_prev + tril(QKᵀ)·V (three launches, no sequential
 * pass over T; for 64 < E ≤ 128 the last one a block per chunk, tril(QKᵀ) made once). Features m ≤ 512.
 */
export function performerPrefixSum(
  b: CudaBackend,
  qf: TensorInfo,
  kf: TensorInfo,
  v: TensorInfo,
  opts: PrefixSumOptions,
): TensorInfo {
  const [B, H, T, M] = qf.shape;
  const E = v.shape[3];
  const sfx = floatSuffix('performerPrefixSum', qf.dtype);
  const out = b.output([B, H, T, E], qf.dtype);
  if (B * H * T * E === 0) return out;
  if (M > 512) throw new DeviceError(`cuda performerPrefixSum supports at most 512 features, got ${M}`);
  if (M === 0) {
    // 0/0
    if (qf.dtype === 'float32') b.memset(b.ptr(out), 4, 0x7fc00000, B * H * T * E);
    else b.memset(b.ptr(out), 2, qf.dtype === 'bfloat16' ? 0x7fc0 : 0x7e00, B * H * T * E);
    return out;
  }
  const nC = Math.ceil(T / PPS_CHUNK);
  const L = M * E + M;
  const carry = b.alloc(B * H * nC * L * 4);
  const grid = [nC, Math.ceil(E / 64), B * H];
  b.params.ptr(0, b.ptr(kf)).ptr(1, b.ptr(v)).ptr(2, carry.ptr).i32(3, T).i32(4, M).i32(5, E).i32(6, nC);
  b.launch(b.fn('performer', `pps_chunk_sums${sfx}`), grid, [256]);
  const total = B * H * L;
  b.params.ptr(0, carry.ptr).i64(1, L).i32(2, nC).i64(3, total);
  b.launch(b.fn('performer', 'pps_carry_scan'), [b.blocks(total)], [256]);
  b.params
    .ptr(0, b.ptr(qf))
    .ptr(1, b.ptr(kf))
    .ptr(2, b.ptr(v))
    .ptr(3, carry.ptr)
    .ptr(4, b.ptr(out))
    .i32(5, T)
    .i32(6, M)
    .i32(7, E)
    .i32(8, nC)
    .f32(9, opts.eps);
  if (b.performerWide && E > 64 && E <= 128)
    b.launch(b.fn('performer', `pps_chunk_out_e128${sfx}`), [nC, 1, B * H], [256]);
  else b.launch(b.fn('performer', `pps_chunk_out${sfx}`), grid, [256]);
  b.free(carry); // stream-ordered: the next user of the block runs after these kernels
  return out;
}

/**
 * The causal C_avg and the s_mix blend, heads merged (rmm_* in kernels/performer.cu): one thread per
 * (b·h, chunk, column); chunks of about √T rows (a power of two, at least 64), their sums first when
 * there is more than one. Two launches (one below 128 rows).
 */
export function runningMeanMix(
  b: CudaBackend,
  local: TensorInfo,
  v: TensorInfo,
  sMix: TensorInfo,
): TensorInfo {
  const [B, H, T, E] = local.shape;
  const sfx = floatSuffix('runningMeanMix', local.dtype);
  const out = b.output([B, T, H * E], local.dtype);
  const BH = B * H;
  if (BH * T * E === 0) return out;
  const Lc = Math.max(64, 2 ** Math.ceil(Math.log2(Math.sqrt(T))));
  const nC = Math.ceil(T / Lc);
  const threads = BH * nC * E;
  const sums = nC > 1 ? b.alloc(threads * 4) : null;
  if (sums) {
    b.params.ptr(0, b.ptr(v)).ptr(1, sums.ptr).i32(2, BH).i32(3, T).i32(4, E).i32(5, Lc).i32(6, nC);
    b.launch(b.fn('performer', `rmm_chunk_sums${sfx}`), [b.blocks(threads)], [256]);
  }
  b.params
    .ptr(0, b.ptr(local))
    .ptr(1, b.ptr(v))
    .ptr(2, b.ptr(sMix))
    .ptr(3, sums ? sums.ptr : 0n)
    .ptr(4, b.ptr(out))
    .i32(5, BH)
    .i32(6, H)
    .i32(7, T)
    .i32(8, E)
    .i32(9, Lc)
    .i32(10, nC);
  b.launch(b.fn('performer', `rmm_apply${sfx}`), [b.blocks(threads)], [256]);
  if (sums) b.free(sums); // stream-ordered reuse
  return out;
}

/** Keys per thread of the register-resident grouped top-k instances (grouped_topk_r* in topk.cu). */
const TOPK_PER = [4, 8, 12, 16] as const;

/**
 * Grouped top-k (docs/algorithm.md §5): one block per group, radix select with index tie-break; up
 * to 4096 scores a group held in registers (read once), longer groups re-read per pass.
 */
export function groupedTopK(b: CudaBackend, scores: TensorInfo, budgets: TensorInfo): TensorInfo {
  const [G, N] = scores.shape;
  const out = b.output([G, N], 'bool');
  if (G === 0 || N === 0) return out;
  const sfx = floatSuffix('groupedTopK', scores.dtype);
  const per = b.topkRegisters ? TOPK_PER.find((p) => N <= 256 * p) : undefined;
  b.params.ptr(0, b.ptr(scores)).ptr(1, b.ptr(budgets)).ptr(2, b.ptr(out)).i32(3, N);
  b.launch(b.fn('topk', per ? `grouped_topk_r${per}${sfx}` : `grouped_topk${sfx}`), [G], [256]);
  return out;
}

/**
 * Stretch to FlatCSR (docs/algorithm.md §6): count per row → scan per batch → read back the totals
 * (unless the caller gives a capacity) → fill.
 */
export async function stretchToCsr(
  b: CudaBackend,
  mask: TensorInfo,
  rowLen: TensorInfo,
  opts: StretchOptions,
): Promise<CsrInfo> {
  const [B, T, H, Kc] = mask.shape;
  const rows = B * T;
  // 16 mask cells per load when a row of cells is whole 16-byte vectors
  const v16 = (H * Kc) % 16 === 0 ? '16' : '';
  const crow = b.output([B, T + 1], 'int32');
  const counts = b.output([rows], 'int32');
  const totals = b.output([B], 'int32');
  let nnz: number[];
  try {
    if (rows > 0) {
      b.params
        .ptr(0, b.ptr(mask))
        .ptr(1, b.ptr(rowLen))
        .ptr(2, b.ptr(counts))
        .i64(3, rows)
        .i32(4, H)
        .i32(5, Kc)
        .i32(6, opts.k)
        .i32(7, opts.keys);
      b.launch(b.fn('csr', `stretch_count${v16}`), [Math.ceil(rows / WARPS)], [32 * WARPS]);
    }
    if (B > 0) {
      b.params.ptr(0, b.ptr(counts)).ptr(1, b.ptr(crow)).ptr(2, b.ptr(totals)).i32(3, T);
      b.launch(b.fn('csr', 'stretch_scan'), [B], [1024]);
    }
    // a caller's capacity sizes col without reading the totals back (decoding: no sync per step)
    if (opts.capacity !== undefined) nnz = new Array<number>(B).fill(opts.capacity);
    else nnz = B > 0 ? Array.from(await b.read(totals.dataId, 'int32', B)) : [];
  } finally {
    b.free(counts.dataId);
    b.free(totals.dataId);
  }
  const Z = opts.capacity ?? nnz.reduce((m, n) => Math.max(m, n), 0);
  const col = b.output([B, Z], 'int32');
  b.memsetZero(col);
  if (rows > 0 && Z > 0) {
    b.params
      .ptr(0, b.ptr(mask))
      .ptr(1, b.ptr(rowLen))
      .ptr(2, b.ptr(crow))
      .ptr(3, b.ptr(col))
      .i32(4, B)
      .i32(5, T)
      .i32(6, H)
      .i32(7, Kc)
      .i32(8, opts.k)
      .i32(9, opts.keys)
      .i64(10, Z);
    b.launch(b.fn('csr', `stretch_fill${v16}`), [Math.ceil(rows / WARPS)], [32 * WARPS]);
  }
  return { crow, col, heads: H, keys: opts.keys, nnz };
}

function csrDims(csr: CsrInfo): { B: number; Tq: number; Z: number } {
  return { B: csr.crow.shape[0], Tq: csr.crow.shape[1] - 1, Z: csr.col.shape[1] };
}

export function csrSddmm(
  b: CudaBackend,
  csr: CsrInfo,
  q: TensorInfo,
  k: TensorInfo,
  scale: number,
): TensorInfo {
  const { B, Tq, Z } = csrDims(csr);
  const [, H, , D] = q.shape;
  const out = b.output([B, Z], 'float32');
  b.memsetZero(out);
  if (B * Tq === 0 || Z === 0) return out;
  b.params
    .ptr(0, b.ptr(csr.crow))
    .ptr(1, b.ptr(csr.col))
    .ptr(2, b.ptr(q))
    .ptr(3, b.ptr(k))
    .ptr(4, b.ptr(out))
    .i32(5, B)
    .i32(6, H)
    .i32(7, Tq)
    .i32(8, csr.keys)
    .i32(9, D)
    .i64(10, Z)
    .f32(11, scale);
  b.launch(b.fn('csr', 'csr_sddmm'), [Math.ceil((B * Tq) / WARPS)], [32 * WARPS]);
  return out;
}

export function csrSoftmax(
  b: CudaBackend,
  csr: CsrInfo,
  val: TensorInfo,
  rowScale: TensorInfo | null,
): TensorInfo {
  const { B, Tq, Z } = csrDims(csr);
  const H = csr.heads;
  const out = b.output([B, Z], 'float32');
  b.memsetZero(out);
  if (B * Tq === 0 || Z === 0) return out;
  b.params
    .ptr(0, b.ptr(csr.crow))
    .ptr(1, b.ptr(csr.col))
    .ptr(2, b.ptr(val))
    .ptr(3, rowScale ? b.ptr(rowScale) : 0n)
    .ptr(4, b.ptr(out))
    .i32(5, B)
    .i32(6, H)
    .i32(7, Tq)
    .i32(8, csr.keys)
    .i64(9, Z)
    .i32(10, rowScale ? 1 : 0);
  b.launch(b.fn('csr', 'csr_softmax'), [Math.ceil((B * Tq) / WARPS)], [32 * WARPS], WARPS * 2 * H * 4);
  return out;
}

export function csrSpmm(b: CudaBackend, csr: CsrInfo, val: TensorInfo, v: TensorInfo): TensorInfo {
  const { B, Tq, Z } = csrDims(csr);
  const [, H, Tk, D] = v.shape;
  const out = b.output([B, H, Tq, D], 'float32');
  b.memsetZero(out);
  if (B * Tq === 0 || Z === 0 || D === 0) return out;
  if (D > 256) throw new DeviceError(`cuda csrSpmm supports head dims up to 256, got ${D}`);
  b.params
    .ptr(0, b.ptr(csr.crow))
    .ptr(1, b.ptr(csr.col))
    .ptr(2, b.ptr(val))
    .ptr(3, b.ptr(v))
    .ptr(4, b.ptr(out))
    .i32(5, B)
    .i32(6, H)
    .i32(7, Tq)
    .i32(8, Tk)
    .i32(9, D)
    .i64(10, Z);
  b.launch(b.fn('csr', 'csr_spmm'), [Math.ceil((B * Tq) / WARPS)], [32 * WARPS]);
  return out;
}

/**
 * The csr_attention* instances of csr.cu: query rows per block (one warp each), how the sum over
 * entries is spread (pv 2: all lanes on one entry, two floats each, E even; pv 4: a half-warp per
 * entry, four floats each, E % 4 == 0) and the head size D ≤ 32·qu the scores take (rb2: score loads
 * 2 rounds at a time, for fewer registers; b4/b5: 4/5 blocks per SM).
 */
export const CSR_ATTENTION_KERNELS = [
  { name: 'csr_attention_r8v4d64', rows: 8, pv: 4, qu: 2 },
  { name: 'csr_attention_r8v2d64', rows: 8, pv: 2, qu: 2 },
  { name: 'csr_attention_r8v4d64b4', rows: 8, pv: 4, qu: 2 },
  { name: 'csr_attention_r16v4d64', rows: 16, pv: 4, qu: 2 },
  { name: 'csr_attention_r8v2d64rb2b4', rows: 8, pv: 2, qu: 2 },
  { name: 'csr_attention_r8v2d64rb2b5', rows: 8, pv: 2, qu: 2 },
  { name: 'csr_attention_r8v4', rows: 8, pv: 4, qu: 4 },
  { name: 'csr_attention', rows: 8, pv: 2, qu: 4 },
] as const;
export const DEFAULT_CSR_ATTENTION_KERNEL: string = 'csr_attention_r8v2d64rb2b5';
const CA_MAX_HEAD = 128;
type CsrAttentionKernel = (typeof CSR_ATTENTION_KERNELS)[number];

function fits(k: CsrAttentionKernel, D: number, E: number): boolean {
  return D <= 32 * k.qu && (k.pv === 2 || E % 4 === 0);
}

/**
 * Fused CSR attention (csr_attention* in kernels/csr.cu): SDDMM, per-head softmax, row scale and
 * SpMM in one kernel, one warp per (row, head), the instance `b.csrAttentionKernel` (the first that
 * fits in CSR_ATTENTION_KERNELS' order when that one cannot take D or E). Returns null (the op layer composes the three primitives) for
 * head sizes the kernels lack: D % 4 ≠ 0 or D > 128, E odd or E > 128.
 */
export function csrAttention(
  b: CudaBackend,
  csr: CsrInfo,
  q: TensorInfo,
  k: TensorInfo,
  v: TensorInfo,
  rowScale: TensorInfo | null,
  opts: CsrAttentionOptions,
): TensorInfo | null {
  const { B, Tq, Z } = csrDims(csr);
  const [, H, , D] = q.shape;
  const E = v.shape[3];
  if (D % 4 !== 0 || D > CA_MAX_HEAD || E % 2 !== 0 || E > CA_MAX_HEAD) return null;
  if (H > 65535 || B > 65535) return null;
  const sfx = floatSuffix('csrAttention', q.dtype);
  const out = b.output([B, H, Tq, E], q.dtype);
  if (B * H * Tq * E === 0) return out;
  if (Z === 0 || D === 0) {
    b.memsetZero(out);
    return out;
  }
  b.params
    .ptr(0, b.ptr(csr.crow))
    .ptr(1, b.ptr(csr.col))
    .ptr(2, b.ptr(q))
    .ptr(3, b.ptr(k))
    .ptr(4, b.ptr(v))
    .ptr(5, rowScale ? b.ptr(rowScale) : 0n)
    .ptr(6, b.ptr(out))
    .i32(7, H)
    .i32(8, Tq)
    .i32(9, csr.keys)
    .i32(10, D)
    .i32(11, E)
    .i64(12, Z)
    .f32(13, opts.scale)
    .i32(14, rowScale ? 1 : 0);
  let kern: CsrAttentionKernel =
    CSR_ATTENTION_KERNELS.find((x) => x.name === b.csrAttentionKernel) ?? CSR_ATTENTION_KERNELS[0];
  if (!fits(kern, D, E))
    kern =
      CSR_ATTENTION_KERNELS.find((x) => fits(x, D, E)) ??
      CSR_ATTENTION_KERNELS[CSR_ATTENTION_KERNELS.length - 1];
  b.launch(b.fn('csr', `${kern.name}${sfx}`), [Math.ceil(Tq / kern.rows), H, B], [32 * kern.rows]);
  return out;
}

/** Cells a head of the mask may have for mask_attention* (MASK_MAXSEL in csr.cu). */
const MASK_MAX_CELLS = 256;

/**
 * Fused stretch + CSR attention (mask_attention_* in kernels/csr.cu): each warp lists the selected
 * cells of its (row, head) from the cell mask and attends over the keys stretchToCsr would write for
 * them, in the same order and with the same kernel body as csrAttention; no CSR arrays and no host
 * read of their size. Returns null (the op layer stretches and runs csrAttention) for head sizes the
 * kernels lack (as csrAttention) or more than 256 cells a head.
 */
export function cellMaskAttention(
  b: CudaBackend,
  mask: TensorInfo,
  rowLen: TensorInfo,
  q: TensorInfo,
  k: TensorInfo,
  v: TensorInfo,
  rowScale: TensorInfo | null,
  opts: CellMaskAttentionOptions,
): TensorInfo | null {
  if (!b.maskAttention) return null;
  const [B, Tq, H, Kc] = mask.shape;
  const [, , Tk, D] = k.shape;
  const E = v.shape[3];
  if (D % 4 !== 0 || D > CA_MAX_HEAD || E % 2 !== 0 || E > CA_MAX_HEAD) return null;
  if (H > 65535 || B > 65535 || Kc > MASK_MAX_CELLS) return null;
  const sfx = floatSuffix('cellMaskAttention', q.dtype);
  const out = b.output([B, H, Tq, E], q.dtype);
  if (B * H * Tq * E === 0) return out;
  if (Tk === 0 || Kc === 0 || D === 0) {
    b.memsetZero(out);
    return out;
  }
  b.params
    .ptr(0, b.ptr(mask))
    .ptr(1, b.ptr(rowLen))
    .ptr(2, b.ptr(q))
    .ptr(3, b.ptr(k))
    .ptr(4, b.ptr(v))
    .ptr(5, rowScale ? b.ptr(rowScale) : 0n)
    .ptr(6, b.ptr(out))
    .i32(7, H)
    .i32(8, Tq)
    .i32(9, Tk)
    .i32(10, Kc)
    .i32(11, opts.k)
    .i32(12, D)
    .i32(13, E)
    .f32(14, opts.scale)
    .i32(15, rowScale ? 1 : 0);
  const tensorCores = Number(b.device.computeCapability.split('.')[0]) >= 8;
  if (b.maskAttentionMma && tensorCores && sfx !== '' && D === 64 && E === 64) {
    // the tensor-core instance (kernels/csr.cu mask_attention_mma_*): 16 rows a warp, 4 warps a block;
    // scores in base 2 (the kernel's softmax runs on exp2)
    b.params.f32(12, opts.scale * Math.LOG2E).i32(13, rowScale ? 1 : 0);
    b.launch(b.fn('csr', `mask_attention_mma${sfx}`), [Math.ceil(Tq / 64), H, B], [128]);
    return out;
  }
  const name = D <= 64 ? 'mask_attention_d64' : 'mask_attention_d128';
  b.launch(b.fn('csr', `${name}${sfx}`), [Math.ceil(Tq / 8), H, B], [256]);
  return out;
}
