/**
 * A compact OPT decoder (Hugging Face layout, pre-LN, ReLU MLP, tied LM head) over named weights,
 * written with @sea/tensor ops so the tape can differentiate it. It is the teacher and the
 * student body of the distillation loop; the attention of each layer is pluggable (dense for the
 * teacher, SEA or Performer for the student). It stands in until @sea/opt exposes the same hooks.
 */

import type { Tensor } from '@sea/tensor';
import * as sea from '@sea/tensor';
import { TrainError } from '../errors.js';
import { FP_MIN } from '../losses.js';

export interface OptConfig {
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  ffn: number;
  maxPositions: number;
  eps: number;
}

export function optConfigFromHf(cfg: Record<string, unknown>): OptConfig {
  const num = (k: string, d?: number) => {
    const v = cfg[k] ?? d;
    if (typeof v !== 'number') throw new TrainError(`config.json: expected a number for '${k}'`);
    return v;
  };
  if (cfg.do_layer_norm_before === false) {
    throw new TrainError(
      'config.json: post-LN OPT (do_layer_norm_before=false, OPT-350m) is not supported yet',
    );
  }
  if (cfg.word_embed_proj_dim !== undefined && cfg.word_embed_proj_dim !== cfg.hidden_size) {
    throw new TrainError(
      'config.json: word_embed_proj_dim ≠ hidden_size (project_in/out) is not supported yet',
    );
  }
  return {
    vocabSize: num('vocab_size'),
    hidden: num('hidden_size'),
    layers: num('num_hidden_layers'),
    heads: num('num_attention_heads'),
    ffn: num('ffn_dim'),
    maxPositions: num('max_position_embeddings'),
    eps: 1e-5,
  };
}

export type Weights = Record<string, Tensor>;

/** What an attention module gets from layer `layer`: Q (pre-scaled by D^-1/2), K, V [B,H,T,D] and the additive causal mask [1,1,T,T]. */
export interface AttentionInput {
  layer: number;
  q: Tensor;
  k: Tensor;
  v: Tensor;
  mask: Tensor;
}

/** An attention's output: the per-head context [B,T,H·D] before out_proj, plus anything the losses need. */
export interface AttentionOutput {
  context: Tensor;
  /** Dense scores Q·Kᵀ [B,H,T,T] (before masking), for teacher buffers and L_prob. */
  scores?: Tensor;
  /** Â stretched to T×T [B,H,T,T], for L_approx. */
  approxLogits?: Tensor;
}

export type AttentionFn = (x: AttentionInput) => AttentionOutput;

export const P = (i: number) => `model.decoder.layers.${i}.`;

/** Additive causal mask [1,1,T,T]: 0 where j ≤ t, FP_MIN elsewhere. */
export function causalMask(t: number, dtype: sea.DType): Tensor {
  const a = new Float64Array(t * t);
  for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) a[i * t + j] = FP_MIN;
  return sea.tensor(dtype === 'float64' ? a : Float32Array.from(a), [1, 1, t, t], { dtype });
}

/** Exact softmax attention (the teacher): softmax(QKᵀ + mask)·V. */
export const denseAttention: AttentionFn = ({ q, k, v, mask }) => {
  const scores = sea.matmul(q, k, { transB: true });
  const ctx = sea.matmul(sea.softmax(scores, mask), v);
  const [B, H, T, D] = ctx.shape;
  return { context: sea.transpose(ctx, [0, 2, 1, 3]).reshape([B, T, H * D]), scores };
};

export interface OptForward {
  logits: Tensor;
  /** L+1 hidden states: embeddings, the input of each later layer, the output after the final LayerNorm. */
  hidden: Tensor[];
  attention: AttentionOutput[];
  mask: Tensor;
}

export function optForward(cfg: OptConfig, w: Weights, ids: Tensor, attention: AttentionFn): OptForward {
  const [B, T] = ids.shape;
  const H = cfg.heads;
  const D = cfg.hidden / H;
  const get = (n: string) => {
    const t = w[n];
    if (!t) throw new TrainError(`OPT weights: missing '${n}'`);
    return t;
  };
  const dtype = get('model.decoder.embed_tokens.weight').dtype;
  const pos = sea.tensor(
    Int32Array.from({ length: B * T }, (_, i) => (i % T) + 2),
    [B, T],
    { dtype: 'int32' },
  );
  let h = sea.add(
    sea.gather(get('model.decoder.embed_tokens.weight'), ids),
    sea.gather(get('model.decoder.embed_positions.weight'), pos),
  );
  const mask = causalMask(T, dtype);
  const hidden: Tensor[] = [h];
  const outs: AttentionOutput[] = [];
  const heads = (x: Tensor) => sea.transpose(x.reshape([B, T, H, D]), [0, 2, 1, 3]);
  for (let i = 0; i < cfg.layers; i++) {
    const p = P(i);
    const x = sea.layerNorm(
      h,
      get(`${p}self_attn_layer_norm.weight`),
      get(`${p}self_attn_layer_norm.bias`),
      cfg.eps,
    );
    const proj = (n: string) =>
      sea.linear(x, get(`${p}self_attn.${n}.weight`), get(`${p}self_attn.${n}.bias`));
    const q = heads(sea.mul(proj('q_proj'), D ** -0.5));
    const a = attention({ layer: i, q, k: heads(proj('k_proj')), v: heads(proj('v_proj')), mask });
    outs.push(a);
    h = sea.add(
      h,
      sea.linear(a.context, get(`${p}self_attn.out_proj.weight`), get(`${p}self_attn.out_proj.bias`)),
    );
    const y = sea.layerNorm(h, get(`${p}final_layer_norm.weight`), get(`${p}final_layer_norm.bias`), cfg.eps);
    const f = sea.relu(sea.linear(y, get(`${p}fc1.weight`), get(`${p}fc1.bias`)));
    h = sea.add(h, sea.linear(f, get(`${p}fc2.weight`), get(`${p}fc2.bias`)));
    if (i < cfg.layers - 1) hidden.push(h);
  }
  h = sea.layerNorm(
    h,
    get('model.decoder.final_layer_norm.weight'),
    get('model.decoder.final_layer_norm.bias'),
    cfg.eps,
  );
  hidden.push(h);
  const logits = sea.matmul(h, get('model.decoder.embed_tokens.weight'), { transB: true });
  return { logits, hidden, attention: outs, mask };
}

/** HF-style random init (normal(0, 0.02), zero biases, unit norms) of an OPT, for tests. */
export function randomOptWeights(
  cfg: OptConfig,
  seed: number,
  dtype: 'float32' | 'float64' = 'float32',
): Weights {
  const rng = new sea.Rng(seed);
  const w: Weights = {};
  const make = (name: string, shape: number[], kind: 'normal' | 'zeros' | 'ones', std = 0.02) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const a = new Float64Array(n);
    if (kind === 'normal') rng.fillNormal(a, 0, std);
    else if (kind === 'ones') a.fill(1);
    w[name] = sea.tensor(dtype === 'float64' ? a : Float32Array.from(a), shape, { dtype });
  };
  const C = cfg.hidden;
  make('model.decoder.embed_tokens.weight', [cfg.vocabSize, C], 'normal');
  make('model.decoder.embed_positions.weight', [cfg.maxPositions + 2, C], 'normal');
  for (let i = 0; i < cfg.layers; i++) {
    const p = P(i);
    for (const n of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      make(`${p}self_attn.${n}.weight`, [C, C], 'normal');
      make(`${p}self_attn.${n}.bias`, [C], 'zeros');
    }
    make(`${p}self_attn_layer_norm.weight`, [C], 'ones');
    make(`${p}self_attn_layer_norm.bias`, [C], 'zeros');
    make(`${p}fc1.weight`, [cfg.ffn, C], 'normal');
    make(`${p}fc1.bias`, [cfg.ffn], 'zeros');
    make(`${p}fc2.weight`, [C, cfg.ffn], 'normal');
    make(`${p}fc2.bias`, [C], 'zeros');
    make(`${p}final_layer_norm.weight`, [C], 'ones');
    make(`${p}final_layer_norm.bias`, [C], 'zeros');
  }
  make('model.decoder.final_layer_norm.weight', [C], 'ones');
  make('model.decoder.final_layer_norm.bias', [C], 'zeros');
  return w;
}
