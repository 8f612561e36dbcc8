/**
 * The explorer's generate box: the model with SEA attention in every layer writes tokens after the
 * prompt (prefill, then one token per step through the decoding state), and for each new token the
 * page sees, in one chosen layer and head, the new row's estimate Â (K cells), its selected cells
 * and the keys it attended. Runs in browsers and Node (no file system).
 */
import type { OptForCausalLM } from '@sea/opt';
import { type ExplorerModel, optModelOf } from '@sea/pictures';
import type { Backend, CsrMatrix } from '@sea/tensor';

export interface NewRowView {
  /** Position of the new token in the sequence (prompt + generated). */
  position: number;
  /** Â of the new row for the chosen head: K probabilities. */
  estimate: Float32Array;
  /** Keys the new row attended in the chosen head, ascending. */
  keys: number[];
}

export interface GenerateBoxOptions {
  layer: number;
  head: number;
  /** Keys per query per head. */
  k: number;
  /** K for layers without trained SEA weights (trained ones keep theirs). */
  predictorLength: number;
  nbFeatureFactor: number;
  seed: number;
  maxNewTokens: number;
  signal?: AbortSignal;
  /** Each new token with the view of the row that produced it (null for the first, made by the prompt). */
  onToken: (id: number, view: NewRowView | null) => void | Promise<void>;
}

/** An OptForCausalLM with SEA in every layer, from the explorer's host weights. */
export function seaModelOf(
  model: ExplorerModel,
  backend: Backend,
  o: Pick<GenerateBoxOptions, 'k' | 'predictorLength' | 'nbFeatureFactor' | 'seed'>,
): Promise<OptForCausalLM> {
  const seaConfig = { k: o.k, predictorLength: o.predictorLength, nbFeatureFactor: o.nbFeatureFactor };
  return optModelOf(model, backend, { attention: 'sea', seaConfig, seed: o.seed });
}

/** The keys of row 0, head `head`, of a one-row FlatCSR mask. */
async function rowKeys(csr: CsrMatrix, head: number): Promise<number[]> {
  const crow = (await csr.crow.data()) as Int32Array;
  const col = (await csr.col.data()) as Int32Array;
  const keys: number[] = [];
  for (let z = crow[0]; z < crow[1]; z++) {
    const h = Math.floor(col[z] / csr.keys);
    if (h === head) keys.push(col[z] - h * csr.keys);
  }
  return keys.sort((a, b) => a - b);
}

/** Generates greedily after `ids`; returns the new ids. */
export async function generateWithRows(
  seaModel: OptForCausalLM,
  ids: number[],
  o: GenerateBoxOptions,
): Promise<number[]> {
  let view: NewRowView | null = null;
  let position = ids.length - 1;
  const r = await seaModel.generate(ids, {
    maxNewTokens: o.maxNewTokens,
    signal: o.signal,
    onLayer: async (layer, v) => {
      if (layer !== o.layer || !v.estimate || !v.mask || v.q.shape[2] !== 1) return;
      const K = v.estimate.shape[3];
      const est = (await v.estimate.data()) as Float32Array;
      view = {
        position,
        estimate: est.slice(o.head * K, (o.head + 1) * K),
        keys: await rowKeys(v.mask as CsrMatrix, o.head),
      };
    },
    onToken: async ([id]) => {
      await o.onToken(id, view);
      view = null;
      position++;
    },
  });
  return r.tokens[0];
}
