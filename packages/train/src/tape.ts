/**
 * Reverse-mode autodiff over the op API, TensorFlow.js style: a tape installed in @sea/tensor's
 * engine sees every op call, keeps those that depend on a parameter, and the gradient registered
 * for each op name (written with @sea/tensor ops, so it runs on any backend) carries the output
 * gradient back to the inputs. Ops whose output is not float (comparisons, top-k masks, indices)
 * stop gradients, so the SEA mask selection is never differentiated (spec §5).
 */
import { add, isFloat, ones, shapesEqual, Tensor, tidy, zeros } from '@sea/tensor';
import { wrap } from '@sea/tensor/backend';
import { setTape, type TapeListener, type TapeRecord } from '@sea/tensor/internal';
import { GradientError } from './errors.js';

export interface GradContext {
  /** The op's inputs as they were when it ran (kept alive by the tape); null for absent optionals. */
  readonly inputs: readonly (Tensor | null)[];
  readonly output: Tensor;
  readonly attrs: Readonly<Record<string, unknown>>;
  /** Which inputs need a gradient; a gradient function may return null for the others. */
  readonly needs: readonly boolean[];
}

/** Given the output gradient, returns one gradient per input (null/undefined where none flows). */
export type GradientFn = (dy: Tensor, ctx: GradContext) => readonly (Tensor | null | undefined)[];

const gradients = new Map<string, GradientFn>();

/** Registers the gradient of the op `opName` (the name ops.ts records: 'matmul', 'exp', 'sum', …). */
export function registerGradient(opName: string, fn: GradientFn): void {
  gradients.set(opName, fn);
}

export function getGradient(opName: string): GradientFn | undefined {
  return gradients.get(opName);
}

export function registeredGradients(): string[] {
  return [...gradients.keys()].sort();
}

interface Saved {
  op: string;
  inputIds: (number | null)[];
  outputId: number;
  ctx: GradContext;
}

/** Shares the buffer of `t` under a new handle that no `tidy` scope will dispose. */
function alias(t: Tensor): Tensor {
  return wrap(t.backend, t).keep();
}

class Tape implements TapeListener {
  readonly saved: Saved[] = [];
  readonly requires = new Set<number>();
  readonly held: Tensor[] = [];

  record(r: TapeRecord): void {
    const needs = r.inputs.map((t) => t !== null && this.requires.has(t.id) && isFloat(t.dtype));
    if (!needs.some(Boolean) || !isFloat(r.output.dtype)) return;
    this.requires.add(r.output.id);
    const hold = (t: Tensor | null) => {
      if (!t) return null;
      const a = alias(t);
      this.held.push(a);
      return a;
    };
    this.saved.push({
      op: r.op,
      inputIds: r.inputs.map((t) => (t ? t.id : null)),
      outputId: r.output.id,
      ctx: { inputs: r.inputs.map(hold), output: hold(r.output) as Tensor, attrs: r.attrs, needs },
    });
  }

  dispose(): void {
    for (const t of this.held) t.dispose();
    this.held.length = 0;
    this.saved.length = 0;
  }

  /** Propagates `seed` (the gradient of the tensor with id `rootId`) back; returns leaf gradients. */
  backward(rootId: number, seed: Tensor, leafIds: readonly number[]): Map<number, Tensor> {
    const grads = new Map<number, Tensor>();
    grads.set(rootId, alias(seed));
    const prev = setTape(null);
    try {
      for (let i = this.saved.length - 1; i >= 0; i--) {
        const s = this.saved[i];
        const dy = grads.get(s.outputId);
        if (!dy) continue;
        grads.delete(s.outputId);
        const fn = gradients.get(s.op);
        if (!fn) {
          dy.dispose();
          throw new GradientError(
            `no gradient registered for op '${s.op}'; register one with registerGradient('${s.op}', fn)`,
          );
        }
        const outs = tidy(() => [...fn(dy, s.ctx)]);
        const used = new Set<Tensor>();
        s.ctx.inputs.forEach((input, j) => {
          let g = outs[j];
          const id = s.inputIds[j];
          if (!s.ctx.needs[j] || !g || !input || id === null) return;
          if (!shapesEqual(g.shape, input.shape) || g.dtype !== input.dtype) {
            throw new GradientError(
              `gradient of '${s.op}' input ${j} has shape [${g.shape}] ${g.dtype}, expected [${input.shape}] ${input.dtype}`,
            );
          }
          if (g === dy || used.has(g)) g = alias(g);
          else g.keep();
          used.add(g);
          const acc = grads.get(id);
          if (acc) {
            grads.set(id, sumKeep(acc, g));
            acc.dispose();
            g.dispose();
          } else grads.set(id, g);
        });
        for (const g of outs) if (g && !used.has(g) && g !== dy) g.dispose();
        dy.dispose();
      }
    } finally {
      setTape(prev);
    }
    const leaves = new Set(leafIds);
    for (const [id, g] of grads) {
      if (!leaves.has(id)) {
        g.dispose();
        grads.delete(id);
      }
    }
    return grads;
  }
}

function sumKeep(a: Tensor, b: Tensor): Tensor {
  return add(a, b).keep();
}

export type Params = Readonly<Record<string, Tensor>>;
export type Grads<P extends Params> = { [K in keyof P]: Tensor };

export interface ValueAndGradOptions {
  /** Output gradient to start from (default: ones of the value's shape). */
  dy?: Tensor;
}

/**
 * Runs `fn` with a tape, then returns its value and the gradients of (the sum of) that value with
 * respect to each named parameter. A parameter the value does not depend on gets zeros. `fn` may
 * return extra tensors beside the loss with {@link valueAndGradAux}.
 */
export function valueAndGrad<P extends Params>(
  fn: () => Tensor,
  params: P,
  opts: ValueAndGradOptions = {},
): { value: Tensor; grads: Grads<P> } {
  const r = valueAndGradAux(() => ({ loss: fn(), aux: null }), params, opts);
  return { value: r.value, grads: r.grads };
}

/** Like {@link valueAndGrad}, with `fn` returning `{ loss, aux }`; `aux` (tensors or plain data) is returned as is. */
export function valueAndGradAux<P extends Params, A>(
  fn: () => { loss: Tensor; aux: A },
  params: P,
  opts: ValueAndGradOptions = {},
): { value: Tensor; aux: A; grads: Grads<P> } {
  const tape = new Tape();
  const names = Object.keys(params) as (keyof P & string)[];
  for (const n of names) {
    const p = params[n];
    if (!(p instanceof Tensor)) throw new GradientError(`parameter '${n}' is not a Tensor`);
    if (!isFloat(p.dtype))
      throw new GradientError(`parameter '${n}' must be float32 or float64, got ${p.dtype}`);
    tape.requires.add(p.assertLive(`parameter '${n}'`).id);
  }
  const prev = setTape(tape);
  let out: { loss: Tensor; aux: A };
  try {
    out = tidy(fn);
  } catch (e) {
    setTape(prev);
    tape.dispose();
    throw e;
  }
  setTape(prev);
  try {
    const value = out.loss;
    if (!(value instanceof Tensor)) throw new GradientError('the function must return a Tensor loss');
    if (!isFloat(value.dtype)) throw new GradientError(`the loss must be float, got ${value.dtype}`);
    const seed = opts.dy ?? ones(value.shape, { backend: value.backend, dtype: value.dtype });
    if (!shapesEqual(seed.shape, value.shape)) {
      throw new GradientError(`dy [${seed.shape}] must match the value's shape [${value.shape}]`);
    }
    const leafIds = names.map((n) => params[n].id);
    const g = tape.requires.has(value.id)
      ? tape.backward(value.id, seed, leafIds)
      : new Map<number, Tensor>();
    if (seed !== opts.dy) seed.dispose();
    const grads = {} as Grads<P>;
    for (const n of names) {
      const p = params[n];
      const gp = g.get(p.id);
      // a handle tracked by the caller's scope; a tensor listed under two names gets two handles
      grads[n] = gp ? wrap(gp.backend, gp) : zeros(p.shape, { backend: p.backend, dtype: p.dtype });
    }
    for (const gp of g.values()) gp.dispose();
    return { value, aux: out.aux, grads };
  } finally {
    tape.dispose();
  }
}

/**
 * {@link valueAndGradAux} for an async `fn` (e.g. a model whose attention awaits host reads). The
 * tape stays installed across `fn`'s awaits, so nothing else may run ops meanwhile; there is no
 * `tidy` scope around `fn`: it must dispose its own intermediates (tensors the tape needs are held
 * by the tape). `value` and the gradients are new handles; `aux` is returned as is.
 */
export async function valueAndGradAuxAsync<P extends Params, A>(
  fn: () => Promise<{ loss: Tensor; aux: A }>,
  params: P,
  opts: ValueAndGradOptions = {},
): Promise<{ value: Tensor; aux: A; grads: Grads<P> }> {
  const tape = new Tape();
  const names = Object.keys(params) as (keyof P & string)[];
  for (const n of names) {
    const p = params[n];
    if (!(p instanceof Tensor)) throw new GradientError(`parameter '${n}' is not a Tensor`);
    if (!isFloat(p.dtype))
      throw new GradientError(`parameter '${n}' must be float32 or float64, got ${p.dtype}`);
    tape.requires.add(p.assertLive(`parameter '${n}'`).id);
  }
  const prev = setTape(tape);
  let out: { loss: Tensor; aux: A };
  try {
    out = await fn();
  } catch (e) {
    setTape(prev);
    tape.dispose();
    throw e;
  }
  setTape(prev);
  try {
    const value = out.loss;
    if (!(value instanceof Tensor)) throw new GradientError('the function must return a Tensor loss');
    if (!isFloat(value.dtype)) throw new GradientError(`the loss must be float, got ${value.dtype}`);
    const seed = opts.dy ?? ones(value.shape, { backend: value.backend, dtype: value.dtype });
    if (!shapesEqual(seed.shape, value.shape)) {
      throw new GradientError(`dy [${seed.shape}] must match the value's shape [${value.shape}]`);
    }
    const leafIds = names.map((n) => params[n].id);
    const g = tape.requires.has(value.id)
      ? tape.backward(value.id, seed, leafIds)
      : new Map<number, Tensor>();
    if (seed !== opts.dy) seed.dispose();
    const grads = {} as Grads<P>;
    for (const n of names) {
      const p = params[n];
      const gp = g.get(p.id);
      grads[n] = gp ? wrap(gp.backend, gp) : zeros(p.shape, { backend: p.backend, dtype: p.dtype });
    }
    for (const gp of g.values()) gp.dispose();
    return { value, aux: out.aux, grads };
  } finally {
    tape.dispose();
  }
}

/** Gradients only; the value is disposed. */
export function grad<P extends Params>(
  fn: () => Tensor,
  params: P,
  opts: ValueAndGradOptions = {},
): Grads<P> {
  const r = valueAndGrad(fn, params, opts);
  r.value.dispose();
  return r.grads;
}

/**
 * Vector-Jacobian product of `fn` at `inputs` with output gradient `dy`: used by gradients that are
 * easiest to state as the gradient of a composition of other ops (e.g. the causal Performer).
 */
export function vjp(fn: (...xs: Tensor[]) => Tensor, inputs: readonly Tensor[], dy: Tensor): Tensor[] {
  const leaves = inputs.map((t) => alias(t));
  const params: Record<string, Tensor> = {};
  leaves.forEach((t, i) => {
    params[`x${i}`] = t;
  });
  try {
    const r = valueAndGrad(() => fn(...leaves), params, { dy });
    r.value.dispose();
    return leaves.map((_, i) => r.grads[`x${i}`]);
  } finally {
    for (const t of leaves) t.dispose();
  }
}
