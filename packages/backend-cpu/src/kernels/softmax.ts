import { type TensorInfo, UnsupportedOpError } from '@sea/tensor';
import type { CpuBackend } from '../cpu_backend.js';

export function softmax(_b: CpuBackend, ..._args: unknown[]): TensorInfo {
  throw new UnsupportedOpError('cpu', 'softmax');
}
export function logSoftmax(_b: CpuBackend, ..._args: unknown[]): TensorInfo {
  throw new UnsupportedOpError('cpu', 'logSoftmax');
}
