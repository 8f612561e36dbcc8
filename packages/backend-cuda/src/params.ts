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
  /** The same slots as int32 words (little-endian, as the DataView writes them): the idx fast path. */
  readonly #i32: Int32Array;

  constructor() {
    const slots = koffi.alloc('uint8_t', SLOT * SLOTS) as unknown as bigint;
    this.ptrs = koffi.alloc('void *', SLOTS) as unknown as bigint;
    const buf = koffi.view(slots, SLOT * SLOTS);
    this.#dv = new DataView(buf);
    this.#i32 = new Int32Array(buf);
    const pv = new BigUint64Array(koffi.view(this.ptrs, 8 * SLOTS));
    for (let i = 0; i < SLOTS; i++) pv[i] = slots + BigInt(SLOT * i);
  }

  /** A copy of the first n bytes of slot i, as the kernel will read them. */
  slotBytes(i: number, n: number): Uint8Array {
    return new Uint8Array(this.#dv.buffer.slice(SLOT * i, SLOT * i + n));
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
    // int32 words: the slot starts at word SLOT/4·i; s[k][d] (int64) at word 10 + 2·(8k + d)
    const w = (SLOT >> 2) * i;
    const a = this.#i32;
    const r = shape.length;
    a[w] = r;
    for (let d = 0; d < MAXR; d++) a[w + 1 + d] = d < r ? shape[d] : 1;
    for (let k = 0; k < 3; k++) {
      const st = strides[k];
      const n = st ? st.length : 0;
      for (let d = 0; d < MAXR; d++) {
        const v = d < n ? (st as readonly number[])[d] : 0;
        const p = w + 10 + 2 * (k * MAXR + d);
        if (v === (v | 0)) {
          a[p] = v;
          a[p + 1] = v < 0 ? -1 : 0;
        } else {
          const hi = Math.floor(v / 4294967296);
          a[p] = (v - hi * 4294967296) | 0;
          a[p + 1] = hi;
        }
      }
    }
    return this;
  }
}
