/**
 * Builds a small OPT-format model folder (config.json + model.safetensors) with RANDOM weights,
 * initialised as Hugging Face does (normal(0, 0.02), zero biases, unit LayerNorms). It uses the
 * real OPT vocabulary size, so the real tokenizer applies. It measures speed and agreement between
 * attention methods, not language quality: its perplexity is about the vocabulary size.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Rng } from '@sea/tensor';
import { writeSafetensors } from '@sea/tensor/node';

export interface RandomOptOptions {
  hidden?: number;
  layers?: number;
  heads?: number;
  ffn?: number;
  maxPositions?: number;
  vocab?: number;
  seed?: number;
}

export function randomOptConfig(o: RandomOptOptions = {}) {
  const hidden = o.hidden ?? 128;
  return {
    _name_or_path: 'sea-random-opt',
    sea_note: 'RANDOM WEIGHTS: for speed and agreement measurements only, not language quality',
    model_type: 'opt',
    architectures: ['OPTForCausalLM'],
    vocab_size: o.vocab ?? 50272,
    hidden_size: hidden,
    word_embed_proj_dim: hidden,
    num_hidden_layers: o.layers ?? 2,
    num_attention_heads: o.heads ?? 4,
    ffn_dim: o.ffn ?? 4 * hidden,
    max_position_embeddings: o.maxPositions ?? 2048,
    do_layer_norm_before: true,
    activation_function: 'relu',
    enable_bias: true,
    layer_norm_elementwise_affine: true,
    tie_word_embeddings: true,
    pad_token_id: 1,
    bos_token_id: 2,
    eos_token_id: 2,
    torch_dtype: 'float32',
  };
}

export async function writeRandomOpt(
  dir: string,
  o: RandomOptOptions = {},
): Promise<{ dir: string; parameters: number }> {
  const cfg = randomOptConfig(o);
  const rng = new Rng(o.seed ?? 0);
  const H = cfg.hidden_size;
  const tensors: Record<string, { dtype: 'float32'; shape: number[]; data: Float32Array }> = {};
  let parameters = 0;
  const add = (name: string, shape: number[], kind: 'normal' | 'zeros' | 'ones') => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (kind === 'normal') rng.fillNormal(data, 0, 0.02);
    else if (kind === 'ones') data.fill(1);
    tensors[name] = { dtype: 'float32', shape, data };
    parameters += data.length;
  };
  const p = 'model.decoder.';
  add(`${p}embed_tokens.weight`, [cfg.vocab_size, H], 'normal');
  add(`${p}embed_positions.weight`, [cfg.max_position_embeddings + 2, H], 'normal');
  for (let i = 0; i < cfg.num_hidden_layers; i++) {
    const l = `${p}layers.${i}.`;
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      add(`${l}self_attn.${proj}.weight`, [H, H], 'normal');
      add(`${l}self_attn.${proj}.bias`, [H], 'zeros');
    }
    add(`${l}self_attn_layer_norm.weight`, [H], 'ones');
    add(`${l}self_attn_layer_norm.bias`, [H], 'zeros');
    add(`${l}fc1.weight`, [cfg.ffn_dim, H], 'normal');
    add(`${l}fc1.bias`, [cfg.ffn_dim], 'zeros');
    add(`${l}fc2.weight`, [H, cfg.ffn_dim], 'normal');
    add(`${l}fc2.bias`, [H], 'zeros');
    add(`${l}final_layer_norm.weight`, [H], 'ones');
    add(`${l}final_layer_norm.bias`, [H], 'zeros');
  }
  add(`${p}final_layer_norm.weight`, [H], 'ones');
  add(`${p}final_layer_norm.bias`, [H], 'zeros');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), `${JSON.stringify(cfg, null, 2)}\n`);
  await writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt', note: cfg.sea_note });
  fs.writeFileSync(
    path.join(dir, 'README.md'),
    `# sea-random-opt\n\n${cfg.sea_note}.\n\nBuilt by \`sea make-model\` (seed ${o.seed ?? 0}); ${parameters.toLocaleString('en')} parameters.\n`,
  );
  return { dir, parameters };
}

export interface RandomBertOptions {
  hidden?: number;
  layers?: number;
  heads?: number;
  intermediate?: number;
  maxPositions?: number;
  vocab?: number;
  labels?: number;
  seed?: number;
}

/** A BertForSequenceClassification folder with RANDOM weights and the real uncased vocabulary size. */
export async function writeRandomBert(
  dir: string,
  o: RandomBertOptions = {},
): Promise<{ dir: string; parameters: number }> {
  const H = o.hidden ?? 128;
  const cfg = {
    _name_or_path: 'sea-random-bert',
    sea_note: 'RANDOM WEIGHTS: for speed and agreement measurements only, not task quality',
    model_type: 'bert',
    architectures: ['BertForSequenceClassification'],
    vocab_size: o.vocab ?? 30522,
    hidden_size: H,
    num_hidden_layers: o.layers ?? 2,
    num_attention_heads: o.heads ?? 4,
    intermediate_size: o.intermediate ?? 4 * H,
    hidden_act: 'gelu',
    max_position_embeddings: o.maxPositions ?? 512,
    type_vocab_size: 2,
    layer_norm_eps: 1e-12,
    num_labels: o.labels ?? 2,
    id2label: { 0: 'LABEL_0', 1: 'LABEL_1' },
    label2id: { LABEL_0: 0, LABEL_1: 1 },
    pad_token_id: 0,
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
  };
  const rng = new Rng(o.seed ?? 0);
  const tensors: Record<string, { dtype: 'float32'; shape: number[]; data: Float32Array }> = {};
  let parameters = 0;
  const add = (name: string, shape: number[], kind: 'normal' | 'zeros' | 'ones') => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (kind === 'normal') rng.fillNormal(data, 0, 0.02);
    else if (kind === 'ones') data.fill(1);
    tensors[name] = { dtype: 'float32', shape, data };
    parameters += data.length;
  };
  const lin = (name: string, out: number, inp: number) => {
    add(`${name}.weight`, [out, inp], 'normal');
    add(`${name}.bias`, [out], 'zeros');
  };
  const ln = (name: string) => {
    add(`${name}.weight`, [H], 'ones');
    add(`${name}.bias`, [H], 'zeros');
  };
  add('bert.embeddings.word_embeddings.weight', [cfg.vocab_size, H], 'normal');
  add('bert.embeddings.position_embeddings.weight', [cfg.max_position_embeddings, H], 'normal');
  add('bert.embeddings.token_type_embeddings.weight', [2, H], 'normal');
  ln('bert.embeddings.LayerNorm');
  for (let i = 0; i < cfg.num_hidden_layers; i++) {
    const p = `bert.encoder.layer.${i}`;
    for (const n of ['query', 'key', 'value']) lin(`${p}.attention.self.${n}`, H, H);
    lin(`${p}.attention.output.dense`, H, H);
    ln(`${p}.attention.output.LayerNorm`);
    lin(`${p}.intermediate.dense`, cfg.intermediate_size, H);
    lin(`${p}.output.dense`, H, cfg.intermediate_size);
    ln(`${p}.output.LayerNorm`);
  }
  lin('bert.pooler.dense', H, H);
  lin('classifier', cfg.num_labels, H);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), `${JSON.stringify(cfg, null, 2)}\n`);
  await writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt', note: cfg.sea_note });
  fs.writeFileSync(
    path.join(dir, 'README.md'),
    `# sea-random-bert\n\n${cfg.sea_note}.\n\nBuilt by \`sea make-model --arch bert\` (seed ${o.seed ?? 0}); ${parameters.toLocaleString('en')} parameters.\n`,
  );
  return { dir, parameters };
}
