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
export {
  applyActivation,
  type ConfigFields,
  configFields,
  HF_ACTIVATIONS,
  type HfActivation,
  readConfigJson,
} from './config.js';
export { ModelInputError, ModelLoadError } from './errors.js';
export {
  assertFinite,
  assertFiniteTensors,
  checkedForward,
  countNonFinite,
  describeNonFinite,
  type GuardedModel,
  NonFiniteError,
  nonFiniteIn,
  nonFiniteTensors,
} from './finite.js';
export {
  type FinishReason,
  type GenerateOptions,
  type GenerateResult,
  type GenerativeModel,
  generate,
} from './generate.js';
export { checkIds, type HostIds, type IdsInput, toHostIds, toHostMask } from './inputs.js';
export {
  type ModelTensors,
  modelBuffers,
  modelParameters,
  moduleTensors,
  parameterOverrides,
} from './parameters.js';
export {
  type HostWeight,
  type RandomWeightsOptions,
  randomWeights,
  uploadWeights,
} from './random.js';
export {
  detectPrefix,
  type ForwardCache,
  type ForwardRun,
  type LayerCapture,
  type LayerHooks,
  type LayerLoopOutput,
  type LayerRun,
  type LayerState,
  type LayerView,
  type Linear,
  loadTransformer,
  MODEL_FP_MIN,
  Transformer,
  type TransformerConfig,
  type TransformerFamily,
  type TransformerForwardOptions,
  type TransformerLayer,
  type TransformerLoadOptions,
  type TransformerParts,
  transformerFromWeights,
} from './skeleton.js';
export {
  checkWeights,
  FLOAT_WEIGHT_DTYPES,
  openModelCheckpoint,
  readSeaWeights,
  readWeights,
  type TensorListing,
  type WeightSpec,
  weightProblems,
} from './weights.js';
