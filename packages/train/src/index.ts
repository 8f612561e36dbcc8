/**
 * `@sea/train`: Reverse-mode gradients over the sea op API, SEA distillation losses, AdamW,
 * checkpoints and the distillation loop.
 *
 * @module @sea/train
 */
import { registerAllGradients } from './gradients/index.js';

registerAllGradients();

export {
  type CheckpointContents,
  findCheckpoint,
  loadCheckpoint,
  removeStaleTemps,
  saveCheckpoint,
  stepDirName,
} from './checkpoint.js';
export {
  DEFAULT_DISTILL,
  Distiller,
  type DistillOptions,
  optDistillationLoss,
  readTokenIds,
} from './distill.js';
export {
  BertDistiller,
  type BertDistillOptions,
  bertDistillationLoss,
  DEFAULT_BERT_DISTILL,
  type GlueFeatures,
} from './distill_bert.js';
export {
  type CapturedLayer,
  type ComputeDtype,
  type CoreDistillOptions,
  DistillerCore,
  type DistillForward,
  type DistillModel,
  float32Outputs,
  type GradientReducer,
  layerLosses,
  mixedPrecisionModel,
  type ReduceSession,
  type StepLog,
  type StudentAttention,
  stepRng,
} from './distill_core.js';
export { GradientError, TrainError } from './errors.js';
export * from './gradients/index.js';
export { DynamicLossScaler, type LossScaleOptions } from './loss_scale.js';
export * from './losses.js';
export * from './optim.js';
export {
  broadcastParameters,
  type Communicator,
  CommunicatorReducer,
  DEFAULT_BUCKET_BYTES,
  gradientBuckets,
  type PendingReduce,
} from './parallel/communicator.js';
export { InProcessGroup } from './parallel/in_process.js';
export { findNccl, NcclCommunicator, ncclSearchDirs, ncclUniqueIdHex } from './parallel/nccl.js';
export { lineChartSvg, type Series } from './plot.js';
export {
  checkpoint,
  type GradContext,
  type GradientFn,
  type Grads,
  getGradient,
  grad,
  type Params,
  registeredGradients,
  registerGradient,
  type ValueAndGradOptions,
  valueAndGrad,
  valueAndGradAux,
  valueAndGradAuxAsync,
  vjp,
} from './tape.js';
export {
  ArrayTokenSource,
  convertTokenIds,
  FileTokenSource,
  TOKEN_BYTES,
  type TokenSource,
  writeTokenFile,
} from './tokens.js';
export {
  DEFAULT_LM_TRAIN,
  initOptWeights,
  LmTrainer,
  type LmTrainOptions,
  OPT_125M_CONFIG,
} from './train_lm.js';
