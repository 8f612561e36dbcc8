/**
 * The non-finite guard: a model output, a loss or a set of weights that holds NaN or ±Infinity is
 * an error naming where it came from, never a number passed on. The check on the hot path is one
 * reduction (a sum over the tensor, finite whenever every value is, short of overflow); the values
 * are downloaded and counted only when that sum is not finite.
 */
import { SeaError, sum, type Tensor } from '@sea/tensor';
import type { IdsInput } from './inputs.js';

/** NaN or ±Infinity where a finite value was needed; the message names the tensor, layer or step. */
export class NonFiniteError extends SeaError {
  constructor(message: string) {
    super('E_NON_FINITE', message);
  }
}

/** How many NaN, +Inf and −Inf `values` holds, and the index of the first. */
export function countNonFinite(values: ArrayLike<number>): {
  nan: number;
  posInf: number;
  negInf: number;
  first: number;
} {
  let nan = 0;
  let posInf = 0;
  let negInf = 0;
  let first = -1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isFinite(v)) continue;
    if (first < 0) first = i;
    if (Number.isNaN(v)) nan++;
    else if (v > 0) posInf++;
    else negInf++;
  }
  return { nan, posInf, negInf, first };
}

/** "3 NaN, 1 +Infinity (first at index 12)", or undefined when every value is finite. */
export function describeNonFinite(values: ArrayLike<number>): string | undefined {
  const c = countNonFinite(values);
  if (c.first < 0) return undefined;
  const parts = [
    c.nan ? `${c.nan} NaN` : '',
    c.posInf ? `${c.posInf} +Infinity` : '',
    c.negInf ? `${c.negInf} -Infinity` : '',
  ].filter(Boolean);
  return `${parts.join(', ')} of ${values.length} values (first at index ${c.first})`;
}

/**
 * What is non-finite in `t` (see {@link describeNonFinite}), or undefined when all is finite. One
 * sum on the tensor's backend decides; only a non-finite sum downloads the values.
 */
export async function nonFiniteIn(t: Tensor): Promise<string | undefined> {
  if (t.size === 0 || t.dtype === 'int32' || t.dtype === 'bool') return undefined;
  const s = sum(t);
  let total: number;
  try {
    total = (await s.data())[0] as number;
  } finally {
    s.dispose();
  }
  if (Number.isFinite(total)) return undefined;
  return describeNonFinite((await t.data()) as ArrayLike<number>);
}

/** Throws NonFiniteError `${what} holds …` when `t` is not all finite. */
export async function assertFinite(t: Tensor, what: string): Promise<void> {
  const bad = await nonFiniteIn(t);
  if (bad) throw new NonFiniteError(`${what} holds ${bad}`);
}

/** The named tensors holding non-finite values, each as "'name' (3 NaN of 64 values …)". */
export async function nonFiniteTensors(tensors: Iterable<readonly [string, Tensor]>): Promise<string[]> {
  const out: string[] = [];
  for (const [name, t] of tensors) {
    const bad = await nonFiniteIn(t);
    if (bad) out.push(`'${name}' (${bad})`);
  }
  return out;
}

/** Throws NonFiniteError naming every tensor of `tensors` that holds NaN or ±Infinity. */
export async function assertFiniteTensors(
  tensors: Iterable<readonly [string, Tensor]>,
  what: string,
): Promise<void> {
  const bad = await nonFiniteTensors(tensors);
  if (bad.length === 0) return;
  const shown =
    bad.length > 4 ? `${bad.slice(0, 4).join('; ')} (and ${bad.length - 4} more)` : bad.join('; ');
  throw new NonFiniteError(`${what}: ${bad.length} tensor(s) hold non-finite values: ${shown}`);
}

/** A model the guard can run: OPT and BERT (`logits`, optional hidden states, parameters by name). */
export interface GuardedModel<O extends { logits: Tensor }, F> {
  readonly config: { readonly numHiddenLayers: number };
  forward(ids: IdsInput, opts?: F): Promise<O>;
  parameters(): Map<string, Tensor>;
  buffers(): Map<string, Tensor>;
}

/** Every tensor an output object holds (fields and arrays of tensors, one level deep). */
function outputTensors(o: object): Tensor[] {
  const out: Tensor[] = [];
  for (const v of Object.values(o)) {
    if (Array.isArray(v)) for (const x of v) if (x && typeof x.dispose === 'function') out.push(x);
    if (v && typeof (v as Tensor).dispose === 'function') out.push(v as Tensor);
  }
  return out;
}

/**
 * `model.forward(ids, opts)` with the non-finite guard: one reduction over the logits. When they
 * are not all finite the outputs are disposed, the forward runs once more with hidden states to
 * find the first layer whose output is not finite, the weights are scanned, and a NonFiniteError
 * names the layer (or the embeddings or the output head) and the weights holding NaN or ±Infinity.
 */
export async function checkedForward<O extends { logits: Tensor }, F extends object>(
  model: GuardedModel<O, F>,
  ids: IdsInput,
  opts?: F,
): Promise<O> {
  const out = await model.forward(ids, opts);
  const bad = await nonFiniteIn(out.logits).catch((e) => {
    for (const t of outputTensors(out)) t.dispose();
    throw e;
  });
  if (!bad) return out;
  for (const t of outputTensors(out)) t.dispose();
  throw new NonFiniteError(`the model's logits hold ${bad}: ${await locateNonFinite(model, ids, opts)}`);
}

/** Where a forward first goes non-finite, and which weights hold non-finite values. */
async function locateNonFinite<O extends { logits: Tensor }, F extends object>(
  model: GuardedModel<O, F>,
  ids: IdsInput,
  opts: F | undefined,
): Promise<string> {
  let where = 'the output head (after the last layer)';
  const again = await model.forward(ids, { ...(opts ?? {}), outputHiddenStates: true } as F);
  try {
    const hidden = (again as { hiddenStates?: Tensor[] }).hiddenStates ?? [];
    for (let i = 0; i < hidden.length; i++) {
      if (!(await nonFiniteIn(hidden[i]))) continue;
      where = i === 0 ? 'the embeddings' : `layer ${i - 1} (of ${model.config.numHiddenLayers})`;
      break;
    }
  } finally {
    for (const t of outputTensors(again)) t.dispose();
  }
  const params = [...model.parameters(), ...model.buffers()];
  let weights: string[];
  try {
    weights = await nonFiniteTensors(params);
  } finally {
    for (const [, t] of params) t.dispose();
  }
  const shown = weights.length > 4 ? [...weights.slice(0, 4), `and ${weights.length - 4} more`] : weights;
  return `first non-finite output at ${where}; ${
    weights.length ? `weights holding non-finite values: ${shown.join('; ')}` : 'every weight is finite'
  }`;
}
