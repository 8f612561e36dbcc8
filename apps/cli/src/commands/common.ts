/** Options shared by the model commands. */
import type { Backend } from '@sea/tensor';
import { SeaError } from '@sea/tensor';

export interface AttentionFlags {
  attention: 'dense' | 'performer' | 'sea';
  seaWeights?: string;
  k: number;
  predictorLength: number;
  nbf: number;
  seaPath: string;
  seed: number;
}

export function seaConfigOf(o: AttentionFlags): Record<string, unknown> {
  if (o.seaPath !== 'sparse' && o.seaPath !== 'dense') {
    throw new SeaError('E_ARGS', `--sea-path must be 'sparse' or 'dense', got '${o.seaPath}'`);
  }
  for (const [name, v] of [
    ['--k', o.k],
    ['--predictor-length', o.predictorLength],
  ] as const) {
    if (!Number.isInteger(v) || v < 1)
      throw new SeaError('E_ARGS', `${name} must be a positive integer, got ${v}`);
  }
  if (!(o.nbf > 0)) throw new SeaError('E_ARGS', `--nbf must be positive, got ${o.nbf}`);
  return { k: o.k, predictorLength: o.predictorLength, nbFeatureFactor: o.nbf, path: o.seaPath };
}

export function positiveOrUndefined(name: string, v: number | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < 1)
    throw new SeaError('E_ARGS', `${name} must be a positive integer, got ${v}`);
  return v;
}

export function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

export function emit(json: boolean, result: Record<string, unknown>, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(result, null, 2)}\n` : text);
}

export function describeBackend(b: Backend): string {
  return b.name;
}
