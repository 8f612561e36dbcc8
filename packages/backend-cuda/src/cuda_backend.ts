/**
 * The CUDA backend: the driver API's primary context, one stream, a caching allocator, cuBLAS for
 * the dense matmuls and the project's CUDA C kernels (NVRTC at first use, or a prebuilt fatbin) for
 * every other primitive (`CudaMemory`). Host code for each primitive family lives under `ops/`,
 * bound through the kernel table below.
 */
import {
  type Backend,
  BackendUnavailableError,
  bytesPerElement,
  DeviceError,
  type DType,
  DTypeError,
  isHalf,
  type MemoryInfo,
  type Shape,
  type TensorInfo,
  type TypedArray,
} from '@sea/tensor';
import {
  allocArray,
  type Conv2dOptions,
  type DataId,
  defineBackend,
  type KernelTable,
  numbersToHalfBits,
  type SliceRun,
} from '@sea/tensor/backend';
import koffi from 'koffi';
import { type CublasApi, type CudaCallError, type Driver, loadCublas, loadDriver } from './driver.js';
import { CachingAllocator, type CudaBuffer } from './memory.js';
import { type Family, ModuleLoader } from './modules.js';
import { attention } from './ops/attention.js';
import { conv2d, conv2dHalfFits, conv2dMmaPlan, resize } from './ops/conv.js';
import { CudnnConv } from './ops/cudnn.js';
import { causalCnnStep, performerStep, seaDecodeAttention, seaEncoderStep } from './ops/decode.js';
import { binary, cast, range, unary, where } from './ops/elementwise.js';
import { concat, gather, pad, slice, takeAlong, transpose, writeSlice } from './ops/layout.js';
import { LtGemm, linear } from './ops/linear.js';
import { matmul } from './ops/matmul.js';
import { adamw } from './ops/optim.js';
import { cumsum, layerNorm, logSoftmax, reduce, softmax } from './ops/reduce.js';
import {
  cellMaskAttention,
  csrAttention,
  csrSddmm,
  csrSoftmax,
  csrSpmm,
  DEFAULT_CSR_ATTENTION_KERNEL,
  groupedTopK,
  performerPrefixSum,
  runningMeanMix,
  stretchToCsr,
} from './ops/sea.js';
import { Params } from './params.js';
import { PIN_CHUNK, PinnedStaging } from './staging.js';

export interface CudaDeviceInfo {
  name: string;
  computeCapability: string;
  multiprocessors: number;
  totalMemoryBytes: number;
  driverVersion: number;
  libcuda: string;
}

/** dtype code shared with the kernels. */
export function dtypeCode(dtype: DType): number {
  switch (dtype) {
    case 'float32':
      return 0;
    case 'int32':
      return 1;
    case 'bool':
      return 2;
    case 'float16':
      return 3;
    case 'bfloat16':
      return 4;
    default:
      throw new DTypeError(
        `the cuda backend computes in float32, float16, bfloat16, int32 and bool, not ${dtype}`,
      );
  }
}

/**
 * The name suffix of a kernel's instance for a float dtype ('' float32, '_bf16', '_f16'); throws
 * for a dtype the kernel has no instance of.
 */
export function floatSuffix(op: string, dtype: DType): string {
  if (dtype === 'float32') return '';
  if (dtype === 'bfloat16') return '_bf16';
  if (dtype === 'float16') return '_f16';
  throw new DTypeError(`cuda ${op} computes in float32, bfloat16 or float16, got ${dtype}`);
}

const CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
const CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
const CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;

/** The CUDA backend's device, stream, memory and libraries; the kernels (`ops/`) run over it. */
export class CudaMemory {
  readonly name = 'cuda';
  readonly dtypes: readonly DType[] = ['float32', 'float16', 'bfloat16', 'int32', 'bool'];
  readonly drv: Driver;
  readonly device: CudaDeviceInfo;
  readonly params = new Params();
  readonly stream: unknown;
  readonly modules: ModuleLoader;
  readonly #alloc: CachingAllocator;
  #cublas: { api: CublasApi; handle: unknown; file: string } | null = null;
  /** cuBLASLt for the fused linear layer; null until first use, false when it cannot be loaded. */
  #lt: LtGemm | null | false = null;
  /** cuDNN for 16-bit conv2d on the tensor cores; null until first use, false when it cannot be loaded. */
  #cudnn: CudnnConv | null | false = null;
  /** Why cuDNN is not used (not enabled, not found), once a 16-bit conv2d asked for it. */
  cudnnUnavailable: string | null = null;
  /**
   * Pinned (page-locked) staging for uploads of up to PIN_CHUNK bytes (staging.ts). null until the
   * first upload, false where page-locked memory is refused (SEA_CUDA_PINNED=0 turns it off).
   */
  #pinned: PinnedStaging | null | false = null;
  #rawScratch = koffi.alloc('uint64_t', 1) as unknown as bigint;
  #rawScratchView = new BigUint64Array(koffi.view(this.#rawScratch as never, 8));
  #ctx: unknown;
  #dev: number;
  #events: [unknown, unknown];
  #destroyed = false;
  /** Scalars handed to cuBLAS by pointer, allocated once. */
  /**
   * The csr_attention* instance the fused CSR attention runs (ops/sea.ts CSR_ATTENTION_KERNELS);
   * settable so the benchmark can compare them. An instance that cannot take a case falls back.
   */
  csrAttentionKernel = DEFAULT_CSR_ATTENTION_KERNEL;
  /** The fused stretch + CSR attention (cellMaskAttention); false: the op layer stretches, then csrAttention. */
  maskAttention = process.env.SEA_CUDA_MASK_ATTENTION !== '0';
  /** concat of up to 4 inputs in one launch (concat_cols*); false: one strided copy per input. */
  concatOneLaunch = process.env.SEA_CUDA_CONCAT1 !== '0';
  /**
   * The cell-mask attention of 16-bit q, k, v with D = E = 64 on the tensor cores, 16 rows of a head
   * at a time over the union of their cells (mask_attention_mma_*), opt-in with SEA_CUDA_MASK_MMA=1:
   * it pays only where neighbouring rows select the same cells. On the H200 with the bench's random
   * predictor weights it was slower than one warp per row and head at every T (SEA layer bf16 at 32k
   * 8.03 against 7.73 ms, at 1k 1.04 against 0.64).
   */
  maskAttentionMma = process.env.SEA_CUDA_MASK_MMA === '1';
  /** 16-bit convs on the tensor cores (conv2d_mma_*, ops/conv.ts conv2dMmaPlan); false: the channel-blocked kernels. */
  convMma = process.env.SEA_CUDA_CONV_MMA !== '0';
  /** Performer outputs of 64 < E ≤ 128 columns a block per chunk (pps_chunk_out_e128); false: 64 columns a block. */
  performerWide = process.env.SEA_CUDA_PPS_WIDE !== '0';
  /** Grouped top-k with each group's scores in registers (groups of ≤ 4096); false: the re-reading kernel. */
  topkRegisters = process.env.SEA_CUDA_TOPK_REG !== '0';
  /** Long reductions over few outputs cut into pieces reduced in parallel (ops/reduce.ts splitChunks); false: one warp or thread per output. */
  reduceSplit = process.env.SEA_CUDA_REDUCE_SPLIT !== '0';
  /** The fused AdamW update (adamw_f32); false: the op layer composes it (SEA_CUDA_FUSED_ADAMW=0). */
  fusedAdamW = process.env.SEA_CUDA_FUSED_ADAMW !== '0';
  readonly one = new Float32Array([1]);
  readonly zero = new Float32Array([0]);

  constructor(drv: Driver, dev: number, ctx: unknown, device: CudaDeviceInfo) {
    this.drv = drv;
    this.#dev = dev;
    this.#ctx = ctx;
    this.device = device;
    const s: [unknown] = [null];
    drv.check(drv.api.cuStreamCreate(s, 0), 'cuStreamCreate');
    this.stream = s[0];
    const e0: [unknown] = [null];
    const e1: [unknown] = [null];
    drv.check(drv.api.cuEventCreate(e0, 0), 'cuEventCreate');
    drv.check(drv.api.cuEventCreate(e1, 0), 'cuEventCreate');
    this.#events = [e0[0], e1[0]];
    this.#alloc = new CachingAllocator(drv, () => this.#syncNow());
    this.modules = new ModuleLoader(drv, device.computeCapability.replace('.', ''));
  }

  // ---------------------------------------------------------------- device plumbing for ops/
  /** Throws DeviceError for a failed driver call. */
  check(rc: number, call: string): void {
    if (rc === 0) return;
    try {
      this.drv.check(rc, call);
    } catch (e) {
      throw new DeviceError((e as CudaCallError).message);
    }
  }

  fn(family: Family, name: string): unknown {
    return this.modules.fn(family, name);
  }

  /** Launches with the arguments currently written into `params`. */
  launch(f: unknown, grid: readonly number[], block: readonly number[], smem = 0): void {
    this.check(
      this.drv.api.cuLaunchKernel(
        f,
        grid[0],
        grid[1] ?? 1,
        grid[2] ?? 1,
        block[0],
        block[1] ?? 1,
        block[2] ?? 1,
        smem,
        this.stream,
        this.params.ptrs,
        null,
      ),
      'cuLaunchKernel',
    );
  }

  /** Blocks for a grid-stride loop over n items. */
  blocks(n: number, threads = 256): number {
    return Math.max(1, Math.min(Math.ceil(n / threads), 1 << 20));
  }

  alloc(bytes: number): CudaBuffer {
    this.#assertAlive();
    return this.#alloc.alloc(bytes);
  }

  buf(x: TensorInfo | DataId): CudaBuffer {
    const id = 'dataId' in x ? (x as TensorInfo).dataId : x;
    return id as CudaBuffer;
  }

  ptr(x: TensorInfo | DataId): bigint {
    return this.buf(x).ptr;
  }

  /** A new output buffer for `size` elements of `dtype`, as an owned TensorInfo. */
  output(shape: readonly number[], dtype: DType, size = shape.reduce((a, b) => a * b, 1)): TensorInfo {
    dtypeCode(dtype);
    return { dataId: this.alloc(size * bytesPerElement(dtype)), shape: [...shape], dtype };
  }

  memsetZero(x: TensorInfo | DataId, bytes?: number): void {
    const b = this.buf(x);
    const n = bytes ?? b.bytes;
    if (n > 0) this.check(this.drv.api.cuMemsetD8Async(b.ptr, 0, n, this.stream), 'cuMemsetD8Async');
  }

  /** Fills with a 32-bit pattern (n words), a 16-bit one (n half-words) or a byte (n bytes). */
  memset(ptr: bigint, elemBytes: number, pattern: number, n: number): void {
    if (n <= 0) return;
    if (elemBytes === 4)
      this.check(this.drv.api.cuMemsetD32Async(ptr, pattern >>> 0, n, this.stream), 'cuMemsetD32Async');
    else if (elemBytes === 2)
      this.check(this.drv.api.cuMemsetD16Async(ptr, pattern & 0xffff, n, this.stream), 'cuMemsetD16Async');
    else this.check(this.drv.api.cuMemsetD8Async(ptr, pattern & 255, n, this.stream), 'cuMemsetD8Async');
  }

  copyDtoD(dst: bigint, src: bigint, bytes: number): void {
    if (bytes > 0)
      this.check(this.drv.api.cuMemcpyDtoDAsync(dst, src, bytes, this.stream), 'cuMemcpyDtoDAsync_v2');
  }

  cublas(): { api: CublasApi; handle: unknown; file: string } {
    if (this.#cublas) return this.#cublas;
    let lib: ReturnType<typeof loadCublas>;
    try {
      lib = loadCublas();
    } catch (e) {
      throw new DeviceError(`matmul needs cuBLAS: ${(e as Error).message}; set SEA_CUDA_LIB_DIRS`);
    }
    const h: [unknown] = [null];
    const rc = lib.api.cublasCreate(h);
    if (rc !== 0) throw new DeviceError(`cublasCreate_v2 failed: ${lib.api.cublasGetStatusString(rc)}`);
    lib.api.cublasSetStream(h[0], this.stream);
    this.#cublas = { api: lib.api, handle: h[0], file: lib.file };
    return this.#cublas;
  }

  /** This memory as the backend built on it (every instance is a CudaBackend; see below). */
  get #backend(): CudaBackend {
    return this as unknown as CudaBackend;
  }

  /** cuBLASLt (GEMM epilogues), loaded beside cuBLAS at first use; null when it is not there. */
  lt(): LtGemm | null {
    if (this.#lt === null) {
      const { file } = this.cublas();
      try {
        this.#lt = new LtGemm(this.#backend, file);
      } catch (e) {
        if (process.env.SEA_CUDA_DEBUG) console.warn(`[sea cuda] no cuBLASLt: ${(e as Error).message}`);
        this.#lt = false;
      }
    }
    return this.#lt || null;
  }

  /**
   * cuDNN (16-bit convolutions on the tensor cores), loaded at first use when SEA_CUDA_CUDNN=1; null
   * when absent or not enabled. Opt-in: on the H200 it ran the SEA layer's bf16 convs at T = 32k in
   * 1.63 ms against the own kernels' 2.33, but at T = 2048 in 379 µs a conv against about 50.
   */
  cudnn(): CudnnConv | null {
    if (this.#cudnn === null) {
      if (process.env.SEA_CUDA_CUDNN !== '1') {
        this.cudnnUnavailable = 'not enabled (SEA_CUDA_CUDNN=1 turns it on)';
        this.#cudnn = false;
      } else {
        try {
          this.#cudnn = new CudnnConv(this.#backend);
        } catch (e) {
          this.cudnnUnavailable = (e as Error).message;
          if (process.env.SEA_CUDA_DEBUG) console.warn(`[sea cuda] no cuDNN: ${this.cudnnUnavailable}`);
          this.#cudnn = false;
        }
      }
    }
    return this.#cudnn || null;
  }

  /** Device memory outside the caching allocator (library workspaces), freed by rawFree or destroy. */
  rawAlloc(bytes: number): bigint {
    this.check(this.drv.api.cuMemAlloc(this.#rawScratch, bytes), `cuMemAlloc_v2(${bytes})`);
    return this.#rawScratchView[0];
  }

  rawFree(ptr: bigint): void {
    this.drv.api.cuMemFree(ptr);
  }

  #syncNow(): void {
    this.check(this.drv.api.cuStreamSynchronize(this.stream), 'cuStreamSynchronize');
  }

  #assertAlive(): void {
    if (this.#destroyed) throw new DeviceError('the cuda backend was destroyed; create a new one');
  }

  /** GPU time of the work `body` enqueues, in ms (device events on the backend's stream). */
  timeMs(body: () => void): number {
    const [a, b] = this.#events;
    this.check(this.drv.api.cuEventRecord(a, this.stream), 'cuEventRecord');
    body();
    this.check(this.drv.api.cuEventRecord(b, this.stream), 'cuEventRecord');
    this.check(this.drv.api.cuEventSynchronize(b), 'cuEventSynchronize');
    const ms: [number] = [0];
    this.check(this.drv.api.cuEventElapsedTime(ms, a, b), 'cuEventElapsedTime');
    return ms[0];
  }

  /** Bytes cached in the allocator's free lists (not counted by memory()). */
  cachedBytes(): number {
    return this.#alloc.cachedBytes;
  }

  releaseCached(): void {
    this.#alloc.releaseCached();
  }

  // ---------------------------------------------------------------- memory
  upload(values: TypedArray, dtype: DType): DataId {
    dtypeCode(dtype);
    const bytes = values.length * bytesPerElement(dtype);
    const b = this.alloc(bytes);
    if (bytes > 0) {
      const pin = bytes <= PIN_CHUNK ? this.#pinnedStaging() : null;
      if (pin) {
        pin.upload(b.ptr, new Uint8Array(values.buffer, values.byteOffset, bytes));
      } else {
        this.check(this.drv.api.cuMemcpyHtoDAsync(b.ptr, values, bytes, this.stream), 'cuMemcpyHtoDAsync_v2');
      }
    }
    return b;
  }

  #pinnedStaging(): PinnedStaging | null {
    if (this.#pinned === null) {
      this.#pinned =
        process.env.SEA_CUDA_PINNED === '0'
          ? false
          : (PinnedStaging.create(this.drv, this.stream, (rc, call) => this.check(rc, call)) ?? false);
    }
    return this.#pinned || null;
  }

  zeros(size: number, dtype: DType): DataId {
    const info = this.output([size], dtype);
    this.memsetZero(info);
    return info.dataId;
  }

  async read(dataId: DataId, dtype: DType, size: number): Promise<TypedArray> {
    this.#assertAlive();
    const out = allocArray(dtype, size);
    const bytes = size * bytesPerElement(dtype);
    if (bytes > 0) {
      this.check(
        this.drv.api.cuMemcpyDtoHAsync(out, this.ptr(dataId), bytes, this.stream),
        'cuMemcpyDtoHAsync_v2',
      );
    }
    this.#syncNow();
    return out;
  }

  free(dataId: DataId): void {
    if (this.#destroyed) return;
    this.#alloc.free(dataId as CudaBuffer);
  }

  memory(): MemoryInfo {
    return {
      bytes: this.#alloc.liveBytes,
      buffers: this.#alloc.liveBuffers,
      peakBytes: this.#alloc.peakBytes,
    };
  }

  resetPeak(): void {
    this.#alloc.resetPeak();
  }

  async sync(): Promise<void> {
    this.#assertAlive();
    this.#syncNow();
  }

  destroy(): void {
    if (this.#destroyed) return;
    try {
      this.#syncNow();
    } catch {}
    if (this.#lt) this.#lt.destroy();
    this.#lt = null;
    if (this.#cudnn) this.#cudnn.destroy();
    this.#cudnn = null;
    this.#alloc.releaseAll();
    this.modules.unloadAll();
    if (this.#cublas) this.#cublas.api.cublasDestroy(this.#cublas.handle);
    this.#cublas = null;
    for (const e of this.#events) this.drv.api.cuEventDestroy(e);
    if (this.#pinned) this.#pinned.destroy();
    this.#pinned = false;
    this.drv.api.cuStreamDestroy(this.stream);
    this.drv.api.cuDevicePrimaryCtxRelease(this.#dev);
    this.#destroyed = true;
    void this.#ctx;
  }

  /** In-place slice write, queued on the stream (ops/layout.ts: one launch where the runs step evenly). */
  writeSlice(dst: TensorInfo, src: TensorInfo, runs: readonly SliceRun[]): boolean {
    return writeSlice(this as unknown as CudaBackend, dst, src, runs);
  }
}

/** A new tensor of `size` elements equal to `value`: one memset on the stream. */
function fill(b: CudaBackend, size: number, value: number, dtype: DType): TensorInfo & { shape: [number] } {
  const info = b.output([size], dtype) as TensorInfo & { shape: [number] };
  const p = b.ptr(info);
  if (dtype === 'bool') b.memset(p, 1, value ? 1 : 0, size);
  else if (dtype === 'int32') b.memset(p, 4, new Int32Array([value])[0], size);
  else if (isHalf(dtype)) b.memset(p, 2, numbersToHalfBits([value], dtype)[0], size);
  else b.memset(p, 4, new Uint32Array(new Float32Array([value]).buffer)[0], size);
  return info;
}

/**
 * A float32 kernel run on 16-bit inputs: each float16/bfloat16 input is widened to a float32 copy,
 * the kernel runs, and a float32 output is rounded back to that dtype (so the result is the float32
 * kernel's, rounded once). For the primitives without a 16-bit instance of their own yet.
 */
function via32<F>(kernel: F): F {
  const run = kernel as unknown as (b: CudaBackend, ...args: unknown[]) => unknown;
  const isInfo = (a: unknown): a is TensorInfo =>
    !!a && typeof a === 'object' && 'dataId' in a && 'dtype' in a && 'shape' in a;
  return ((b: CudaBackend, ...args: unknown[]) => {
    let half: DType | null = null;
    for (const a of args.flat()) if (!half && isInfo(a) && isHalf(a.dtype)) half = a.dtype;
    if (!half) return run(b, ...args);
    const temps: TensorInfo[] = [];
    const up = (a: unknown): unknown => {
      if (!isInfo(a) || !isHalf(a.dtype)) return a;
      const t = cast(b, a, 'float32');
      temps.push(t);
      return t;
    };
    const mapped = args.map((a) => (Array.isArray(a) ? a.map(up) : up(a)));
    let r: unknown;
    try {
      r = run(b, ...mapped);
    } finally {
      for (const t of temps) b.free(t.dataId);
    }
    if (isInfo(r) && r.dtype === 'float32') {
      const down = cast(b, r, half);
      b.free(r.dataId);
      return down;
    }
    return r;
  }) as unknown as F;
}

const conv2dVia32 = via32(conv2d);

/** 16-bit convs: cuDNN (tensor cores) where it is there and takes the case, else the own kernels. */
function conv2dKernel(
  b: CudaBackend,
  x: TensorInfo,
  w: TensorInfo,
  bias: TensorInfo | null,
  opts: Conv2dOptions,
  outShape: Shape,
): TensorInfo {
  if (!isHalf(x.dtype)) {
    // float32 through cuDNN's FMA kernels (no TF32) only where asked (SEA_CUDA_CUDNN_F32=1 with
    // SEA_CUDA_CUDNN=1): 2.97 ms for the layer's three convs at 32k on the H200, the own kernels 2.32
    const f32 =
      process.env.SEA_CUDA_CUDNN_F32 === '1' && opts.activation !== 'relu'
        ? (b.cudnn()?.run(x, w, bias, opts, outShape) ?? null)
        : null;
    return f32 ?? conv2d(b, x, w, bias, opts, outShape);
  }
  // cuDNN's convs end at the bias: a conv with an activation runs the own kernels
  const viaCudnn = opts.activation === 'relu' ? null : (b.cudnn()?.run(x, w, bias, opts, outShape) ?? null);
  if (viaCudnn) return viaCudnn;
  return conv2dHalfFits(x, w, opts) || (b.convMma && conv2dMmaPlan(x, w, opts))
    ? conv2d(b, x, w, bias, opts, outShape)
    : conv2dVia32(b, x, w, bias, opts, outShape);
}

/** One kernel per primitive (a missing one is a compile error), and the fused attention, linear and CSR attention. */
const CUDA_KERNELS = {
  matmul,
  unary,
  binary,
  where,
  cast,
  reduce,
  softmax,
  logSoftmax,
  layerNorm,
  gather,
  takeAlong,
  conv2d: conv2dKernel,
  cumsum,
  resize: via32(resize),
  transpose,
  slice,
  concat,
  pad,
  fill,
  range,
  performerPrefixSum,
  runningMeanMix,
  groupedTopK,
  stretchToCsr,
  cellMaskAttention,
  csrSddmm: via32(csrSddmm),
  csrSoftmax: via32(csrSoftmax),
  csrSpmm: via32(csrSpmm),
  attention,
  linear,
  csrAttention,
  adamw,
  performerStep,
  causalCnnStep,
  seaEncoderStep,
  seaDecodeAttention,
} satisfies KernelTable<CudaBackend>;

export class CudaBackend extends defineBackend(CudaMemory, CUDA_KERNELS) implements Backend {}

/**
 * Opens device 0 (or SEA_CUDA_DEVICE) through its primary context. Throws
 * BackendUnavailableError('cuda', reason) when there is no driver or no device.
 */
export function createCudaBackend(): CudaBackend {
  let drv: Driver;
  try {
    drv = loadDriver();
  } catch (e) {
    throw new BackendUnavailableError('cuda', (e as Error).message);
  }
  const { api } = drv;
  const ordinal = Number(process.env.SEA_CUDA_DEVICE ?? 0);
  let dev: number;
  let ctx: unknown;
  let info: CudaDeviceInfo;
  try {
    const v: [number] = [0];
    drv.check(api.cuDriverGetVersion(v), 'cuDriverGetVersion');
    drv.check(api.cuInit(0), 'cuInit');
    const n: [number] = [0];
    drv.check(api.cuDeviceGetCount(n), 'cuDeviceGetCount');
    if (n[0] <= ordinal) throw new Error(`no CUDA device ${ordinal} (${n[0]} found)`);
    const d: [number] = [0];
    drv.check(api.cuDeviceGet(d, ordinal), 'cuDeviceGet');
    dev = d[0];
    const nameBuf = Buffer.alloc(256);
    drv.check(api.cuDeviceGetName(nameBuf, 256, dev), 'cuDeviceGetName');
    const attr = (a: number): number => {
      const o: [number] = [0];
      drv.check(api.cuDeviceGetAttribute(o, a, dev), `cuDeviceGetAttribute(${a})`);
      return o[0];
    };
    const tot: [number | bigint] = [0];
    drv.check(api.cuDeviceTotalMem(tot, dev), 'cuDeviceTotalMem_v2');
    info = {
      name: nameBuf.toString('utf8', 0, Math.max(0, nameBuf.indexOf(0))),
      computeCapability: `${attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)}.${attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)}`,
      multiprocessors: attr(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT),
      totalMemoryBytes: Number(tot[0]),
      driverVersion: v[0],
      libcuda: drv.file,
    };
    const c: [unknown] = [null];
    drv.check(api.cuDevicePrimaryCtxRetain(c, dev), 'cuDevicePrimaryCtxRetain');
    ctx = c[0];
    drv.check(api.cuCtxSetCurrent(ctx), 'cuCtxSetCurrent');
  } catch (e) {
    throw new BackendUnavailableError('cuda', `CUDA driver present but unusable: ${(e as Error).message}`);
  }
  return new CudaBackend(drv, dev, ctx, info);
}
