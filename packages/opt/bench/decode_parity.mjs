// Decoding parity on a backend (plain Node over the built packages; on the GPU machine through
// SEA_GENERATE_PARITY=1 tooling/device/run-generate.sh): for dense, Performer and SEA attention, on
// small random OPT models of odd sizes (pre-LN; post-LN with project_in/out; one with 64-wide heads,
// the size the fused GPU kernels take), the logits of every position decoded incrementally (a prompt
// of 9 tokens, then one token per step over SEA_PARITY_T − 9 steps, crossing SEA's cell widths: K = 8
// cells capped at k = 2 keys) against the whole-sequence forward of the same model and dtype.
// Error per position: max |incremental − full| over the vocabulary / max |full| over it. Allowed: the
// conformance tolerance table's rtol for the dtype (@sea/conformance toleranceFor) with the factor
// SEA_PARITY_FACTOR (default: 10 for float32, the prompt length T for 16-bit: float32 sums over up
// to T rows), plus atol / max |full|. Prints a table, writes $OUT/decode-parity.json, exits 1 when a
// case fails (or errors).
// Env: SEA_BENCH_BACKEND cuda (default) | webgpu | cpu, SEA_PARITY_T (default 230), SEA_PARITY_DTYPES
// (float32,bfloat16), SEA_PARITY_KINDS (dense,performer,sea), SEA_PARITY_MODELS (pre-ln,post-ln-proj,head64).
// Locally, on the CPU backend, from the repository root over the TypeScript sources:
//   SEA_BENCH_BACKEND=cpu npx tsx --conditions=source packages/opt/bench/decode_parity.mjs
import fs from 'node:fs';
import path from 'node:path';
import { toleranceFor } from '@sea/conformance';
import { OptForCausalLM, optWeightSpecs } from '@sea/opt';
import * as sea from '@sea/tensor';

const OUT = process.env.OUT;
const BACKEND = process.env.SEA_BENCH_BACKEND ?? 'cuda';
const T = Number(process.env.SEA_PARITY_T ?? 230);
const DTYPES = (process.env.SEA_PARITY_DTYPES ?? 'float32,bfloat16').split(',');
const KINDS = (process.env.SEA_PARITY_KINDS ?? 'dense,performer,sea').split(',');
const MODELS = (process.env.SEA_PARITY_MODELS ?? 'pre-ln,post-ln-proj,head64').split(',');
const FACTOR = process.env.SEA_PARITY_FACTOR ? Number(process.env.SEA_PARITY_FACTOR) : undefined;
const PROMPT = 9;
const log = (...a) => console.log(...a);

async function makeBackend() {
  if (BACKEND === 'cuda') return (await import('@sea/backend-cuda')).createCudaBackend();
  if (BACKEND === 'webgpu') return (await import('@sea/backend-webgpu')).createWebGpuBackend();
  return new (await import('@sea/backend-cpu')).CpuBackend();
}

/** Small OPT configs of odd sizes; position table long enough for T. */
function configOf(name) {
  const base = {
    modelType: 'opt',
    vocabSize: 101,
    hiddenSize: 39,
    numHiddenLayers: 2,
    ffnDim: 71,
    numAttentionHeads: 3,
    maxPositionEmbeddings: T + 1,
    doLayerNormBefore: true,
    wordEmbedProjDim: 39,
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
  if (name === 'pre-ln') return base;
  if (name === 'post-ln-proj') return { ...base, doLayerNormBefore: false, wordEmbedProjDim: 23 };
  if (name === 'head64')
    return { ...base, hiddenSize: 128, numAttentionHeads: 2, ffnDim: 193, wordEmbedProjDim: 128 };
  throw new Error(`SEA_PARITY_MODELS: unknown model '${name}' (pre-ln, post-ln-proj, head64)`);
}

const SEA_CONFIG = { predictorLength: 8, k: 2, nbFeatureFactor: 1 };

/** Weights N(0, 0.3²) (LayerNorm gains 1 + N(0, 0.1²)), drawn on the host from `seed`. */
function hostWeights(config, seed) {
  const rng = new sea.Rng(seed);
  const out = new Map();
  for (const spec of optWeightSpecs(config)) {
    const n = spec.shape.reduce((x, y) => x * y, 1);
    const gain = /layer_norm\.weight$/.test(spec.name);
    out.set(spec.name, {
      a: rng.fillNormal(new Float32Array(n), gain ? 1 : 0, gain ? 0.1 : 0.3),
      shape: spec.shape,
    });
  }
  return out;
}

const b = await makeBackend();
sea.useBackend(b);
const R = {
  date: new Date().toISOString(),
  backend: BACKEND,
  device: b.device ?? b.name,
  T,
  cases: [],
  errors: [],
};
const save = () => OUT && fs.writeFileSync(path.join(OUT, 'decode-parity.json'), JSON.stringify(R, null, 1));
let failed = 0;

for (const modelName of MODELS) {
  const config = configOf(modelName);
  const host = hostWeights(config, 4);
  const rng = new sea.Rng(12);
  const ids = Array.from({ length: T }, () => 3 + rng.int(config.vocabSize - 3));
  const V = config.vocabSize;
  for (const dtype of DTYPES)
    for (const kind of KINDS) {
      const name = `${modelName} ${kind} ${dtype}`;
      let model;
      try {
        const weights = new Map();
        for (const [n, { a, shape }] of host) {
          const t = sea.tensor(a, shape);
          weights.set(n, dtype === 'float32' ? t : sea.cast(t, dtype));
          if (dtype !== 'float32') t.dispose();
        }
        model = await OptForCausalLM.fromWeights(config, weights, {
          attention: kind,
          seaConfig: SEA_CONFIG,
          seed: 4,
          dtype,
        });
        const full = await model.forward([ids]);
        const want = Float64Array.from(await full.logits.data());
        full.logits.dispose();
        const tol = toleranceFor(dtype, FACTOR ?? (dtype === 'float32' ? 10 : T));
        const cache = model.createCache(16);
        let worst = 0;
        let worstAt = -1;
        let bad = 0;
        const checkRows = (got, t0, n) => {
          for (let r = 0; r < n; r++) {
            let scale = 0;
            let err = 0;
            for (let v = 0; v < V; v++) {
              const w = want[(t0 + r) * V + v];
              scale = Math.max(scale, Math.abs(w));
              const g = got[r * V + v];
              err = Number.isFinite(g) ? Math.max(err, Math.abs(g - w)) : Number.POSITIVE_INFINITY;
            }
            const rel = err / Math.max(scale, 1e-30);
            const allowed = tol.rtol + tol.atol / Math.max(scale, 1e-30);
            if (!(rel <= allowed)) bad++;
            if (!(rel <= worst)) {
              worst = rel;
              worstAt = t0 + r;
            }
          }
        };
        const t0 = performance.now();
        const pre = await model.forward([ids.slice(0, PROMPT)], { cache });
        checkRows(await pre.logits.data(), 0, PROMPT);
        pre.logits.dispose();
        for (let t = PROMPT; t < T; t++) {
          const out = await model.forward([[ids[t]]], { cache });
          checkRows(await out.logits.data(), t, 1);
          out.logits.dispose();
        }
        const ms = performance.now() - t0;
        model.disposeCache(cache);
        const ok = bad === 0;
        if (!ok) failed++;
        R.cases.push({
          model: modelName,
          kind,
          dtype,
          T,
          worstRelErr: worst,
          worstAt,
          allowedRtol: tol.rtol,
          badPositions: bad,
          ok,
          ms,
        });
        log(
          `${ok ? 'ok  ' : 'FAIL'} ${name.padEnd(32)} max rel err ${worst.toExponential(2)} at ${worstAt} (allowed ${tol.rtol.toExponential(2)}), ${bad} positions out, ${T} positions in ${(ms / 1000).toFixed(1)} s`,
        );
      } catch (e) {
        failed++;
        R.errors.push({ model: modelName, kind, dtype, error: String(e?.stack ?? e) });
        log(`FAIL ${name}: ${e?.stack ?? e}`);
      } finally {
        model?.dispose();
        save();
      }
    }
}
save();
log(`\n| model | attention | dtype | max rel err | allowed | positions out |`);
log('| --- | --- | --- | --- | --- | --- |');
for (const c of R.cases)
  log(
    `| ${c.model} | ${c.kind} | ${c.dtype} | ${c.worstRelErr.toExponential(2)} | ${c.allowedRtol.toExponential(2)} | ${c.badPositions} |`,
  );
log(
  failed
    ? `decode parity: ${failed} case(s) failed`
    : `decode parity: all ${R.cases.length} cases within tolerance`,
);
process.exit(failed ? 1 : 0);
