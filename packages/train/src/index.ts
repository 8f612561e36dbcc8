import { registerAllGradients } from './gradients/index.js';

registerAllGradients();

export { GradientError, TrainError } from './errors.js';
export * from './gradients/index.js';
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
  vjp,
} from './tape.js';
