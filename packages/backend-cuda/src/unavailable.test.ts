import { availableBackends, BackendUnavailableError } from '@sea/tensor';
import { describe, expect, it } from 'vitest';
import { bucketOf, createCudaBackend } from './index.js';

describe('cuda backend without a GPU', () => {
  it('either opens a device or throws BackendUnavailableError with a reason the registry reports', async () => {
    let backend: ReturnType<typeof createCudaBackend> | null = null;
    try {
      backend = createCudaBackend();
    } catch (e) {
      expect(e).toBeInstanceOf(BackendUnavailableError);
      expect((e as BackendUnavailableError).reason.length).toBeGreaterThan(0);
      const status = (await availableBackends()).find((s) => s.name === 'cuda');
      expect(status?.available).toBe(false);
      expect(status?.priority).toBe(20);
      expect(status?.reason).toBe((e as BackendUnavailableError).reason);
    }
    backend?.destroy();
  });

  it('rounds allocations to size buckets', () => {
    expect(bucketOf(1)).toBe(256);
    expect(bucketOf(257)).toBe(512);
    expect(bucketOf(1 << 20)).toBe(1 << 20);
    expect(bucketOf((1 << 20) + 1)).toBe(2 << 20);
    expect(bucketOf(5 << 20)).toBe(6 << 20);
    // below 1 MiB: the smallest power of two ≥ the size, for every size
    for (let n = 257; n <= 1 << 20; n++) {
      const want = 2 ** Math.ceil(Math.log2(n));
      if (bucketOf(n) !== want) expect(bucketOf(n)).toBe(want);
    }
  });
});
