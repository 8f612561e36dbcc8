/**
 * `@sea/linear-attention`: Performer estimator: FAVOR+ positive softmax features (bidirectional)
 * and ReLU features with prefix sums (causal).
 *
 * @module @sea/linear-attention
 */
export {
  PerformerAttention,
  type PerformerAttentionConfig,
  type PerformerInitOptions,
  PROJECTION_WEIGHT,
} from './module.js';
export {
  bidirectionalLinearAttention,
  CAUSAL_EPS,
  FAVOR_EPS,
  type PerformerOptions,
  performerAttention,
  RELU_KERNEL_EPS,
  reluFeatures,
  softmaxFeatures,
} from './performer.js';
export { orthogonalRandomProjection, performerFeatureCount, qrQ } from './projection.js';
export {
  CausalPerformerState,
  causalPerformerPrefill,
  causalPerformerStep,
  fusedDecodeSteps,
  setFusedDecodeSteps,
} from './state.js';
