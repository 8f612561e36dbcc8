/**
 * `@sea/opt`: OPT causal language models from Hugging Face folders, with dense, Performer or SEA
 * attention per layer.
 *
 * @module @sea/opt
 */
export {
  type AttentionChoice,
  type AttentionKind,
  type AttentionModule,
  attentionKindOf,
  createLayerAttention,
  type FinishReason,
  type GenerateOptions,
  type GenerateResult,
  type IdsInput,
  type LayerAttentionConfig,
  ModelInputError,
  ModelLoadError,
  randomWeights,
  type SeaDefaults,
  uploadWeights,
} from '@sea/model-common';
export {
  type OptActivation,
  type OptConfig,
  parseOptConfig,
  type RandomOptOptions,
  randomOptConfigJson,
  readOptConfig,
} from './config.js';
export {
  OPT_FAMILY,
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
