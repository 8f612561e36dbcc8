import { type CsrInfo, UnsupportedOpError } from '@sea/tensor';
import type { CpuBackend } from '../cpu_backend.js';

export async function stretchToCsr(_b: CpuBackend, ..._args: unknown[]): Promise<CsrInfo> {
  throw new UnsupportedOpError('cpu', 'stretchToCsr');
}
