/**
 * `@sea/model-common`: What the model adapters share: model load/input errors, token id and mask
 * checks, checkpoint reading checked against the config, attention per layer by name, and the
 * parameter bookkeeping of model and SEA module weights.
 *
 * @module @sea/model-common
 */
export {
  ATTENTION_KINDS,
  type AttentionChoice,
  type AttentionKind,
  type AttentionModule,
  attentionKindOf,
  createLayerAttention,
  type LayerAttentionConfig,
  type LayerCheckpoint,
  type SeaDefaults,
} from './attention.js';
export { applyActivation, HF_ACTIVATIONS, type HfActivation, readConfigJson } from './config.js';
export { ModelInputError, ModelLoadError } from './errors.js';
export { checkIds, type HostIds, type IdsInput, toHostIds, toHostMask } from './inputs.js';
export {
  type ModelTensors,
  modelBuffers,
  modelParameters,
  moduleTensors,
  parameterOverrides,
} from './parameters.js';
export { openModelCheckpoint, readSeaWeights, readWeights, type WeightSpec } from './weights.js';
