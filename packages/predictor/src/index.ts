/**
 * `@sea/predictor`: SEA's attention predictor: encoder, scalers, channel split, causal and
 * bidirectional CNNs.
 *
 * @module @sea/predictor
 */
export { LAYER_NORM_EPS, predictorCnn } from './cnn.js';
export {
  DEFAULT_MAX_POSITIONS,
  type PredictorConfig,
  type PredictorShape,
  predictorParameterCount,
  predictorShape,
  predictorWeightSpecs,
  type WeightSpec,
} from './config.js';
export { type EstimateInputs, type EstimateOutputs, estimateAttention } from './estimate.js';
export { type PositionCodeOptions, positionCode } from './position.js';
export { CNN_WINDOW, estimatePrefill, estimateStep, estimateStepLogits, PredictorState } from './state.js';
export {
  checkPredictorWeights,
  disposePredictorWeights,
  initPredictorWeights,
  type PredictorInitOptions,
  type PredictorWeights,
} from './weights.js';
