/**
 * The CPU backend's memory: buffers are typed arrays in host memory. The kernels (one file per
 * primitive under `kernels/`) read their inputs through `values` and wrap their outputs with `out`.
 *
 * A float16 or bfloat16 buffer is held as a Float64Array of its (exactly representable) values; the
 * 16-bit bits are converted at upload and read (see `kernels/half.ts` for how kernels run on them).
 */
import { DTYPES, type DType, isHalf, type MemoryInfo, type TensorInfo, type TypedArray } from '@sea/tensor';
import {
  allocArray,
  type DataId,
  halfBitsToFloat32,
  numbersToHalfBits,
  type SliceRun,
} from '@sea/tensor/backend';

/** A CPU buffer: the typed array itself. */
export interface CpuData {
  readonly values: TypedArray;
}

export interface CpuBackendOptions {
  /**
   * The fused `attention` runs its row-wise kernel (memory O(Tk) per row, no B·H·Tq·Tk scores) from
   * this many scores on; below it, it declines and the op layer composes blocked matmul, masked
   * softmax and matmul, which is faster while the scores fit comfortably. Default 2^24 (64 MiB of
   * float32 scores); 0 always fuses.
   */
  fusedAttentionMinScores?: number;
}

export class CpuMemory {
  readonly name = 'cpu';
  readonly dtypes: readonly DType[] = DTYPES;
  readonly fusedAttentionMinScores: number;

  constructor(opts: CpuBackendOptions = {}) {
    const min = opts.fusedAttentionMinScores ?? 2 ** 24;
    if (!(Number.isFinite(min) && min >= 0))
      throw new RangeError(`CpuBackend: fusedAttentionMinScores must be a number ≥ 0, got ${min}`);
    this.fusedAttentionMinScores = min;
  }

  #live = new Set<CpuData>();
  #bytes = 0;
  #peak = 0;

  /** The typed array behind a DataId (kernels read their inputs through this). */
  values(x: TensorInfo | DataId): TypedArray {
    const id = 'dataId' in x ? (x as TensorInfo).dataId : x;
    return (id as CpuData).values;
  }

  /** Wraps a freshly computed array as an owned output. */
  out(values: TypedArray, shape: readonly number[], dtype: DType): TensorInfo {
    const data: CpuData = { values };
    this.#live.add(data);
    this.#bytes += values.byteLength;
    if (this.#bytes > this.#peak) this.#peak = this.#bytes;
    return { dataId: data, shape: [...shape], dtype };
  }

  upload(values: TypedArray, dtype: DType): DataId {
    if (isHalf(dtype)) {
      const wide = Float64Array.from(halfBitsToFloat32(values as Uint16Array, dtype));
      return this.out(wide, [values.length], dtype).dataId;
    }
    const copy = allocArray(dtype, values.length);
    copy.set(values);
    return this.out(copy, [values.length], dtype).dataId;
  }

  zeros(size: number, dtype: DType): DataId {
    if (isHalf(dtype)) return this.out(new Float64Array(size), [size], dtype).dataId;
    return this.out(allocArray(dtype, size), [size], dtype).dataId;
  }

  async read(dataId: DataId, dtype: DType, size: number): Promise<TypedArray> {
    return this.readSync(dataId, dtype, size);
  }

  readSync(dataId: DataId, dtype: DType, size: number): TypedArray {
    const v = (dataId as CpuData).values.subarray(0, size);
    if (isHalf(dtype)) return numbersToHalfBits(v, dtype);
    return v.slice();
  }

  free(dataId: DataId): void {
    const d = dataId as CpuData;
    if (this.#live.delete(d)) this.#bytes -= d.values.byteLength;
  }

  memory(): MemoryInfo {
    return { bytes: this.#bytes, buffers: this.#live.size, peakBytes: this.#peak };
  }

  resetPeak(): void {
    this.#peak = this.#bytes;
  }

  async sync(): Promise<void> {}

  /** In-place dst[runs] = src[runs] (16-bit buffers are Float64Arrays of values, copied as they are). */
  writeSlice(dst: TensorInfo, src: TensorInfo, runs: readonly SliceRun[]): boolean {
    const d = this.values(dst);
    const s = this.values(src);
    for (const r of runs)
      (d as Float64Array).set((s as Float64Array).subarray(r.src, r.src + r.length), r.dst);
    return true;
  }

  destroy(): void {
    this.#live.clear();
    this.#bytes = 0;
  }
}
