/**
 * The CPU backend: buffers are typed arrays in host memory; each primitive is one file under
 * `kernels/`. It is the oracle the GPU backends are tested against, and the default backend.
 *
 * float16 and bfloat16 by conversion: a 16-bit tensor is held as a Float64Array of its (exactly
 * representable) values, every kernel computes in float64 as for float64 inputs, and each output is
 * rounded once to the inputs' 16-bit dtype (round to nearest even): the correctly rounded result,
 * the reference a 16-bit GPU kernel is held to. Such a buffer takes 8 bytes per element here.
 */
import {
  type Backend,
  bytesPerElement,
  type CsrInfo,
  DTYPES,
  type DType,
  type HalfDType,
  isHalf,
  type MemoryInfo,
  roundToDType,
  type TensorInfo,
  type TypedArray,
} from '@sea/tensor';
import { allocArray, type DataId, halfBitsToFloat32, numbersToHalfBits } from '@sea/tensor/backend';
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

  destroy(): void {
    this.#live.clear();
    this.#bytes = 0;
  }

  /** A 16-bit input as the kernels see it: its Float64Array of values, labelled float64. */
  #widen(x: TensorInfo): TensorInfo {
    return isHalf(x.dtype) ? { ...x, dtype: 'float64' } : x;
  }

  /** Rounds a fresh float output to `dtype` (in a new Float64Array) and labels it so. */
  #round(r: TensorInfo, dtype: HalfDType): TensorInfo {
    const src = this.values(r);
    const out = new Float64Array(src.length);
    for (let i = 0; i < src.length; i++) out[i] = roundToDType(src[i], dtype);
    this.free(r.dataId);
    return this.out(out, r.shape, dtype);
  }

  /**
   * A kernel with 16-bit inputs run in float64: the inputs are relabelled float64, and a float output
   * is rounded to the (first) 16-bit input dtype. Kernels without 16-bit inputs run as they are.
   */
  #half<F extends Kernel>(kernel: F): F {
    const isInfo = (a: unknown): a is TensorInfo =>
      !!a && typeof a === 'object' && 'dataId' in a && 'dtype' in a && 'shape' in a;
    return ((...args: unknown[]) => {
      let h: HalfDType | null = null;
      const seen = (a: unknown): void => {
        if (!h && isInfo(a) && isHalf(a.dtype)) h = a.dtype;
      };
      for (const a of args) {
        if (Array.isArray(a)) a.forEach(seen);
        else seen(a);
      }
      if (!h) return kernel(...(args as never[]));
      const half: HalfDType = h;
      const mapped = args.map((a) =>
        Array.isArray(a) ? a.map((x) => (isInfo(x) ? this.#widen(x) : x)) : isInfo(a) ? this.#widen(a) : a,
      );
      const r = kernel(...(mapped as never[]));
      if (isInfo(r) && (r.dtype === 'float64' || r.dtype === 'float32')) return this.#round(r, half);
      return r;
    }) as unknown as F;
  }

  fill(size: number, value: number, dtype: DType): TensorInfo & { shape: [number] } {
    if (isHalf(dtype)) {
      const w = new Float64Array(size).fill(roundToDType(value, dtype));
      return this.out(w, [size], dtype) as TensorInfo & { shape: [number] };
    }
    const a = allocArray(dtype, size);
    a.fill(dtype === 'bool' ? (value ? 1 : 0) : value);
    return this.out(a, [size], dtype) as TensorInfo & { shape: [number] };
  }

  matmul = this.#half(matmul.bind(null, this)) as OmitFirst<typeof matmul>;
  unary = this.#half(unary.bind(null, this)) as OmitFirst<typeof unary>;
  binary = this.#half(binary.bind(null, this)) as OmitFirst<typeof binary>;
  where = this.#half(where.bind(null, this)) as OmitFirst<typeof where>;
  cast = (x: TensorInfo, dtype: DType): TensorInfo => {
    const wide = this.#widen(x);
    if (!isHalf(dtype)) return cast(this, wide, dtype);
    return this.#round(cast(this, wide, 'float64'), dtype);
  };
  reduce = this.#half(reduce.bind(null, this)) as OmitFirst<typeof reduce>;
  softmax = this.#half(softmax.bind(null, this)) as OmitFirst<typeof softmax>;
  logSoftmax = this.#half(logSoftmax.bind(null, this)) as OmitFirst<typeof logSoftmax>;
  layerNorm = this.#half(layerNorm.bind(null, this)) as OmitFirst<typeof layerNorm>;
  gather = this.#half(gather.bind(null, this)) as OmitFirst<typeof gather>;
  takeAlong = this.#half(takeAlong.bind(null, this)) as OmitFirst<typeof takeAlong>;
  conv2d = this.#half(conv2d.bind(null, this)) as OmitFirst<typeof conv2d>;
  cumsum = this.#half(cumsum.bind(null, this)) as OmitFirst<typeof cumsum>;
  resize = this.#half(resize.bind(null, this)) as OmitFirst<typeof resize>;
  transpose = this.#half(transpose.bind(null, this)) as OmitFirst<typeof transpose>;
  slice = this.#half(slice.bind(null, this)) as OmitFirst<typeof slice>;
  concat = this.#half(concat.bind(null, this)) as OmitFirst<typeof concat>;
  pad = this.#half(pad.bind(null, this)) as OmitFirst<typeof pad>;
  performerPrefixSum = this.#half(performerPrefixSum.bind(null, this)) as OmitFirst<
    typeof performerPrefixSum
  >;
  groupedTopK = this.#half(groupedTopK.bind(null, this)) as OmitFirst<typeof groupedTopK>;
  stretchToCsr = this.#half(stretchToCsr.bind(null, this)) as (
    ...a: Parameters<OmitFirst<typeof stretchToCsr>>
  ) => Promise<CsrInfo>;
  csrSddmm = this.#half(csrSddmm.bind(null, this)) as OmitFirst<typeof csrSddmm>;
  csrSoftmax = this.#half(csrSoftmax.bind(null, this)) as OmitFirst<typeof csrSoftmax>;
  csrSpmm = this.#half(csrSpmm.bind(null, this)) as OmitFirst<typeof csrSpmm>;
  attention = this.#half(attention.bind(null, this)) as OmitFirst<typeof attention>;
}

type Kernel = (...args: never[]) => unknown;

type OmitFirst<F> = F extends (first: CpuBackend, ...rest: infer R) => infer O ? (...args: R) => O : never;

export { bytesPerElement };
