// Tiny random OPTs (@sea/opt's OptForCausalLM built from tensors) for the distillation tests: a
// peaked teacher and text sampled from it, so that the student starts with a low CE and the
// distillation terms (from swapping in SEA attention) dominate the loss.
import { type OptConfig, OptForCausalLM, parseOptConfig } from '@sea/opt';
import type { Tensor } from '@sea/tensor';
import * as sea from '@sea/tensor';

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
  const rng = new sea.Rng(seed);
  const w = new Map<string, Tensor>();
  const make = (name: string, shape: number[], kind: 'normal' | 'zeros' | 'ones') => {
    const a = new Float32Array(shape.reduce((x, y) => x * y, 1));
    if (kind === 'normal') rng.fillNormal(a, 0, 0.02);
    else if (kind === 'ones') a.fill(1);
    w.set(name, sea.tensor(a, shape).keep());
  };
  const C = s.hidden;
  const P = (i: number) => `model.decoder.layers.${i}.`;
  make('model.decoder.embed_tokens.weight', [s.vocabSize, C], 'normal');
  make('model.decoder.embed_positions.weight', [s.maxPositions + 2, C], 'normal');
  for (let i = 0; i < s.layers; i++) {
    for (const n of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      make(`${P(i)}self_attn.${n}.weight`, [C, C], 'normal');
      make(`${P(i)}self_attn.${n}.bias`, [C], 'zeros');
    }
    make(`${P(i)}self_attn_layer_norm.weight`, [C], 'ones');
    make(`${P(i)}self_attn_layer_norm.bias`, [C], 'zeros');
    make(`${P(i)}fc1.weight`, [s.ffn, C], 'normal');
    make(`${P(i)}fc1.bias`, [s.ffn], 'zeros');
    make(`${P(i)}fc2.weight`, [C, s.ffn], 'normal');
    make(`${P(i)}fc2.bias`, [C], 'zeros');
    make(`${P(i)}final_layer_norm.weight`, [C], 'ones');
    make(`${P(i)}final_layer_norm.bias`, [C], 'zeros');
  }
  make('model.decoder.final_layer_norm.weight', [C], 'ones');
  make('model.decoder.final_layer_norm.bias', [C], 'zeros');
  const r2 = new sea.Rng(seed + 100);
  for (const [name, sd] of Object.entries(std)) {
    const t = w.get(name) as Tensor;
    w.set(name, sea.tensor(r2.fillNormal(new Float32Array(t.size), 0, sd), t.shape).keep());
    t.dispose();
  }
  return w;
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
