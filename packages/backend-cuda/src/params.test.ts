import { Rng } from '@sea/tensor';
import { describe, expect, it } from 'vitest';
import { MAXR, Params } from './params.js';

/** The bytes of `struct Idx { int rank; int shape[8]; long long s[3][8]; }` written field by field. */
function idxBytes(shape: number[], strides: number[][]): Uint8Array {
  const dv = new DataView(new ArrayBuffer(40 + 3 * MAXR * 8));
  dv.setInt32(0, shape.length, true);
  for (let d = 0; d < MAXR; d++) dv.setInt32(4 + 4 * d, shape[d] ?? 1, true);
  for (let k = 0; k < 3; k++)
    for (let d = 0; d < MAXR; d++)
      dv.setBigInt64(40 + (k * MAXR + d) * 8, BigInt(strides[k]?.[d] ?? 0), true);
  return new Uint8Array(dv.buffer);
}

describe('kernel parameters (no GPU needed)', () => {
  it('lays out the index-space struct as the kernels read it, for strides of any sign and size', () => {
    const p = new Params();
    const slot = (i: number): Uint8Array => p.slotBytes(i, 40 + 3 * MAXR * 8);
    const rng = new Rng(3);
    const big = [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 32 + 5, -(2 ** 33) - 7, 2 ** 52 + 3];
    for (let trial = 0; trial < 200; trial++) {
      const rank = 1 + rng.int(MAXR);
      const shape = Array.from({ length: rank }, () => 1 + rng.int(5000));
      const nops = 1 + rng.int(3);
      const strides = Array.from({ length: nops }, () =>
        Array.from({ length: rank }, () =>
          rng.int(3) === 0 ? big[rng.int(big.length)] : rng.int(1 << 20) - (1 << 19),
        ),
      );
      const i = rng.int(8);
      p.idx(i, shape, strides);
      expect(Array.from(slot(i))).toEqual(Array.from(idxBytes(shape, strides)));
    }
  });
});
