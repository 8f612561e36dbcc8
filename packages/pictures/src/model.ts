/**
 * The model as the explorer sees it: an OPT config and a source of host weights, from a
 * safetensors buffer (a picked model folder, or a file read in Node) or built in memory (the
 * bundled model: random weights). Nothing here touches the file system, so it runs in browsers.
 */
import { type OptConfig, parseOptConfig } from '@sea/opt';
import { Rng } from '@sea/tensor';
import {
  parseSafetensors,
  type SafetensorsBuffer,
  SafetensorsError,
  serializeSafetensors,
  toSeaArray,
} from '@sea/tensor/safetensors';

/** Host weights by name (float32 values and shape). */
export interface WeightSource {
  has(name: string): boolean;
  names(): string[];
  shape(name: string): readonly number[];
  /** float32 values (F16/BF16/F64 converted); throws for an unknown name. */
  values(name: string): Float32Array;
}

export interface ExplorerModel {
  /** What the page shows as the model's name (the folder, or the bundled model's label). */
  label: string;
  /** True for weights that carry no language knowledge (the bundled model). */
  randomWeights: boolean;
  config: OptConfig;
  weights: WeightSource;
  /** 'model.' (OPTForCausalLM) or '' (OPTModel). */
  prefix: string;
}

/** Weights of a safetensors file held in memory (`parseSafetensors`). */
export function weightsFromSafetensors(buf: SafetensorsBuffer): WeightSource {
  const cache = new Map<string, Float32Array>();
  return {
    has: (n) => buf.has(n),
    names: () => buf.names(),
    shape: (n) => buf.info(n).shape,
    values(n) {
      let v = cache.get(n);
      if (!v) {
        const raw = buf.readRawSync(n);
        if (!raw.array)
          throw new SafetensorsError(`tensor '${n}' has dtype ${raw.dtype}, which sea cannot read`);
        v = toSeaArray(raw.dtype, raw.array, 'float32', { file: buf.file, tensor: n }) as Float32Array;
        cache.set(n, v);
      }
      return v;
    },
  };
}

/** Several sources as one (a model file and a separate SEA weights file); the first holding a name wins. */
export function mergeWeights(...sources: WeightSource[]): WeightSource {
  const find = (n: string) => {
    const s = sources.find((x) => x.has(n));
    if (!s) throw new SafetensorsError(`no tensor named '${n}' in the model files`);
    return s;
  };
  return {
    has: (n) => sources.some((s) => s.has(n)),
    names: () => [...new Set(sources.flatMap((s) => s.names()))].sort(),
    shape: (n) => find(n).shape(n),
    values: (n) => find(n).values(n),
  };
}

/** An ExplorerModel from the text of config.json and the bytes of model.safetensors (and optional extra files). */
export function modelFromFiles(
  label: string,
  configJson: string,
  safetensors: Uint8Array[],
  opts: { randomWeights?: boolean } = {},
): ExplorerModel {
  let raw: unknown;
  try {
    raw = JSON.parse(configJson);
  } catch (e) {
    throw new Error(`config.json is not valid JSON: ${(e as Error).message}`);
  }
  const config = parseOptConfig(raw);
  const weights = mergeWeights(
    ...safetensors.map((b, i) => weightsFromSafetensors(parseSafetensors(b, { name: `file ${i + 1}` }))),
  );
  const prefix = ['model.', ''].find((p) => weights.has(`${p}decoder.embed_tokens.weight`));
  if (prefix === undefined) {
    throw new Error(
      `the safetensors file has no 'model.decoder.embed_tokens.weight': not an OPT checkpoint (first tensors: ${weights.names().slice(0, 3).join(', ')})`,
    );
  }
  const note = (raw as { sea_note?: unknown }).sea_note;
  const random = opts.randomWeights ?? (typeof note === 'string' && /random/i.test(note));
  return { label, randomWeights: random, config, weights, prefix };
}

export interface RandomOptSpec {
  hidden: number;
  layers: number;
  heads: number;
  maxPositions: number;
  seed: number;
  vocab: number;
}

/** The bundled model: OPT's vocabulary (so the real tokenizer applies) and small random layers. */
export const BUNDLED_MODEL: RandomOptSpec = {
  hidden: 128,
  layers: 2,
  heads: 4,
  maxPositions: 512,
  seed: 0,
  vocab: 50272,
};

/**
 * config.json and model.safetensors bytes of a random-weight OPT-format model, initialised as
 * Hugging Face does (normal(0, 0.02) matrices, zero biases, unit LayerNorms). Deterministic in the
 * seed, so the page and Node build the same model.
 */
export async function randomOptFiles(
  spec: RandomOptSpec = BUNDLED_MODEL,
): Promise<{ configJson: string; safetensors: Uint8Array }> {
  const H = spec.hidden;
  const config = {
    _name_or_path: 'sea-explorer-random-opt',
    sea_note:
      'RANDOM WEIGHTS: the attention patterns show the mechanics of SEA, not what a trained model attends to',
    model_type: 'opt',
    architectures: ['OPTForCausalLM'],
    vocab_size: spec.vocab,
    hidden_size: H,
    word_embed_proj_dim: H,
    num_hidden_layers: spec.layers,
    num_attention_heads: spec.heads,
    ffn_dim: 4 * H,
    max_position_embeddings: spec.maxPositions,
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
  const rng = new Rng(spec.seed);
  const tensors: Record<string, { dtype: 'float32'; shape: number[]; data: Float32Array }> = {};
  const add = (name: string, shape: number[], kind: 'normal' | 'zeros' | 'ones') => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (kind === 'normal') rng.fillNormal(data, 0, 0.02);
    else if (kind === 'ones') data.fill(1);
    tensors[name] = { dtype: 'float32', shape, data };
  };
  const p = 'model.decoder.';
  add(`${p}embed_tokens.weight`, [spec.vocab, H], 'normal');
  add(`${p}embed_positions.weight`, [spec.maxPositions + 2, H], 'normal');
  for (let i = 0; i < spec.layers; i++) {
    const l = `${p}layers.${i}.`;
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      add(`${l}self_attn.${proj}.weight`, [H, H], 'normal');
      add(`${l}self_attn.${proj}.bias`, [H], 'zeros');
    }
    add(`${l}self_attn_layer_norm.weight`, [H], 'ones');
    add(`${l}self_attn_layer_norm.bias`, [H], 'zeros');
    add(`${l}fc1.weight`, [4 * H, H], 'normal');
    add(`${l}fc1.bias`, [4 * H], 'zeros');
    add(`${l}fc2.weight`, [H, 4 * H], 'normal');
    add(`${l}fc2.bias`, [H], 'zeros');
    add(`${l}final_layer_norm.weight`, [H], 'ones');
    add(`${l}final_layer_norm.bias`, [H], 'zeros');
  }
  add(`${p}final_layer_norm.weight`, [H], 'ones');
  add(`${p}final_layer_norm.bias`, [H], 'zeros');
  return {
    configJson: JSON.stringify(config, null, 2),
    safetensors: await serializeSafetensors(tensors, { format: 'pt', sea_note: config.sea_note }),
  };
}

/** The bundled model, built in memory. */
export async function bundledModel(spec: RandomOptSpec = BUNDLED_MODEL): Promise<ExplorerModel> {
  const f = await randomOptFiles(spec);
  return modelFromFiles(
    `bundled random OPT (hidden ${spec.hidden}, ${spec.layers} layers, ${spec.heads} heads, seed ${spec.seed})`,
    f.configJson,
    [f.safetensors],
    { randomWeights: true },
  );
}
