export {
  type AttentionChoice,
  type AttentionKind,
  type AttentionModule,
  attentionKindOf,
  createLayerAttention,
  type LayerAttentionConfig,
  type SeaDefaults,
} from './attention.js';
export { type BertActivation, type BertConfig, parseBertConfig, readBertConfig } from './config.js';
export { ModelInputError, ModelLoadError } from './errors.js';
export type { IdsInput } from './inputs.js';
export {
  BERT_FP_MIN,
  BERT_SEA_DEFAULTS,
  BertForSequenceClassification,
  type BertForwardOptions,
  type BertLayerCapture,
  type BertLoadOptions,
  type BertOutput,
  bertSeaParameterName,
  bertWeightSpecs,
} from './model.js';
