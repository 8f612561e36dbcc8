import { type TensorInfo, UnsupportedOpError } from '@sea/tensor';
import type { CpuBackend } from '../cpu_backend.js';

export function gather(_b: CpuBackend, ..._args: unknown[]): TensorInfo {
  throw new UnsupportedOpError('cpu', 'gather');
}
export function takeAlong(_b: CpuBackend, ..._args: unknown[]): TensorInfo {
  throw new UnsupportedOpError('cpu', 'takeAlong');
}
