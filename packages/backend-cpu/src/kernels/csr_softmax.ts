import { type TensorInfo, UnsupportedOpError } from '@sea/tensor';
import type { CpuBackend } from '../cpu_backend.js';

export function csrSoftmax(_b: CpuBackend, ..._args: unknown[]): TensorInfo {
  throw new UnsupportedOpError('cpu', 'csrSoftmax');
}
