/** Options shared by the model commands. */
import fs from 'node:fs';
import path from 'node:path';
import type { Backend } from '@sea/tensor';
import { SeaError } from '@sea/tensor';

export interface AttentionFlags {
  attention: 'dense' | 'performer' | 'sea' | 'reformer' | 'cosformer';
  /** SEA: top-k grouping (spec §5; causal models take causal_batch only). */
  topkMode?: string;
  /** SEA: k_oversample (spec §6). */
  kOversample?: number;
  /** SEA: false turns partial_attention_scaler off (spec §7). */
  partialAttentionScaler?: boolean;
  /** Reformer: hash rounds (default 8). */
  nHashes?: number;
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
  const extra: Record<string, unknown> = {};
  if (o.topkMode !== undefined) extra.topkMode = o.topkMode;
  if (o.kOversample !== undefined) extra.kOversample = o.kOversample;
  if (o.partialAttentionScaler === false) extra.partialAttentionScaler = false;
  if (o.nHashes !== undefined) extra.nHashes = o.nHashes;
  return { k: o.k, predictorLength: o.predictorLength, nbFeatureFactor: o.nbf, path: o.seaPath, ...extra };
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

/**
 * A model folder written by `sea distill` says in config.json's `sea` block which attention it was
 * distilled for (`attention`, `k`, `predictor_length`, `nbf`) and keeps its SEA weights in
 * `sea.safetensors`. Flags the user left at their defaults take those values.
 */
export function withModelSeaDefaults<
  T extends Pick<AttentionFlags, 'k' | 'predictorLength' | 'nbf' | 'seaWeights'> & {
    model: string;
    attention?: AttentionFlags['attention'];
  },
>(o: T, isDefault: (flag: 'attention' | 'k' | 'predictorLength' | 'nbf' | 'seaWeights') => boolean): T {
  const file = path.join(o.model, 'config.json');
  if (!fs.existsSync(file)) return o;
  let block: Record<string, unknown> | undefined;
  try {
    block = (JSON.parse(fs.readFileSync(file, 'utf8')) as { sea?: Record<string, unknown> }).sea;
  } catch {
    return o; // the model loader reports a broken config.json
  }
  if (!block || typeof block !== 'object') return o;
  const out = { ...o };
  const att = block.attention;
  if (isDefault('attention') && (att === 'sea' || att === 'performer')) out.attention = att;
  if (isDefault('k') && Number.isInteger(block.k)) out.k = block.k as number;
  if (isDefault('predictorLength') && Number.isInteger(block.predictor_length))
    out.predictorLength = block.predictor_length as number;
  if (isDefault('nbf') && typeof block.nbf === 'number') out.nbf = block.nbf;
  const seaFile = path.join(o.model, 'sea.safetensors');
  if (isDefault('seaWeights') && out.attention !== 'dense' && fs.existsSync(seaFile))
    out.seaWeights = seaFile;
  return out;
}

/** Loads `--model` through @sea/models with the command's attention flags; warnings go to stderr. */
export async function loadCliModel<T extends 'opt' | 'bert'>(
  modelType: T,
  o: AttentionFlags & { model: string },
  backend: Backend,
  dtype: 'float32' | 'bfloat16' | 'float16' = 'float32',
) {
  const { loadModel } = await import('@sea/models');
  return loadModel(o.model, {
    modelType,
    backend,
    dtype,
    attention: o.attention,
    k: o.k,
    predictorLength: o.predictorLength,
    nbFeatureFactor: o.nbf,
    seaPath: o.seaPath as 'sparse' | 'dense',
    seaWeights: o.seaWeights,
    seed: o.seed,
    onWarning: (m) => process.stderr.write(`sea: ${m}\n`),
  });
}

/**
 * The model folder's tokenizer (tokenizer.json, else its vocabulary files); a folder without any
 * uses the vocabulary bundled with sea for its architecture, and says so on stderr.
 */
export async function loadCliTokenizer<T extends 'opt' | 'bert'>(dir: string, kind: T) {
  const { loadTokenizer, tokenizerFilesIn } = await import('@sea/models');
  if (fs.existsSync(dir) && tokenizerFilesIn(dir).length === 0)
    process.stderr.write(
      `sea: ${dir} has no tokenizer files; using the ${kind.toUpperCase()} vocabulary bundled with sea\n`,
    );
  return loadTokenizer(dir, { kind: kind as 'opt', bundled: kind }) as Promise<
    T extends 'opt' ? import('@sea/tokenizers').OptTokenizer : import('@sea/tokenizers').BertTokenizer
  >;
}
