// Decoding parity on a backend (plain Node over the built packages; on the GPU machine through
// SEA_GENERATE_PARITY=1 tooling/device/run-generate.sh): for dense, Performer and SEA attention, on
// small random OPT models of odd sizes (pre-LN; post-LN with project_in/out; one with 64-wide heads,
// the size the fused GPU kernels take), the logits of every position decoded incrementally (a prompt
// of 9 tokens, then one token per step over SEA_PARITY_T − 9 steps, crossing SEA's cell widths: K = 8
// cells capped at k = 2 keys) against the whole-sequence forward of the same model.
// Error of a position: max |x − ref| over the vocabulary / max |ref| over it.
//
// float32: the incremental logits against the full forward in float32; allowed: the conformance
// tolerance table's rtol (@sea/conformance toleranceFor) with the factor SEA_PARITY_FACTOR (default 10)
// plus atol / max |full|, at every position.
//
// float16 / bfloat16: the two 16-bit paths round at different places (one-row against T-row GEMMs,
// split-key attention), so they are not compared with each other. Both are compared with the float32
// full forward of the same weights (the 16-bit model's parameters and buffers cast to float32), and
// the incremental path must be as accurate as the full 16-bit path:
//   max_t err_inc(t) ≤ C · max_t err_full(t) + F   and   mean_t err_inc(t) ≤ C · mean_t err_full(t) + F,
// C = SEA_PARITY_C (default 2), F = u (the dtype's unit roundoff: 2⁻⁸ bfloat16, 2⁻¹¹ float16).
// SEA: the selected cells of every layer's row t are recomputed on the host from each path's Â (the
// causal-per-batch budget round(H·k·K/(t+1)), ties to the lower h·K + m), and the (layer, position)
// pairs whose sets differ between the incremental and the full path are counted. A flip must be a
// near tie: in the full path's Â, the lowest cell it selected that the incremental path left out
// scores above the highest cell the incremental path selected instead by a gap within the rounding
// the 16-bit estimators make anyway: gap ≤ SEA_PARITY_TIE (default 2) × δ + 8·u·score, δ the larger of
// the two paths' max |Â − Â_float32| in that row and layer (0 in float32). And the incremental Â must
// be as accurate as the full path's: mean over rows of its δ ≤ C × the full path's mean δ + u. Each
// gap is reported in units of u·score.
// Prints a table, writes $OUT/decode-parity.json, exits 1 when a case fails (or errors).
// Env: SEA_BENCH_BACKEND cuda (default) | webgpu | cpu, SEA_PARITY_T (default 230), SEA_PARITY_DTYPES
// (float32,bfloat16), SEA_PARITY_KINDS (dense,performer,sea), SEA_PARITY_MODELS (pre-ln,post-ln-proj,head64),
// SEA_DECODE_FUSED=0 (decode with the composed ops instead of the step primitives).
// Locally, on the CPU backend, from the repository root over the TypeScript sources:
//   SEA_BENCH_BACKEND=cpu npx tsx --conditions=source packages/opt/bench/decode_parity.mjs
import fs from 'node:fs';
import path from 'node:path';
import { toleranceFor } from '@sea/conformance';
import { OptForCausalLM, optWeightSpecs, randomWeights } from '@sea/opt';
import { setFusedDecodeSteps } from '@sea/sparse-attention';
import * as sea from '@sea/tensor';

const OUT = process.env.OUT;
const BACKEND = process.env.SEA_BENCH_BACKEND ?? 'cuda';
const T = Number(process.env.SEA_PARITY_T ?? 230);
const DTYPES = (process.env.SEA_PARITY_DTYPES ?? 'float32,bfloat16').split(',');
const KINDS = (process.env.SEA_PARITY_KINDS ?? 'dense,performer,sea').split(',');
const MODELS = (process.env.SEA_PARITY_MODELS ?? 'pre-ln,post-ln-proj,head64').split(',');
const FACTOR = Number(process.env.SEA_PARITY_FACTOR ?? 10);
const C = Number(process.env.SEA_PARITY_C ?? 2);
const TIE = Number(process.env.SEA_PARITY_TIE ?? 2);
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

/** Weights N(0, 0.3²), biases N(0, 0.1²), LayerNorm gains 1 + N(0, 0.1²) (randomWeights), on the host. */
function hostWeights(config, seed) {
  const w = randomWeights(optWeightSpecs(config), seed, { std: 0.3, jitter: 0.1 });
  return new Map(Object.entries(w).map(([n, { data, shape }]) => [n, { a: data, shape }]));
}

/** round(x) half to even, as the budgets round (docs/algorithm.md §5). */
function roundHalfEven(x) {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** The cells a causal row of L visible keys selects from Â row p [H·K] (flat h·K + m), as a sorted array. */
function selectedCells(p, H, K, L) {
  const n = Math.min(Math.max(roundHalfEven((H * SEA_CONFIG.k * K) / L), 1), H * K);
  const idx = Array.from({ length: H * K }, (_, i) => i);
  idx.sort((a, b) => p[b] - p[a] || a - b);
  return idx.slice(0, n).sort((a, b) => a - b);
}

/** Per layer, Â rows by position ([H·K] each) from `onLayer` (estimate [1, H, T', K] of rows t0…). */
function estimateRecorder(rows, posOf) {
  return async (li, view) => {
    if (!view.estimate) return;
    const [, H, Tn, K] = view.estimate.shape;
    const a = await view.estimate.data();
    rows[li] ??= new Map();
    for (let r = 0; r < Tn; r++) {
      const row = new Float64Array(H * K);
      for (let h = 0; h < H; h++) for (let m = 0; m < K; m++) row[h * K + m] = a[(h * Tn + r) * K + m];
      rows[li].set(posOf(r), row);
    }
  };
}

/** err(t) = max_v |got − ref| / max_v |ref| for rows t0… of got against `ref` [T, V]. */
function rowErrors(ref, got, t0, n, V, errs) {
  for (let r = 0; r < n; r++) {
    let scale = 0;
    let err = 0;
    for (let v = 0; v < V; v++) {
      const w = ref[(t0 + r) * V + v];
      scale = Math.max(scale, Math.abs(w));
      const g = got[r * V + v];
      err = Number.isFinite(g) ? Math.max(err, Math.abs(g - w)) : Number.POSITIVE_INFINITY;
    }
    errs[t0 + r] = { err, scale };
  }
}

async function buildModel(config, weights, kind, dtype) {
  return OptForCausalLM.fromWeights(config, weights, {
    attention: kind,
    seaConfig: SEA_CONFIG,
    seed: 4,
    dtype,
  });
}

/** The 16-bit model's parameters and buffers cast to float32: the same weights, computed in float32. */
function float32Copy(model) {
  const out = new Map();
  for (const m of [model.parameters(), model.buffers()])
    for (const [n, t] of m) {
      out.set(n, t.dtype === 'float32' ? t : sea.cast(t, 'float32'));
      if (t.dtype !== 'float32') t.dispose();
    }
  return out;
}

// SEA_DECODE_FUSED=0: the composed decoding ops instead of the step primitives
if (process.env.SEA_DECODE_FUSED === '0') setFusedDecodeSteps(false);
const b = await makeBackend();
sea.useBackend(b);
const R = {
  date: new Date().toISOString(),
  backend: BACKEND,
  device: b.device ?? b.name,
  T,
  criterion: { float32Factor: FACTOR, C, tie: TIE },
  fusedDecodeSteps: process.env.SEA_DECODE_FUSED !== '0',
  cases: [],
  errors: [],
};
const save = () => OUT && fs.writeFileSync(path.join(OUT, 'decode-parity.json'), JSON.stringify(R, null, 1));
let failed = 0;
const max = (a) => a.reduce((x, y) => Math.max(x, y), 0);
const mean = (a) => a.reduce((x, y) => x + y, 0) / Math.max(a.length, 1);

for (const modelName of MODELS) {
  const config = configOf(modelName);
  const host = hostWeights(config, 4);
  const rng = new sea.Rng(12);
  const ids = Array.from({ length: T }, () => 3 + rng.int(config.vocabSize - 3));
  const V = config.vocabSize;
  for (const dtype of DTYPES)
    for (const kind of KINDS) {
      const name = `${modelName} ${kind} ${dtype}`;
      const half = dtype !== 'float32';
      const u = sea.unitRoundoff(dtype);
      let model;
      let ref;
      try {
        const weights = new Map();
        for (const [n, { a, shape }] of host) {
          const t = sea.tensor(a, shape);
          weights.set(n, dtype === 'float32' ? t : sea.cast(t, dtype));
          if (dtype !== 'float32') t.dispose();
        }
        model = await buildModel(config, weights, kind, dtype);
        const sea_ = kind === 'sea';
        const fullRows = [];
        const full = await model.forward(
          [ids],
          sea_ ? { onLayer: estimateRecorder(fullRows, (r) => r) } : {},
        );
        const fullLogits = Float64Array.from(await full.logits.data());
        full.logits.dispose();
        // the reference: float32 full forward (of the same weights, for a 16-bit model)
        let refLogits = fullLogits;
        const refRows = [];
        if (half) {
          ref = await buildModel(config, float32Copy(model), kind, 'float32');
          const r = await ref.forward([ids], sea_ ? { onLayer: estimateRecorder(refRows, (x) => x) } : {});
          refLogits = Float64Array.from(await r.logits.data());
          r.logits.dispose();
          ref.dispose();
          ref = undefined;
        }
        const incErr = new Array(T);
        const incRows = [];
        let pos = 0;
        const cache = model.createCache(16);
        const t0 = performance.now();
        const hooks = sea_ ? { onLayer: estimateRecorder(incRows, () => pos) } : {};
        const pre = await model.forward([ids.slice(0, PROMPT)], { cache });
        rowErrors(refLogits, await pre.logits.data(), 0, PROMPT, V, incErr);
        pre.logits.dispose();
        for (let t = PROMPT; t < T; t++) {
          pos = t;
          const out = await model.forward([[ids[t]]], { cache, ...hooks });
          rowErrors(refLogits, await out.logits.data(), t, 1, V, incErr);
          out.logits.dispose();
        }
        const ms = performance.now() - t0;
        model.disposeCache(cache);
        const rel = (e) => e.err / Math.max(e.scale, 1e-30);
        const c = { model: modelName, kind, dtype, T, ms };
        let ok;
        if (!half) {
          const tol = toleranceFor(dtype, FACTOR);
          let bad = 0;
          let worst = 0;
          let worstAt = -1;
          for (let t = 0; t < T; t++) {
            const e = incErr[t];
            if (!(rel(e) <= tol.rtol + tol.atol / Math.max(e.scale, 1e-30))) bad++;
            if (!(rel(e) <= worst)) {
              worst = rel(e);
              worstAt = t;
            }
          }
          ok = bad === 0;
          Object.assign(c, { worstRelErr: worst, worstAt, allowedRtol: tol.rtol, badPositions: bad });
        } else {
          const fullErr = [];
          rowErrors(refLogits, fullLogits, 0, T, V, fullErr);
          const inc = incErr.slice(PROMPT).map(rel);
          const fu = fullErr.slice(PROMPT).map(rel);
          const allowedMax = C * max(fu) + u;
          const allowedMean = C * mean(fu) + u;
          ok = max(inc) <= allowedMax && mean(inc) <= allowedMean;
          Object.assign(c, {
            worstRelErr: max(inc),
            meanRelErr: mean(inc),
            fullWorstRelErr: max(fu),
            fullMeanRelErr: mean(fu),
            allowedMax,
            allowedMean,
          });
        }
        if (sea_) {
          // selected-cell flips between the paths, and how near a tie each is
          let flips = 0;
          let worstGap = 0;
          let farTies = 0;
          const dInc = [];
          const dFull = [];
          const rowErr = (a, b) => {
            let d = 0;
            for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
            return d;
          };
          const uSel = half ? u : sea.unitRoundoff('float32');
          const H = config.numAttentionHeads;
          const K = SEA_CONFIG.predictorLength;
          for (let li = 0; li < config.numHiddenLayers; li++)
            for (let t = PROMPT; t < T; t++) {
              const pf = fullRows[li]?.get(t);
              const pi = incRows[li]?.get(t);
              if (!pf || !pi) throw new Error(`no estimate recorded for layer ${li} row ${t}`);
              const pr = refRows[li]?.get(t);
              if (pr) {
                dInc.push(rowErr(pi, pr));
                dFull.push(rowErr(pf, pr));
              }
              const sf = selectedCells(pf, H, K, t + 1);
              const si = selectedCells(pi, H, K, t + 1);
              const inI = new Set(si);
              const inF = new Set(sf);
              const onlyF = sf.filter((x) => !inI.has(x));
              const onlyI = si.filter((x) => !inF.has(x));
              if (onlyF.length === 0 && onlyI.length === 0) continue;
              flips++;
              const low = Math.min(...onlyF.map((x) => pf[x]));
              const high = Math.max(...onlyI.map((x) => pf[x]));
              // δ: the larger of the two 16-bit paths' errors in this row's Â (against float32)
              const delta = pr ? Math.max(dInc[dInc.length - 1], dFull[dFull.length - 1]) : 0;
              const unit = uSel * Math.max(Math.abs(low), 1e-30);
              const gap = (low - high) / unit;
              worstGap = Math.max(worstGap, gap);
              if (!(low - high <= TIE * delta + 8 * unit)) farTies++;
            }
          if (farTies > 0) ok = false;
          const estimateOk = !half || mean(dInc) <= C * mean(dFull) + u;
          if (!estimateOk) ok = false;
          Object.assign(c, {
            estimateErrMean: half ? mean(dInc) : undefined,
            fullEstimateErrMean: half ? mean(dFull) : undefined,
            cellFlips: flips,
            rowsCompared: config.numHiddenLayers * (T - PROMPT),
            worstFlipGapInU: worstGap,
            flipsBeyondTie: farTies,
          });
        }
        c.ok = ok;
        if (!ok) failed++;
        R.cases.push(c);
        const errText = half
          ? `inc err max ${c.worstRelErr.toExponential(2)} mean ${c.meanRelErr.toExponential(2)} | full err max ${c.fullWorstRelErr.toExponential(2)} mean ${c.fullMeanRelErr.toExponential(2)} (vs float32; allowed max ${c.allowedMax.toExponential(2)} mean ${c.allowedMean.toExponential(2)})`
          : `max rel err ${c.worstRelErr.toExponential(2)} at ${c.worstAt} (allowed ${c.allowedRtol.toExponential(2)}), ${c.badPositions} positions out`;
        const flipText = sea_
          ? `; cell flips ${c.cellFlips}/${c.rowsCompared} (widest gap ${c.worstFlipGapInU.toFixed(1)} u, ${c.flipsBeyondTie} not near ties)${half ? `; Â err mean ${c.estimateErrMean.toExponential(2)} (full ${c.fullEstimateErrMean.toExponential(2)})` : ''}`
          : '';
        log(
          `${ok ? 'ok  ' : 'FAIL'} ${name.padEnd(30)} ${errText}${flipText}, ${T} positions in ${(ms / 1000).toFixed(1)} s`,
        );
      } catch (e) {
        failed++;
        R.errors.push({ model: modelName, kind, dtype, error: String(e?.stack ?? e) });
        log(`FAIL ${name}: ${e?.stack ?? e}`);
      } finally {
        model?.dispose();
        ref?.dispose();
        save();
      }
    }
}
save();
log(
  '\n| model | attention | dtype | incremental err max / mean | full-path err max / mean (16-bit, vs float32) | allowed | SEA cell flips (gap, u) | ok |',
);
log('| --- | --- | --- | --- | --- | --- | --- | --- |');
const e2 = (x) => (x === undefined ? '' : x.toExponential(2));
for (const c of R.cases)
  log(
    `| ${c.model} | ${c.kind} | ${c.dtype} | ${e2(c.worstRelErr)}${c.meanRelErr === undefined ? '' : ` / ${e2(c.meanRelErr)}`} | ${c.fullWorstRelErr === undefined ? '(reference)' : `${e2(c.fullWorstRelErr)} / ${e2(c.fullMeanRelErr)}`} | ${c.allowedMax === undefined ? e2(c.allowedRtol) : `${e2(c.allowedMax)} / ${e2(c.allowedMean)}`} | ${c.cellFlips === undefined ? '' : `${c.cellFlips}/${c.rowsCompared} (${c.worstFlipGapInU.toFixed(1)})`} | ${c.ok ? 'yes' : 'NO'} |`,
  );
log(failed ? `decode parity: ${failed} case(s) failed` : `decode parity: all ${R.cases.length} cases pass`);
process.exit(failed ? 1 : 0);
