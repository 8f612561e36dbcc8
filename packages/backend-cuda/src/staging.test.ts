import { Rng } from '@sea/tensor';
import koffi from 'koffi';
import { describe, expect, it } from 'vitest';
import type { Driver } from './driver.js';
import { PIN_CHUNK, PinnedStaging } from './staging.js';

/**
 * A stream simulated on the host: a queued copy reads its source when the device gets to it, which
 * here is only when the host waits on an event recorded after it (the slowest device allowed).
 */
function fakeDriver() {
  const queue: ({ kind: 'copy'; src: bigint; n: number; dst: bigint } | { kind: 'event'; e: number })[] = [];
  const device = new Map<bigint, Uint8Array>();
  let nextEvent = 0;
  const counts = { copies: 0, records: 0, waits: 0 };
  const run = (upTo: number): void => {
    for (const op of queue.splice(0, upTo)) {
      if (op.kind === 'copy') device.set(op.dst, new Uint8Array(koffi.view(op.src as never, op.n)).slice());
    }
  };
  const api = {
    cuMemHostAlloc: (out: [unknown], bytes: number) => {
      out[0] = koffi.alloc('uint8_t', bytes) as unknown as bigint;
      return 0;
    },
    cuMemFreeHost: (p: bigint) => {
      koffi.free(p as never);
      return 0;
    },
    cuEventCreate: (out: [unknown]) => {
      out[0] = nextEvent++;
      return 0;
    },
    cuEventDestroy: () => 0,
    cuEventRecord: (e: number) => {
      counts.records++;
      queue.push({ kind: 'event', e });
      return 0;
    },
    cuEventSynchronize: (e: number) => {
      counts.waits++;
      let last = -1;
      queue.forEach((op, i) => {
        if (op.kind === 'event' && op.e === e) last = i;
      });
      run(last + 1);
      return 0;
    },
    cuMemcpyHtoDAsync: (dst: bigint, src: bigint, n: number) => {
      counts.copies++;
      queue.push({ kind: 'copy', src, n, dst });
      return 0;
    },
  };
  return { drv: { api } as unknown as Driver, device, counts, finish: () => run(queue.length) };
}

describe('pinned staging ring (no GPU needed)', () => {
  it('every upload reaches the device intact though the device lags a whole ring behind', () => {
    const f = fakeDriver();
    const check = (rc: number, call: string): void => {
      if (rc !== 0) throw new Error(call);
    };
    const ring = PinnedStaging.create(f.drv, null, check);
    expect(ring).not.toBeNull();
    const rng = new Rng(9);
    const sent = new Map<bigint, Uint8Array>();
    let bytes = 0;
    for (let i = 0; i < 1500; i++) {
      const n = rng.int(4) === 0 ? 1 + rng.int(PIN_CHUNK) : 1 + rng.int(600);
      const data = new Uint8Array(n);
      const a = rng.int(256);
      const b = 1 + 2 * rng.int(100);
      for (let j = 0; j < n; j++) data[j] = (a + b * j + (j >> 8)) & 255;
      const dst = BigInt(i + 1) << 20n;
      ring?.upload(dst, data);
      sent.set(dst, data);
      bytes += n;
    }
    f.finish();
    expect(bytes).toBeGreaterThan(3 * 32 * PIN_CHUNK); // wrapped around the ring several times
    let intact = 0;
    for (const [dst, data] of sent)
      if (Buffer.compare(f.device.get(dst) ?? new Uint8Array(0), data) === 0) intact++;
    expect(intact).toBe(sent.size);
    // one copy an upload; an event record and a wait once a chunk, not once an upload
    expect(f.counts.copies).toBe(1500);
    expect(f.counts.records).toBeLessThan(750);
    ring?.destroy();
  });
});
