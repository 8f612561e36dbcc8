/**
 * `@sea/sparse-attention`: FlatCSR sparse attention, context mixing and the SeaAttention module.
 *
 * @module @sea/sparse-attention
 */

/** Whether decoding runs the fused step primitives (default) or the composed ops (@sea/linear-attention). */
export { fusedDecodeSteps, setFusedDecodeSteps } from '@sea/linear-attention';
export {
  type AttendOptions,
  type AttendResult,
  attendWithEstimate,
  type EstimateTensors,
  estimateProbs,
  globalContext,
  mixContext,
} from './attend.js';
export { type ResolvedSeaConfig, resolveSeaConfig, type SeaAttentionConfig } from './config.js';
export {
  convertOfficialWeights,
  type HostWeight,
  officialWeightNames,
  weightsToTensors,
} from './convert.js';
export {
  type DecodeState,
  DenseDecodeState,
  KvCache,
  PerformerDecodeState,
  type PrefillOptions,
  SeaDecodeState,
  type StepOptions,
  type StepOutput,
} from './decode.js';
export { DenseAttention, type DenseAttentionConfig, defaultScoreScale, denseAttentionMask } from './dense.js';
export {
  type AttentionConfig,
  type AttentionKind,
  type CreateAttentionOptions,
  createAttention,
} from './factory.js';
export { SeaAttention, type SeaInitOptions } from './sea_attention.js';
export type {
  AttentionForwardOptions,
  AttentionModule,
  AttentionOutput,
  AttentionPath,
  SeaTrainingOutputs,
} from './types.js';
