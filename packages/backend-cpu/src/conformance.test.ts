// The shared conformance suite (@sea/conformance) on the CPU backend: every primitive against
// float64 definitions, with leak checks. Nothing is excluded: the CPU backend is the oracle. A second
// run covers the row-wise fused attention kernel, which the default backend uses only for large score
// counts (smaller ones compose).
import { conformanceSuite } from '@sea/conformance';
import { PRIMITIVES } from '@sea/tensor/backend';
import { CpuBackend } from './cpu_backend.js';

conformanceSuite('cpu', async () => new CpuBackend());

conformanceSuite(
  'cpu, row-wise attention kernel at every size',
  async () => new CpuBackend({ fusedAttentionMinScores: 0 }),
  {
    exclude: Object.fromEntries(PRIMITIVES.map((p) => [p, 'run by the default cpu suite'])),
  },
);
