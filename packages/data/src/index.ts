/**
 * The data folder kept in the repository (`<repo>/data`: WikiText-2, GLUE MRPC and SST-2, the
 * GPT-2/OPT and BERT vocabularies), found from this module's own location, never from the current
 * directory. `SEA_DATA` points it at another folder of the same layout.
 *
 * Node only. Nothing runs at import time, so a browser bundle that stubs `node:*` can import a
 * package that depends on this one as long as it does not call these functions.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The files sea reads, by role, as paths relative to the data folder. */
export const DATA_FILES = {
  /** WikiText-2 raw test split, byte-identical to wiki.test.raw of wikitext-2-raw-v1.zip. */
  wikitext2RawTest: 'wikitext-2-raw/wiki.test.raw',
  /** `"\n\n".join(rows)` of Hugging Face's wikitext-2-raw-v1 test split: the perplexity string. */
  wikitext2TestJoined: 'wikitext-2-raw/wiki.test.hf_joined.txt',
  /** WikiText-2 tokens version (rare words are `<unk>`), validation split. */
  wikitext2TokensValid: 'wikitext-2/valid.txt',
  /** WikiText-2 tokens version, test split. */
  wikitext2TokensTest: 'wikitext-2/test.txt',
  mrpcTrain: 'glue/MRPC/train.tsv',
  mrpcDev: 'glue/MRPC/dev.tsv',
  sst2Dev: 'glue/SST-2/dev.tsv',
  /** OPT's vocabulary (RoBERTa/fairseq ids: `<s>`=0, `<pad>`=1, `</s>`=2). */
  optVocab: 'tokenizers/opt/vocab.json',
  /** GPT-2's byte-level BPE merges (shared by GPT-2, OPT and RoBERTa). */
  gpt2Merges: 'tokenizers/gpt2/merges.txt',
  /** GPT-2's vocabulary (GPT-2 ids). */
  gpt2Vocab: 'tokenizers/gpt2/vocab.json',
  /** bert-base-uncased WordPiece vocabulary. */
  bertUncasedVocab: 'tokenizers/bert-base-uncased/vocab.txt',
} as const;

export type DataFileName = keyof typeof DATA_FILES;

function isDataDir(dir: string): boolean {
  try {
    return statSync(dir).isDirectory() && existsSync(join(dir, 'SOURCE.md'));
  } catch {
    return false;
  }
}

/** The folder this module lives in (src/ when run from sources, dist/ when built). */
function moduleDir(): string {
  return dirname(fileURLToPath(import.meta.url));
}

/**
 * The data folder, or null when none is found: `$SEA_DATA` when set (null if it is not a data
 * folder), else the first `data/` holding a `SOURCE.md` in this package's folder or any folder
 * above it (in the repository: `<repo>/data`).
 */
export function findDataDir(from: string = moduleDir()): string | null {
  const env = process.env.SEA_DATA;
  if (env) return isDataDir(env) ? resolve(env) : null;
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const candidate = join(dir, 'data');
    if (isDataDir(candidate)) return candidate;
    if (dirname(dir) === dir) return null;
  }
}

/** Like {@link findDataDir}, but throws an error that says where it looked and how to point elsewhere. */
export function dataDir(from?: string): string {
  const found = findDataDir(from);
  if (found) return found;
  const env = process.env.SEA_DATA;
  throw new Error(
    env
      ? `SEA_DATA=${env} is not a data folder (it has no SOURCE.md)`
      : `no data/ folder (with SOURCE.md) found above ${from ?? moduleDir()}; the sea repository keeps it at <repo>/data — set SEA_DATA to a folder of the same layout`,
  );
}

/**
 * The absolute path of a data file, by role (`'optVocab'`) or by path relative to the data folder
 * (`'glue/MRPC/dev.tsv'`). Throws, naming the path, when the file is missing.
 */
export function dataFile(file: DataFileName | string): string {
  const rel = file in DATA_FILES ? DATA_FILES[file as DataFileName] : file;
  if (isAbsolute(rel)) throw new Error(`dataFile: '${rel}' is absolute; give a path inside the data folder`);
  const path = join(dataDir(), rel);
  if (!existsSync(path)) throw new Error(`data file not found: ${path}`);
  return path;
}
