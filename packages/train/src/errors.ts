import { SeaError } from '@sea/tensor';

/** A gradient could not be computed: a missing registration, a wrong shape, a non-float parameter. */
export class GradientError extends SeaError {
  constructor(message: string) {
    super('E_GRADIENT', message);
  }
}

/** Training input or configuration was wrong (data, checkpoint, options). */
export class TrainError extends SeaError {
  constructor(message: string) {
    super('E_TRAIN', message);
  }
}
