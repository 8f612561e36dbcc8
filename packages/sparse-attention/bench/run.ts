/**
 * CPU benchmark of one SEA layer against dense attention: `pnpm --filter @sea/sparse-attention bench`.
 *
 * Shape: OPT-125m (causal, H=12, D=64, K=256, k=64, nbf 8 → m=33), B=1, T = 1k, 2k, 4k, 8k (the
 * position table is sized to T). The peer is exact dense softmax attention (`DenseAttention`),
 * which materializes [H,T,T] scores and probabilities; it is skipped above `DENSE_MAX_T` (8k would
 * need ≈ 6.4 GB of float32 score/probability buffers). For each layer the row gives the best-of-N
 * wall time and the backend's peak bytes during the forward pass above what was live before it
 * (inputs and weights), from `backend.memory().peakBytes` after `resetPeak()`. SEA's time is also
 * split into estimator (Performer + CNN), mask (grouped top-k + stretch to FlatCSR) and sparse
 * attention (SDDMM + softmax + SpMM + C_avg + mix), with the CSR's nnz and the SDDMM+SpMM rate
 * (4·nnz·D flops) against the measured scalar-JS multiply-add peak of one core.
 * Results go to bench/results/sea-cpu-<date>.json. All kernels run on one thread; the machine's
 * other load adds noise to the times.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CpuBackend } from '@sea/backend-cpu';
import { PROJECTION_WEIGHT } from '@sea/linear-attention';
import { groupedTopK, rowLengths, stretchToCsr } from '@sea/mask';
import { estimateAttention } from '@sea/predictor';
import * as sea from '@sea/tensor';
import {
  DenseAttention,
  estimateProbs,
  globalContext,
  SeaAttention,
  type SeaAttentionConfig,
} from '../src/index.js';

const backend = new CpuBackend();
sea.useBackend(backend);

const SIZES = (process.env.SEA_BENCH_T ?? '1024,2048,4096,8192').split(',').map(Number);
const DENSE_MAX_T = Number(process.env.SEA_BENCH_DENSE_MAX_T ?? 4096);
const [H, D, K, k, nbf] = [12, 64, 256, 64, 8];

function scalarPeakGflops(): number {
  const n = 20_000_000;
  let best = 0;
  for (let r = 0; r < 3; r++) {
    let a0 = 1;
    let a1 = 1.1;
    let a2 = 1.2;
    let a3 = 1.3;
    let a4 = 1.4;
    let a5 = 1.5;
    const m = 0.999999;
    const c = 1e-7;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      a0 = a0 * m + c;
      a1 = a1 * m + c;
      a2 = a2 * m + c;
      a3 = a3 * m + c;
      a4 = a4 * m + c;
      a5 = a5 * m + c;
    }
    const s = (performance.now() - t0) / 1e3;
    if (a0 + a1 + a2 + a3 + a4 + a5 === 0) console.log('');
    best = Math.max(best, (12 * n) / s / 1e9);
  }
  return best;
}

async function measure<T>(fn: () => Promise<T>, reps: number): Promise<{ ms: number; peak: number; out: T }> {
  let best = Number.POSITIVE_INFINITY;
  let peak = 0;
  let out: T | undefined;
  for (let r = 0; r < reps; r++) {
    if (out !== undefined) dispose(out);
    collect();
    const base = backend.memory().bytes;
    backend.resetPeak();
    const t0 = performance.now();
    out = await fn();
    best = Math.min(best, performance.now() - t0);
    peak = Math.max(peak, backend.memory().peakBytes - base);
  }
  return { ms: best, peak, out: out as T };
}

function dispose(x: unknown): void {
  if (x instanceof sea.Tensor || x instanceof sea.CsrMatrix) x.dispose();
  else if (x && typeof x === 'object') for (const v of Object.values(x)) dispose(v);
}

const mb = (b: number) => b / 2 ** 20;

/** Collects garbage before a timed run when node runs with --expose-gc (big typed arrays otherwise
 * trigger collections inside the measured region). */
function collect(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function main(): Promise<void> {
  const peak = scalarPeakGflops();
  console.log(
    `CPU: ${cpus()[0]?.model ?? 'unknown'}; scalar JS multiply-add peak ${peak.toFixed(2)} GFLOP/s (one core)`,
  );
  const rows: Record<string, unknown>[] = [];
  for (const T of SIZES) {
    const reps = T <= 2048 ? 3 : 2;
    const cfg: SeaAttentionConfig = {
      causal: true,
      heads: H,
      headDim: D,
      predictorLength: K,
      k,
      nbFeatureFactor: nbf,
      maxPositions: Math.max(2048, T),
    };
    const layer = SeaAttention.create(cfg, { seed: 1 });
    const rng = new sea.Rng(T);
    const scaleQ = 1 / Math.sqrt(D);
    const [q, kk, v] = [scaleQ, 1, 1].map((s) =>
      sea.tensor(rng.fillNormal(new Float32Array(H * T * D), 0, s), [1, H, T, D]),
    );
    await layer.forward(q, kk, v).then(dispose); // warm-up
    const seaRun = await measure(() => layer.forward(q, kk, v), reps);
    dispose(seaRun.out);

    // stage split, same pipeline as SeaAttention.forward; best of `reps` per stage
    const w = layer.weights;
    const best = { estimator: Infinity, mask: Infinity, sparseAttention: Infinity, globalContext: Infinity };
    let nnz = 0;
    for (let r = 0; r < reps; r++) {
      collect();
      const t0 = performance.now();
      const est = estimateAttention(cfg, w, { q, k: kk, v, projection: w[PROJECTION_WEIGHT] });
      const probs = estimateProbs(est.logits, undefined);
      const t1 = performance.now();
      const cells = groupedTopK(probs, { mode: 'causal_batch', k, causal: true, layout: 'bthk' });
      const rl = rowLengths(1, T, true);
      const csr = await stretchToCsr(cells, rl, { k, keys: T, layout: 'bthk' });
      const t2 = performance.now();
      const s = sea.csrSddmm(csr, q, kk, 1);
      const p = sea.csrSoftmax(csr, s, est.sProb);
      const c = sea.csrSpmm(csr, p, v);
      const t3 = performance.now();
      const cAvg = await globalContext(v, probs, true, undefined);
      const t4 = performance.now();
      nnz = csr.nnz[0];
      best.estimator = Math.min(best.estimator, t1 - t0);
      best.mask = Math.min(best.mask, t2 - t1);
      best.sparseAttention = Math.min(best.sparseAttention, t3 - t2);
      best.globalContext = Math.min(best.globalContext, t4 - t3);
      dispose([est, probs, cells, rl, csr, s, p, c, cAvg]);
    }
    const sparseGflops = (4 * nnz * D) / (best.sparseAttention / 1e3) / 1e9;

    let dense: { ms: number; peak: number } | null = null;
    if (T <= DENSE_MAX_T) {
      const d = new DenseAttention({ causal: true, heads: H, headDim: D });
      await d.forward(q, kk, v).then(dispose);
      const r = await measure(() => d.forward(q, kk, v), reps);
      dispose(r.out);
      dense = { ms: r.ms, peak: r.peak };
    }
    const row = {
      T,
      seaMs: seaRun.ms,
      seaPeakMiB: mb(seaRun.peak),
      seaPeakBytesPerToken: seaRun.peak / T,
      stagesMs: best,
      nnz,
      nnzPerRow: nnz / T,
      sddmmSpmmGflops: sparseGflops,
      sddmmSpmmShareOfScalarPeak: sparseGflops / peak,
      denseMs: dense?.ms ?? null,
      densePeakMiB: dense ? mb(dense.peak) : null,
      denseSkipped: dense
        ? null
        : `T > ${DENSE_MAX_T}: dense [H,T,T] scores and probabilities need ≈ ${((2 * H * T * T * 4) / 2 ** 30).toFixed(1)} GiB`,
    };
    rows.push(row);
    console.log(
      `T=${T}: SEA ${seaRun.ms.toFixed(0)} ms, peak ${mb(seaRun.peak).toFixed(1)} MiB (${(seaRun.peak / T / 1024).toFixed(1)} KiB/token)` +
        ` [estimator ${best.estimator.toFixed(0)}, mask ${best.mask.toFixed(0)}, sparse attn ${best.sparseAttention.toFixed(0)} ms at ${sparseGflops.toFixed(2)} GFLOP/s, nnz/row ${(nnz / T).toFixed(1)}]` +
        (dense
          ? ` | dense ${dense.ms.toFixed(0)} ms, peak ${mb(dense.peak).toFixed(1)} MiB`
          : ` | dense skipped (${row.denseSkipped})`),
    );
    for (const t of [q, kk, v]) t.dispose();
    layer.dispose();
  }
  console.log('\n| T | SEA ms | SEA peak MiB | KiB/token | dense ms | dense peak MiB |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows as {
    T: number;
    seaMs: number;
    seaPeakMiB: number;
    seaPeakBytesPerToken: number;
    denseMs: number | null;
    densePeakMiB: number | null;
  }[]) {
    console.log(
      `| ${r.T} | ${r.seaMs.toFixed(0)} | ${r.seaPeakMiB.toFixed(1)} | ${(r.seaPeakBytesPerToken / 1024).toFixed(1)} | ${r.denseMs === null ? 'skipped' : r.denseMs.toFixed(0)} | ${r.densePeakMiB === null ? 'skipped' : r.densePeakMiB.toFixed(1)} |`,
    );
  }
  const dir = process.env.SEA_BENCH_OUT ?? join(dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `sea-cpu-${new Date().toISOString().slice(0, 10)}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ date: new Date().toISOString(), cpu: cpus()[0]?.model, node: process.version, shape: { B: 1, H, D, K, k, nbf, causal: true }, scalarPeakGflops: peak, rows }, null, 2)}\n`,
  );
  console.log(`wrote ${file}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
