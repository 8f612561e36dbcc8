/**
 * Training checks for the GPU machine (bundled into the CUDA bundle by pack-cuda.sh; run by
 * run-train-check.sh), also runnable on the CPU with small sizes (see the environment below):
 *
 *  a. bf16 vs fp32: a small OPT trained from scratch for 200 steps in float32 and in bfloat16 mixed
 *     precision (float32 master weights, LmTrainer's computeDtype) with the same data, seed and
 *     schedule; both loss curves, the largest relative gap per step and of 10-step means.
 *  a2. SEA distilled from part a's float32 model for 60 steps in float32 and in bfloat16 (Distiller's
 *     computeDtype): both curves and the gap of their 10-step means (SEA_CHECK_DISTILL=off skips it).
 *  c. one `sea train` step at the OPT-125m shape (12 layers, hidden 768, FFN 3072, vocabulary 50272)
 *     with T=2048 in bfloat16: the step `sea train --config opt-125m --compute-dtype bfloat16` takes
 *     (LmTrainer.trainStep with its options), timed after a warm-up step; tokens/s and the backend's
 *     peak memory for batch 1, batch 4 (the teacher's micro-batch) and batch 4 with --checkpoint-layers; the first row's step once more with every op
 *     and kernel launch bracketed by device events (tooling/device/op_profile.ts): GPU time by op, by
 *     kernel and by launch shape, the reads back and syncs of the step.
 *  d. one `sea distill` step at the same shape per attention kind (SEA_CHECK_DISTILL_KINDS, default
 *     sea,dense,performer,cosformer,reformer; teacher float32 from the same initial weights, student
 *     bfloat16, K=256, k=64, nbf 8): time, tokens/s, peak memory; the steps of
 *     SEA_CHECK_PROFILE_KINDS (sea,dense) profiled
 *     (SEA_CHECK_SEA_STEP=off skips part d; SEA_CHECK_PROFILE=off skips the profiles).
 *
 * The training text is real English: the words of WikiText-2 valid (data/wikitext-2/valid.txt), the
 * most frequent ones as the vocabulary (a word-level vocabulary needs no tokenizer here).
 *
 * Writes $OUT/train-check.json (summary, rewritten after each part) and $OUT/loss-fp32-bf16.json.
 * Environment: SEA_CHECK_BACKEND (cuda), SEA_CHECK_TEXT (data/wikitext-2/valid.txt from the working
 * directory), SEA_CHECK_STEPS (200), SEA_CHECK_SMALL (JSON over the small model's shape and run:
 * {vocab, hidden, layers, heads, ffn, seqLen, batch, lr, warmup}), SEA_CHECK_BIG (JSON over the timed
 * shape: {config, seqLen, batches, timed}; "off" skips part c), SEA_CHECK_BUDGET_S (200: part a runs
 * fewer steps when the float32 run shows the budget would not hold). Exit status 1 when part a's
 * gap exceeds its tolerance or a part fails.
 */
import fs from 'node:fs';
import path from 'node:path';
import { OptForCausalLM, parseOptConfig as parseConfig } from '@sea/opt';
import * as sea from '@sea/tensor';
import { Distiller, initOptWeights, LmTrainer, type LmTrainOptions, OPT_125M_CONFIG } from '@sea/train';
import { formatProfile, type OpProfile, profileOps } from './op_profile.js';

const started = performance.now();
const secs = () => (performance.now() - started) / 1000;
const out = process.env.OUT ?? '/tmp/sea-train-check';
fs.mkdirSync(out, { recursive: true });
const summary: Record<string, unknown> = { started: new Date().toISOString() };
const save = () =>
  fs.writeFileSync(path.join(out, 'train-check.json'), `${JSON.stringify(summary, null, 2)}\n`);

const backendName = process.env.SEA_CHECK_BACKEND ?? 'cuda';
if (backendName === 'cuda') await import('@sea/backend-cuda');
else await import('@sea/backend-cpu');
const backend = await sea.setBackend(backendName);
summary.backend = backendName;
const budgetS = Number(process.env.SEA_CHECK_BUDGET_S ?? 200);

/** WikiText-2 valid as word ids: the `vocab − 2` most frequent words, 0 for the rest, 1 at line ends. */
function wordIds(file: string, vocab: number): Int32Array {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const counts = new Map<string, number>();
  for (const l of lines) for (const w of l.split(/\s+/)) if (w) counts.set(w, (counts.get(w) ?? 0) + 1);
  const top = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, vocab - 2);
  const id = new Map(top.map(([w], i) => [w, i + 2]));
  const ids: number[] = [];
  for (const l of lines) {
    const ws = l.split(/\s+/).filter(Boolean);
    if (!ws.length) continue;
    for (const w of ws) ids.push(id.get(w) ?? 0);
    ids.push(1);
  }
  return Int32Array.from(ids);
}

const textFile = process.env.SEA_CHECK_TEXT ?? 'data/wikitext-2/valid.txt';
const small = {
  vocab: 4096,
  hidden: 256,
  layers: 4,
  heads: 4,
  ffn: 1024,
  seqLen: 256,
  batch: 8,
  lr: 1e-3,
  warmup: 20,
  ...JSON.parse(process.env.SEA_CHECK_SMALL ?? '{}'),
};
const ids = wordIds(textFile, small.vocab);
summary.data = { file: textFile, tokens: ids.length, vocab: small.vocab };

// ---- a. bfloat16 mixed precision against float32 -------------------------------------------------
const TOLERANCE = 0.02; // of the 10-step mean loss
let failed = false;
/** The float32 run's trained weights: the teacher of part a2. */
let trained: Map<string, sea.Tensor> | null = null;
let smallConfig: Record<string, unknown> | null = null;
try {
  const steps = Number(process.env.SEA_CHECK_STEPS ?? 200);
  const hf = {
    model_type: 'opt',
    vocab_size: small.vocab,
    hidden_size: small.hidden,
    num_hidden_layers: small.layers,
    num_attention_heads: small.heads,
    ffn_dim: small.ffn,
    max_position_embeddings: small.seqLen,
    word_embed_proj_dim: small.hidden,
    do_layer_norm_before: true,
    activation_function: 'relu',
    tie_word_embeddings: true,
  };
  const opts: Partial<LmTrainOptions> = {
    seqLen: small.seqLen,
    batch: small.batch,
    lr: small.lr,
    warmup: small.warmup,
    schedule: 'cosine',
    totalSteps: steps,
    seed: 0,
  };
  const curves: Record<string, number[]> = {};
  const msPerStep: Record<string, number> = {};
  let planned = steps;
  const writeCurves = () =>
    fs.writeFileSync(
      path.join(out, 'loss-fp32-bf16.json'),
      `${JSON.stringify({ model: hf, options: opts, ...curves }, null, 1)}\n`,
    );
  for (const dtype of ['float32', 'bfloat16'] as const) {
    const t = await LmTrainer.create(hf, ids, { ...opts, computeDtype: dtype }, undefined, backend);
    const losses: number[] = [];
    curves[dtype] = losses;
    const t0 = performance.now();
    let t2 = t0;
    try {
      for (let s = 0; s < planned; s++) {
        losses.push((await t.trainStep()).loss);
        if (s === 1) t2 = performance.now(); // after the kernels' first compilation
        // the float32 run sets the length both runs share: half of what is left of the budget
        if (dtype === 'float32' && s === 11) {
          const per = (performance.now() - t2) / 10 / 1000;
          const fit = Math.floor((budgetS * 0.5 - secs()) / (2 * per));
          if (fit < planned) planned = Math.max(20, fit);
        }
      }
    } finally {
      if (dtype === 'float32' && losses.length === planned)
        trained = new Map(
          Object.entries(t.params).map(([n, w]) => [n, sea.tidy(() => sea.mul(w, 1)).keep()]),
        );
      t.dispose();
      msPerStep[dtype] = (performance.now() - t0) / Math.max(1, losses.length);
      writeCurves();
    }
    console.log(
      `${dtype}: ${losses.length} steps, loss ${losses[0].toFixed(4)} → ${losses.at(-1)?.toFixed(4)}`,
    );
  }
  smallConfig = hf;
  const [a, b] = [curves.float32, curves.bfloat16];
  const rel = a.map((x, i) => Math.abs(b[i] - x) / Math.abs(x));
  const mean = (xs: number[], i: number) => xs.slice(i, i + 10).reduce((p, q) => p + q, 0) / 10;
  const relMeans: number[] = [];
  for (let i = 0; i + 10 <= a.length; i += 10) relMeans.push(Math.abs(mean(b, i) - mean(a, i)) / mean(a, i));
  const maxRelGap = Math.max(...rel);
  const maxRelGapOf10StepMeans = Math.max(...relMeans);
  const pass = maxRelGapOf10StepMeans <= TOLERANCE && b.every(Number.isFinite);
  failed ||= !pass;
  summary.bf16VsFp32 = {
    steps: a.length,
    stepsAsked: steps,
    model: {
      vocab: small.vocab,
      hidden: small.hidden,
      layers: small.layers,
      heads: small.heads,
      ffn: small.ffn,
    },
    seqLen: small.seqLen,
    batch: small.batch,
    firstLoss: { float32: a[0], bfloat16: b[0] },
    lastLoss: { float32: a.at(-1), bfloat16: b.at(-1) },
    maxRelGap,
    maxRelGapStep: rel.indexOf(maxRelGap) + 1,
    maxRelGapOf10StepMeans,
    tolerance: `${TOLERANCE} of the 10-step mean loss`,
    pass,
    msPerStep,
  };
} catch (e) {
  failed = true;
  summary.bf16VsFp32 = { error: String((e as Error)?.stack ?? e) };
}
save();

// ---- a2. SEA distillation in bfloat16 against float32, from the float32-trained model ---------
if (trained && smallConfig && process.env.SEA_CHECK_DISTILL !== 'off') {
  const teacher = await OptForCausalLM.fromWeights(parseConfig(smallConfig), trained, { backend });
  const steps = Number(process.env.SEA_CHECK_DISTILL_STEPS ?? 60);
  const o = {
    seqLen: small.seqLen,
    batch: Math.max(1, small.batch / 2),
    k: Math.max(2, small.seqLen / 16),
    predictorLength: Math.max(4, small.seqLen / 4),
    nbf: 8,
    lr: 1e-4,
    seed: 0,
    evalWindows: 2,
  };
  const curves: Record<string, number[]> = {};
  const msPerStep: Record<string, number> = {};
  let planned = steps;
  try {
    for (const dtype of ['float32', 'bfloat16'] as const) {
      const d = await Distiller.create(teacher, ids, { ...o, computeDtype: dtype });
      const losses: number[] = [];
      curves[dtype] = losses;
      const t0 = performance.now();
      try {
        for (let s = 0; s < planned; s++) {
          losses.push((await d.trainStep()).loss);
          // both runs within what is left of the first 70% of the budget
          if (dtype === 'float32' && s === 4) {
            const per = (performance.now() - t0) / 5 / 1000;
            const fit = Math.floor((budgetS * 0.7 - secs()) / (2 * per));
            if (fit < planned) planned = Math.max(10, fit);
          }
        }
      } finally {
        d.dispose();
        msPerStep[dtype] = (performance.now() - t0) / Math.max(1, losses.length);
      }
    }
    const [a, b] = [curves.float32, curves.bfloat16];
    const mean = (xs: number[], i: number) => xs.slice(i, i + 10).reduce((p, q) => p + q, 0) / 10;
    const gaps: number[] = [];
    for (let i = 0; i + 10 <= a.length; i += 10) gaps.push(Math.abs(mean(b, i) - mean(a, i)) / mean(a, i));
    const finite = b.every(Number.isFinite);
    failed ||= !finite;
    summary.distillBf16VsFp32 = {
      attention: 'sea',
      options: o,
      steps: a.length,
      float32: a,
      bfloat16: b,
      maxRelGapOf10StepMeans: Math.max(...gaps),
      reference: '0.05 of the 10-step mean (the CPU test: 0.036 over 30 steps)',
      finite,
      msPerStep,
    };
    console.log(
      `distill: ${a.length} steps, 10-step means apart by at most ${Math.max(...gaps).toExponential(2)}`,
    );
  } catch (e) {
    failed = true;
    summary.distillBf16VsFp32 = { error: String((e as Error)?.stack ?? e) };
  } finally {
    teacher.dispose();
  }
  save();
} else {
  for (const w of trained?.values() ?? []) w.dispose();
}

// ---- c. one sea train step at the OPT-125m shape, T=2048, bfloat16 -------------------------------
if (process.env.SEA_CHECK_BIG !== 'off') {
  const big = {
    config: {},
    seqLen: 2048,
    batches: [
      [1, false],
      [4, false],
      [4, true],
    ] as [number, boolean][],
    timed: 3,
    ...JSON.parse(process.env.SEA_CHECK_BIG ?? '{}'),
  };
  const hf = { ...OPT_125M_CONFIG, ...big.config };
  // the initial weights once (125M normal draws take seconds on the host); each row trains a copy
  const init = initOptWeights(parseConfig(hf), 0, backend);
  const rows: Record<string, unknown>[] = [];
  summary.opt125mStep = { config: hf, seqLen: big.seqLen, computeDtype: 'bfloat16', rows };
  let lastRowS = 0;
  for (const [batch, checkpointLayers] of big.batches) {
    // a row takes about as long as the last one, times its batch ratio
    // part d keeps 90 s for itself
    const reserve = process.env.SEA_CHECK_SEA_STEP !== 'off' ? 90 : 0;
    if (secs() + lastRowS * 1.5 > budgetS - reserve) {
      rows.push({ batch, checkpointLayers, skipped: `over the ${budgetS} s budget` });
      continue;
    }
    const rowStart = secs();
    let t: LmTrainer | null = null;
    try {
      const weights = new Map([...init].map(([n, w]) => [n, sea.tidy(() => sea.mul(w, 1)).keep()]));
      t = await LmTrainer.create(
        hf,
        ids,
        {
          seqLen: big.seqLen,
          batch,
          lr: 6e-4,
          warmup: 500,
          schedule: 'cosine',
          totalSteps: 20000,
          checkpointLayers,
          computeDtype: 'bfloat16',
          seed: 0,
        },
        weights,
        backend,
      );
      const w0 = performance.now();
      await t.trainStep(); // kernels compiled and caches filled
      const warmMs = performance.now() - w0;
      await backend.sync?.();
      backend.resetPeak?.();
      const t0 = performance.now();
      const losses: number[] = [];
      for (let s = 0; s < big.timed; s++) losses.push((await t.trainStep()).loss);
      await backend.sync?.();
      const ms = (performance.now() - t0) / big.timed;
      const mem = backend.memory();
      const tokens = batch * big.seqLen;
      // the first row's step once more with every op and kernel timed by device events
      let profile: ReturnType<typeof profileSummary> | undefined;
      if (rows.length === 0 && backendName === 'cuda' && process.env.SEA_CHECK_PROFILE !== 'off') {
        const tr = t;
        profile = profileSummary(
          `sea train step, OPT-125m T=${big.seqLen} batch ${batch} bfloat16`,
          await profileOps(backend, async () => {
            await tr.trainStep();
          }),
        );
      }
      rows.push({
        ...(profile ? { profile } : {}),
        batch,
        checkpointLayers,
        msPerStep: ms,
        tokensPerS: tokens / (ms / 1000),
        peakGiB: mem.peakBytes !== undefined ? mem.peakBytes / 2 ** 30 : null,
        firstStepMs: warmMs,
        losses,
      });
      const shape = Object.keys(big.config).length ? 'the given shape' : 'OPT-125m';
      console.log(
        `${shape} T=${big.seqLen} batch ${batch}${checkpointLayers ? ' checkpointed' : ''}: ` +
          `${ms.toFixed(0)} ms/step, ${(tokens / (ms / 1000)).toFixed(0)} tokens/s, peak ${mem.peakBytes !== undefined ? (mem.peakBytes / 2 ** 30).toFixed(2) : '?'} GiB`,
      );
    } catch (e) {
      failed = true;
      rows.push({ batch, checkpointLayers, error: String((e as Error)?.stack ?? e) });
    } finally {
      t?.dispose();
    }
    lastRowS = secs() - rowStart;
    save();
  }
  for (const w of init.values()) w.dispose();
}
// ---- d. one `sea distill` step per attention kind at the OPT-125m shape, T=2048, bfloat16 -------
if (process.env.SEA_CHECK_BIG !== 'off' && process.env.SEA_CHECK_SEA_STEP !== 'off') {
  const seqLen = Number(process.env.SEA_CHECK_SEA_T ?? 2048);
  const hf = { ...OPT_125M_CONFIG, ...JSON.parse(process.env.SEA_CHECK_BIG ?? '{}').config };
  const kinds = (process.env.SEA_CHECK_DISTILL_KINDS ?? 'sea,dense,performer,cosformer,reformer').split(',');
  const profiled = (process.env.SEA_CHECK_PROFILE_KINDS ?? 'sea,dense').split(',');
  const rows: Record<string, unknown>[] = [];
  summary.opt125mDistillStep = { seqLen, computeDtype: 'bfloat16', teacher: 'float32', rows };
  let teacher: OptForCausalLM | null = null;
  try {
    const cfg = parseConfig(hf);
    teacher = await OptForCausalLM.fromWeights(cfg, initOptWeights(cfg, 0, backend), { backend });
    let lastS = 0;
    for (const attention of kinds) {
      const row: Record<string, unknown> = { attention };
      rows.push(row);
      if (secs() + lastS * 1.2 > budgetS) {
        row.skipped = `over the ${budgetS} s budget`;
        continue;
      }
      const t0row = secs();
      let d: Distiller | null = null;
      try {
        d = await Distiller.create(teacher, ids, {
          seqLen,
          batch: 1,
          k: 64,
          predictorLength: 256,
          nbf: 8,
          lr: 1e-5,
          seed: 0,
          attention: attention as 'sea',
          computeDtype: 'bfloat16',
        });
        const w0 = performance.now();
        await d.trainStep();
        row.firstStepMs = performance.now() - w0;
        await backend.sync?.();
        backend.resetPeak?.();
        const t0 = performance.now();
        const timed = 2;
        for (let s = 0; s < timed; s++) await d.trainStep();
        await backend.sync?.();
        const ms = (performance.now() - t0) / timed;
        const mem = backend.memory();
        row.msPerStep = ms;
        row.tokensPerS = seqLen / (ms / 1000);
        row.peakGiB = mem.peakBytes !== undefined ? mem.peakBytes / 2 ** 30 : null;
        console.log(
          `OPT-125m distill --attention ${attention} T=${seqLen} batch 1 bfloat16: ${ms.toFixed(0)} ms/step, ${(seqLen / (ms / 1000)).toFixed(0)} tokens/s, peak ${(row.peakGiB as number | null)?.toFixed(2) ?? '?'} GiB`,
        );
        if (
          profiled.includes(attention) &&
          backendName === 'cuda' &&
          process.env.SEA_CHECK_PROFILE !== 'off'
        ) {
          const dd = d;
          row.profile = profileSummary(
            `sea distill step (${attention} student), OPT-125m T=${seqLen} batch 1 bfloat16`,
            await profileOps(backend, async () => {
              await dd.trainStep();
            }),
          );
        }
      } catch (e) {
        failed = true;
        row.error = String((e as Error)?.stack ?? e);
      } finally {
        d?.dispose();
      }
      lastS = secs() - t0row;
      save();
    }
  } catch (e) {
    failed = true;
    rows.push({ error: String((e as Error)?.stack ?? e) });
  } finally {
    teacher?.dispose();
  }
  save();
}

/** Prints a profile and keeps its top rows for the summary. */
function profileSummary(label: string, p: OpProfile) {
  for (const l of formatProfile(label, p, 30)) console.log(l);
  return {
    ...p,
    rows: p.rows.slice(0, 60),
    kernels: p.kernels.slice(0, 60),
    launchShapes: p.launchShapes.slice(0, 60),
  };
}

summary.seconds = secs();
summary.ok = !failed;
save();
console.log(JSON.stringify({ ok: !failed, seconds: summary.seconds }));
process.exit(failed ? 1 : 0);
