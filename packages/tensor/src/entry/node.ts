/**
 * `@sea/tensor/node`: safetensors files and checkpoint folders on disk (Node only, `node:fs`):
 * opening one file or a folder of shards (`model.safetensors.index.json`), reading tensors
 * lazily by name, and writing a file atomically (a temporary file renamed into place, so a failed
 * write leaves nothing behind). The format over bytes is `@sea/tensor/safetensors`.
 *
 * @module @sea/tensor/node
 */
export {
  Checkpoint,
  type CheckpointTensorInfo,
  type OpenOptions,
  openCheckpoint,
  SafetensorsFile,
  writeSafetensors,
} from '../safetensors/node.js';
