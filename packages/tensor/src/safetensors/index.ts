export {
  bf16ToFloat32,
  defaultSeaDType,
  encodeStorage,
  f16ToFloat32,
  type StorageArray,
  storageArray,
  toSeaArray,
} from './convert.js';
export {
  CONVERTIBLE_DTYPES,
  isSafetensorsDType,
  SAFETENSORS_DTYPE_BITS,
  SAFETENSORS_DTYPES,
  type SafetensorsDType,
} from './dtypes.js';
export { SafetensorsError, type SafetensorsErrorContext } from './errors.js';
export { MAX_HEADER_BYTES, type SafetensorsHeader, type SafetensorsTensorInfo } from './header.js';
export { tensorNameProblem } from './names.js';
export {
  Checkpoint,
  type CheckpointTensorInfo,
  type OpenOptions,
  openCheckpoint,
  SafetensorsFile,
  writeSafetensors,
} from './node.js';
export {
  type ParseOptions,
  parseSafetensors,
  type RawTensor,
  type ReadTensorOptions,
  SafetensorsBuffer,
  type SafetensorsReader,
} from './reader.js';
export { serializeSafetensors, type TensorData, type WritableTensor, type WriteOptions } from './write.js';
