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
export { type BertActivation, type BertConfig, parseBertConfig, readBertConfig } from './config.js';
export { ModelInputError, ModelLoadError } from './errors.js';
export type { IdsInput } from './inputs.js';
export {
  BertForSequenceClassification,
  type BertForwardOptions,
  type BertLoadOptions,
  type BertOutput,
  bertWeightSpecs,
} from './model.js';
