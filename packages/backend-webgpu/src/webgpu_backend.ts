/**
 * The WebGPU backend: device memory (chunked buffers and a size-keyed pool), a pipeline cache keyed
 * by the generated WGSL (which carries every specialisation: dtype, rank, chunk counts, tile
 * shape), batched dispatch into one command encoder, and async readback through `mapAsync`
 * (`WebGpuMemory`). Each primitive is one file under `kernels/`, bound through the kernel table below.
 */
import {
  type Backend,
  DeviceError,
  type DType,
  DTypeError,
  isHalf,
  type MemoryInfo,
  type TensorInfo,
  type TypedArray,
} from '@sea/tensor';
import { type DataId, defineBackend, type KernelTable, type SliceRun } from '@sea/tensor/backend';
import {
  type BindingSpec,
  declareBindings,
  declareParams,
  gpuBytesPerElement,
  halfPrelude,
  type Param,
  packParams,
  type WgslType,
  wgslType,
} from './codegen.js';
import type { AdapterSummary, GpuContext } from './device.js';
import { binary } from './kernels/binary.js';
import { cast } from './kernels/cast.js';
import { cellMaskAttention } from './kernels/cell_mask_attention.js';
import { concat } from './kernels/concat.js';
import { conv2d } from './kernels/conv2d.js';
import { csrAttention } from './kernels/csr_attention.js';
import { csrSddmm } from './kernels/csr_sddmm.js';
import { csrSoftmax } from './kernels/csr_softmax.js';
import { csrSpmm } from './kernels/csr_spmm.js';
import { cumsum } from './kernels/cumsum.js';
import { causalCnnStep, performerStep, seaDecodeAttention, seaEncoderStep } from './kernels/decode_step.js';
import { fill } from './kernels/fill.js';
import { gather } from './kernels/gather.js';
import { groupedTopK } from './kernels/grouped_topk.js';
import { layerNorm } from './kernels/layer_norm.js';
import { matmul } from './kernels/matmul.js';
import { pad } from './kernels/pad.js';
import { performerPrefixSum } from './kernels/performer_prefix_sum.js';
import { range } from './kernels/range.js';
import { reduce } from './kernels/reduce.js';
import { resize } from './kernels/resize.js';
import { runningMeanMix } from './kernels/running_mean_mix.js';
import { slice } from './kernels/slice.js';
import { logSoftmax, softmax } from './kernels/softmax.js';
import { stretchToCsr } from './kernels/stretch_to_csr.js';
import { takeAlong } from './kernels/take_along.js';
import { transpose } from './kernels/transpose.js';
import { unary } from './kernels/unary.js';
import { where } from './kernels/where.js';

/** A tensor's device memory: one buffer per chunk of `chunkElems` elements (4 bytes each; 2 for 16-bit floats). */
export interface GpuData {
  readonly chunks: GPUBuffer[];
  readonly size: number;
  readonly dtype: DType;
  readonly bytes: number;
}

export type MatmulVariant = 'tiled' | 'register';

export interface WebGpuBackendOptions {
  /** Upper bound on one storage binding (default: the device's maxStorageBufferBindingSize). */
  maxBindingBytes?: number;
  /** Matmul kernel: workgroup-memory tiles (GPUs) or register blocking without workgroup memory (CPU adapters). */
  matmul?: MatmulVariant;
  /**
   * Bytes of freed buffers kept for reuse. Default: 256 MiB plus twice the peak of live bytes so
   * far, so a repeated workload (a layer, a decoding step) finds every buffer it frees again in the
   * pool instead of making new ones (a new buffer costs an allocation and the zero-fill WebGPU
   * gives it; buffers are pooled by exact size, so a workload's distinct buffers can add up to more
   * than its live peak). The pool is released before an allocation would pass `maxBytes`, and by
   * `releasePool()`.
   */
  poolBytes?: number;
  /**
   * Dispatches queued before a submit (default 16): the device starts on the first ones while the
   * host still encodes the rest.
   */
  flushEvery?: number;
  /**
   * float16 storage: 'native' (`array<f16>`, needs the device's `shader-f16`), 'packed' (two
   * halves per u32 word through pack2x16float/unpack2x16float, every adapter). Default: native
   * where the device has `shader-f16`, packed otherwise. bfloat16 is always packed.
   */
  float16?: 'native' | 'packed';
  /**
   * Bytes the backend may hold at once; an allocation beyond it is a DeviceError before any buffer
   * is made. WebGPU reports no memory size, so the default is the host's memory in Node (lavapipe
   * and SwiftShader allocate there; a GPU has less) and unlimited in browsers.
   */
  maxBytes?: number;
}

/** The host's memory in Node (os.totalmem), undefined in browsers. */
function hostMemory(): number | undefined {
  const p = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const os = p?.getBuiltinModule?.('os') as { totalmem(): number } | undefined;
  return os?.totalmem();
}

export interface KernelArg {
  name: string;
  data: GpuData;
  /** Overrides the storage type derived from the dtype (e.g. u32 scratch). */
  type?: WgslType;
  vec4?: boolean;
  /** A packed 16-bit output the kernel writes only through NAME_st2 (whole words; see codegen). */
  pairs?: boolean;
}

export interface RunSpec {
  /** For error messages. */
  name: string;
  /** WGSL after the generated declarations: helpers and the entry point `main`. */
  body: string;
  inputs: readonly KernelArg[];
  outputs: readonly KernelArg[];
  params?: readonly Param[];
  /** Workgroup counts (x, y, z). */
  grid: readonly [number, number, number];
}

const USAGE = 0x80 /* STORAGE */ | 0x04 /* COPY_SRC */ | 0x08; /* COPY_DST */
const FLUSH_EVERY = 16;
const PROFILE_QUERIES = 4096;
/** Bytes of parameter blocks per submit (256 dispatches at the 256-byte offset alignment; more flush early). */
const UNIFORM_BYTES = 64 * 1024;

/** Contexts of destroyed devices, held until their `lost` promise settles (see destroy()). */
const retiring = new Set<GpuContext>();

/** The WebGPU backend's device, buffers, pipelines and dispatch; the kernels (`kernels/`) run over it. */
export class WebGpuMemory {
  readonly name = 'webgpu';
  /** See WebGpuBackendOptions.maxBytes. */
  readonly maxBytes: number;
  readonly dtypes: readonly DType[] = ['float32', 'float16', 'bfloat16', 'int32', 'bool'];
  /** float16 tensors are `array<f16>` (shader-f16) rather than packed u32 words. */
  readonly nativeF16: boolean;
  readonly summary: AdapterSummary;
  readonly chunkElems: number;
  readonly maxStorageBuffers: number;
  readonly maxWorkgroupStorage: number;
  readonly maxWorkgroupsPerDim: number;
  readonly matmulVariant: MatmulVariant;
  /** Owns the device; `gpu` inside it must outlive every pending device promise. */
  #ctx: GpuContext | null;
  #device: GPUDevice;
  #pipelines = new Map<string, { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }>();
  #pool = new Map<number, GPUBuffer[]>();
  /** Pooled buffers freed since the last submit: commands still unsubmitted may read them. */
  #freedSinceSubmit = new Set<GPUBuffer>();
  #poolBytes = 0;
  /** Fixed pool size (WebGpuBackendOptions.poolBytes), or null: 256 MiB plus twice the live peak. */
  #poolCap: number | null;
  #flushEvery: number;
  #live = new Set<GpuData>();
  #bytes = 0;
  #peak = 0;
  /** The highest live bytes since creation (resetPeak leaves it): sizes the default pool. */
  #peakEver = 0;
  #encoder: GPUCommandEncoder | null = null;
  /** The open compute pass: consecutive dispatches share it (Dawn orders them within the pass). */
  #pass: GPUComputePassEncoder | null = null;
  /** Parameter blocks of the pending dispatches, written to #uniforms once per submit. */
  #uData = new Uint8Array(UNIFORM_BYTES);
  #uUsed = 0;
  #uniforms: GPUBuffer | null = null;
  #encoded = 0;
  #transient: GPUBuffer[] = [];
  #errors: string[] = [];
  #prof: { sets: GPUQuerySet[]; names: string[] } | null = null;
  #lost: string | null = null;
  #counts = { submits: 0, reads: 0, syncs: 0, dispatches: 0, buffers: 0 };

  constructor(ctx: GpuContext, opts: WebGpuBackendOptions = {}) {
    this.#ctx = ctx;
    this.#device = ctx.device;
    this.summary = ctx.summary;
    const lim = ctx.device.limits;
    const binding = Math.min(
      opts.maxBindingBytes ?? Number.POSITIVE_INFINITY,
      lim.maxStorageBufferBindingSize,
      lim.maxBufferSize,
    );
    this.chunkElems = Math.max(256, Math.floor(binding / 4 / 256) * 256);
    this.maxStorageBuffers = lim.maxStorageBuffersPerShaderStage;
    this.maxWorkgroupStorage = lim.maxComputeWorkgroupStorageSize;
    this.maxWorkgroupsPerDim = lim.maxComputeWorkgroupsPerDimension;
    this.matmulVariant = opts.matmul ?? (ctx.summary.isFallback ? 'register' : 'tiled');
    this.#poolCap = opts.poolBytes ?? null;
    this.#flushEvery = Math.max(1, Math.floor(opts.flushEvery ?? FLUSH_EVERY));
    const hasF16 = ctx.device.features.has('shader-f16');
    if (opts.float16 === 'native' && !hasF16)
      throw new DeviceError(
        "webgpu: float16: 'native' needs the device feature 'shader-f16', which this adapter lacks; use 'packed'",
      );
    this.nativeF16 = hasF16 && opts.float16 !== 'packed';
    this.maxBytes = opts.maxBytes ?? hostMemory() ?? Number.POSITIVE_INFINITY;
    ctx.device.lost.then((info) => {
      if (this.#ctx) this.#lost = `device lost (${info.reason}): ${info.message}`;
    });
    ctx.device.addEventListener('uncapturederror', (ev) => {
      this.#errors.push((ev as GPUUncapturedErrorEvent).error.message);
    });
  }

  // ---- memory ----

  #check(): void {
    if (!this.#ctx) throw new DeviceError('webgpu backend used after destroy()');
    if (this.#lost)
      throw new DeviceError(`webgpu: ${this.#lost}; create a new backend (forgetBackend('webgpu'))`);
  }

  /**
   * A buffer of `bytes` from the pool, or a new one. `clean`: none that unsubmitted commands may
   * still read (an upload writes through the queue, ahead of those commands).
   */
  #buffer(bytes: number, clean = false): GPUBuffer {
    const list = this.#pool.get(bytes);
    let at = list ? list.length - 1 : -1;
    if (clean && list) while (at >= 0 && this.#freedSinceSubmit.has(list[at])) at--;
    if (list && at >= 0) {
      const hit = list[at];
      list.splice(at, 1);
      this.#poolBytes -= bytes;
      return hit;
    }
    try {
      this.#counts.buffers++;
      return this.#device.createBuffer({ size: bytes, usage: USAGE });
    } catch (e) {
      throw new DeviceError(`webgpu: cannot allocate ${bytes} bytes: ${(e as Error).message}`);
    }
  }

  /** Bytes of freed buffers held in the pool for reuse (not counted by memory()). */
  get pooledBytes(): number {
    return this.#poolBytes;
  }

  /**
   * A new uninitialised buffer set for `size` elements. `clean`: buffers no unsubmitted command
   * reads (for uploads).
   */
  alloc(size: number, dtype: DType, clean = false): GpuData {
    this.#check();
    if (dtype === 'float64')
      throw new DTypeError("webgpu: float64 is not supported; cast to float32 or use the 'cpu' backend");
    const n = Math.max(1, Math.ceil(size / this.chunkElems));
    const want = size * 4;
    if (this.#bytes + want > this.maxBytes) {
      throw new DeviceError(
        `webgpu: cannot allocate ${want} bytes (${size} ${dtype} values): ${this.#bytes} bytes are in use of at most ${this.maxBytes} (WebGpuBackendOptions.maxBytes)`,
      );
    }
    // pooled buffers give way before the device holds more than maxBytes
    if (this.#bytes + this.#poolBytes + want > this.maxBytes) this.releasePool();
    const chunks: GPUBuffer[] = [];
    let bytes = 0;
    try {
      for (let c = 0; c < n; c++) {
        const elems = Math.min(this.chunkElems, size - c * this.chunkElems);
        const b = Math.max(16, Math.ceil((Math.max(elems, 1) * gpuBytesPerElement(dtype)) / 16) * 16);
        chunks.push(this.#buffer(b, clean));
        bytes += b;
      }
    } catch (e) {
      // give back what this allocation got before it failed
      for (const b of chunks) b.destroy();
      throw e;
    }
    const d: GpuData = { chunks, size, dtype, bytes };
    this.#live.add(d);
    this.#bytes += bytes;
    if (this.#bytes > this.#peak) this.#peak = this.#bytes;
    if (this.#bytes > this.#peakEver) this.#peakEver = this.#bytes;
    return d;
  }

  /** The device memory behind a tensor. */
  data(x: TensorInfo | DataId): GpuData {
    const id = 'dataId' in (x as TensorInfo) ? (x as TensorInfo).dataId : x;
    return id as GpuData;
  }

  out<S extends readonly number[]>(data: GpuData, shape: S, dtype: DType): TensorInfo {
    return { dataId: data, shape: [...shape], dtype };
  }

  upload(values: TypedArray, dtype: DType): DataId {
    // writeBuffer lands ahead of the unsubmitted commands: the buffer must be one none of them
    // reads (so no submit is needed here)
    const d = this.alloc(values.length, dtype, true);
    const bpe = gpuBytesPerElement(dtype);
    let words: Uint32Array | Float32Array | Int32Array | Uint16Array;
    if (dtype === 'bool') words = Uint32Array.from(values as Uint8Array, (v) => (v ? 1 : 0));
    else if (isHalf(dtype)) {
      // Whole words: an odd count gets a zero pad half (writeBuffer moves multiples of 4 bytes).
      words = new Uint16Array(values.length + (values.length & 1));
      words.set(values as Uint16Array);
    } else words = values as Float32Array | Int32Array;
    for (let c = 0; c < d.chunks.length; c++) {
      const start = c * this.chunkElems;
      const len = Math.min(this.chunkElems, values.length - start);
      if (len <= 0) continue;
      const bytes = Math.ceil((len * bpe) / 4) * 4;
      this.#device.queue.writeBuffer(d.chunks[c], 0, words.buffer, words.byteOffset + start * bpe, bytes);
    }
    return d;
  }

  zeros(size: number, dtype: DType): DataId {
    const d = this.alloc(size, dtype);
    this.clear(d);
    return d;
  }

  /** Zero-fills a buffer set (queued in order with the kernels). */
  clear(d: GpuData): void {
    const enc = this.#enc();
    for (const b of d.chunks) enc.clearBuffer(b);
    this.#bump();
  }

  async read(dataId: DataId, dtype: DType, size: number): Promise<TypedArray> {
    this.#check();
    const d = dataId as GpuData;
    const bpe = gpuBytesPerElement(dtype);
    // Whole words per chunk (a chunk holds an even number of elements, so only the last pads).
    const bytes = Math.ceil((size * bpe) / 4) * 4;
    const raw = new ArrayBuffer(Math.max(4, bytes));
    this.#counts.reads++;
    if (size > 0) {
      const staging = this.#device.createBuffer({ size: bytes, usage: 0x01 | 0x08 });
      const enc = this.#enc();
      for (let c = 0; c < d.chunks.length; c++) {
        const start = c * this.chunkElems * bpe;
        const len = Math.min(this.chunkElems * bpe, bytes - start);
        if (len > 0) enc.copyBufferToBuffer(d.chunks[c], 0, staging, start, len);
      }
      this.flush();
      try {
        await staging.mapAsync(0x0001 /* READ */);
        new Uint8Array(raw).set(new Uint8Array(staging.getMappedRange(0, bytes)));
        staging.unmap();
      } catch (e) {
        this.#check();
        throw new DeviceError(`webgpu: readback failed: ${(e as Error).message}`);
      } finally {
        staging.destroy();
      }
    }
    this.#raise();
    switch (dtype) {
      case 'float32':
        return new Float32Array(raw, 0, size);
      case 'int32':
        return new Int32Array(raw, 0, size);
      case 'bool':
        return Uint8Array.from(new Uint32Array(raw, 0, size), (v) => (v ? 1 : 0));
      default:
        if (isHalf(dtype)) return new Uint16Array(raw, 0, size);
        throw new DTypeError(`webgpu: cannot read dtype ${dtype}`);
    }
  }

  free(dataId: DataId): void {
    const d = dataId as GpuData;
    if (!this.#live.delete(d)) return;
    this.#bytes -= d.bytes;
    for (const b of d.chunks) {
      const cap = this.#poolCap ?? 256 * 2 ** 20 + 2 * this.#peakEver;
      if (this.#poolBytes + b.size > cap || !this.#ctx) {
        this.#transient.push(b);
        continue;
      }
      const list = this.#pool.get(b.size) ?? [];
      list.push(b);
      if (this.#encoder) this.#freedSinceSubmit.add(b);
      this.#pool.set(b.size, list);
      this.#poolBytes += b.size;
    }
  }

  /** Destroys the pooled (freed, kept for reuse) buffers once the queued work no longer needs them. */
  releasePool(): void {
    for (const list of this.#pool.values()) this.#transient.push(...list);
    this.#pool.clear();
    this.#poolBytes = 0;
    this.#freedSinceSubmit.clear();
    // with nothing unsubmitted they can go now (destroy waits for submitted work)
    if (!this.#encoder) {
      for (const b of this.#transient) b.destroy();
      this.#transient = [];
    }
  }

  memory(): MemoryInfo {
    return { bytes: this.#bytes, buffers: this.#live.size, peakBytes: this.#peak };
  }

  resetPeak(): void {
    this.#peak = this.#bytes;
  }

  async sync(): Promise<void> {
    this.#check();
    this.flush();
    this.#counts.syncs++;
    await this.#device.queue.onSubmittedWorkDone();
    this.#raise();
  }

  destroy(): void {
    if (!this.#ctx) return;
    this.#encoder = null;
    this.#pass = null;
    this.#uniforms?.destroy();
    this.#uniforms = null;
    for (const d of this.#live) for (const b of d.chunks) b.destroy();
    for (const list of this.#pool.values()) for (const b of list) b.destroy();
    for (const b of this.#transient) b.destroy();
    this.#live.clear();
    this.#pool.clear();
    this.#freedSinceSubmit.clear();
    this.#transient = [];
    this.#bytes = 0;
    this.#poolBytes = 0;
    this.#pipelines.clear();
    const ctx = this.#ctx;
    this.#ctx = null;
    ctx.device.destroy();
    // The GPU object (Dawn's instance owner) must outlive every callback of the device: destroying
    // the device settles `lost` once Dawn has run the pending callbacks (mapAsync, work-done), so the
    // context is held until then, never dropped (and collected) while Dawn's threads still use it.
    retiring.add(ctx);
    void ctx.device.lost.finally(() => retiring.delete(ctx));
  }

  /**
   * Host round trips since the backend was made: queue submits, read-backs to the host (`read`),
   * waits for the queue (`sync`), compute dispatches, and storage buffers made (not from the pool)
   * (benchmarks, tests).
   */
  counters(): { submits: number; reads: number; syncs: number; dispatches: number; buffers: number } {
    return { ...this.#counts };
  }

  /** Number of distinct compiled pipelines (tests). */
  get pipelineCount(): number {
    return this.#pipelines.size;
  }

  // ---- dispatch ----

  /** The pending command encoder, for commands outside compute passes (the open pass ends). */
  #enc(): GPUCommandEncoder {
    this.#check();
    this.#endPass();
    if (!this.#encoder) this.#encoder = this.#device.createCommandEncoder();
    return this.#encoder;
  }

  #endPass(): void {
    if (this.#pass) {
      this.#pass.end();
      this.#pass = null;
    }
  }

  #bump(): void {
    if (++this.#encoded >= this.#flushEvery) this.flush();
  }

  /** Submits the pending command encoder. */
  flush(): void {
    if (!this.#encoder || !this.#ctx) return;
    this.#endPass();
    if (this.#uUsed > 0 && this.#uniforms) {
      // Queue-ordered: lands after earlier submits have run and before this one.
      this.#device.queue.writeBuffer(
        this.#uniforms,
        0,
        this.#uData.buffer,
        0,
        Math.ceil(this.#uUsed / 4) * 4,
      );
      this.#uUsed = 0;
    }
    this.#device.queue.submit([this.#encoder.finish()]);
    this.#counts.submits++;
    this.#encoder = null;
    this.#encoded = 0;
    this.#freedSinceSubmit.clear();
    // Destroying after submit is safe: the destruction waits for the submitted work.
    for (const b of this.#transient) b.destroy();
    this.#transient = [];
  }

  #raise(): void {
    if (this.#lost) throw new DeviceError(`webgpu: ${this.#lost}`);
    if (this.#errors.length) {
      const msg = this.#errors.splice(0).join('\n');
      throw new DeviceError(`webgpu: ${msg}`);
    }
  }

  #pipeline(name: string, code: string): { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout } {
    let p = this.#pipelines.get(code);
    if (!p) {
      this.#device.pushErrorScope('validation');
      const module = this.#device.createShaderModule({ code, label: name });
      const pipeline = this.#device.createComputePipeline({
        layout: 'auto',
        compute: { module, entryPoint: 'main' },
        label: name,
      });
      this.#device.popErrorScope().then((err) => {
        if (err) this.#errors.push(`kernel '${name}' failed to compile: ${err.message}`);
      });
      p = { pipeline, layout: pipeline.getBindGroupLayout(0) };
      this.#pipelines.set(code, p);
    }
    return p;
  }

  /** Generates, caches and enqueues one compute dispatch. */
  run(spec: RunSpec): void {
    this.#check();
    const [gx, gy, gz] = spec.grid;
    if (gx * gy * gz === 0) return;
    this.#counts.dispatches++;
    const args = [
      ...spec.inputs.map((a) => [a, false] as const),
      ...spec.outputs.map((a) => [a, true] as const),
    ];
    const specs: BindingSpec[] = args.map(([a, write]) => ({
      name: a.name,
      type: a.type ?? wgslType(a.data.dtype, this.nativeF16),
      chunks: a.data.chunks.length,
      write,
      vec4: a.vec4,
      pairs: a.pairs,
    }));
    const nStorage = specs.reduce((s, b) => s + b.chunks, 0);
    if (nStorage > this.maxStorageBuffers) {
      throw new DeviceError(
        `webgpu: kernel '${spec.name}' needs ${nStorage} storage bindings (tensors split into chunks of ${this.chunkElems * 4} bytes), the device allows ${this.maxStorageBuffers}; use smaller tensors`,
      );
    }
    const params = packParams(spec.params ?? []);
    const code = `${halfPrelude(specs.map((x) => x.type))}\n${declareBindings(specs, this.chunkElems)}\n${declareParams(params.length, nStorage)}\n${spec.body}`;
    const { pipeline, layout } = this.#pipeline(spec.name, code);
    const align = this.#device.limits.minUniformBufferOffsetAlignment;
    let at = Math.ceil(this.#uUsed / align) * align;
    if (at + params.byteLength > UNIFORM_BYTES) {
      this.flush();
      at = 0;
    }
    this.#uniforms ??= this.#device.createBuffer({ size: UNIFORM_BYTES, usage: 0x40 /* UNIFORM */ | 0x08 });
    this.#uData.set(new Uint8Array(params.buffer, params.byteOffset, params.byteLength), at);
    this.#uUsed = at + params.byteLength;
    const entries: GPUBindGroupEntry[] = [];
    let binding = 0;
    for (const [a] of args)
      for (const buf of a.data.chunks) entries.push({ binding: binding++, resource: { buffer: buf } });
    entries.push({
      binding: binding,
      resource: { buffer: this.#uniforms, offset: at, size: params.byteLength },
    });
    const bindGroup = this.#device.createBindGroup({ layout, entries });
    let timestampWrites: GPUComputePassTimestampWrites | undefined;
    if (this.#prof) {
      const k = this.#prof.names.length;
      const slot = k % (PROFILE_QUERIES / 2);
      if (slot === 0)
        this.#prof.sets.push(this.#device.createQuerySet({ type: 'timestamp', count: PROFILE_QUERIES }));
      this.#prof.names.push(spec.name);
      timestampWrites = {
        querySet: this.#prof.sets[this.#prof.sets.length - 1],
        beginningOfPassWriteIndex: 2 * slot,
        endOfPassWriteIndex: 2 * slot + 1,
      };
    }
    if (timestampWrites) {
      // One pass per dispatch while profiling: the timestamps bracket exactly this kernel.
      const pass = this.#enc().beginComputePass({ timestampWrites });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(gx, gy, gz);
      pass.end();
    } else {
      if (!this.#pass) {
        if (!this.#encoder) this.#encoder = this.#device.createCommandEncoder();
        this.#pass = this.#encoder.beginComputePass();
      }
      this.#pass.setPipeline(pipeline);
      this.#pass.setBindGroup(0, bindGroup);
      this.#pass.dispatchWorkgroups(gx, gy, gz);
    }
    this.#bump();
  }

  /**
   * Starts timing every dispatch on the GPU (timestamp queries; benchmarks). Returns false, and
   * times nothing, where the device lacks 'timestamp-query'.
   */
  startProfile(): boolean {
    this.#check();
    if (!this.#device.features.has('timestamp-query')) return false;
    this.#prof = { sets: [], names: [] };
    return true;
  }

  /** Stops timing; GPU milliseconds and dispatch counts per kernel name, slowest first. */
  async stopProfile(): Promise<{ kernel: string; dispatches: number; ms: number }[]> {
    const prof = this.#prof;
    this.#prof = null;
    if (!prof) return [];
    const per = PROFILE_QUERIES / 2;
    const totals = new Map<string, { dispatches: number; ns: number }>();
    for (let si = 0; si < prof.sets.length; si++) {
      const n = Math.min(per, prof.names.length - si * per);
      const resolve = this.#device.createBuffer({ size: n * 16, usage: 0x200 /* QUERY_RESOLVE */ | 0x04 });
      const staging = this.#device.createBuffer({ size: n * 16, usage: 0x01 | 0x08 });
      const enc = this.#enc();
      enc.resolveQuerySet(prof.sets[si], 0, 2 * n, resolve, 0);
      enc.copyBufferToBuffer(resolve, 0, staging, 0, n * 16);
      this.flush();
      await staging.mapAsync(0x0001);
      const t = new BigUint64Array(staging.getMappedRange().slice(0));
      staging.unmap();
      staging.destroy();
      resolve.destroy();
      prof.sets[si].destroy();
      for (let j = 0; j < n; j++) {
        const name = prof.names[si * per + j];
        const ns = Number(t[2 * j + 1] - t[2 * j]);
        const e = totals.get(name) ?? { dispatches: 0, ns: 0 };
        e.dispatches++;
        if (ns > 0 && ns < 1e11) e.ns += ns;
        totals.set(name, e);
      }
    }
    return [...totals]
      .map(([kernel, e]) => ({ kernel, dispatches: e.dispatches, ms: e.ns / 1e6 }))
      .sort((a, b) => b.ms - a.ms);
  }

  /** A 2-D grid of at least `n` workgroups (x·y ≥ n) within the per-dimension limit. */
  grid(n: number): [number, number, number] {
    const m = this.maxWorkgroupsPerDim;
    if (n <= m) return [n, 1, 1];
    const y = Math.ceil(n / m);
    return [Math.ceil(n / y), y, 1];
  }

  /**
   * In-place slice write: buffer-to-buffer copies of each contiguous run, split at chunk edges (16-bit
   * tensors: when every run starts and ends on a word boundary).
   */
  writeSlice(dst: TensorInfo, src: TensorInfo, runs: readonly SliceRun[]): boolean {
    this.#check();
    // 16-bit tensors share u32 words and buffer copies move whole words: runs of even offsets and
    // lengths (a decoding cache's rows when the head size is even) copy in place, others fall back
    // to a new tensor
    const half = dst.dtype === 'float16' || dst.dtype === 'bfloat16';
    if (half && runs.some((r) => r.src % 2 !== 0 || r.dst % 2 !== 0 || r.length % 2 !== 0)) return false;
    const bpe = half ? 2 : 4;
    const d = dst.dataId as GpuData;
    const s = src.dataId as GpuData;
    const n = this.chunkElems;
    const enc = this.#enc();
    for (const r of runs) {
      let done = 0;
      while (done < r.length) {
        const so = r.src + done;
        const dof = r.dst + done;
        const len = Math.min(r.length - done, n - (so % n), n - (dof % n));
        enc.copyBufferToBuffer(
          s.chunks[Math.floor(so / n)],
          (so % n) * bpe,
          d.chunks[Math.floor(dof / n)],
          (dof % n) * bpe,
          len * bpe,
        );
        done += len;
      }
    }
    this.#bump();
    return true;
  }
}

/** One kernel per primitive (a missing one is a compile error), the fused CSR attention and the fused stretch + CSR attention. */
const WEBGPU_KERNELS = {
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
  conv2d,
  cumsum,
  resize,
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
  csrSddmm,
  csrSoftmax,
  csrSpmm,
  csrAttention,
  cellMaskAttention,
  performerStep,
  causalCnnStep,
  seaEncoderStep,
  seaDecodeAttention,
} satisfies KernelTable<WebGpuBackend>;

export class WebGpuBackend extends defineBackend(WebGpuMemory, WEBGPU_KERNELS) implements Backend {}
