/**
 * `@sea/bert`: BERT encoders and sequence classifiers from Hugging Face folders, with dense,
 * Performer or SEA attention per layer.
 *
 * @module @sea/bert
 */
export {
  type AttentionChoice,
  type AttentionKind,
  type AttentionModule,
  attentionKindOf,
  createLayerAttention,
  type IdsInput,
  type LayerAttentionConfig,
  ModelInputError,
  ModelLoadError,
  randomWeights,
  type SeaDefaults,
  uploadWeights,
} from '@sea/model-common';
export {
  type BertActivation,
  type BertConfig,
  parseBertConfig,
  type RandomBertOptions,
  randomBertConfigJson,
  readBertConfig,
} from './config.js';
export {
  BERT_FAMILY,
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
