/**
 * `@sea/tensor/backend`: what a backend author needs beyond the user entry: the `Backend`
 * interface with each primitive's shape contract, the primitive list, wrapping a backend's output
 * as a `Tensor`, and the shape and dtype planning helpers the op API uses (strides, broadcasting,
 * axis normalisation, reshape resolution, typed-array allocation, half-precision bit conversion).
 *
 * @module @sea/tensor/backend
 */
export * from '../backend.js';
export {
  allocArray,
  assertDType,
  bf16BitsToNumber,
  dtypeOfArray,
  f16BitsToNumber,
  halfBitsToFloat32,
  numbersToHalfBits,
  numberToBf16Bits,
  numberToF16Bits,
  toTypedArray,
} from '../dtype.js';
export { resolveReshape, wrap } from '../engine.js';
export { assertShape, broadcastShapes, broadcastStrides, normAxis, stridesOf } from '../shape.js';
