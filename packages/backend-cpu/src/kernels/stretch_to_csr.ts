import { type CsrInfo, ShapeError, type TensorInfo } from '@sea/tensor';
import type { StretchOptions } from '@sea/tensor/backend';
import type { CpuBackend } from '../cpu_backend.js';

/**
 * Stretches a compressed mask to FlatCSR (docs/algorithm.md §6, sparse path). mask bool [B, Tq, H, Kc],
 * rowLen int32 [B, Tq] (L_t; 0 for padded rows). Cell m of row t covers keys
 * [a_m, a_{m+1}) with a_m = ⌊m·L_t/Kc + ½⌋, computed exactly in integers as
 * ⌊(2·m·L_t + Kc) / (2·Kc)⌋. A selected cell of width w contributes n = min(w, k) keys
 * j_i = a_{m+1} − 1 − ⌊i·w/n⌋ (i = 0..n−1), i.e. all keys descending when uncapped.
 * Entries of a row are grouped by head (ascending), cells ascending, keys descending.
 *
 * With `opts.capacity`, col is [B, capacity] and nnz reports the capacity (StretchOptions).
 * Two passes over the mask (count, then write): O(B·Tq·H·Kc + nnz), one boundary buffer.
 */
export async function stretchToCsr(
  b: CpuBackend,
  mask: TensorInfo,
  rowLen: TensorInfo,
  opts: StretchOptions,
): Promise<CsrInfo> {
  const m = b.values(mask);
  const rl = b.values(rowLen);
  const [B, T, H, Kc] = mask.shape;
  const { k, keys } = opts;
  const crow = new Int32Array(B * (T + 1));
  const bounds = new Int32Array(Kc + 1);
  const nnz: number[] = [];
  const HK = H * Kc;
  let lastL = -1;
  const setBounds = (L: number): void => {
    if (L === lastL) return;
    lastL = L;
    for (let c = 0; c <= Kc; c++) bounds[c] = Math.floor((2 * c * L + Kc) / (2 * Kc));
  };

  for (let bi = 0; bi < B; bi++) {
    const cb = bi * (T + 1);
    let total = 0;
    for (let t = 0; t < T; t++) {
      const L = Math.min(rl[bi * T + t], keys);
      crow[cb + t] = total;
      if (L <= 0) continue;
      setBounds(L);
      const mb = (bi * T + t) * HK;
      for (let h = 0; h < H; h++) {
        const hb = mb + h * Kc;
        for (let c = 0; c < Kc; c++) {
          if (m[hb + c] === 0) continue;
          const w = bounds[c + 1] - bounds[c];
          total += Math.min(w, k);
        }
      }
    }
    crow[cb + T] = total;
    nnz.push(total);
  }

  let Z = 0;
  for (const n of nnz) if (n > Z) Z = n;
  if (opts.capacity !== undefined) {
    // the caller's bound (host memory reads nothing back anyway; the bound is checked here)
    if (Z > opts.capacity) {
      const bi = nnz.indexOf(Z);
      throw new ShapeError(
        `stretchToCsr: batch element ${bi} has ${Z} entries, more than the capacity ${opts.capacity}`,
      );
    }
    Z = opts.capacity;
  }
  const col = new Int32Array(B * Z);
  for (let bi = 0; bi < B; bi++) {
    const cb = bi * (T + 1);
    let z = bi * Z;
    for (let t = 0; t < T; t++) {
      const L = Math.min(rl[bi * T + t], keys);
      if (L <= 0) continue;
      setBounds(L);
      const mb = (bi * T + t) * HK;
      for (let h = 0; h < H; h++) {
        const hb = mb + h * Kc;
        const colBase = h * keys;
        for (let c = 0; c < Kc; c++) {
          if (m[hb + c] === 0) continue;
          const a = bounds[c];
          const e = bounds[c + 1];
          const w = e - a;
          if (w <= k) {
            for (let j = e - 1; j >= a; j--) col[z++] = colBase + j;
          } else {
            for (let i = 0; i < k; i++) col[z++] = colBase + e - 1 - Math.floor((i * w) / k);
          }
        }
      }
    }
    if (z - bi * Z !== crow[cb + T]) throw new Error('stretchToCsr: count and write passes disagree');
  }

  return {
    crow: b.out(crow, [B, T + 1], 'int32'),
    col: b.out(col, [B, Z], 'int32'),
    heads: H,
    keys,
    nnz: opts.capacity === undefined ? nnz : nnz.map(() => Z),
  };
}
