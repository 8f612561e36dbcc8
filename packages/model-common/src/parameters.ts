/**
 * The parameter bookkeeping the model adapters share: a model's own weights (by Hugging Face name)
 * plus each layer's attention-module weights under the SEA weights-file naming. The Performer
 * projection W is a buffer (saved, never trained); everything else a module holds is trainable.
 */
import { PROJECTION_WEIGHT } from '@sea/linear-attention';
import type { AttentionModule } from '@sea/sparse-attention';
import type { Tensor } from '@sea/tensor';
import { wrap } from '@sea/tensor/backend';

/** A model's tensors: its own weights and one attention module per layer, named by `moduleName(layer, name)`. */
export interface ModelTensors {
  readonly weights: ReadonlyMap<string, Tensor>;
  readonly modules: readonly AttentionModule[];
  moduleName(layer: number, name: string): string;
}

/** Layer `i`'s module tensors by full name: the trainable ones, or (with `buffers`) the saved-only ones. */
export function moduleTensors(m: ModelTensors, i: number, buffers: boolean): [string, Tensor][] {
  const out: [string, Tensor][] = [];
  for (const [n, t] of Object.entries(m.modules[i].weights)) {
    if ((n === PROJECTION_WEIGHT) === buffers) out.push([m.moduleName(i, n), t]);
  }
  return out;
}

/** Every trainable tensor (own weights, then each layer's module weights) as new handles the caller disposes. */
export function modelParameters(m: ModelTensors): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [n, t] of m.weights) out.set(n, wrap(t.backend, t).keep());
  for (let i = 0; i < m.modules.length; i++) {
    for (const [n, t] of moduleTensors(m, i, false)) out.set(n, wrap(t.backend, t).keep());
  }
  return out;
}

/** Tensors that are saved but never trained (the Performer projection of SEA/Performer layers), as new handles. */
export function modelBuffers(m: ModelTensors): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (let i = 0; i < m.modules.length; i++) {
    for (const [n, t] of moduleTensors(m, i, true)) out.set(n, wrap(t.backend, t).keep());
  }
  return out;
}

/**
 * Checks per-call replacements (by full name) against the model's own tensors — the name must be a
 * parameter or buffer, and shape and dtype must match — and returns a lookup from an own tensor to its
 * replacement. `fail` builds the adapter's error from the message.
 */
export function parameterOverrides(
  m: ModelTensors,
  params: ReadonlyMap<string, Tensor> | undefined,
  fail: (message: string) => Error,
): (t: Tensor) => Tensor {
  if (!params || params.size === 0) return (t) => t;
  const own = new Map<string, Tensor>(m.weights);
  for (let i = 0; i < m.modules.length; i++) {
    for (const [n, t] of [...moduleTensors(m, i, false), ...moduleTensors(m, i, true)]) own.set(n, t);
  }
  const byTensor = new Map<Tensor, Tensor>();
  for (const [n, t] of params) {
    const o = own.get(n);
    if (!o) throw fail(`parameters: '${n}' is not a parameter or buffer of this model`);
    if (t.rank !== o.rank || t.shape.some((d, i) => d !== o.shape[i]) || t.dtype !== o.dtype) {
      throw fail(`parameters: '${n}' is ${t.dtype} [${t.shape}], expected ${o.dtype} [${o.shape}]`);
    }
    byTensor.set(o, t);
  }
  return (t) => byTensor.get(t) ?? t;
}
