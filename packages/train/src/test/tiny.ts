// Tiny random OPTs (@sea/opt's OptForCausalLM built from tensors) for the distillation tests: a
// peaked teacher and text sampled from it, so that the student starts with a low CE and the
// distillation terms (from swapping in SEA attention) dominate the loss.
import { BertForSequenceClassification, bertWeightSpecs, parseBertConfig } from '@sea/bert';
import {
  type OptConfig,
  OptForCausalLM,
  optWeightSpecs,
  parseOptConfig,
  randomWeights,
  uploadWeights,
} from '@sea/opt';
import type { Tensor } from '@sea/tensor';
import * as sea from '@sea/tensor';
import { expect } from 'vitest';
import type { GlueFeatures } from '../distill_bert.js';
import type { DistillerCore } from '../distill_core.js';

export interface TinyShape {
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  ffn: number;
  maxPositions: number;
}

export const tinyShape: TinyShape = {
  vocabSize: 64,
  hidden: 32,
  layers: 2,
  heads: 2,
  ffn: 64,
  maxPositions: 64,
};

export function tinyConfig(s: TinyShape): OptConfig {
  return parseOptConfig({
    model_type: 'opt',
    vocab_size: s.vocabSize,
    hidden_size: s.hidden,
    num_hidden_layers: s.layers,
    num_attention_heads: s.heads,
    ffn_dim: s.ffn,
    max_position_embeddings: s.maxPositions,
    word_embed_proj_dim: s.hidden,
    do_layer_norm_before: true,
    activation_function: 'relu',
  });
}

/** HF-style random init (normal(0, 0.02), zero biases, unit norms); `std` overrides per name. */
export function randomOptWeights(
  s: TinyShape,
  seed: number,
  std: Record<string, number> = {},
): Map<string, Tensor> {
  return uploadWeights(randomWeights(optWeightSpecs(tinyConfig(s)), seed, { std }));
}

export function randomOpt(
  s: TinyShape,
  seed: number,
  std: Record<string, number> = {},
): Promise<OptForCausalLM> {
  return OptForCausalLM.fromWeights(tinyConfig(s), randomOptWeights(s, seed, std));
}

/** A peaked teacher: larger token embeddings and Q/K projections than the 0.02 init. */
export function tinyTeacher(seed: number): Promise<OptForCausalLM> {
  const std: Record<string, number> = { 'model.decoder.embed_tokens.weight': 0.6 };
  for (let i = 0; i < tinyShape.layers; i++) {
    for (const n of ['q_proj', 'k_proj']) std[`model.decoder.layers.${i}.self_attn.${n}.weight`] = 0.4;
  }
  return randomOpt(tinyShape, seed, std);
}

/** Sequences of length t sampled from the teacher (exact ancestral sampling, t parallel passes). */
export async function sampleTokens(
  model: OptForCausalLM,
  sequences: number,
  t: number,
  seed: number,
): Promise<Int32Array> {
  const rng = new sea.Rng(seed);
  const V = model.config.vocabSize;
  const u = Float64Array.from({ length: sequences * t }, () => rng.uniform());
  const ids = Int32Array.from({ length: sequences * t }, () => rng.int(V));
  for (let pass = 0; pass < t - 1; pass++) {
    const out = await model.forward(ids, { shape: [sequences, t] });
    const probs = sea.softmax(out.logits);
    const p = (await probs.data()) as Float32Array;
    probs.dispose();
    out.logits.dispose();
    for (let s = 0; s < sequences; s++) {
      for (let i = 0; i < t - 1; i++) {
        const row = (s * t + i) * V;
        let acc = 0;
        let pick = V - 1;
        for (let v = 0; v < V; v++) {
          acc += p[row + v];
          if (u[s * t + i + 1] < acc) {
            pick = v;
            break;
          }
        }
        ids[s * t + i + 1] = pick;
      }
    }
  }
  return ids;
}

export type TinyBertShape = Omit<TinyShape, 'ffn'> & { intermediate: number; labels: number };

/** A tiny random BertForSequenceClassification (HF-style init; `std` overrides per name). */
export function randomBert(
  s: TinyBertShape,
  seed: number,
  std: Record<string, number> = {},
): Promise<BertForSequenceClassification> {
  const config = parseBertConfig({
    model_type: 'bert',
    vocab_size: s.vocabSize,
    hidden_size: s.hidden,
    num_hidden_layers: s.layers,
    num_attention_heads: s.heads,
    intermediate_size: s.intermediate,
    max_position_embeddings: s.maxPositions,
    num_labels: s.labels,
  });
  const w = uploadWeights(randomWeights(bertWeightSpecs(config), seed, { std }));
  return BertForSequenceClassification.fromWeights(config, w);
}

/** Random pair-shaped examples: [CLS] a [SEP] b [SEP], 6..maxLen tokens, label 0 until labelled. */
function pairExamples(V: number, n: number, maxLen: number, seed: number): GlueFeatures[] {
  const rng = new sea.Rng(seed);
  return Array.from({ length: n }, () => {
    const len = 6 + rng.int(maxLen - 5);
    const split = 2 + rng.int(len - 4);
    const ids = Array.from({ length: len }, (_, t) =>
      t === 0 ? 1 : t === split || t === len - 1 ? 2 : 3 + rng.int(V - 3),
    );
    return { ids, typeIds: ids.map((_, t) => (t > split ? 1 : 0)), label: 0 };
  });
}

/** logit₁ − logit₀ of a two-label model on each example. */
async function margins(model: BertForSequenceClassification, xs: readonly GlueFeatures[]): Promise<number[]> {
  const out: number[] = [];
  for (const e of xs) {
    const o = await model.forward([Array.from(e.ids)], { tokenTypeIds: [Array.from(e.typeIds)] });
    const [a, b] = (await o.logits.data()) as Float32Array;
    o.logits.dispose();
    o.pooled.dispose();
    out.push(b - a);
  }
  return out;
}

/**
 * A peaked two-label teacher (larger embeddings, Q/K, pooler and classifier than the 0.02 init) whose
 * classifier bias puts the median margin of random examples at 0, so that its labels are balanced.
 */
export async function tinyBertTeacher(
  s: TinyBertShape,
  seed: number,
): Promise<BertForSequenceClassification> {
  const std: Record<string, number> = {
    'bert.embeddings.word_embeddings.weight': 0.6,
    'bert.pooler.dense.weight': 0.5,
    'classifier.weight': 1,
  };
  for (let i = 0; i < s.layers; i++) {
    for (const n of ['query', 'key']) std[`bert.encoder.layer.${i}.attention.self.${n}.weight`] = 0.4;
  }
  const raw = await randomBert(s, seed, std);
  const m = (await margins(raw, pairExamples(s.vocabSize, 64, 16, seed + 1))).sort((x, y) => x - y);
  const w = raw.parameters();
  raw.dispose();
  w.get('classifier.bias')?.dispose();
  w.set('classifier.bias', sea.tensor([0, -(m[31] + m[32]) / 2], [2]).keep());
  return BertForSequenceClassification.fromWeights(raw.config, w);
}

/** Random pair-shaped examples labelled with `labeller`'s prediction. */
export async function labelledExamples(
  labeller: BertForSequenceClassification,
  n: number,
  maxLen: number,
  seed: number,
): Promise<GlueFeatures[]> {
  const xs = pairExamples(labeller.config.vocabSize, n, maxLen, seed);
  const m = await margins(labeller, xs);
  return xs.map((e, i) => ({ ...e, label: m[i] > 0 ? 1 : 0 }));
}

type AnyDistiller = Pick<DistillerCore<never, never, never, never>, 'params' | 'optimizer'>;

/** A resumed run's parameters (bit for bit) and first moments equal the uninterrupted run's. */
export function expectSameState(a: AnyDistiller, c: AnyDistiller): void {
  for (const [n, t] of Object.entries(a.params)) {
    expect(
      Buffer.from((c.params[n].dataSync() as Float32Array).buffer).equals(
        Buffer.from((t.dataSync() as Float32Array).buffer),
      ),
      n,
    ).toBe(true);
  }
  for (const [n, m] of a.optimizer.m) {
    expect([...(c.optimizer.m.get(n)?.dataSync() ?? [])], n).toEqual([...m.dataSync()]);
  }
}
