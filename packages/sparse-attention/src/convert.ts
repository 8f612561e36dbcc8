/**
 * Official checkpoint → our weight names. The official PerlinAttention module sits at
 * `…self_attn.perlin_self_attention.attention.` (OPT) or
 * `…attention.self.perlin_self_attention.attention.` (BERT); pass that prefix.
 */
import { PROJECTION_WEIGHT } from '@sea/linear-attention';
import { predictorWeightSpecs } from '@sea/predictor';
import * as sea from '@sea/tensor';
import { type Backend, ShapeError, type Tensor } from '@sea/tensor';
import { predictorConfig, type SeaAttentionConfig } from './config.js';

export interface HostWeight {
  shape: readonly number[];
  data: ArrayLike<number>;
}

/** The official parameter (without the layer prefix) of each of our weight names. */
export function officialWeightNames(config: SeaAttentionConfig): Record<string, string> {
  const out: Record<string, string> = { [PROJECTION_WEIGHT]: 'performer.projection_matrix' };
  for (const s of predictorWeightSpecs(predictorConfig(config))) out[s.name] = s.official;
  return out;
}

/**
 * Picks this layer's SEA weights out of an official state dict and renames them. Shapes must match
 * ours up to leading 1s (the official position table is [1,1,P,D]; ours is [P,D]). Unused official
 * parameters (enc_per_layer, the LayerNorm(C)s, v_eye_learned, LoRA, the projection updater's copy of
 * W) are ignored. `config` fixes the shapes; without it, causal is read from the CNN's keys and the
 * rest from the weights' shapes.
 */
export function convertOfficialWeights(
  stateDict: Record<string, HostWeight>,
  layerPrefix: string,
  config?: SeaAttentionConfig,
): Record<string, { shape: number[]; data: Float32Array }> {
  const cfg = config ?? inferConfig(stateDict, layerPrefix);
  const specs = new Map(predictorWeightSpecs(predictorConfig(cfg)).map((s) => [s.name, s.shape]));
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [ours, official] of Object.entries(officialWeightNames(cfg))) {
    const key = layerPrefix + official;
    const w = stateDict[key];
    if (!w) throw new ShapeError(`convertOfficialWeights: missing '${key}' (for '${ours}')`);
    const want = ours === PROJECTION_WEIGHT ? [w.shape[0], cfg.headDim] : (specs.get(ours) as number[]);
    const squeezed = dropLeadingOnes(w.shape);
    if (squeezed.length !== want.length || squeezed.some((d, i) => d !== want[i])) {
      throw new ShapeError(
        `convertOfficialWeights: '${key}' has shape [${w.shape}], expected [${want}] for '${ours}'`,
      );
    }
    out[ours] = { shape: [...want], data: Float32Array.from(w.data) };
  }
  return out;
}

/** Uploads converted weights; the tensors are kept out of any tidy scope. */
export function weightsToTensors(
  host: Record<string, { shape: readonly number[]; data: Float32Array }>,
  backend?: Backend,
): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [name, w] of Object.entries(host))
    out[name] = sea.tensor(w.data, w.shape, { backend, dtype: 'float32' }).keep();
  return out;
}

function dropLeadingOnes(shape: readonly number[]): number[] {
  let i = 0;
  while (i < shape.length - 1 && shape[i] === 1 && shape.length - i > 2) i++;
  return shape.slice(i);
}

function inferConfig(sd: Record<string, HostWeight>, p: string): SeaAttentionConfig {
  const get = (name: string) => {
    const w = sd[p + name];
    if (!w)
      throw new ShapeError(
        `convertOfficialWeights: cannot infer the config: missing '${p + name}'; pass the config`,
      );
    return w.shape;
  };
  const causal = sd[`${p}attention_predictor_cnn.0.module.weight`] !== undefined;
  const D = get('attention_predictor_enc.0.weight')[0] / 2;
  const nu = get('attention_predictor_dec_row.0.weight')[0];
  const [cs, ch] = causal ? [4, 2] : [2, 4];
  const H = causal
    ? get('attention_predictor_cnn.1.module.net.5.module.weight')[0]
    : get('attention_predictor_cnn.0.net.5.weight')[0];
  const m = get('performer.projection_matrix')[0];
  const pos = causal ? get('v_eye_learned_causal') : null;
  return {
    causal,
    heads: H,
    headDim: D,
    predictorLength: (nu * cs) / ch,
    k: 1,
    // any factor giving the stored m: the feature count is read back from the projection's shape
    nbFeatureFactor: (D * Math.log(D)) / (m + 0.5),
    ...(pos ? { maxPositions: pos[pos.length - 2] } : {}),
  };
}
