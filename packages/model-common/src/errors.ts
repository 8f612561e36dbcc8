import { SeaError } from '@sea/tensor';

/** A model folder, config or checkpoint that cannot be loaded; the message says what and how to fix it. */
export class ModelLoadError extends SeaError {
  constructor(message: string) {
    super('E_MODEL_LOAD', message);
  }
}

/** Model inputs that do not fit the model (shape, length, ids). */
export class ModelInputError extends SeaError {
  constructor(message: string) {
    super('E_MODEL_INPUT', message);
  }
}
