/**
 * Mask interpolation (docs/algorithm.md §6): K compressed cells tile the visible keys [0, L_t) of each row.
 * Cell m covers [a_m, a_{m+1}) with a_m = ⌊m·L_t/K + ½⌋ (round half up). Key j < L_t belongs to cell
 * ⌊(j+½)·K/L_t − 10⁻⁴⌋ in the official dense path; we compute the same map exactly in integers,
 * cell(j) = ⌊((2j+1)·K − 1) / (2·L_t)⌋, which is the inverse of the half-up boundaries for every
 * L_t (the 10⁻⁴ form agrees with it while 2·L_t ≤ 10⁴; above that its float offset can move a
 * boundary key, ours does not, so the dense and sparse paths always agree).
 */
import * as sea from '@sea/tensor';
import { type CsrMatrix, isFloat, ShapeError, type Tensor } from '@sea/tensor';
import { isRecording } from '@sea/tensor/internal';

/** finfo(float32).min / 2: the additive "masked" value of the dense path. */
export const FP_MIN = -1.7014117331926443e38;

/** Start of cell m for a row of L visible keys and K cells: ⌊m·L/K + ½⌋, exact. */
export function cellStart(m: number, L: number, K: number): number {
  return Math.floor((2 * m * L + K) / (2 * K));
}

/** The cell of key j (0 ≤ j < L) for a row of L visible keys and K cells. */
export function cellOfKey(j: number, L: number, K: number): number {
  return Math.floor(((2 * j + 1) * K - 1) / (2 * L));
}

/**
 * Index [B·T·Tk] mapping key j of row (b,t) to its cell, or K (the pad column) for j ≥ L_t.
 */
export function stretchIndex(rowLen: ArrayLike<number>, keys: number, K: number): Int32Array {
  const out = new Int32Array(rowLen.length * keys);
  for (let r = 0; r < rowLen.length; r++) {
    const L = rowLen[r];
    const o = r * keys;
    if (L <= 0) {
      out.fill(K, o, o + keys);
      continue;
    }
    for (let j = 0; j < L; j++) out[o + j] = Math.floor(((2 * j + 1) * K - 1) / (2 * L));
    out.fill(K, o + L, o + keys);
  }
  return out;
}

/** The last stretchIndex made (every layer of a forward asks for the same one), by its arguments. */
let lastIndex: { rowLen: Int32Array; keys: number; K: number; index: Int32Array } | null = null;

/** stretchIndex(rowLen, keys, K), from the last call's result when its arguments were the same. */
function lastStretchIndex(rowLen: ArrayLike<number>, keys: number, K: number): Int32Array {
  const c = lastIndex;
  if (c && c.keys === keys && c.K === K && c.rowLen.length === rowLen.length) {
    let same = true;
    for (let i = 0; i < rowLen.length && same; i++) same = c.rowLen[i] === rowLen[i];
    if (same) return c.index;
  }
  const index = stretchIndex(rowLen, keys, K);
  lastIndex = { rowLen: Int32Array.from(rowLen), keys, K, index };
  return index;
}

async function hostRowLen(
  rowLen: Tensor | Int32Array,
  B: number,
  T: number,
  keys: number,
  op: string,
): Promise<Int32Array> {
  let v: Int32Array;
  if (rowLen instanceof Int32Array) {
    if (rowLen.length !== B * T)
      throw new ShapeError(`${op}: expected ${B * T} row lengths, got ${rowLen.length}`);
    v = rowLen;
  } else {
    if (rowLen.dtype !== 'int32' || rowLen.rank !== 2 || rowLen.shape[0] !== B || rowLen.shape[1] !== T) {
      throw new ShapeError(
        `${op}: expected rowLen int32 of shape [${B},${T}], got [${rowLen.shape}] ${rowLen.dtype}`,
      );
    }
    v = (await rowLen.data()) as Int32Array;
  }
  for (let i = 0; i < v.length; i++) {
    if (v[i] < 0 || v[i] > keys)
      throw new ShapeError(`${op}: row length ${v[i]} at ${i} is outside [0, ${keys}]`);
  }
  return v;
}

function checkKeys(op: string, keys: number): void {
  if (!Number.isInteger(keys) || keys < 1)
    throw new ShapeError(`${op}: keys must be a positive integer, got ${keys}`);
}

/**
 * Gathers x [B,H,T,K] along the stretched index: out[b,h,t,j] = x[b,h,t,cell(j)] for j < L_t, else
 * `fill`. Works for bool (fill as 0/1) and float tensors.
 */
async function stretchGather(
  op: string,
  x: Tensor,
  rowLen: Tensor | Int32Array,
  keys: number,
  fill: number,
): Promise<Tensor> {
  if (x.rank !== 4) throw new ShapeError(`${op}: expected input of shape [B,H,T,K], got [${x.shape}]`);
  checkKeys(op, keys);
  const [B, H, T, K] = x.shape;
  const rl = await hostRowLen(rowLen, B, T, keys, op);
  const backend = x.backend;
  if (isFloat(x.dtype) && isRecording()) return stretchByMatmul(x, rl, keys, fill);
  return sea.tidy(() => {
    const idx1 = sea.tensor(lastStretchIndex(rl, keys, K), [B, 1, T, keys], { dtype: 'int32', backend });
    const idx = H === 1 ? idx1 : sea.add(idx1, sea.zeros([1, H, 1, 1], { dtype: 'int32', backend }));
    const padded = sea.pad(
      x,
      [
        [0, 0],
        [0, 0],
        [0, 0],
        [0, 1],
      ],
      fill,
    );
    return sea.takeAlong(padded, idx);
  });
}

/**
 * The gather of {@link stretchGather} as a batched product with the one-hot stretch matrices
 * S[b,t] [keys, K] (row j: cell(j), none for j ≥ L_t): out[b,:,t,:] = S[b,t]·x[b,:,t,:]ᵀ. The same
 * values (one term per output), for training: the gradient is Sᵀ·dy, a GEMM over B·T·keys·K,
 * where takeAlong's gradient builds a one-hot of B·H·T·keys·K.
 */
function stretchByMatmul(x: Tensor, rl: Int32Array, keys: number, fill: number): Tensor {
  const [B, , T, K] = x.shape;
  const backend = x.backend;
  return sea.tidy(() => {
    const idx = sea.tensor(lastStretchIndex(rl, keys, K), [B, T, keys, 1], { dtype: 'int32', backend });
    const cells = sea.arange(0, K, { backend, dtype: 'int32' }).reshape([1, 1, 1, K]);
    const S = sea.cast(sea.equal(idx, cells), x.dtype); // [B, T, keys, K]
    const y = sea.matmul(S, sea.transpose(x, [0, 2, 3, 1])); // [B, T, keys, H]
    const out = sea.transpose(y, [0, 3, 1, 2]); // [B, H, T, keys]
    if (fill === 0) return out;
    const past = sea.greaterEqual(idx.reshape([B, 1, T, keys]), K); // j ≥ L_t: the pad column
    return sea.where(past, fill, out);
  });
}

export interface StretchDenseOptions {
  /** Key length Tk; default T. */
  keys?: number;
  /** Return the additive 0 / FP_MIN float32 mask instead of bool. */
  additive?: boolean;
}

/**
 * Dense-path stretch (no cap): mask bool [B,H,T,K] → bool [B,H,T,Tk] with key j of row t kept iff
 * j < L_t and its cell is selected; or the additive float32 mask (0 kept, FP_MIN not).
 */
export async function stretchToDense(
  mask: Tensor,
  rowLen: Tensor | Int32Array,
  opts: StretchDenseOptions = {},
): Promise<Tensor> {
  if (mask.dtype !== 'bool') throw new ShapeError(`stretchToDense: mask must be bool, got ${mask.dtype}`);
  const keys = opts.keys ?? mask.shape[2];
  const m = await stretchGather('stretchToDense', mask, rowLen, keys, 0);
  if (!opts.additive) return m;
  const out = sea.where(m, 0, FP_MIN);
  m.dispose();
  return out;
}

export interface StretchEstimateOptions {
  /** Key length Tk; default T. */
  keys?: number;
  /** Value of keys outside the row (j ≥ L_t); default FP_MIN. */
  fill?: number;
}

/**
 * Nearest stretch of a compressed estimate x [B,H,T,K] (logits or probabilities) to [B,H,T,Tk]:
 * each cell's value repeated over its keys, `fill` past L_t. Used for attention maps and L_approx.
 */
export async function stretchEstimate(
  x: Tensor,
  rowLen: Tensor | Int32Array,
  opts: StretchEstimateOptions = {},
): Promise<Tensor> {
  if (!isFloat(x.dtype)) {
    throw new ShapeError(`stretchEstimate: input must be float, got ${x.dtype}`);
  }
  return stretchGather('stretchEstimate', x, rowLen, opts.keys ?? x.shape[2], opts.fill ?? FP_MIN);
}

export interface StretchCsrOptions {
  /** Sparse budget k: a selected cell contributes at most min(width, k) keys, spread from the end. */
  k: number;
  /** Key length Tk (columns per head). */
  keys: number;
  /** Layout of `mask`: 'bhtk' [B,H,T,K] (default) or 'bthk' [B,T,H,K]. */
  layout?: 'bhtk' | 'bthk';
}

/**
 * Sparse-path stretch to FlatCSR (docs/algorithm.md §6): one CSR matrix (T, H·Tk) per batch element, entries
 * grouped by head, cells ascending, keys descending within a cell; a cell wider than k keeps k keys
 * spread from its end. rowLen int32 [B,T] gives L_t (0 for padded rows). Unlike the official
 * kernel, which always stretches over the padded width T, padded keys are honoured (L_t = L_b), so
 * this path and `stretchToDense` select the same keys whenever every cell is at most k wide.
 */
export async function stretchToCsr(
  mask: Tensor,
  rowLen: Tensor,
  opts: StretchCsrOptions,
): Promise<CsrMatrix> {
  if (mask.rank !== 4 || mask.dtype !== 'bool') {
    throw new ShapeError(`stretchToCsr: expected a bool mask of rank 4, got [${mask.shape}] ${mask.dtype}`);
  }
  checkKeys('stretchToCsr', opts.keys);
  if (!Number.isInteger(opts.k) || opts.k < 1)
    throw new ShapeError(`stretchToCsr: k must be a positive integer, got ${opts.k}`);
  const bthk = opts.layout === 'bthk';
  const [B, T] = bthk ? mask.shape : [mask.shape[0], mask.shape[2]];
  await hostRowLen(rowLen, B, T, opts.keys, 'stretchToCsr');
  const m = bthk ? mask : sea.transpose(mask, [0, 2, 1, 3]);
  try {
    return await sea.stretchToCsr(m, rowLen, { k: opts.k, keys: opts.keys });
  } finally {
    if (m !== mask) m.dispose();
  }
}

/** CSR → dense bool [B,H,T,Tk] (for tests and attention maps). */
export async function csrToDense(csr: CsrMatrix): Promise<Tensor> {
  const B = csr.batch;
  const T = csr.rows;
  const H = csr.heads;
  const Tk = csr.keys;
  const crow = (await csr.crow.data()) as Int32Array;
  const col = (await csr.col.data()) as Int32Array;
  const Z = csr.col.shape[1];
  const out = new Uint8Array(B * H * T * Tk);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let z = crow[b * (T + 1) + t]; z < crow[b * (T + 1) + t + 1]; z++) {
        const c = col[b * Z + z];
        const h = Math.floor(c / Tk);
        out[((b * H + h) * T + t) * Tk + (c - h * Tk)] = 1;
      }
    }
  }
  return sea.tensor(out, [B, H, T, Tk], { dtype: 'bool', backend: csr.crow.backend });
}
