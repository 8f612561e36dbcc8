/**
 * `@sea/tensor/backend`: what a backend author needs beyond the user entry: the `Backend`
 * interface with each primitive's shape contract, the primitive list, wrapping a backend's output
 * as a `Tensor`, the shape and dtype planning helpers the op API uses (strides, broadcasting,
 * axis normalisation, reshape resolution, typed-array allocation, half-precision bit conversion),
 * the planning every backend shares below it (`coalesce`, `reducePlan`), and `defineBackend`, which
 * builds a backend from its memory and a kernel table checked against the primitive list.
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
export {
  type BoundKernels,
  type Capability,
  defineBackend,
  type Kernel,
  type KernelTable,
} from '../kernels.js';
export { coalesce, type ReducePlan, reducePlan } from '../plan.js';
export { assertShape, broadcastShapes, broadcastStrides, normAxis, stridesOf } from '../shape.js';
