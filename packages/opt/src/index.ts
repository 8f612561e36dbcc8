export {
  type AttentionChoice,
  type AttentionConfig,
  type AttentionCreateOptions,
  type AttentionForwardOptions,
  type AttentionKind,
  type AttentionModule,
  createLayerAttention,
  ExactAttention,
} from './attention.js';
export { type OptActivation, type OptConfig, parseOptConfig, readOptConfig } from './config.js';
export { ModelInputError, ModelLoadError } from './errors.js';
export type { IdsInput } from './inputs.js';
export {
  OPT_POSITION_OFFSET,
  OptForCausalLM,
  type OptForwardOptions,
  type OptLoadOptions,
  type OptOutput,
  optWeightSpecs,
} from './model.js';
