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
import { isRecording, recordOp, setTape } from '@sea/tensor/internal';

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
  const [B, , T] = x.shape;
  const rl = await hostRowLen(rowLen, B, T, keys, op);
  if (isFloat(x.dtype) && isRecording()) {
    // one recorded op whose gradient (@sea/train) is a segment sum of dy (cell c's keys are the
    // run [s_c, s_c+1)): takeAlong's own gradient would build a one-hot of B·H·T·keys·K
    const prev = setTape(null);
    let out: Tensor;
    try {
      out = gatherStretched(x, rl, keys, fill);
    } finally {
      setTape(prev);
    }
    return recordOp('stretchGather', [x], out, { rowLen: Int32Array.from(rl), keys });
  }
  return gatherStretched(x, rl, keys, fill);
}

/** The largest (2·keys + 1)·K for which the device computes the stretch index in exact float32 integers. */
const EXACT_F32 = 2 ** 24;

/**
 * floor(n / d) for float32 tensors of integers below 2^24 in magnitude and d > 0, exact on any
 * backend: the quotient's rounding (a division need not be correctly rounded) is corrected with
 * exact products.
 */
function floorDivExact(n: Tensor, d: Tensor): Tensor {
  const q = sea.floor(sea.div(n, d));
  const over = sea.cast(sea.greater(sea.mul(q, d), n), 'float32');
  const under = sea.cast(sea.lessEqual(sea.mul(sea.add(q, 1), d), n), 'float32');
  return sea.add(sea.sub(q, over), under);
}

/**
 * stretchIndex as an int32 tensor [B, 1, T, keys], made on the device from the B·T row lengths
 * (cell(j) = ⌊((2j+1)·K − 1) / (2·L)⌋ for j < L, else K) instead of uploading B·T·keys entries; the
 * host's index where the integers would not be exact in float32.
 */
function stretchIndexTensor(
  rl: Int32Array,
  B: number,
  T: number,
  keys: number,
  K: number,
  backend: sea.Backend,
): Tensor {
  if ((2 * keys + 1) * K >= EXACT_F32)
    return sea.tensor(lastStretchIndex(rl, keys, K), [B, 1, T, keys], { dtype: 'int32', backend });
  return sea.tidy(() => {
    const L = sea.tensor(Float32Array.from(rl), [B, 1, T, 1], { dtype: 'float32', backend });
    const j = sea.arange(0, keys, { backend, dtype: 'float32' }).reshape([1, 1, 1, keys]);
    const num = sea.sub(sea.mul(sea.add(sea.mul(j, 2), 1), K), 1);
    const cell = floorDivExact(num, sea.maximum(sea.mul(L, 2), 1));
    return sea.cast(sea.where(sea.less(j, L), cell, K), 'int32');
  });
}

/** The gather itself: out[b,h,t,j] = x[b,h,t,cell(j)] for j < L_t, else `fill`. */
function gatherStretched(x: Tensor, rl: Int32Array, keys: number, fill: number): Tensor {
  const [B, H, T, K] = x.shape;
  const backend = x.backend;
  return sea.tidy(() => {
    const idx1 = stretchIndexTensor(rl, B, T, keys, K, backend);
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
