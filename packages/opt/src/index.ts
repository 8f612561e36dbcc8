export {
  type AttentionChoice,
  type AttentionKind,
  type AttentionModule,
  attentionKindOf,
  createLayerAttention,
  type LayerAttentionConfig,
  type SeaDefaults,
} from './attention.js';
export { type OptActivation, type OptConfig, parseOptConfig, readOptConfig } from './config.js';
export { ModelInputError, ModelLoadError } from './errors.js';
export type { IdsInput } from './inputs.js';
export {
  OPT_FP_MIN,
  OPT_POSITION_OFFSET,
  OPT_SEA_DEFAULTS,
  OptForCausalLM,
  type OptForwardOptions,
  type OptLayerCapture,
  type OptLoadOptions,
  type OptOutput,
  optWeightSpecs,
  seaParameterName,
} from './model.js';
