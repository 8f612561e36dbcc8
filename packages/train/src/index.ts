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
  type CoreDistillOptions,
  DistillerCore,
  type DistillForward,
  type DistillModel,
  layerLosses,
  type StepLog,
} from './distill_core.js';
export { GradientError, TrainError } from './errors.js';
export * from './gradients/index.js';
export * from './losses.js';
export * from './optim.js';
export { lineChartSvg, type Series } from './plot.js';
export {
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
