/** Valid lengths and per-row visible-key counts L_t (docs/algorithm.md §6). */
import { type Backend, ShapeError, type Tensor, tensor } from '@sea/tensor';

/**
 * Valid length L_b of each sequence from a key-valid mask bool [B,T]. Padding must be on the
 * right (valid tokens first), as the stretching maps cells onto keys 0..L_b−1.
 */
export async function validLengths(keyValid: Tensor): Promise<Int32Array> {
  if (keyValid.dtype !== 'bool' || keyValid.rank !== 2) {
    throw new ShapeError(
      `expected keyValid of shape [B,T] and dtype bool, got [${keyValid.shape}] ${keyValid.dtype}`,
    );
  }
  const [B, T] = keyValid.shape;
  const v = await keyValid.data();
  const out = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    let L = 0;
    while (L < T && v[b * T + L]) L++;
    for (let t = L; t < T; t++) {
      if (v[b * T + t]) {
        throw new ShapeError(
          `keyValid row ${b} has a valid token at ${t} after padding at ${L}; only right padding is supported`,
        );
      }
    }
    out[b] = L;
  }
  return out;
}

/**
 * L_t for every query row, int32 [B·T] row-major: causal t+1, bidirectional L_b; 0 for padded rows
 * (t ≥ L_b). `lengths` defaults to T for every batch element.
 */
export function rowLengthArray(
  batch: number,
  rows: number,
  causal: boolean,
  lengths?: ArrayLike<number>,
): Int32Array {
  const out = new Int32Array(batch * rows);
  for (let b = 0; b < batch; b++) {
    const L = lengths ? lengths[b] : rows;
    for (let t = 0; t < L; t++) out[b * rows + t] = causal ? t + 1 : L;
  }
  return out;
}

/** `rowLengthArray` as an int32 tensor [B,T]. */
export function rowLengths(
  batch: number,
  rows: number,
  causal: boolean,
  lengths?: ArrayLike<number>,
  backend?: Backend,
): Tensor {
  return tensor(rowLengthArray(batch, rows, causal, lengths), [batch, rows], { dtype: 'int32', backend });
}
