/**
 * The CPU backend: buffers are typed arrays in host memory; each primitive is one file under
 * `kernels/`. It is the oracle the GPU backends are tested against, and the default backend.
 */
import {
  type Backend,
  bytesPerElement,
  type CsrInfo,
  DTYPES,
  type DType,
  type MemoryInfo,
  type TensorInfo,
  type TypedArray,
} from '@sea/tensor';
import { allocArray, type DataId } from '@sea/tensor/backend';
import { attention } from './kernels/attention.js';
import { binary } from './kernels/binary.js';
import { cast } from './kernels/cast.js';
import { concat } from './kernels/concat.js';
import { conv2d } from './kernels/conv2d.js';
import { csrSddmm } from './kernels/csr_sddmm.js';
import { csrSoftmax } from './kernels/csr_softmax.js';
import { csrSpmm } from './kernels/csr_spmm.js';
import { cumsum } from './kernels/cumsum.js';
import { gather, takeAlong } from './kernels/gather.js';
import { groupedTopK } from './kernels/grouped_topk.js';
import { layerNorm } from './kernels/layer_norm.js';
import { matmul } from './kernels/matmul.js';
import { pad } from './kernels/pad.js';
import { performerPrefixSum } from './kernels/performer_prefix_sum.js';
import { reduce } from './kernels/reduce.js';
import { resize } from './kernels/resize.js';
import { slice } from './kernels/slice.js';
import { logSoftmax, softmax } from './kernels/softmax.js';
import { stretchToCsr } from './kernels/stretch_to_csr.js';
import { transpose } from './kernels/transpose.js';
import { unary } from './kernels/unary.js';
import { where } from './kernels/where.js';

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

export class CpuBackend implements Backend {
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
    const copy = allocArray(dtype, values.length);
    copy.set(values);
    return this.out(copy, [values.length], dtype).dataId;
  }

  zeros(size: number, dtype: DType): DataId {
    return this.out(allocArray(dtype, size), [size], dtype).dataId;
  }

  async read(dataId: DataId, dtype: DType, size: number): Promise<TypedArray> {
    return this.readSync(dataId, dtype, size);
  }

  readSync(dataId: DataId, _dtype: DType, size: number): TypedArray {
    return (dataId as CpuData).values.slice(0, size);
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

  destroy(): void {
    this.#live.clear();
    this.#bytes = 0;
  }

  fill(size: number, value: number, dtype: DType): TensorInfo & { shape: [number] } {
    const a = allocArray(dtype, size);
    a.fill(dtype === 'bool' ? (value ? 1 : 0) : value);
    return this.out(a, [size], dtype) as TensorInfo & { shape: [number] };
  }

  matmul = matmul.bind(null, this) as OmitFirst<typeof matmul>;
  unary = unary.bind(null, this) as OmitFirst<typeof unary>;
  binary = binary.bind(null, this) as OmitFirst<typeof binary>;
  where = where.bind(null, this) as OmitFirst<typeof where>;
  cast = cast.bind(null, this) as OmitFirst<typeof cast>;
  reduce = reduce.bind(null, this) as OmitFirst<typeof reduce>;
  softmax = softmax.bind(null, this) as OmitFirst<typeof softmax>;
  logSoftmax = logSoftmax.bind(null, this) as OmitFirst<typeof logSoftmax>;
  layerNorm = layerNorm.bind(null, this) as OmitFirst<typeof layerNorm>;
  gather = gather.bind(null, this) as OmitFirst<typeof gather>;
  takeAlong = takeAlong.bind(null, this) as OmitFirst<typeof takeAlong>;
  conv2d = conv2d.bind(null, this) as OmitFirst<typeof conv2d>;
  cumsum = cumsum.bind(null, this) as OmitFirst<typeof cumsum>;
  resize = resize.bind(null, this) as OmitFirst<typeof resize>;
  transpose = transpose.bind(null, this) as OmitFirst<typeof transpose>;
  slice = slice.bind(null, this) as OmitFirst<typeof slice>;
  concat = concat.bind(null, this) as OmitFirst<typeof concat>;
  pad = pad.bind(null, this) as OmitFirst<typeof pad>;
  performerPrefixSum = performerPrefixSum.bind(null, this) as OmitFirst<typeof performerPrefixSum>;
  groupedTopK = groupedTopK.bind(null, this) as OmitFirst<typeof groupedTopK>;
  stretchToCsr = stretchToCsr.bind(null, this) as (
    ...a: Parameters<OmitFirst<typeof stretchToCsr>>
  ) => Promise<CsrInfo>;
  csrSddmm = csrSddmm.bind(null, this) as OmitFirst<typeof csrSddmm>;
  csrSoftmax = csrSoftmax.bind(null, this) as OmitFirst<typeof csrSoftmax>;
  csrSpmm = csrSpmm.bind(null, this) as OmitFirst<typeof csrSpmm>;
  attention = attention.bind(null, this) as OmitFirst<typeof attention>;
}

type OmitFirst<F> = F extends (first: CpuBackend, ...rest: infer R) => infer O ? (...args: R) => O : never;

export { bytesPerElement };
