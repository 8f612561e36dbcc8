// Decoding benchmark on the GPU machine (plain Node over the built packages; tooling/device/run-generate.sh;
// on WebGPU bundled by tooling/device/pack-webgpu.sh and run by tooling/device/webgpu-h100.sh with GEN=1):
// an OPT-125m-shaped model (12 layers, hidden 768, 12 heads, ffn 3072, vocab 50272; random weights,
// position table long enough for 32k + the new tokens) with dense attention (K/V cache) and SEA
// (K=256, k=64, nbf 8), prompts of SEA_BENCH_T tokens (default 1k, 4k, 16k, 32k), SEA_BENCH_NEW new
// greedy tokens (default 64). Per run: prefill ms, decode ms per token (median of the steps and the
// mean), peak backend memory, and the decoding state's size (K/V cache, and SEA's estimator state
// beside it). The peer (Hugging Face generate, SDPA, KV cache, bf16 and fp32, same GPU) is
// tooling/reference/bench_generate_torch.py. Writes $OUT/generate-bench.json and prints a table.
// Env: SEA_BENCH_BACKEND cuda (default) | webgpu | cpu, SEA_BENCH_T, SEA_BENCH_NEW, SEA_BENCH_KINDS (dense,sea),
// SEA_BENCH_DTYPES (float32,bfloat16: the dtype the model computes in), SEA_BENCH_SHAPE=tiny (a small
// model, for a smoke run), SEA_DECODE_FUSED=0 (decode with the composed ops instead of the step primitives),
// SEA_GEN_PROFILE_T (default 16384; 0: none): the prompt length after which 8 more steps are profiled
// per kernel on CUDA (GPU ms per token by kernel).
import fs from 'node:fs';
import path from 'node:path';
import { OptForCausalLM, optWeightSpecs, randomWeights } from '@sea/opt';
import { setFusedDecodeSteps } from '@sea/sparse-attention';
import * as sea from '@sea/tensor';

const OUT = process.env.OUT;
const TS = (process.env.SEA_BENCH_T ?? '1024,4096,16384,32768').split(',').map(Number);
const NEW = Number(process.env.SEA_BENCH_NEW ?? 64);
const KINDS = (process.env.SEA_BENCH_KINDS ?? 'dense,sea').split(',');
const BACKEND = process.env.SEA_BENCH_BACKEND ?? 'cuda';
const DTYPES = (process.env.SEA_BENCH_DTYPES ?? 'float32,bfloat16').split(',');
const log = (...a) => console.log(...a);
const R = {
  date: new Date().toISOString(),
  node: process.version,
  backend: BACKEND,
  newTokens: NEW,
  fusedDecodeSteps: process.env.SEA_DECODE_FUSED !== '0',
  runs: [],
  errors: [],
};
const save = () => OUT && fs.writeFileSync(path.join(OUT, 'generate-bench.json'), JSON.stringify(R, null, 1));

async function makeBackend() {
  if (BACKEND === 'cuda') return (await import('@sea/backend-cuda')).createCudaBackend();
  if (BACKEND === 'webgpu') return (await import('@sea/backend-webgpu')).createWebGpuBackend();
  return new (await import('@sea/backend-cpu')).CpuBackend();
}

// SEA_DECODE_FUSED=0: the composed decoding ops instead of the step primitives
if (process.env.SEA_DECODE_FUSED === '0') setFusedDecodeSteps(false);
const b = await makeBackend();
sea.useBackend(b);
// CUDA names its device; WebGPU its adapter (vendor, device, driver)
const ad = b.summary;
R.device =
  b.device ??
  (ad ? [ad.vendor, ad.architecture, ad.device, ad.description].filter(Boolean).join(' ') : b.name);
const maxT = Math.max(...TS);
const config = {
  modelType: 'opt',
  vocabSize: 50272,
  hiddenSize: 768,
  numHiddenLayers: 12,
  ffnDim: 3072,
  numAttentionHeads: 12,
  maxPositionEmbeddings: Math.ceil((maxT + NEW + 1) / 256) * 256,
  doLayerNormBefore: true,
  wordEmbedProjDim: 768,
  activationFunction: 'relu',
  enableBias: true,
  layerNormElementwiseAffine: true,
  removeFinalLayerNorm: false,
  tieWordEmbeddings: true,
  padTokenId: 1,
  bosTokenId: 2,
  eosTokenId: 2,
  layerNormEps: 1e-5,
};
const seaConfig = { predictorLength: 256, k: 64, nbFeatureFactor: 8 };
// SEA_BENCH_SHAPE=tiny: a small model for a smoke run anywhere
if (process.env.SEA_BENCH_SHAPE === 'tiny') {
  Object.assign(config, {
    vocabSize: 512,
    hiddenSize: 64,
    numHiddenLayers: 2,
    ffnDim: 128,
    numAttentionHeads: 4,
    wordEmbedProjDim: 64,
  });
  Object.assign(seaConfig, { predictorLength: 16, k: 4 });
}

/** Random weights drawn on the host once (randomWeights: OPT-125m's init), uploaded per model. */
const rng = new sea.Rng(1);
const host = randomWeights(optWeightSpecs(config), 1);
async function load(kind, dtype) {
  const w = new Map(
    Object.entries(host).map(([n, { data, shape }]) => [n, sea.tensor(data, shape, { dtype })]),
  );
  return OptForCausalLM.fromWeights(config, w, { attention: kind, seaConfig, seed: 3, dtype });
}

const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];

/**
 * GPU time per kernel over `steps()` (CUDA only): every own kernel launch, and the GEMM and fused
 * attention ops (cuBLAS), between two device events each; per decoded token. The events add host
 * time, so the wall here is above the timed steps'.
 */
async function profileSteps(label, n, steps) {
  if (!b.drv || typeof b.launch !== 'function') return;
  const events = [];
  let used = 0;
  const ev = () => {
    if (used === events.length) {
      const o = [null];
      b.drv.check(b.drv.api.cuEventCreate(o, 0), 'cuEventCreate');
      events.push(o[0]);
    }
    return events[used++];
  };
  const marks = [];
  const names = new Map();
  const saved = [];
  const wrap = (name, make) => {
    saved.push([name, Object.hasOwn(b, name) ? b[name] : null]);
    b[name] = make(b[name].bind(b));
  };
  wrap('fn', (orig) => (family, name) => {
    const f = orig(family, name);
    names.set(f, name);
    return f;
  });
  wrap('launch', (orig) => (f, grid, block, smem) => {
    const e0 = ev();
    b.drv.api.cuEventRecord(e0, b.stream);
    orig(f, grid, block, smem);
    const e1 = ev();
    b.drv.api.cuEventRecord(e1, b.stream);
    marks.push([names.get(f) ?? '?', e0, e1]);
  });
  for (const op of ['matmul', 'linear', 'attention'])
    if (typeof b[op] === 'function')
      wrap(op, (orig) => (...args) => {
        const e0 = ev();
        b.drv.api.cuEventRecord(e0, b.stream);
        const r = orig(...args);
        const e1 = ev();
        b.drv.api.cuEventRecord(e1, b.stream);
        marks.push([`${op} (cuBLAS or own)`, e0, e1]);
        return r;
      });
  let wall = 0;
  try {
    await b.sync();
    const t0 = performance.now();
    await steps();
    await b.sync();
    wall = performance.now() - t0;
  } finally {
    for (const [name, own] of saved) {
      if (own) b[name] = own;
      else delete b[name];
    }
  }
  const per = new Map();
  let gpu = 0;
  const f = [0];
  for (const [key, e0, e1] of marks) {
    b.drv.check(b.drv.api.cuEventElapsedTime(f, e0, e1), 'cuEventElapsedTime');
    const x = per.get(key) ?? { ms: 0, calls: 0 };
    x.ms += f[0];
    x.calls++;
    per.set(key, x);
    gpu += f[0];
  }
  const rows = [...per.entries()].sort((x, y) => y[1].ms - x[1].ms);
  R.profiles ??= [];
  R.profiles.push({
    label,
    steps: n,
    wallMsPerToken: wall / n,
    gpuMsPerToken: gpu / n,
    rows: rows.map(([k, x]) => ({ kernel: k, msPerToken: x.ms / n, callsPerToken: x.calls / n })),
  });
  log(
    `profile ${label}: ${(wall / n).toFixed(2)} ms/token wall (with events), ${(gpu / n).toFixed(3)} ms/token GPU in the marked ops, ${(marks.length / n).toFixed(0)} marked ops/token`,
  );
  for (const [k, x] of rows.slice(0, 14))
    log(`   ${(x.ms / n).toFixed(3).padStart(8)} ms ${(x.calls / n).toFixed(0).padStart(4)}×  ${k}`);
}
const PROFILE_T = Number(process.env.SEA_GEN_PROFILE_T ?? 16384);
const mib = (x) => (x / 2 ** 20).toFixed(1);

for (const dtype of DTYPES)
  for (const kind of KINDS) {
    let model;
    try {
      model = await load(kind, dtype);
    } catch (e) {
      R.errors.push({ kind, dtype, error: String(e?.message ?? e) });
      log(`${kind}: load failed: ${e?.message ?? e}`);
      continue;
    }
    for (const T of TS) {
      try {
        const ids = Array.from({ length: T }, () => 4 + rng.int(config.vocabSize - 4));
        // warm-up (kernel compilation) on a short prompt
        await model.generate(ids.slice(0, 64), { maxNewTokens: 4 });
        await b.sync();
        b.resetPeak();
        const base = b.memory().bytes;
        // the per-op profile decodes 8 tokens more: room for them, so the cache does not grow
        const cache = model.createCache(T + NEW + (T === PROFILE_T ? 8 : 0));
        const t0 = performance.now();
        let out = await model.forward([ids], { cache, logitsToKeep: 1 });
        let logits = await out.logits.data();
        out.logits.dispose();
        const prefillMs = performance.now() - t0;
        const argmax = (x) => {
          let m = 0;
          for (let i = 1; i < x.length; i++) if (x[i] > x[m]) m = i;
          return m;
        };
        const stepMs = [];
        // WebGPU: host round trips per decoded token (queue submits, read-backs, dispatches)
        const c0 = b.counters?.();
        let next = argmax(logits);
        for (let i = 1; i < NEW; i++) {
          const s0 = performance.now();
          out = await model.forward([[next]], { cache, logitsToKeep: 1 });
          logits = await out.logits.data();
          out.logits.dispose();
          next = argmax(logits);
          stepMs.push(performance.now() - s0);
        }
        const c1 = b.counters?.();
        const perStep = (key) => (c0 && c1 ? (c1[key] - c0[key]) / Math.max(1, NEW - 1) : undefined);
        if (T === PROFILE_T)
          await profileSteps(`decode ${kind} ${dtype} T=${T}`, 8, async () => {
            for (let i = 0; i < 8; i++) {
              out = await model.forward([[next]], { cache, logitsToKeep: 1 });
              logits = await out.logits.data();
              out.logits.dispose();
              next = argmax(logits);
            }
          });
        const states = cache.layers;
        const kvBytes = states.reduce((s, x) => s + (x.cache ? x.cache.bytes() : 0), 0);
        const stateBytes = states.reduce((s, x) => s + x.bytes(), 0);
        const estimatorBytes = states.reduce((s, x) => s + (x.estimatorBytes ? x.estimatorBytes() : 0), 0);
        const peak = b.memory().peakBytes - base;
        model.disposeCache(cache);
        const run = {
          kind,
          dtype,
          T,
          prefillMs,
          decodeMsPerToken: median(stepMs),
          decodeMsMean: stepMs.reduce((x, y) => x + y, 0) / stepMs.length,
          decodeTokensPerSecond: 1000 / median(stepMs),
          kvCacheBytes: kvBytes,
          seaEstimatorStateBytes: estimatorBytes,
          stateBytes,
          peakBytesAboveWeights: peak,
          ...(c0
            ? {
                perToken: {
                  submits: perStep('submits'),
                  reads: perStep('reads'),
                  dispatches: perStep('dispatches'),
                },
              }
            : {}),
        };
        R.runs.push(run);
        save();
        log(
          `${kind.padEnd(5)} ${dtype.padEnd(8)} T=${String(T).padStart(5)}  prefill ${prefillMs.toFixed(1).padStart(8)} ms  decode ${run.decodeMsPerToken.toFixed(2).padStart(7)} ms/token (${run.decodeTokensPerSecond.toFixed(1)} tok/s)  ` +
            `K/V ${mib(kvBytes)} MiB  SEA state ${mib(estimatorBytes)} MiB  peak +${mib(peak)} MiB` +
            (run.perToken
              ? `  per token: ${run.perToken.dispatches.toFixed(0)} dispatches, ${run.perToken.submits.toFixed(1)} submits, ${run.perToken.reads.toFixed(1)} read-backs`
              : ''),
        );
      } catch (e) {
        R.errors.push({ kind, dtype, T, error: String(e?.message ?? e) });
        log(`${kind} ${dtype} T=${T}: ${e?.message ?? e}`);
      }
    }
    model.dispose();
  }
save();
log(
  '\n| attention | dtype | prompt | prefill ms | decode ms/token | K/V cache MiB | SEA estimator state MiB |',
);
log('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of R.runs) {
  log(
    `| ${r.kind} | ${r.dtype} | ${r.T} | ${r.prefillMs.toFixed(1)} | ${r.decodeMsPerToken.toFixed(2)} | ${mib(r.kvCacheBytes)} | ${mib(r.seaEstimatorStateBytes)} |`,
  );
}
log(
  'peer (H200, HF transformers 5.17 SDPA, KV cache, 64 greedy tokens, from the task): bf16 decode 5.1 / 5.5 / 8.2 / 8.4 ms, fp32 7.1 / 7.3 / 23.8 / 45.5 ms at 1k / 4k / 16k / 32k',
);
log(
  'physical limit per decoded token: the weights (about 0.5 GB fp32) read once, plus the K/V (dense) or k keys per head (SEA), over the measured copy bandwidth',
);
