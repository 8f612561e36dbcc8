/**
 * Pinned (page-locked) staging for uploads of up to 256 KiB: a ring of 32 chunks of 256 KiB (8 MiB).
 * Uploads are packed one after another (16-byte aligned) into the current chunk and copied from
 * there; when the next one does not fit, an event is recorded on the stream (after the chunk's last copy) and the ring
 * moves on to the next chunk, first waiting for that chunk's event from its previous round. A small
 * upload is then one host-to-device copy queued without the host waiting for the device (which a copy
 * from pageable memory can make it do); the event record and the wait come once a chunk, not once an
 * upload, and the host waits for the device only when it is a whole ring of uploads ahead of it.
 */
import koffi from 'koffi';
import type { Driver } from './driver.js';

/** Bytes of one chunk, the largest upload staged here. */
export const PIN_CHUNK = 256 << 10;
const CHUNKS = 32;
const CU_EVENT_DISABLE_TIMING = 2;

export class PinnedStaging {
  readonly #drv: Driver;
  readonly #stream: unknown;
  readonly #check: (rc: number, call: string) => void;
  readonly #ptr: bigint;
  readonly #view: Uint8Array;
  readonly #events: unknown[];
  readonly #recorded: boolean[] = new Array(CHUNKS).fill(false);
  #chunk = 0;
  /** Next free byte of the current chunk, from the chunk's start. */
  #at = 0;

  private constructor(
    drv: Driver,
    stream: unknown,
    check: (rc: number, call: string) => void,
    ptr: bigint,
    events: unknown[],
  ) {
    this.#drv = drv;
    this.#stream = stream;
    this.#check = check;
    this.#ptr = ptr;
    this.#events = events;
    this.#view = new Uint8Array(koffi.view(ptr as never, PIN_CHUNK * CHUNKS));
  }

  /** The staging ring, or null where page-locked memory or its events are refused. */
  static create(
    drv: Driver,
    stream: unknown,
    check: (rc: number, call: string) => void,
  ): PinnedStaging | null {
    const out: [unknown] = [null];
    if (drv.api.cuMemHostAlloc(out, PIN_CHUNK * CHUNKS, 0) !== 0 || !out[0]) return null;
    const ptr = out[0] as bigint;
    const events: unknown[] = [];
    for (let i = 0; i < CHUNKS; i++) {
      const e: [unknown] = [null];
      if (drv.api.cuEventCreate(e, CU_EVENT_DISABLE_TIMING) !== 0) {
        for (const x of events) drv.api.cuEventDestroy(x);
        drv.api.cuMemFreeHost(ptr);
        return null;
      }
      events.push(e[0]);
    }
    return new PinnedStaging(drv, stream, check, ptr, events);
  }

  /** Queues the copy of `src` (at most PIN_CHUNK bytes) to device address `dst` on the stream. */
  upload(dst: bigint, src: Uint8Array): void {
    const n = src.byteLength;
    if (this.#at + n > PIN_CHUNK) {
      // every copy out of this chunk is queued: mark its end, then take the next chunk once its
      // copies of the previous round have left it
      const api = this.#drv.api;
      this.#check(api.cuEventRecord(this.#events[this.#chunk], this.#stream), 'cuEventRecord');
      this.#recorded[this.#chunk] = true;
      this.#chunk = (this.#chunk + 1) % CHUNKS;
      if (this.#recorded[this.#chunk])
        this.#check(api.cuEventSynchronize(this.#events[this.#chunk]), 'cuEventSynchronize');
      this.#at = 0;
    }
    const off = this.#chunk * PIN_CHUNK + this.#at;
    this.#view.set(src, off);
    this.#check(
      this.#drv.api.cuMemcpyHtoDAsync(dst, this.#ptr + BigInt(off), n, this.#stream),
      'cuMemcpyHtoDAsync_v2',
    );
    this.#at += (n + 15) & ~15;
  }

  destroy(): void {
    for (const e of this.#events) this.#drv.api.cuEventDestroy(e);
    this.#drv.api.cuMemFreeHost(this.#ptr);
  }
}
