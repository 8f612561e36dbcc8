/**
 * BERT's uncased WordPiece tokenizer: BertNormalizer (clean text, CJK split, lowercase, strip
 * accents), BertPreTokenizer (whitespace + punctuation), WordPiece with `##` continuations, and
 * `[CLS] A [SEP] (B [SEP])` with token_type_ids, truncation and padding as Hugging Face does.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { dataFile } from '@sea/data';
import { type BatchEncoding, type PaddingSide, padRows } from './batch.js';
import { fileExists } from './files.js';
import { parseVocabTxt, wordPiece } from './hf.js';
import { parseJson } from './opt.js';

/**
 * `true`/'longest_first': trim the longer segment first (HF tokenizers' LongestFirst);
 * 'only_first' / 'only_second': trim that segment alone.
 */
export type Truncation = boolean | 'longest_first' | 'only_first' | 'only_second';

export interface BertEncodeOptions {
  /** Add [CLS]/[SEP] (default true). */
  addSpecialTokens?: boolean;
  truncation?: Truncation;
  /** Length limit with special tokens; default 512 (bert-base's model_max_length). */
  maxLength?: number;
}

export interface BertBatchOptions extends BertEncodeOptions {
  /** 'longest' (default) or 'max_length'. */
  padding?: 'longest' | 'max_length';
  paddingSide?: PaddingSide;
}

export interface BertEncoding {
  inputIds: number[];
  tokenTypeIds: number[];
  attentionMask: number[];
}

export interface BertTokenizerOptions {
  /** Lowercase (uncased models; default true). */
  lowercase?: boolean;
  /** Strip accents; null (default) follows `lowercase`, as BERT does. */
  stripAccents?: boolean | null;
}

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

export class BertTokenizer {
  readonly padId: number;
  readonly unkId: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly maskId: number;

  private constructor(
    private readonly tok: Tokenizer,
    ids: Record<(typeof SPECIALS)[number], number>,
  ) {
    this.padId = ids['[PAD]'];
    this.unkId = ids['[UNK]'];
    this.clsId = ids['[CLS]'];
    this.sepId = ids['[SEP]'];
    this.maskId = ids['[MASK]'];
  }

  /** From the text of a WordPiece vocab.txt (one token a line). */
  static fromVocabTxt(text: string, opts: BertTokenizerOptions = {}): BertTokenizer {
    const vocab = parseVocabTxt(text);
    const ids = {} as Record<(typeof SPECIALS)[number], number>;
    for (const s of SPECIALS) {
      const id = vocab[s];
      if (id === undefined)
        throw new Error(`vocab.txt has no ${s} token: this is not a BERT WordPiece vocabulary`);
      ids[s] = id;
    }
    const added = SPECIALS.map((s) => ({ id: ids[s], content: s, special: true, normalized: false }));
    const lowercase = opts.lowercase ?? true;
    const tok = wordPiece(vocab, added, {
      lowercase,
      stripAccents: opts.stripAccents ?? null,
      unkToken: '[UNK]',
    });
    return new BertTokenizer(tok, ids);
  }

  /**
   * From a Hugging Face `tokenizer.json` (its text or parsed object) of a WordPiece tokenizer with
   * BERT's special tokens, with `tokenizer_config.json`'s settings when given. Its normalizer
   * (lowercasing, accents) is the file's own; `[CLS]`/`[SEP]`, truncation and padding are added here.
   */
  static fromTokenizerJson(
    tokenizerJson: string | Record<string, unknown>,
    tokenizerConfig: Record<string, unknown> = {},
    source = 'tokenizer.json',
  ): BertTokenizer {
    const json = typeof tokenizerJson === 'string' ? parseJson(tokenizerJson, source) : tokenizerJson;
    const model = json.model as { type?: unknown } | undefined;
    if (model?.type !== 'WordPiece') {
      throw new Error(
        `${source}: model type is '${String(model?.type)}', expected 'WordPiece' for a BERT tokenizer`,
      );
    }
    let tok: Tokenizer;
    try {
      tok = new Tokenizer(json, { clean_up_tokenization_spaces: true, ...tokenizerConfig });
    } catch (e) {
      throw new Error(
        `${source}: not a tokenizer the tokenizers library reads: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    const ids = {} as Record<(typeof SPECIALS)[number], number>;
    for (const s of SPECIALS) {
      const id = tok.token_to_id(s);
      if (id === undefined)
        throw new Error(`${source} has no ${s} token: this is not a BERT WordPiece vocabulary`);
      ids[s] = id;
    }
    return new BertTokenizer(tok, ids);
  }

  /** Vocabulary size, added tokens included. */
  get vocabSize(): number {
    return this.tok.get_vocab(true).size;
  }

  /** Loads vocab.txt from a path, a folder holding it, or (no argument) the repository data folder's bert-base-uncased. */
  static async load(from?: string, opts: BertTokenizerOptions = {}): Promise<BertTokenizer> {
    let path: string;
    if (from === undefined) path = dataFile('bertUncasedVocab');
    else path = from.endsWith('.txt') ? from : join(from, 'vocab.txt');
    if (!fileExists(path)) throw new Error(`BERT tokenizer: missing ${path} (a WordPiece vocab.txt)`);
    return BertTokenizer.fromVocabTxt(await readFile(path, 'utf8'), opts);
  }

  /** WordPiece pieces without special tokens. */
  tokenize(text: string): string[] {
    return this.tok.tokenize(text, { add_special_tokens: false });
  }

  /** Ids without special tokens. */
  encodeText(text: string): number[] {
    return this.tok.encode(text, { add_special_tokens: false }).ids;
  }

  encode(textA: string, textB?: string | null, opts: BertEncodeOptions = {}): BertEncoding {
    let a = this.encodeText(textA);
    let b = textB === undefined || textB === null ? null : this.encodeText(textB);
    const special = opts.addSpecialTokens === false ? 0 : b ? 3 : 2;
    if (opts.truncation) {
      const budget = (opts.maxLength ?? 512) - special;
      if (budget < 0)
        throw new Error(`maxLength ${opts.maxLength} leaves no room for the ${special} special tokens`);
      [a, b] = truncatePair(a, b, budget, opts.truncation);
    }
    let inputIds: number[];
    let tokenTypeIds: number[];
    if (opts.addSpecialTokens === false) {
      inputIds = b ? [...a, ...b] : a;
      tokenTypeIds = [...a.map(() => 0), ...(b ?? []).map(() => 1)];
    } else {
      inputIds = [this.clsId, ...a, this.sepId, ...(b ? [...b, this.sepId] : [])];
      tokenTypeIds = [...Array(a.length + 2).fill(0), ...(b ? Array(b.length + 1).fill(1) : [])];
    }
    return { inputIds, tokenTypeIds, attentionMask: inputIds.map(() => 1) };
  }

  /** Single texts or [A, B] pairs, padded to one length. */
  encodeBatch(
    inputs: readonly (string | readonly [string, string])[],
    opts: BertBatchOptions = {},
  ): BatchEncoding {
    const encs = inputs.map((x) =>
      typeof x === 'string' ? this.encode(x, null, opts) : this.encode(x[0], x[1], opts),
    );
    const padding = opts.padding ?? 'longest';
    if (padding === 'max_length' && opts.maxLength === undefined)
      throw new Error("padding 'max_length' needs maxLength");
    return padRows(
      encs.map((e) => e.inputIds),
      this.padId,
      {
        length: padding === 'max_length' ? opts.maxLength : undefined,
        side: opts.paddingSide,
        typeRows: encs.map((e) => e.tokenTypeIds),
      },
    );
  }

  decode(ids: ArrayLike<number>, opts: { skipSpecialTokens?: boolean } = {}): string {
    const list = Array.from(ids);
    if (list.length === 0) return '';
    return this.tok.decode(list, { skip_special_tokens: opts.skipSpecialTokens ?? false });
  }

  tokenToId(token: string): number | undefined {
    return this.tok.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.tok.id_to_token(id);
  }
}

/** Hugging Face tokenizers' truncation of a (pair of) id lists to `budget` tokens in all. */
export function truncatePair(
  a: number[],
  b: number[] | null,
  budget: number,
  how: Truncation,
): [number[], number[] | null] {
  if (!b) {
    if (how === 'only_second') throw new Error("truncation 'only_second' needs a pair of texts");
    return [a.slice(0, budget), null];
  }
  if (a.length + b.length <= budget) return [a, b];
  if (how === 'only_first' || how === 'only_second') {
    const [keep, cut] = how === 'only_first' ? [b, a] : [a, b];
    const room = budget - keep.length;
    if (room < 0) {
      throw new Error(
        `truncation '${how}': the other text alone has ${keep.length} tokens, over the budget of ${budget}`,
      );
    }
    return how === 'only_first' ? [cut.slice(0, room), b] : [a, cut.slice(0, room)];
  }
  // LongestFirst, as in tokenizers' truncate_encodings: n1 ≤ n2 after a swap.
  let n1 = a.length;
  let n2 = b.length;
  const swap = n1 > n2;
  if (swap) [n1, n2] = [n2, n1];
  n2 = n1 > budget ? n1 : Math.max(n1, budget - n1);
  if (n1 + n2 > budget) {
    n1 = Math.floor(budget / 2);
    n2 = n1 + (budget % 2);
  }
  if (swap) [n1, n2] = [n2, n1];
  return [a.slice(0, n1), b.slice(0, n2)];
}
