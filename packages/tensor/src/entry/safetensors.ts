/**
 * `@sea/tensor/safetensors`: the safetensors format over bytes, in any JavaScript runtime:
 * parsing a buffer (header checks with the offending offset named), reading tensors in their
 * stored dtype or converted to a sea dtype, and serialising tensors to bytes. Reading and writing
 * files and checkpoint folders in Node is `@sea/tensor/node`.
 *
 * @module @sea/tensor/safetensors
 */
export {
  bf16ToFloat32,
  defaultSeaDType,
  encodeStorage,
  f16ToFloat32,
  type StorageArray,
  storageArray,
  toSeaArray,
} from '../safetensors/convert.js';
export {
  CONVERTIBLE_DTYPES,
  isSafetensorsDType,
  SAFETENSORS_DTYPE_BITS,
  SAFETENSORS_DTYPES,
  type SafetensorsDType,
} from '../safetensors/dtypes.js';
export { SafetensorsError, type SafetensorsErrorContext } from '../safetensors/errors.js';
export {
  MAX_HEADER_BYTES,
  type SafetensorsHeader,
  type SafetensorsTensorInfo,
} from '../safetensors/header.js';
export {
  type ParseOptions,
  parseSafetensors,
  type RawTensor,
  type ReadTensorOptions,
  SafetensorsBuffer,
  type SafetensorsReader,
} from '../safetensors/reader.js';
export {
  serializeSafetensors,
  type TensorData,
  type WritableTensor,
  type WriteOptions,
} from '../safetensors/write.js';
