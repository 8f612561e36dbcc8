/**
 * Kernel parameters for cuLaunchKernel: a native block of fixed 512-byte slots and the void*[]
 * pointing at them, both allocated once; each launch writes its arguments through a DataView.
 */
import koffi from 'koffi';

const SLOT = 512;
const SLOTS = 24;
/** Max rank of an index-space argument (`struct Idx` in the kernels). */
export const MAXR = 8;

export class Params {
  readonly ptrs: bigint;
  readonly #dv: DataView;

  constructor() {
    const slots = koffi.alloc('uint8_t', SLOT * SLOTS) as unknown as bigint;
    this.ptrs = koffi.alloc('void *', SLOTS) as unknown as bigint;
    this.#dv = new DataView(koffi.view(slots, SLOT * SLOTS));
    const pv = new BigUint64Array(koffi.view(this.ptrs, 8 * SLOTS));
    for (let i = 0; i < SLOTS; i++) pv[i] = slots + BigInt(SLOT * i);
  }

  ptr(i: number, v: bigint): this {
    this.#dv.setBigUint64(SLOT * i, v, true);
    return this;
  }
  i32(i: number, v: number): this {
    this.#dv.setInt32(SLOT * i, v, true);
    return this;
  }
  f32(i: number, v: number): this {
    this.#dv.setFloat32(SLOT * i, v, true);
    return this;
  }
  /** A 64-bit integer from a JS number (exact below 2^53), no BigInt. */
  i64(i: number, v: number): this {
    const hi = Math.floor(v / 4294967296);
    this.#dv.setUint32(SLOT * i, v - hi * 4294967296, true);
    this.#dv.setInt32(SLOT * i + 4, hi, true);
    return this;
  }
  /** Several int32 fields laid out as a C struct of ints. */
  ints(i: number, values: readonly number[]): this {
    for (let k = 0; k < values.length; k++) this.#dv.setInt32(SLOT * i + 4 * k, values[k], true);
    return this;
  }
  /** `struct Idx { int rank; int shape[8]; long long s[3][8]; }` (s at byte 40). */
  idx(i: number, shape: readonly number[], strides: readonly (readonly number[])[]): this {
    const o = SLOT * i;
    this.#dv.setInt32(o, shape.length, true);
    for (let d = 0; d < MAXR; d++) this.#dv.setInt32(o + 4 + 4 * d, shape[d] ?? 1, true);
    for (let k = 0; k < 3; k++) {
      for (let d = 0; d < MAXR; d++) {
        const v = strides[k]?.[d] ?? 0;
        const hi = Math.floor(v / 4294967296);
        const p = o + 40 + (k * MAXR + d) * 8;
        this.#dv.setUint32(p, v - hi * 4294967296, true);
        this.#dv.setInt32(p + 4, hi, true);
      }
    }
    return this;
  }
}
