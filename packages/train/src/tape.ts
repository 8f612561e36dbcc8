/**
 * Reverse-mode autodiff over the op API, TensorFlow.js style: a tape installed in @sea/tensor's
 * engine sees every op call, keeps those that depend on a parameter, and the gradient registered
 * for each op name (written with @sea/tensor ops, so it runs on any backend) carries the output
 * gradient back to the inputs. Ops whose output is not float (comparisons, top-k masks, indices)
 * stop gradients, so the SEA mask selection is never differentiated (docs/algorithm.md §5).
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
  kind: 'op';
  op: string;
  inputIds: (number | null)[];
  outputId: number;
  ctx: GradContext;
}

/** A checkpointed segment: only its inputs and outputs are held; backward runs it again under a tape. */
interface Segment {
  kind: 'segment';
  /** The ids the inputs had in the forward pass (their gradients are accumulated under these). */
  inputIds: (number | null)[];
  /** Handles on the inputs' buffers, passed to `run` again in backward. */
  inputs: (Tensor | null)[];
  outputIds: number[];
  run: (inputs: (Tensor | null)[]) => Promise<Tensor[]>;
}

/** Shares the buffer of `t` under a new handle that no `tidy` scope will dispose. */
function alias(t: Tensor): Tensor {
  return wrap(t.backend, t).keep();
}

class Tape implements TapeListener {
  readonly saved: (Saved | Segment)[] = [];
  readonly requires = new Set<number>();
  readonly held: Tensor[] = [];

  private hold(t: Tensor | null): Tensor | null {
    if (!t) return null;
    const a = alias(t);
    this.held.push(a);
    return a;
  }

  record(r: TapeRecord): void {
    const needs = r.inputs.map((t) => t !== null && this.requires.has(t.id) && isFloat(t.dtype));
    if (!needs.some(Boolean) || !isFloat(r.output.dtype)) return;
    this.requires.add(r.output.id);
    this.saved.push({
      kind: 'op',
      op: r.op,
      inputIds: r.inputs.map((t) => (t ? t.id : null)),
      outputId: r.output.id,
      ctx: {
        inputs: r.inputs.map((t) => this.hold(t)),
        output: this.hold(r.output) as Tensor,
        attrs: r.attrs,
        needs,
      },
    });
  }

  /** Records a segment that ran without a tape: its float outputs carry gradients from now on. */
  recordSegment(
    inputs: readonly (Tensor | null)[],
    outputs: readonly Tensor[],
    run: (inputs: (Tensor | null)[]) => Promise<Tensor[]>,
  ): void {
    const outs = outputs.filter((t) => isFloat(t.dtype));
    for (const t of outs) this.requires.add(t.id);
    this.saved.push({
      kind: 'segment',
      inputIds: inputs.map((t) => (t ? t.id : null)),
      inputs: inputs.map((t) => this.hold(t)),
      outputIds: outs.map((t) => t.id),
      run,
    });
  }

  dispose(): void {
    for (const t of this.held) t.dispose();
    this.held.length = 0;
    this.saved.length = 0;
  }

  /** Carries the gradient of one op's output back to its inputs, accumulating into `grads`. */
  opStep(s: Saved, grads: Map<number, Tensor>): void {
    const dy = grads.get(s.outputId);
    if (!dy) return;
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

  /**
   * Runs a checkpointed segment again under a tape that requires what this one requires (so
   * parameters used inside get their gradients) and walks it backwards into the same gradient map.
   * The segment's inputs are the held handles; their accumulated gradients move to the handles' ids
   * for the walk and back afterwards, so every sum happens in the order of an uncheckpointed run.
   */
  async segmentStep(s: Segment, grads: Map<number, Tensor>): Promise<void> {
    const dys = s.outputIds.map((id) => grads.get(id));
    if (!dys.some(Boolean)) return;
    for (const id of s.outputIds) grads.delete(id);
    const sub = new Tape();
    for (const id of this.requires) sub.requires.add(id);
    s.inputs.forEach((t, j) => {
      const id = s.inputIds[j];
      if (!t || id === null || !this.requires.has(id) || !isFloat(t.dtype)) return;
      sub.requires.add(t.id);
      const acc = grads.get(id);
      if (acc) {
        grads.delete(id);
        grads.set(t.id, acc);
      }
    });
    const prev = setTape(sub);
    let outs: Tensor[];
    try {
      outs = await s.run(s.inputs);
    } catch (e) {
      setTape(prev);
      sub.dispose();
      for (const d of dys) d?.dispose();
      throw e;
    }
    setTape(prev);
    try {
      const floats = outs.filter((t) => isFloat(t.dtype));
      if (floats.length !== dys.length) {
        throw new GradientError(
          `a checkpointed segment returned ${floats.length} float outputs on its second run, ${dys.length} on its first`,
        );
      }
      floats.forEach((t, j) => {
        const dy = dys[j];
        if (dy) grads.set(t.id, dy);
      });
      for (let i = sub.saved.length - 1; i >= 0; i--) {
        const e = sub.saved[i];
        if (e.kind === 'op') sub.opStep(e, grads);
        else await sub.segmentStep(e, grads);
      }
      for (const t of floats) {
        grads.get(t.id)?.dispose();
        grads.delete(t.id);
      }
      s.inputs.forEach((t, j) => {
        const id = s.inputIds[j];
        if (!t || id === null) return;
        const g = grads.get(t.id);
        if (g) {
          grads.delete(t.id);
          grads.set(id, g);
        }
      });
    } finally {
      for (const t of outs) t.dispose();
      sub.dispose();
    }
  }

  private finish(grads: Map<number, Tensor>, leafIds: readonly number[]): Map<number, Tensor> {
    const leaves = new Set(leafIds);
    for (const [id, g] of grads) {
      if (!leaves.has(id)) {
        g.dispose();
        grads.delete(id);
      }
    }
    return grads;
  }

  /**
   * For {@link backwardAsync}'s ready reports: the differentiable inputs each entry reads, how many
   * entries read each id, and the ops that may be walked early (by their output's id).
   */
  private readiness(leafIds: readonly number[]): {
    leaves: Set<number>;
    readsOf: number[][];
    readers: Map<number, number>;
    early: Map<number, number>;
  } {
    const leaves = new Set(leafIds);
    const readers = new Map<number, number>();
    const readsOf = this.saved.map((s) => {
      const ids = new Set<number>();
      s.inputIds.forEach((id, j) => {
        if (id !== null && (s.kind === 'segment' || s.ctx.needs[j])) ids.add(id);
      });
      for (const id of ids) readers.set(id, (readers.get(id) ?? 0) + 1);
      return [...ids];
    });
    const early = new Map<number, number>();
    this.saved.forEach((s, i) => {
      if (s.kind !== 'op' || !readers.get(s.outputId)) return;
      const ins = readsOf[i];
      if (ins.length && ins.every((id) => leaves.has(id) && readers.get(id) === 1)) early.set(s.outputId, i);
    });
    return { leaves, readsOf, readers, early };
  }

  /** Propagates `seed` (the gradient of the tensor with id `rootId`) back; returns leaf gradients. */
  backward(rootId: number, seed: Tensor, leafIds: readonly number[]): Map<number, Tensor> {
    const grads = new Map<number, Tensor>();
    grads.set(rootId, alias(seed));
    const prev = setTape(null);
    try {
      for (let i = this.saved.length - 1; i >= 0; i--) {
        const s = this.saved[i];
        if (s.kind === 'segment') {
          throw new GradientError(
            'a checkpointed segment (checkpoint()) is recomputed asynchronously: use valueAndGradAuxAsync',
          );
        }
        this.opStep(s, grads);
      }
    } finally {
      setTape(prev);
    }
    return this.finish(grads, leafIds);
  }

  /**
   * {@link backward} that also recomputes checkpointed segments. `ready(id)` is called (and awaited)
   * as soon as leaf `id`'s gradient is final: once every recorded op that reads the leaf has been
   * walked. An op whose differentiable inputs are all leaves read by it alone (a parameter's cast to
   * the compute dtype) is walked as soon as its output's gradient is final, out of order, so its
   * leaves are ready early; their sums are the same (one contribution each). With checkpointed
   * segments (which read parameters by closure, unrecorded) no leaf is reported before the end.
   */
  async backwardAsync(
    rootId: number,
    seed: Tensor,
    leafIds: readonly number[],
    ready?: (id: number, grad: Tensor | undefined) => Promise<void>,
  ): Promise<Map<number, Tensor>> {
    const grads = new Map<number, Tensor>();
    grads.set(rootId, alias(seed));
    const prev = setTape(null);
    const track = ready && !this.saved.some((s) => s.kind === 'segment') ? this.readiness(leafIds) : null;
    const done = new Set<number>();
    // after entry i is walked: its inputs lose a reader; a leaf with none left is ready, and an
    // early-walkable op whose output has none left is walked now
    const release = async (i: number): Promise<void> => {
      if (!track || !ready) return;
      for (const id of track.readsOf[i]) {
        const left = (track.readers.get(id) ?? 1) - 1;
        track.readers.set(id, left);
        if (left > 0) continue;
        if (track.leaves.has(id)) await ready(id, grads.get(id));
        else {
          const e = track.early.get(id);
          if (e !== undefined && !done.has(e)) {
            done.add(e);
            this.opStep(this.saved[e] as Saved, grads);
            await release(e);
          }
        }
      }
    };
    try {
      for (let i = this.saved.length - 1; i >= 0; i--) {
        if (done.has(i)) continue;
        const s = this.saved[i];
        if (s.kind === 'segment') await this.segmentStep(s, grads);
        else this.opStep(s, grads);
        await release(i);
      }
    } catch (e) {
      for (const g of grads.values()) g.dispose();
      throw e;
    } finally {
      setTape(prev);
    }
    return this.finish(grads, leafIds);
  }
}

/**
 * Installed while a checkpointed segment first runs: it keeps nothing, but ops still see a tape
 * recording (`isRecording()`), so they take the same differentiable paths as the recorded rerun and as
 * an uncheckpointed run (a fused kernel, e.g. a GEMM with a bfloat16 residual epilogue, rounds
 * differently from the ops it fuses).
 */
const UNKEPT: TapeListener = { record() {} };

/**
 * Activation checkpointing: runs `run(inputs)` without keeping its ops, so that only the inputs and
 * the outputs stay alive for the backward pass, which runs `run` again (on the same inputs, under a
 * tape) when it reaches this point and carries the output gradients through it. `run` must be
 * deterministic, take every tensor it reads that is not a parameter from `inputs`, and dispose its own
 * intermediates; parameters it reads (by closure) get their gradients. The gradients equal an
 * uncheckpointed run's bit for bit: the recomputed ops and the order of every sum are the same.
 * Without a tape (inference), it just runs `run`.
 */
export async function checkpoint(
  inputs: readonly (Tensor | null)[],
  run: (inputs: (Tensor | null)[]) => Promise<Tensor[]>,
): Promise<Tensor[]> {
  const tape = setTape(null);
  if (!(tape instanceof Tape)) {
    setTape(tape);
    return run([...inputs]);
  }
  let outs: Tensor[];
  setTape(UNKEPT);
  try {
    outs = await run([...inputs]);
  } finally {
    setTape(tape);
  }
  tape.recordSegment(inputs, outs, run);
  return outs;
}

function sumKeep(a: Tensor, b: Tensor): Tensor {
  return add(a, b).keep();
}

export type Params = Readonly<Record<string, Tensor>>;
export type Grads<P extends Params> = { [K in keyof P]: Tensor };

export interface ValueAndGradOptions {
  /** Output gradient to start from (default: ones of the value's shape). */
  dy?: Tensor;
  /**
   * valueAndGradAuxAsync: called (and awaited) once per parameter as soon as its gradient is final
   * in the backward pass (see Tape.backwardAsync), the rest after the pass in the order of `params`;
   * `grad` is a new handle the callee owns (the same buffer as the returned gradient). The order of
   * the calls depends only on the computation's structure, so ranks running the same model agree.
   */
  onGrad?: (name: string, grad: Tensor) => void | Promise<void>;
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
    const onGrad = opts.onGrad;
    const reported = new Set<string>();
    const namesOf = new Map<number, string[]>();
    for (const n of names) namesOf.set(params[n].id, [...(namesOf.get(params[n].id) ?? []), n]);
    const ready = onGrad
      ? async (id: number, gp: Tensor | undefined) => {
          for (const n of namesOf.get(id) ?? []) {
            const p = params[n];
            reported.add(n);
            await onGrad(n, gp ? alias(gp) : zeros(p.shape, { backend: p.backend, dtype: p.dtype }).keep());
          }
        }
      : undefined;
    const g = tape.requires.has(value.id)
      ? await tape.backwardAsync(value.id, seed, leafIds, ready)
      : new Map<number, Tensor>();
    if (seed !== opts.dy) seed.dispose();
    const grads = {} as Grads<P>;
    for (const n of names) {
      const p = params[n];
      const gp = g.get(p.id);
      grads[n] = gp ? wrap(gp.backend, gp) : zeros(p.shape, { backend: p.backend, dtype: p.dtype });
    }
    for (const gp of g.values()) gp.dispose();
    if (onGrad) for (const n of names) if (!reported.has(n)) await onGrad(n, alias(grads[n]));
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
