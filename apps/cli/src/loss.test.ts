import '@sea/backend-cpu';
import { getBackend, Rng, tensor } from '@sea/tensor';
import { describe, expect, it } from 'vitest';
import { windowLoss } from './loss.js';
import { windowCrossEntropy } from './metrics.js';

describe('windowLoss on the backend', () => {
  it('equals the float64 host cross-entropy', async () => {
    const backend = await getBackend('cpu');
    const rng = new Rng(9);
    const T = 13;
    const V = 37;
    const logits = rng.fillNormal(new Float32Array(T * V), 0, 4) as Float32Array;
    const ids = Array.from({ length: T }, () => rng.int(V));
    const before = backend.memory().bytes;
    const t = tensor(logits, [1, T, V], { backend });
    const got = await windowLoss(t, ids);
    t.dispose();
    expect(got).toBeCloseTo(windowCrossEntropy(logits, ids, V), 5);
    expect(backend.memory().bytes).toBe(before);
  });
});
