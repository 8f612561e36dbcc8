// The shared conformance suite (@sea/conformance) on the CPU backend: every primitive against
// float64 definitions, with leak checks. Nothing is excluded: the CPU backend is the oracle.
import { conformanceSuite } from '@sea/conformance';
import { CpuBackend } from './cpu_backend.js';

conformanceSuite('cpu', async () => new CpuBackend());
