/** `sea eval`: WikiText-2 perplexity of an OPT model, window by window (docs/algorithm.md §9c). */
import path from 'node:path';
import { checkedForward, NonFiniteError } from '@sea/model-common';
import { SeaError } from '@sea/tensor';
import { chooseBackend } from '../backends.js';
import { readText, wikitext2Test } from '../data.js';
import { windowLoss } from '../loss.js';
import { perplexity, perplexityWindows } from '../metrics.js';
import { progressBar } from '../progress.js';
import {
  type AttentionFlags,
  emit,
  loadCliModel,
  loadCliTokenizer,
  mib,
  positiveOrUndefined,
  seaConfigOf,
} from './common.js';

export interface EvalFlags extends AttentionFlags {
  model: string;
  backend: string;
  window?: number;
  maxWindows?: number;
  protocol: 'sea' | 'gptq';
  data?: string;
  /** f32 (default), bf16 or f16: the dtype the model computes in. */
  dtype?: 'f32' | 'bf16' | 'f16';
  json?: boolean;
}

const DTYPES = { f32: 'float32', bf16: 'bfloat16', f16: 'float16' } as const;

export type EvalResult = Awaited<ReturnType<typeof runEval>>['result'];

export async function evalCommand(o: EvalFlags): Promise<void> {
  const ks = Array.isArray(o.k) ? (o.k as number[]) : [o.k];
  if (ks.length === 1) {
    const { result, text } = await runEval({ ...o, k: ks[0] });
    emit(!!o.json, result, text);
    return;
  }
  // dynamic k: the same weights (trained at one k) evaluated at each k
  const rows: { k: number; result: EvalResult }[] = [];
  for (const k of ks) rows.push({ k, result: (await runEval({ ...o, k })).result });
  const text = [
    `dynamic k (${o.attention}, ${o.model}):`,
    '|    k | perplexity |',
    '| ---: | ---------: |',
    ...rows.map((r) => `| ${String(r.k).padStart(4)} | ${r.result.perplexity.toFixed(3).padStart(10)} |`),
    '',
  ].join('\n');
  emit(!!o.json, { dynamicK: rows.map((r) => ({ k: r.k, ...r.result })) }, text);
}

/** Runs the evaluation and returns the result object and its text rendering. */
export async function runEval(o: EvalFlags) {
  const seaConfig = seaConfigOf(o);
  const maxWindows = positiveOrUndefined('--max-windows', o.maxWindows);
  const backend = await chooseBackend(o.backend);
  const t0 = performance.now();
  const model = await loadCliModel('opt', o, backend, DTYPES[o.dtype ?? 'f32']);
  const loadMs = performance.now() - t0;
  try {
    const window = positiveOrUndefined('--window', o.window) ?? model.config.maxPositionEmbeddings;
    if (window < 2)
      throw new SeaError('E_ARGS', `--window must be at least 2 (one next-token prediction), got ${window}`);
    if (window > model.config.maxPositionEmbeddings) {
      throw new SeaError(
        'E_ARGS',
        `--window ${window} exceeds the model's max_position_embeddings ${model.config.maxPositionEmbeddings}`,
      );
    }
    const tokenizer = await loadCliTokenizer(o.model, 'opt');
    const source = o.data ? { file: path.resolve(o.data), text: readText(o.data) } : wikitext2Test();
    if (!source.text.trim())
      throw new SeaError('E_DATA', `${source.file} is empty or blank: nothing to evaluate`);
    const t1 = performance.now();
    const ids = tokenizer.encode(source.text, { addBos: o.protocol === 'gptq' });
    const tokenizeMs = performance.now() - t1;
    let starts = perplexityWindows(ids.length, window);
    const totalWindows = starts.length;
    if (maxWindows !== undefined) starts = starts.slice(0, maxWindows);
    if (starts.length === 0)
      throw new SeaError('E_DATA', `${source.file}: ${ids.length} tokens make no full window of ${window}`);

    const losses: number[] = [];
    const bar = progressBar(starts.length * window, `eval ${o.attention}`, !o.json);
    backend.resetPeak();
    const baseBytes = backend.memory().bytes;
    let forwardMs = 0;
    try {
      for (const s of starts) {
        const chunk = Int32Array.from(ids.slice(s, s + window));
        const f0 = performance.now();
        const out = await checkedForward(model, chunk, { shape: [1, window] });
        try {
          losses.push(await windowLoss(out.logits, chunk));
        } finally {
          out.logits.dispose();
        }
        forwardMs += performance.now() - f0;
        bar.tick(losses.length * window, {
          rate: Math.round((losses.length * window) / (forwardMs / 1000)),
          ppl: perplexity(losses).toFixed(2),
        });
      }
    } finally {
      bar.stop();
    }
    if (!Number.isFinite(perplexity(losses)))
      throw new NonFiniteError(`perplexity is ${perplexity(losses)} (mean loss overflowed)`);
    const mem = backend.memory();
    const result = {
      model: path.resolve(o.model),
      data: source.file,
      protocol: o.protocol,
      backend: backend.name,
      dtype: DTYPES[o.dtype ?? 'f32'],
      attention: o.attention,
      sea:
        o.attention === 'dense'
          ? undefined
          : { ...seaConfig, seed: o.seed, weights: o.seaWeights ?? 'fresh' },
      tokens: ids.length,
      window,
      windows: starts.length,
      totalWindows,
      perplexity: perplexity(losses),
      meanLoss: losses.reduce((a, b) => a + b, 0) / losses.length,
      tokensPerSecond: (starts.length * window) / (forwardMs / 1000),
      peakBackendBytes: mem.peakBytes,
      weightBytes: baseBytes,
      timings: { loadMs, tokenizeMs, forwardMs },
    };
    const text = [
      `model      ${result.model}`,
      `data       ${result.data} (${result.tokens.toLocaleString('en')} tokens, protocol ${o.protocol})`,
      `backend    ${backend.name}   attention ${o.attention}${o.attention === 'dense' ? '' : ` (${JSON.stringify(result.sea)})`}`,
      `windows    ${starts.length} of ${totalWindows} × ${window} tokens`,
      `perplexity ${result.perplexity.toFixed(3)}   (mean loss ${result.meanLoss.toFixed(4)})`,
      `throughput ${result.tokensPerSecond.toFixed(0)} tokens/s   peak backend memory ${mib(mem.peakBytes)} (weights ${mib(baseBytes)})`,
      '',
    ].join('\n');
    return { result, text };
  } finally {
    model.dispose();
  }
}
