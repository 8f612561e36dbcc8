/**
 * Text generation over a causal model with an incremental-decoding cache: the prompt runs at once
 * (prefill), then one token per step. Logits come to the host as float32 and every choice is made
 * there (greedy, or sampling with temperature / top-k / top-p from a seeded PRNG), so a seed gives
 * the same tokens on every backend that gives the same logits.
 */
import { Rng, type Tensor } from '@sea/tensor';
import { ModelInputError } from './errors.js';
import type { ForwardCache, LayerHooks } from './skeleton.js';

/** What `generate` needs of a model. */
export interface GenerativeModel {
  /** Logits [B, T, V] of the new tokens, or of the last `logitsToKeep` of them. */
  forward(
    ids: number[][],
    opts: {
      cache: ForwardCache;
      attentionMask?: number[][];
      logitsToKeep?: number;
      onLayer?: LayerHooks['onLayer'];
    },
  ): Promise<{ logits: Tensor }>;
  createCache(capacity?: number): ForwardCache;
  disposeCache(cache: ForwardCache): void;
  /** The position table's length (max_position_embeddings). */
  readonly maxPositions: number;
}

export interface GenerateOptions {
  /** Tokens to add per row (default 20). */
  maxNewTokens?: number;
  /**
   * Sample instead of taking the most likely token (default: true when temperature > 0, topK or
   * topP is given). Greedy ties go to the lowest token id.
   */
  doSample?: boolean;
  /** Divides the logits before sampling (default 1; 0 means greedy). */
  temperature?: number;
  /** Keep only the k most likely tokens when sampling. */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (0 < p ≤ 1). */
  topP?: number;
  /**
   * Hugging Face's repetition penalty: the logit of every token already in the row (prompt and
   * generated) is divided by it when positive, multiplied when negative (default 1: off).
   */
  repetitionPenalty?: number;
  /** Seed of the sampling PRNG (default 0). */
  seed?: number;
  /** Stop a row when it generates one of these ids (it is kept in the output). */
  eosTokenId?: number | readonly number[];
  /** Stop a row when its decoded generated text contains one of these (needs `decode`). */
  stopStrings?: readonly string[];
  /** Token ids → text, for `stopStrings`. */
  decode?: (ids: readonly number[]) => string;
  /** Called after every step with the new token of each row (rows already finished get -1). */
  onToken?: (tokens: readonly number[], step: number) => void | Promise<void>;
  /** Stops between steps; what was generated so far is returned with finish reason 'aborted'. */
  signal?: AbortSignal;
  /**
   * Called in every forward (the prompt's, then each step's) once per layer with its inputs and
   * attention (SEA steps: the new row's estimate Â [B,H,1,K] and its FlatCSR mask row).
   */
  onLayer?: LayerHooks['onLayer'];
  /** Batched prompts: 1 for tokens, 0 for padding, [B, T]; padding must be on the left. */
  attentionMask?: number[][];
}

export type FinishReason = 'length' | 'eos' | 'stop' | 'aborted';

export interface GenerateResult {
  /** Generated ids per row (without the prompt). */
  tokens: number[][];
  finishReasons: FinishReason[];
  /** Prompt tokens (valid, all rows), the prefill's wall time, decode steps and their wall time. */
  timings: { promptTokens: number; prefillMs: number; decodeSteps: number; decodeMs: number };
}

function positiveInt(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
    throw new ModelInputError(`generate: ${name} must be a positive integer, got ${String(v)}`);
  return v;
}

function checkOptions(o: GenerateOptions): void {
  if (o.maxNewTokens !== undefined) positiveInt('maxNewTokens', o.maxNewTokens);
  if (o.temperature !== undefined && !(Number.isFinite(o.temperature) && o.temperature >= 0))
    throw new ModelInputError(`generate: temperature must be a finite number ≥ 0, got ${o.temperature}`);
  if (o.topK !== undefined) positiveInt('topK', o.topK);
  if (o.topP !== undefined && !(Number.isFinite(o.topP) && o.topP > 0 && o.topP <= 1))
    throw new ModelInputError(`generate: topP must be in (0, 1], got ${o.topP}`);
  if (o.repetitionPenalty !== undefined && !(Number.isFinite(o.repetitionPenalty) && o.repetitionPenalty > 0))
    throw new ModelInputError(
      `generate: repetitionPenalty must be a finite number > 0, got ${o.repetitionPenalty}`,
    );
  if (o.seed !== undefined && !Number.isInteger(o.seed))
    throw new ModelInputError(`generate: seed must be an integer, got ${o.seed}`);
  if (o.stopStrings?.length && !o.decode)
    throw new ModelInputError('generate: stopStrings needs a decode function (token ids → text)');
  if (o.stopStrings?.some((s) => typeof s !== 'string' || s.length === 0))
    throw new ModelInputError('generate: stopStrings must be non-empty strings');
}

/** Applies the repetition penalty in place (HF RepetitionPenaltyLogitsProcessor). */
function penalize(logits: Float32Array, seen: Set<number>, penalty: number): void {
  for (const id of seen) {
    const x = logits[id];
    logits[id] = x < 0 ? x * penalty : x / penalty;
  }
}

function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/** Temperature, top-k, top-p, then one draw (HF's order of warpers). */
function sample(logits: Float32Array, o: GenerateOptions, rng: Rng): number {
  const t = o.temperature ?? 1;
  if (t === 0) return argmax(logits);
  const V = logits.length;
  // candidates by decreasing logit, ties by lower id
  let order = Array.from({ length: V }, (_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b);
  if (o.topK !== undefined) order = order.slice(0, Math.min(o.topK, V));
  const top = logits[order[0]] / t;
  const w = order.map((i) => Math.exp(logits[i] / t - top));
  let total = w.reduce((a, b) => a + b, 0);
  if (o.topP !== undefined && o.topP < 1) {
    let acc = 0;
    let keep = 0;
    // keep the smallest prefix whose mass reaches p (at least one token)
    while (keep < w.length) {
      acc += w[keep] / total;
      keep++;
      if (acc >= o.topP) break;
    }
    order = order.slice(0, keep);
    w.length = keep;
    total = w.reduce((a, b) => a + b, 0);
  }
  let u = rng.uniform() * total;
  for (let i = 0; i < w.length; i++) {
    u -= w[i];
    if (u < 0) return order[i];
  }
  return order[order.length - 1];
}

/**
 * Generates up to `maxNewTokens` tokens per row after `prompt` (ids, or rows of ids with a
 * left-padded `attentionMask`).
 */
export async function generate(
  model: GenerativeModel,
  prompt: readonly number[] | readonly (readonly number[])[],
  opts: GenerateOptions = {},
): Promise<GenerateResult> {
  checkOptions(opts);
  const rows: number[][] = (Array.isArray(prompt[0]) ? prompt : [prompt]).map((r) => [...(r as number[])]);
  const B = rows.length;
  const T = rows[0]?.length ?? 0;
  if (T === 0) throw new ModelInputError('generate: the prompt is empty; give at least one token id');
  if (rows.some((r) => r.length !== T))
    throw new ModelInputError(
      'generate: prompt rows differ in length; pad them on the left and pass attentionMask',
    );
  const maxNew = opts.maxNewTokens ?? 20;
  const mask = opts.attentionMask?.map((r) => [...r]);
  const valid = mask ? mask.map((r) => r.reduce((a, b) => a + b, 0)) : new Array<number>(B).fill(T);
  const longest = Math.max(...valid);
  if (T > model.maxPositions) {
    throw new ModelInputError(
      `generate: the prompt has ${T} tokens but the model's position table holds ${model.maxPositions} (max_position_embeddings); shorten the prompt`,
    );
  }
  if (longest + maxNew > model.maxPositions) {
    throw new ModelInputError(
      `generate: ${longest} prompt tokens + maxNewTokens ${maxNew} exceed the model's ${model.maxPositions} positions (max_position_embeddings); lower maxNewTokens to ${model.maxPositions - longest} or shorten the prompt`,
    );
  }
  const doSample =
    opts.doSample ??
    ((opts.temperature !== undefined && opts.temperature > 0) ||
      opts.topK !== undefined ||
      opts.topP !== undefined);
  const eos = new Set(
    opts.eosTokenId === undefined
      ? []
      : typeof opts.eosTokenId === 'number'
        ? [opts.eosTokenId]
        : opts.eosTokenId,
  );
  const penalty = opts.repetitionPenalty ?? 1;
  const seen = rows.map((r, b) => new Set(r.filter((_, i) => !mask || mask[b][i] === 1)));
  const rng = new Rng(opts.seed ?? 0);
  const tokens: number[][] = rows.map(() => []);
  const reasons: (FinishReason | null)[] = new Array(B).fill(null);
  const cache = model.createCache(T + maxNew);
  const choose = (logits: Float32Array, V: number): number[] =>
    rows.map((_, b) => {
      const row = logits.slice(b * V, (b + 1) * V);
      if (penalty !== 1) penalize(row, seen[b], penalty);
      return doSample ? sample(row, opts, rng) : argmax(row);
    });
  let prefillMs = 0;
  let decodeMs = 0;
  let steps = 0;
  try {
    let t0 = performance.now();
    let feed = rows;
    for (let step = 0; step < maxNew; step++) {
      if (opts.signal?.aborted) {
        for (let b = 0; b < B; b++) reasons[b] ??= 'aborted';
        break;
      }
      const out = await model.forward(feed, {
        cache,
        logitsToKeep: 1,
        ...(mask ? { attentionMask: mask } : {}),
        ...(opts.onLayer ? { onLayer: opts.onLayer } : {}),
      });
      const V = out.logits.shape[2];
      const logits = (await out.logits.data()) as Float32Array;
      out.logits.dispose();
      const next = choose(logits, V);
      const t1 = performance.now();
      if (step === 0) prefillMs = t1 - t0;
      else {
        decodeMs += t1 - t0;
        steps++;
      }
      t0 = t1;
      const emitted = next.map((id, b) => (reasons[b] ? -1 : id));
      for (let b = 0; b < B; b++) {
        if (reasons[b]) continue;
        tokens[b].push(next[b]);
        seen[b].add(next[b]);
        if (eos.has(next[b])) reasons[b] = 'eos';
        else if (opts.stopStrings?.length && opts.decode) {
          const text = opts.decode(tokens[b]);
          if (opts.stopStrings.some((s) => text.includes(s))) reasons[b] = 'stop';
        }
      }
      await opts.onToken?.(emitted, step);
      if (reasons.every((r) => r)) break;
      // finished rows keep being fed their last token; their outputs are ignored
      feed = next.map((id, b) => [reasons[b] ? (tokens[b].at(-1) as number) : id]);
      if (mask) for (const r of mask) r.push(1);
    }
  } finally {
    model.disposeCache(cache);
  }
  return {
    tokens,
    finishReasons: reasons.map((r) => r ?? 'length'),
    timings: { promptTokens: valid.reduce((a, b) => a + b, 0), prefillMs, decodeSteps: steps, decodeMs },
  };
}
