/** OPT's Hugging Face config.json, with the defaults OPTConfig uses. */
import { HF_ACTIVATIONS, type HfActivation, ModelLoadError, readConfigJson } from '@sea/model-common';

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

const ACTIVATIONS: readonly string[] = HF_ACTIVATIONS;

function num(raw: Record<string, unknown>, key: string, dflt?: number): number {
  const v = raw[key] ?? dflt;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new ModelLoadError(`config.json: '${key}' must be a number, got ${JSON.stringify(raw[key])}`);
  }
  return v;
}

function posInt(raw: Record<string, unknown>, key: string, dflt?: number): number {
  const v = num(raw, key, dflt);
  if (!Number.isInteger(v) || v < 1)
    throw new ModelLoadError(`config.json: '${key}' must be a positive integer, got ${v}`);
  // sizes beyond any model (and than int32 indexing) would only make the weight checks slow
  const max = key === 'num_hidden_layers' || key === 'num_attention_heads' ? 4096 : 2 ** 31 - 1;
  if (v > max) throw new ModelLoadError(`config.json: '${key}' is ${v}, above the limit of ${max}`);
  return v;
}

function bool(raw: Record<string, unknown>, key: string, dflt: boolean): boolean {
  const v = raw[key] ?? dflt;
  if (typeof v !== 'boolean')
    throw new ModelLoadError(`config.json: '${key}' must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** Validates a parsed config.json (OPTConfig defaults for absent keys). */
export function parseOptConfig(raw: unknown): OptConfig {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new ModelLoadError('config.json is not a JSON object');
  const r = raw as Record<string, unknown>;
  if (r.model_type !== 'opt') {
    throw new ModelLoadError(
      `config.json has model_type ${JSON.stringify(r.model_type)}; @sea/opt loads only 'opt' models${r.model_type === 'bert' ? ' (use @sea/bert)' : ''}`,
    );
  }
  const hiddenSize = posInt(r, 'hidden_size', 768);
  const heads = posInt(r, 'num_attention_heads', 12);
  if (hiddenSize % heads !== 0) {
    throw new ModelLoadError(
      `config.json: hidden_size ${hiddenSize} is not divisible by num_attention_heads ${heads}`,
    );
  }
  const act = (r.activation_function ?? 'relu') as string;
  if (!ACTIVATIONS.includes(act)) {
    throw new ModelLoadError(
      `config.json: activation_function '${act}' is not supported (supported: ${ACTIVATIONS.join(', ')})`,
    );
  }
  return {
    modelType: 'opt',
    vocabSize: posInt(r, 'vocab_size', 50272),
    hiddenSize,
    numHiddenLayers: posInt(r, 'num_hidden_layers', 12),
    ffnDim: posInt(r, 'ffn_dim', 3072),
    numAttentionHeads: heads,
    maxPositionEmbeddings: posInt(r, 'max_position_embeddings', 2048),
    doLayerNormBefore: bool(r, 'do_layer_norm_before', true),
    wordEmbedProjDim: posInt(r, 'word_embed_proj_dim', hiddenSize),
    activationFunction: act as OptActivation,
    enableBias: bool(r, 'enable_bias', true),
    layerNormElementwiseAffine: bool(r, 'layer_norm_elementwise_affine', true),
    removeFinalLayerNorm: bool(r, '_remove_final_layer_norm', false),
    tieWordEmbeddings: bool(r, 'tie_word_embeddings', true),
    padTokenId: num(r, 'pad_token_id', 1),
    bosTokenId: num(r, 'bos_token_id', 2),
    eosTokenId: num(r, 'eos_token_id', 2),
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
