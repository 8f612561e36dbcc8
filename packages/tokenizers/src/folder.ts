/**
 * Tokenizers of model folders: `tokenizer.json` (Hugging Face's format) when present, else the
 * vocabulary files (vocab.json + merges.txt for OPT, vocab.txt for BERT), else — only when asked —
 * the vocabularies bundled in the repository's data folder. Node only.
 */
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dataFile } from '@sea/data';
import { BertTokenizer } from './bert.js';
import { fileExists } from './files.js';
import { OptTokenizer, parseJson } from './opt.js';

export type ModelTokenizer = OptTokenizer | BertTokenizer;
export type TokenizerKind = 'opt' | 'bert';

/** The files a model folder's tokenizer may consist of. */
export const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'vocab.json',
  'merges.txt',
  'vocab.txt',
] as const;

export interface LoadTokenizerOptions {
  /**
   * When the folder has no tokenizer files, use the vocabularies bundled with sea (`data/tokenizers`):
   * `true` picks them by config.json's `model_type`, `'opt'` / `'bert'` names them. Default false:
   * a folder without tokenizer files is an error.
   */
  bundled?: boolean | TokenizerKind;
  /** The tokenizer expected: another kind is an error (and the return type narrows to it). */
  kind?: TokenizerKind;
}

async function readJsonIf(path: string): Promise<Record<string, unknown> | undefined> {
  if (!fileExists(path)) return undefined;
  return parseJson(await readFile(path, 'utf8'), path);
}

function kindOfModelType(modelType: unknown): TokenizerKind | undefined {
  return modelType === 'opt' ? 'opt' : modelType === 'bert' ? 'bert' : undefined;
}

/** Which tokenizer files `dir` holds (a subset of {@link TOKENIZER_FILES}). */
export function tokenizerFilesIn(dir: string): string[] {
  return TOKENIZER_FILES.filter((f) => fileExists(join(dir, f)));
}

/**
 * The tokenizer of a model folder (see the module comment for the order). config.json's
 * `model_type` ('opt' or 'bert'), when present, must agree with the tokenizer found.
 */
export async function loadTokenizer(
  dir: string,
  opts: LoadTokenizerOptions & { kind: 'opt' },
): Promise<OptTokenizer>;
export async function loadTokenizer(
  dir: string,
  opts: LoadTokenizerOptions & { kind: 'bert' },
): Promise<BertTokenizer>;
export async function loadTokenizer(dir: string, opts?: LoadTokenizerOptions): Promise<ModelTokenizer>;
export async function loadTokenizer(dir: string, opts: LoadTokenizerOptions = {}): Promise<ModelTokenizer> {
  const tok = await findTokenizer(dir, opts);
  if (opts.kind) {
    const got: TokenizerKind = tok instanceof OptTokenizer ? 'opt' : 'bert';
    if (got !== opts.kind)
      throw new Error(
        `${dir}: its tokenizer is ${got.toUpperCase()}'s, but a ${opts.kind.toUpperCase()} tokenizer was asked for`,
      );
  }
  return tok;
}

async function findTokenizer(dir: string, opts: LoadTokenizerOptions): Promise<ModelTokenizer> {
  const config = await readJsonIf(join(dir, 'config.json'));
  const modelType = config?.model_type;
  const expected = kindOfModelType(modelType);
  if (config && modelType !== undefined && !expected) {
    throw new Error(
      `${join(dir, 'config.json')}: model_type '${String(modelType)}' has no tokenizer here (sea reads 'opt' and 'bert')`,
    );
  }
  const tokenizerConfig = (await readJsonIf(join(dir, 'tokenizer_config.json'))) ?? {};
  const check = (kind: TokenizerKind, what: string) => {
    if (expected && kind !== expected)
      throw new Error(
        `${dir}: ${what} is a ${kind.toUpperCase()} tokenizer but config.json's model_type is '${modelType}'`,
      );
  };

  const tjPath = join(dir, 'tokenizer.json');
  if (fileExists(tjPath)) {
    const json = parseJson(await readFile(tjPath, 'utf8'), tjPath);
    const type = (json.model as { type?: unknown } | undefined)?.type;
    if (type === 'BPE') {
      check('opt', 'tokenizer.json');
      return OptTokenizer.fromTokenizerJson(json, tokenizerConfig, tjPath);
    }
    if (type === 'WordPiece') {
      check('bert', 'tokenizer.json');
      return BertTokenizer.fromTokenizerJson(json, tokenizerConfig, tjPath);
    }
    throw new Error(
      `${tjPath}: model type '${String(type)}' is not one sea reads (BPE for OPT, WordPiece for BERT)`,
    );
  }
  if (fileExists(join(dir, 'vocab.json')) || fileExists(join(dir, 'merges.txt'))) {
    check('opt', 'vocab.json + merges.txt');
    return OptTokenizer.load(dir);
  }
  if (fileExists(join(dir, 'vocab.txt'))) {
    check('bert', 'vocab.txt');
    const lower = tokenizerConfig.do_lower_case;
    return BertTokenizer.load(dir, typeof lower === 'boolean' ? { lowercase: lower } : {});
  }
  if (opts.bundled) {
    const kind = opts.bundled === true ? expected : opts.bundled;
    if (!kind) {
      throw new Error(
        `${dir}: no tokenizer files and no config.json model_type to pick a bundled vocabulary; pass bundled: 'opt' or 'bert'`,
      );
    }
    check(kind, `the bundled ${kind} vocabulary`);
    return kind === 'opt' ? OptTokenizer.load() : BertTokenizer.load();
  }
  throw new Error(
    `${dir} has no tokenizer files (tokenizer.json, or vocab.json + merges.txt, or vocab.txt); ` +
      'pass { bundled: true } to use the OPT/BERT vocabularies bundled with sea',
  );
}

/**
 * Gives the model folder `to` its tokenizer files: those of the folder `from` when it has any
 * (a teacher or source model), else the bundled vocabulary of `kind` (OPT: vocab.json + merges.txt;
 * BERT: vocab.txt). Returns the names written.
 */
export async function writeTokenizerFiles(to: string, kind: TokenizerKind, from?: string): Promise<string[]> {
  await mkdir(to, { recursive: true });
  const present = from ? tokenizerFilesIn(from) : [];
  if (from && present.length > 0) {
    await loadTokenizer(from); // refuse to copy files that do not load
    for (const f of present) await copyFile(join(from, f), join(to, f));
    return present;
  }
  if (kind === 'opt') {
    await copyFile(dataFile('optVocab'), join(to, 'vocab.json'));
    await copyFile(dataFile('gpt2Merges'), join(to, 'merges.txt'));
    return ['vocab.json', 'merges.txt'];
  }
  await copyFile(dataFile('bertUncasedVocab'), join(to, 'vocab.txt'));
  return ['vocab.txt'];
}
