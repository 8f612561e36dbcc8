/** OPT's Hugging Face config.json, with the defaults OPTConfig uses. */
import { configFields, type HfActivation, readConfigJson } from '@sea/model-common';

export type OptActivation = HfActivation;

export interface OptConfig {
  modelType: 'opt';
  vocabSize: number;
  hiddenSize: number;
  numHiddenLayers: number;
  ffnDim: number;
  numAttentionHeads: number;
  maxPositionEmbeddings: number;
  doLayerNormBefore: boolean;
  /** Embedding width; project_in/project_out map it to/from hiddenSize when they differ. */
  wordEmbedProjDim: number;
  activationFunction: OptActivation;
  enableBias: boolean;
  layerNormElementwiseAffine: boolean;
  removeFinalLayerNorm: boolean;
  tieWordEmbeddings: boolean;
  padTokenId: number;
  bosTokenId: number;
  eosTokenId: number;
  layerNormEps: number;
}

/** Validates a parsed config.json (OPTConfig defaults for absent keys). */
export function parseOptConfig(raw: unknown): OptConfig {
  const c = configFields(raw, 'opt');
  const { hiddenSize, numAttentionHeads } = c.heads({ hidden: 768, heads: 12 });
  return {
    modelType: 'opt',
    vocabSize: c.posInt('vocab_size', 50272),
    hiddenSize,
    numHiddenLayers: c.posInt('num_hidden_layers', 12),
    ffnDim: c.posInt('ffn_dim', 3072),
    numAttentionHeads,
    maxPositionEmbeddings: c.posInt('max_position_embeddings', 2048),
    doLayerNormBefore: c.bool('do_layer_norm_before', true),
    wordEmbedProjDim: c.posInt('word_embed_proj_dim', hiddenSize),
    activationFunction: c.activation('activation_function', 'relu'),
    enableBias: c.bool('enable_bias', true),
    layerNormElementwiseAffine: c.bool('layer_norm_elementwise_affine', true),
    removeFinalLayerNorm: c.bool('_remove_final_layer_norm', false),
    tieWordEmbeddings: c.bool('tie_word_embeddings', true),
    padTokenId: c.num('pad_token_id', 1),
    bosTokenId: c.num('bos_token_id', 2),
    eosTokenId: c.num('eos_token_id', 2),
    layerNormEps: 1e-5,
  };
}

/** Reads and validates `<dir>/config.json`. */
export async function readOptConfig(dir: string): Promise<OptConfig> {
  return parseOptConfig(await readConfigJson(dir));
}

/** The shape of a small random-weight OPT (`randomOptConfigJson`). */
export interface RandomOptOptions {
  hidden?: number;
  layers?: number;
  heads?: number;
  ffn?: number;
  maxPositions?: number;
  vocab?: number;
  /** `_name_or_path` of the config. */
  name?: string;
  /** `sea_note`: what the random weights are good for. */
  note?: string;
}

/**
 * config.json (Hugging Face keys) of a small OPT meant for random weights: pre-LN, ReLU, biases,
 * tied embeddings; OPT's vocabulary size by default, so the real tokenizer applies.
 */
export function randomOptConfigJson(o: RandomOptOptions = {}): Record<string, unknown> {
  const hidden = o.hidden ?? 128;
  return {
    _name_or_path: o.name ?? 'sea-random-opt',
    sea_note: o.note ?? 'RANDOM WEIGHTS: for speed and agreement measurements only, not language quality',
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
