/**
 * The CUDA backend: the driver API's primary context, one stream, a caching allocator, cuBLAS for
 * the dense matmuls and the project's CUDA C kernels (NVRTC at first use, or a prebuilt fatbin) for
 * every other primitive. Host code for each primitive family lives under `ops/`.
 */
import {
  type Backend,
  BackendUnavailableError,
  bytesPerElement,
  type CsrInfo,
  DeviceError,
  type DType,
  DTypeError,
  isHalf,
  type MemoryInfo,
  type TensorInfo,
  type TypedArray,
} from '@sea/tensor';
import { allocArray, type DataId, numbersToHalfBits } from '@sea/tensor/backend';
import koffi from 'koffi';
import { type CublasApi, type CudaCallError, type Driver, loadCublas, loadDriver } from './driver.js';
import { CachingAllocator, type CudaBuffer } from './memory.js';
import { type Family, ModuleLoader } from './modules.js';
import { attention } from './ops/attention.js';
import { conv2d, conv2dHalfFits, conv2dMmaPlan, resize } from './ops/conv.js';
import { CudnnConv } from './ops/cudnn.js';
import { binary, cast, unary, where } from './ops/elementwise.js';
import { concat, gather, pad, slice, takeAlong, transpose } from './ops/layout.js';
import { LtGemm, linear } from './ops/linear.js';
import { matmul } from './ops/matmul.js';
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
  stretchToCsr,
} from './ops/sea.js';
import { Params } from './params.js';

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
const CU_EVENT_DISABLE_TIMING = 2;
/** Bytes of one pinned staging slot (uploads up to this size go through pinned memory) and the slots. */
const PIN_SLOT = 64 << 10;
const PIN_SLOTS = 32;
const CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
const CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;

export class CudaBackend implements Backend {
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
   * Pinned (page-locked) staging for small uploads, PIN_SLOTS slots of PIN_SLOT bytes used in turn,
   * each with an event recorded after its copy: a copy from pinned memory is queued without the
   * host waiting for the device, which a copy from pageable memory can make it do. null until the
   * first upload, false where page-locked memory is refused (SEA_CUDA_PINNED=0 turns it off).
   */
  #pinned:
    | { ptr: bigint; view: Uint8Array; events: unknown[]; used: boolean[]; next: number }
    | null
    | false = null;
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
  /** 16-bit convs on the tensor cores (conv2d_mma_*, ops/conv.ts conv2dMmaPlan); false: the channel-blocked kernels. */
  convMma = process.env.SEA_CUDA_CONV_MMA !== '0';
  /** Performer outputs of 64 < E ≤ 128 columns a block per chunk (pps_chunk_out_e128); false: 64 columns a block. */
  performerWide = process.env.SEA_CUDA_PPS_WIDE !== '0';
  /** Grouped top-k with each group's scores in registers (groups of ≤ 4096); false: the re-reading kernel. */
  topkRegisters = process.env.SEA_CUDA_TOPK_REG !== '0';
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

  /** cuBLASLt (GEMM epilogues), loaded beside cuBLAS at first use; null when it is not there. */
  lt(): LtGemm | null {
    if (this.#lt === null) {
      const { file } = this.cublas();
      try {
        this.#lt = new LtGemm(this, file);
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
          this.#cudnn = new CudnnConv(this);
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
      const pin = bytes <= PIN_SLOT ? this.#pinnedStaging() : null;
      if (pin) {
        const i = pin.next;
        pin.next = (i + 1) % PIN_SLOTS;
        // the slot's last copy (PIN_SLOTS uploads ago) has left it before it is written again
        if (pin.used[i]) this.check(this.drv.api.cuEventSynchronize(pin.events[i]), 'cuEventSynchronize');
        pin.view.set(new Uint8Array(values.buffer, values.byteOffset, bytes), i * PIN_SLOT);
        this.check(
          this.drv.api.cuMemcpyHtoDAsync(b.ptr, pin.ptr + BigInt(i * PIN_SLOT), bytes, this.stream),
          'cuMemcpyHtoDAsync_v2',
        );
        this.check(this.drv.api.cuEventRecord(pin.events[i], this.stream), 'cuEventRecord');
        pin.used[i] = true;
      } else {
        this.check(this.drv.api.cuMemcpyHtoDAsync(b.ptr, values, bytes, this.stream), 'cuMemcpyHtoDAsync_v2');
      }
    }
    return b;
  }

  #pinnedStaging(): {
    ptr: bigint;
    view: Uint8Array;
    events: unknown[];
    used: boolean[];
    next: number;
  } | null {
    if (this.#pinned === null) {
      this.#pinned = false;
      if (process.env.SEA_CUDA_PINNED === '0') return null;
      const out: [unknown] = [null];
      if (this.drv.api.cuMemHostAlloc(out, PIN_SLOT * PIN_SLOTS, 0) !== 0 || !out[0]) return null;
      const ptr = out[0] as bigint;
      const events: unknown[] = [];
      for (let i = 0; i < PIN_SLOTS; i++) {
        const e: [unknown] = [null];
        if (this.drv.api.cuEventCreate(e, CU_EVENT_DISABLE_TIMING) !== 0) {
          for (const x of events) this.drv.api.cuEventDestroy(x);
          this.drv.api.cuMemFreeHost(ptr);
          return null;
        }
        events.push(e[0]);
      }
      const view = new Uint8Array(koffi.view(ptr as never, PIN_SLOT * PIN_SLOTS));
      this.#pinned = { ptr, view, events, used: new Array(PIN_SLOTS).fill(false), next: 0 };
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
    if (this.#pinned) {
      for (const e of this.#pinned.events) this.drv.api.cuEventDestroy(e);
      this.drv.api.cuMemFreeHost(this.#pinned.ptr);
      this.#pinned = false;
    }
    this.drv.api.cuStreamDestroy(this.stream);
    this.drv.api.cuDevicePrimaryCtxRelease(this.#dev);
    this.#destroyed = true;
    void this.#ctx;
  }

  fill(size: number, value: number, dtype: DType): TensorInfo & { shape: [number] } {
    const info = this.output([size], dtype) as TensorInfo & { shape: [number] };
    const p = this.ptr(info);
    if (dtype === 'bool') this.memset(p, 1, value ? 1 : 0, size);
    else if (dtype === 'int32') this.memset(p, 4, new Int32Array([value])[0], size);
    else if (isHalf(dtype)) this.memset(p, 2, numbersToHalfBits([value], dtype)[0], size);
    else this.memset(p, 4, new Uint32Array(new Float32Array([value]).buffer)[0], size);
    return info;
  }

  /**
   * A float32 kernel run on 16-bit inputs: each float16/bfloat16 input is widened to a float32 copy,
   * the kernel runs, and a float32 output is rounded back to that dtype (so the result is the float32
   * kernel's, rounded once). For the primitives without a 16-bit instance of their own yet.
   */
  #via32<F extends (...args: never[]) => unknown>(kernel: F): F {
    const isInfo = (a: unknown): a is TensorInfo =>
      !!a && typeof a === 'object' && 'dataId' in a && 'dtype' in a && 'shape' in a;
    return ((...args: unknown[]) => {
      let half: DType | null = null;
      for (const a of args.flat()) if (!half && isInfo(a) && isHalf(a.dtype)) half = a.dtype;
      if (!half) return kernel(...(args as never[]));
      const temps: TensorInfo[] = [];
      const up = (a: unknown): unknown => {
        if (!isInfo(a) || !isHalf(a.dtype)) return a;
        const t = cast(this, a, 'float32');
        temps.push(t);
        return t;
      };
      const mapped = args.map((a) => (Array.isArray(a) ? a.map(up) : up(a)));
      let r: unknown;
      try {
        r = kernel(...(mapped as never[]));
      } finally {
        for (const t of temps) this.free(t.dataId);
      }
      if (isInfo(r) && r.dtype === 'float32') {
        const down = cast(this, r, half);
        this.free(r.dataId);
        return down;
      }
      return r;
    }) as unknown as F;
  }

  // ---------------------------------------------------------------- primitives (ops/)
  matmul: Backend['matmul'] = (a, b, opts, outShape) => matmul(this, a, b, opts, outShape);
  unary: Backend['unary'] = (op, x) => unary(this, op, x);
  binary: Backend['binary'] = (op, a, b, outShape) => binary(this, op, a, b, outShape);
  where: Backend['where'] = (c, a, b, outShape) => where(this, c, a, b, outShape);
  cast: Backend['cast'] = (x, dtype) => cast(this, x, dtype);
  reduce: Backend['reduce'] = (op, x, axes) => reduce(this, op, x, axes);
  softmax: Backend['softmax'] = (x, mask) => softmax(this, x, mask);
  logSoftmax: Backend['logSoftmax'] = (x) => logSoftmax(this, x);
  layerNorm: Backend['layerNorm'] = (x, g, b, eps) => layerNorm(this, x, g, b, eps);
  gather: Backend['gather'] = (t, i) => gather(this, t, i);
  takeAlong: Backend['takeAlong'] = (x, i) => takeAlong(this, x, i);
  readonly #conv2dVia32: Backend['conv2d'] = this.#via32((x, w, bias, opts, outShape) =>
    conv2d(this, x, w, bias, opts, outShape),
  );
  /** 16-bit convs: cuDNN (tensor cores) where it is there and takes the case, else the own kernels. */
  conv2d: Backend['conv2d'] = (x, w, bias, opts, outShape) => {
    if (!isHalf(x.dtype)) {
      // float32 through cuDNN's FMA kernels (no TF32) only where asked (SEA_CUDA_CUDNN_F32=1 with
      // SEA_CUDA_CUDNN=1): 2.97 ms for the layer's three convs at 32k on the H200, the own kernels 2.32
      const f32 =
        process.env.SEA_CUDA_CUDNN_F32 === '1'
          ? (this.cudnn()?.run(x, w, bias, opts, outShape) ?? null)
          : null;
      return f32 ?? conv2d(this, x, w, bias, opts, outShape);
    }
    const viaCudnn = this.cudnn()?.run(x, w, bias, opts, outShape) ?? null;
    if (viaCudnn) return viaCudnn;
    return conv2dHalfFits(x, w, opts) || (this.convMma && conv2dMmaPlan(x, w, opts))
      ? conv2d(this, x, w, bias, opts, outShape)
      : this.#conv2dVia32(x, w, bias, opts, outShape);
  };
  cumsum: Backend['cumsum'] = (x, axis, ex, rev) => cumsum(this, x, axis, ex, rev);
  resize: Backend['resize'] = this.#via32((x, h, w, opts) => resize(this, x, h, w, opts));
  transpose: Backend['transpose'] = (x, perm) => transpose(this, x, perm);
  slice: Backend['slice'] = (x, begin, size) => slice(this, x, begin, size);
  concat: Backend['concat'] = (xs, axis) => concat(this, xs, axis);
  pad: Backend['pad'] = (x, pads, value) => pad(this, x, pads, value);
  performerPrefixSum: Backend['performerPrefixSum'] = (qf, kf, v, opts) =>
    performerPrefixSum(this, qf, kf, v, opts);
  groupedTopK: Backend['groupedTopK'] = (s, b) => groupedTopK(this, s, b);
  stretchToCsr: Backend['stretchToCsr'] = (m, r, opts): Promise<CsrInfo> => stretchToCsr(this, m, r, opts);
  cellMaskAttention: Backend['cellMaskAttention'] = (m, r, q, k, v, s, opts) =>
    cellMaskAttention(this, m, r, q, k, v, s, opts);
  csrSddmm: Backend['csrSddmm'] = this.#via32((csr, q, k, scale) => csrSddmm(this, csr, q, k, scale));
  csrSoftmax: Backend['csrSoftmax'] = this.#via32((csr, val, rs) => csrSoftmax(this, csr, val, rs));
  csrSpmm: Backend['csrSpmm'] = this.#via32((csr, val, v) => csrSpmm(this, csr, val, v));
  attention: NonNullable<Backend['attention']> = (q, k, v, kv, opts) => attention(this, q, k, v, kv, opts);
  linear: NonNullable<Backend['linear']> = (x, w, bias, res, opts) => linear(this, x, w, bias, res, opts);
  csrAttention: NonNullable<Backend['csrAttention']> = (csr, q, k, v, rs, opts) =>
    csrAttention(this, csr, q, k, v, rs, opts);
  /** In-place slice write: one device-to-device copy per contiguous run, queued on the stream. */
  writeSlice: NonNullable<Backend['writeSlice']> = (dst, src, runs) => {
    const e = bytesPerElement(dst.dtype);
    const d = this.ptr(dst);
    const s = this.ptr(src);
    for (const r of runs) this.copyDtoD(d + BigInt(r.dst * e), s + BigInt(r.src * e), r.length * e);
    return true;
  };
}

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
