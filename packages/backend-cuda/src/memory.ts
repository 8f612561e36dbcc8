/**
 * A caching device allocator: sizes are rounded to buckets (powers of two from 256 B to 1 MiB, then
 * multiples of 2 MiB) and freed blocks wait on a free list per bucket for reuse on the same stream.
 * Live bytes count the requested sizes of buffers in use; cached free blocks are not counted.
 * When the driver runs out of memory the cache is released and the allocation retried once.
 */
import { DeviceError } from '@sea/tensor';
import { REF_COUNT } from '@sea/tensor/backend';
import koffi from 'koffi';
import { CUDA_ERROR_OUT_OF_MEMORY, type CudaCallError, type Driver } from './driver.js';

/** A device buffer; the DataId of the CUDA backend. */
export class CudaBuffer {
  /** The tensors sharing this buffer (kept by @sea/tensor's engine). */
  [REF_COUNT] = 0;
  constructor(
    readonly ptr: bigint,
    readonly capacity: number,
    readonly bytes: number,
  ) {}
}

const MiB = 1 << 20;

export function bucketOf(bytes: number): number {
  if (bytes <= 256) return 256;
  if (bytes <= MiB) return 2 ** (32 - Math.clz32(Math.ceil(bytes) - 1));
  return Math.ceil(bytes / (2 * MiB)) * 2 * MiB;
}

export class CachingAllocator {
  #free = new Map<number, bigint[]>();
  #live = new Set<CudaBuffer>();
  #bytes = 0;
  #peak = 0;
  #cachedBytes = 0;
  #scratch = koffi.alloc('uint64_t', 1) as unknown as bigint;
  #scratchView = new BigUint64Array(koffi.view(this.#scratch, 8));

  constructor(
    private readonly drv: Driver,
    /** Waits for the stream before blocks are handed back to the driver. */
    private readonly syncStream: () => void,
  ) {}

  alloc(bytes: number): CudaBuffer {
    const cap = bucketOf(bytes);
    const list = this.#free.get(cap);
    let ptr = list?.pop();
    if (ptr !== undefined) this.#cachedBytes -= cap;
    else ptr = this.#cuAlloc(cap, bytes);
    const buf = new CudaBuffer(ptr, cap, bytes);
    this.#live.add(buf);
    this.#bytes += bytes;
    if (this.#bytes > this.#peak) this.#peak = this.#bytes;
    return buf;
  }

  #cuAlloc(cap: number, bytes: number): bigint {
    let rc = this.drv.api.cuMemAlloc(this.#scratch, cap);
    if (rc === CUDA_ERROR_OUT_OF_MEMORY) {
      this.releaseCached();
      rc = this.drv.api.cuMemAlloc(this.#scratch, cap);
    }
    if (rc === CUDA_ERROR_OUT_OF_MEMORY) {
      throw new DeviceError(
        `CUDA out of memory: could not allocate ${bytes} bytes (${this.#live.size} live buffers hold ${this.#bytes} bytes); dispose tensors or use smaller shapes`,
      );
    }
    try {
      this.drv.check(rc, `cuMemAlloc_v2(${cap})`);
    } catch (e) {
      throw new DeviceError((e as CudaCallError).message);
    }
    return this.#scratchView[0];
  }

  free(buf: CudaBuffer): void {
    if (!this.#live.delete(buf)) return;
    this.#bytes -= buf.bytes;
    let list = this.#free.get(buf.capacity);
    if (!list) {
      list = [];
      this.#free.set(buf.capacity, list);
    }
    list.push(buf.ptr);
    this.#cachedBytes += buf.capacity;
  }

  /** Returns every cached free block to the driver. */
  releaseCached(): void {
    if (this.#cachedBytes === 0) return;
    this.syncStream();
    for (const list of this.#free.values()) for (const p of list) this.drv.api.cuMemFree(p);
    this.#free.clear();
    this.#cachedBytes = 0;
  }

  /** Frees everything, live buffers included (destroy). */
  releaseAll(): void {
    for (const b of this.#live) this.free(b);
    this.releaseCached();
  }

  get liveBytes(): number {
    return this.#bytes;
  }
  get liveBuffers(): number {
    return this.#live.size;
  }
  get peakBytes(): number {
    return this.#peak;
  }
  get cachedBytes(): number {
    return this.#cachedBytes;
  }
  resetPeak(): void {
    this.#peak = this.#bytes;
  }
  isLive(buf: CudaBuffer): boolean {
    return this.#live.has(buf);
  }
}
