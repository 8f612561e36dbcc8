/**
 * `@sea/tensor`: tensors, the op API, dtypes, memory scopes and the backend registry: what a
 * program using sea needs. Backend authors add `@sea/tensor/backend`; safetensors parsing over
 * bytes is `@sea/tensor/safetensors`, reading and writing files in Node `@sea/tensor/node`.
 * Nothing here imports a `node:` module, so the entry bundles for the browser as is.
 *
 * @module @sea/tensor
 */
export * from './attention.js';
export type {
  AttentionLayout,
  Backend,
  BinaryOp,
  CsrInfo,
  LayerNormActivation,
  MatmulOptions,
  MemoryInfo,
  ReduceOp,
  ResizeMode,
  TensorInfo,
  UnaryOp,
} from './backend.js';
export {
  bytesPerElement,
  DTYPES,
  type DType,
  type DTypeToArray,
  type DTypeToHostArray,
  type FloatDType,
  type HalfDType,
  isFloat,
  isHalf,
  roundToDType,
  type TypedArray,
  unitRoundoff,
} from './dtype.js';
export { releaseEarly, Tensor, tidy, tidyAsync } from './engine.js';
export * from './errors.js';
export * from './ops.js';
export * from './random.js';
export * from './registry.js';
export { fmt, type Shape, shapesEqual, sizeOf } from './shape.js';
