// Loads one kernel family (argv[2]) on the CUDA backend, so NVRTC compiles it into the disk cache
// (SEA_CUDA_CACHE) now: run-cuda-perf.sh starts one per family at once, in parallel.
import { createCudaBackend } from '@sea/backend-cuda';

const FIRST = {
  elementwise: 'ew_unary',
  reduce: 'reduce_rows',
  conv: 'conv2d_direct',
  performer: 'pps_carry_scan',
  topk: 'grouped_topk',
  csr: 'stretch_scan',
  attention: 'attention_fwd',
};
const family = process.argv[2];
const b = createCudaBackend();
const t0 = performance.now();
b.fn(family, FIRST[family]);
const m = b.modules.loaded.find((x) => x.family === family);
console.log(`${family}: ${m?.origin} ${(performance.now() - t0).toFixed(0)} ms`);
b.destroy();
