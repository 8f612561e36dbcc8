/**
 * The WebGPU backend: device memory (chunked buffers and a size-keyed pool), a pipeline cache keyed
 * by the generated WGSL (which carries every specialisation: dtype, rank, chunk counts, tile
 * shape), batched dispatch into one command encoder, and async readback through `mapAsync`.
 * Each primitive is one file under `kernels/`.
 */
import {
  type Backend,
  type CsrInfo,
  DeviceError,
  type DType,
  DTypeError,
  type MemoryInfo,
  type TensorInfo,
  type TypedArray,
} from '@sea/tensor';
import type { DataId } from '@sea/tensor/backend';
import {
  type BindingSpec,
  declareBindings,
  declareParams,
  type Param,
  packParams,
  type WgslType,
  wgslType,
} from './codegen.js';
import type { AdapterSummary, GpuContext } from './device.js';
import { binary } from './kernels/binary.js';
import { cast } from './kernels/cast.js';
import { concat } from './kernels/concat.js';
import { conv2d } from './kernels/conv2d.js';
import { csrSddmm } from './kernels/csr_sddmm.js';
import { csrSoftmax } from './kernels/csr_softmax.js';
import { csrSpmm } from './kernels/csr_spmm.js';
import { cumsum } from './kernels/cumsum.js';
import { fill } from './kernels/fill.js';
import { gather } from './kernels/gather.js';
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
import { takeAlong } from './kernels/take_along.js';
import { transpose } from './kernels/transpose.js';
import { unary } from './kernels/unary.js';
import { where } from './kernels/where.js';

/** A tensor's device memory: one buffer per chunk of `chunkElems` elements (4 bytes each). */
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
  /** Bytes of freed buffers kept for reuse (default 256 MiB). */
  poolBytes?: number;
}

export interface KernelArg {
  name: string;
  data: GpuData;
  /** Overrides the storage type derived from the dtype (e.g. u32 scratch). */
  type?: WgslType;
  vec4?: boolean;
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
const FLUSH_EVERY = 64;

export class WebGpuBackend implements Backend {
  readonly name = 'webgpu';
  readonly dtypes: readonly DType[] = ['float32', 'int32', 'bool'];
  readonly summary: AdapterSummary;
  readonly chunkElems: number;
  readonly maxStorageBuffers: number;
  readonly maxWorkgroupStorage: number;
  readonly maxWorkgroupsPerDim: number;
  readonly matmulVariant: MatmulVariant;
  /** Owns the device; `gpu` inside it must outlive every pending device promise. */
  #ctx: GpuContext | null;
  #device: GPUDevice;
  #pipelines = new Map<string, GPUComputePipeline>();
  #pool = new Map<number, GPUBuffer[]>();
  #poolBytes = 0;
  #poolCap: number;
  #live = new Set<GpuData>();
  #bytes = 0;
  #peak = 0;
  #encoder: GPUCommandEncoder | null = null;
  #encoded = 0;
  #transient: GPUBuffer[] = [];
  #errors: string[] = [];
  #lost: string | null = null;

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
    this.#poolCap = opts.poolBytes ?? 256 * 2 ** 20;
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

  #buffer(bytes: number): GPUBuffer {
    const list = this.#pool.get(bytes);
    const hit = list?.pop();
    if (hit) {
      this.#poolBytes -= bytes;
      return hit;
    }
    try {
      return this.#device.createBuffer({ size: bytes, usage: USAGE });
    } catch (e) {
      throw new DeviceError(`webgpu: cannot allocate ${bytes} bytes: ${(e as Error).message}`);
    }
  }

  /** A new uninitialised buffer set for `size` elements. */
  alloc(size: number, dtype: DType): GpuData {
    this.#check();
    if (dtype === 'float64')
      throw new DTypeError("webgpu: float64 is not supported; cast to float32 or use the 'cpu' backend");
    const n = Math.max(1, Math.ceil(size / this.chunkElems));
    const chunks: GPUBuffer[] = [];
    let bytes = 0;
    for (let c = 0; c < n; c++) {
      const elems = Math.min(this.chunkElems, size - c * this.chunkElems);
      const b = Math.max(16, Math.ceil(Math.max(elems, 1) / 4) * 16);
      chunks.push(this.#buffer(b));
      bytes += b;
    }
    const d: GpuData = { chunks, size, dtype, bytes };
    this.#live.add(d);
    this.#bytes += bytes;
    if (this.#bytes > this.#peak) this.#peak = this.#bytes;
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
    const d = this.alloc(values.length, dtype);
    // Pending commands may still read a pooled buffer that writeBuffer is about to overwrite.
    this.flush();
    const words =
      dtype === 'bool'
        ? Uint32Array.from(values as Uint8Array, (v) => (v ? 1 : 0))
        : (values as Float32Array | Int32Array);
    for (let c = 0; c < d.chunks.length; c++) {
      const start = c * this.chunkElems;
      const len = Math.min(this.chunkElems, values.length - start);
      if (len <= 0) continue;
      this.#device.queue.writeBuffer(d.chunks[c], 0, words.buffer, words.byteOffset + start * 4, len * 4);
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
    const bytes = size * 4;
    const raw = new ArrayBuffer(Math.max(4, bytes));
    if (size > 0) {
      const staging = this.#device.createBuffer({ size: Math.ceil(bytes / 4) * 4, usage: 0x01 | 0x08 });
      const enc = this.#enc();
      for (let c = 0; c < d.chunks.length; c++) {
        const start = c * this.chunkElems * 4;
        const len = Math.min(this.chunkElems * 4, bytes - start);
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
        throw new DTypeError(`webgpu: cannot read dtype ${dtype}`);
    }
  }

  free(dataId: DataId): void {
    const d = dataId as GpuData;
    if (!this.#live.delete(d)) return;
    this.#bytes -= d.bytes;
    for (const b of d.chunks) {
      if (this.#poolBytes + b.size > this.#poolCap || !this.#ctx) {
        this.#transient.push(b);
        continue;
      }
      const list = this.#pool.get(b.size) ?? [];
      list.push(b);
      this.#pool.set(b.size, list);
      this.#poolBytes += b.size;
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
    await this.#device.queue.onSubmittedWorkDone();
    this.#raise();
  }

  destroy(): void {
    if (!this.#ctx) return;
    this.#encoder = null;
    for (const d of this.#live) for (const b of d.chunks) b.destroy();
    for (const list of this.#pool.values()) for (const b of list) b.destroy();
    for (const b of this.#transient) b.destroy();
    this.#live.clear();
    this.#pool.clear();
    this.#transient = [];
    this.#bytes = 0;
    this.#poolBytes = 0;
    this.#pipelines.clear();
    this.#device.destroy();
    // Dropped only now: the GPU object must outlive the device (Dawn's instance owner).
    this.#ctx = null;
  }

  /** Number of distinct compiled pipelines (tests). */
  get pipelineCount(): number {
    return this.#pipelines.size;
  }

  // ---- dispatch ----

  #enc(): GPUCommandEncoder {
    this.#check();
    if (!this.#encoder) this.#encoder = this.#device.createCommandEncoder();
    return this.#encoder;
  }

  #bump(): void {
    if (++this.#encoded >= FLUSH_EVERY) this.flush();
  }

  /** Submits the pending command encoder. */
  flush(): void {
    if (!this.#encoder || !this.#ctx) return;
    this.#device.queue.submit([this.#encoder.finish()]);
    this.#encoder = null;
    this.#encoded = 0;
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

  #pipeline(name: string, code: string): GPUComputePipeline {
    let p = this.#pipelines.get(code);
    if (!p) {
      this.#device.pushErrorScope('validation');
      const module = this.#device.createShaderModule({ code, label: name });
      p = this.#device.createComputePipeline({
        layout: 'auto',
        compute: { module, entryPoint: 'main' },
        label: name,
      });
      this.#device.popErrorScope().then((err) => {
        if (err) this.#errors.push(`kernel '${name}' failed to compile: ${err.message}`);
      });
      this.#pipelines.set(code, p);
    }
    return p;
  }

  /** Generates, caches and enqueues one compute dispatch. */
  run(spec: RunSpec): void {
    this.#check();
    const [gx, gy, gz] = spec.grid;
    if (gx * gy * gz === 0) return;
    const args = [
      ...spec.inputs.map((a) => [a, false] as const),
      ...spec.outputs.map((a) => [a, true] as const),
    ];
    const specs: BindingSpec[] = args.map(([a, write]) => ({
      name: a.name,
      type: a.type ?? wgslType(a.data.dtype),
      chunks: a.data.chunks.length,
      write,
      vec4: a.vec4,
    }));
    const nStorage = specs.reduce((s, b) => s + b.chunks, 0);
    if (nStorage > this.maxStorageBuffers) {
      throw new DeviceError(
        `webgpu: kernel '${spec.name}' needs ${nStorage} storage bindings (tensors split into chunks of ${this.chunkElems * 4} bytes), the device allows ${this.maxStorageBuffers}; use smaller tensors`,
      );
    }
    const params = packParams(spec.params ?? []);
    const code = `${declareBindings(specs, this.chunkElems)}\n${declareParams(params.length, nStorage)}\n${spec.body}`;
    const pipeline = this.#pipeline(spec.name, code);
    const ub = this.#device.createBuffer({
      size: params.byteLength,
      usage: 0x40 /* UNIFORM */,
      mappedAtCreation: true,
    });
    new Uint32Array(ub.getMappedRange()).set(params);
    ub.unmap();
    this.#transient.push(ub);
    const entries: GPUBindGroupEntry[] = [];
    let binding = 0;
    for (const [a] of args)
      for (const buf of a.data.chunks) entries.push({ binding: binding++, resource: { buffer: buf } });
    entries.push({ binding: binding, resource: { buffer: ub } });
    const bindGroup = this.#device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    const pass = this.#enc().beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(gx, gy, gz);
    pass.end();
    this.#bump();
  }

  /** A 2-D grid of at least `n` workgroups (x·y ≥ n) within the per-dimension limit. */
  grid(n: number): [number, number, number] {
    const m = this.maxWorkgroupsPerDim;
    if (n <= m) return [n, 1, 1];
    const y = Math.ceil(n / m);
    return [Math.ceil(n / y), y, 1];
  }

  // ---- primitives ----

  fill(size: number, value: number, dtype: DType): TensorInfo & { shape: [number] } {
    return fill(this, size, value, dtype);
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
}

type OmitFirst<F> = F extends (first: WebGpuBackend, ...rest: infer R) => infer O ? (...args: R) => O : never;
