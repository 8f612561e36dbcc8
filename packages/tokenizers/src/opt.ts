/**
 * OPT's tokenizer: GPT-2 byte-level BPE (GPT-2 merges) with the fairseq/RoBERTa id layout
 * (`<s>`=0, `<pad>`=1, `</s>`=2, `<unk>`=3), and `</s>` prepended as BOS as Hugging Face's OPT
 * tokenizer does (`add_bos_token`).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { dataFile } from '@sea/data';
import { type BatchEncoding, type PaddingSide, padRows } from './batch.js';
import { fileExists } from './files.js';
import { byteLevelBpe, parseMerges } from './hf.js';

export interface OptEncodeOptions {
  /** Prepend `</s>` (id 2) as BOS, like HF's OPT tokenizer (default true). */
  addBos?: boolean;
}

export interface OptBatchOptions extends OptEncodeOptions {
  /** 'longest' (default) pads to the longest row; 'max_length' to maxLength. */
  padding?: 'longest' | 'max_length';
  /** Truncate rows (BOS included) to maxLength; required with padding 'max_length'. */
  maxLength?: number;
  truncation?: boolean;
  /** Where padding goes (default right). */
  paddingSide?: PaddingSide;
}

export interface OptDecodeOptions {
  /** Drop `</s>` and `<pad>` (default false). */
  skipSpecialTokens?: boolean;
}

export class OptTokenizer {
  static readonly BOS_ID = 2;
  static readonly EOS_ID = 2;
  static readonly PAD_ID = 1;
  static readonly UNK_ID = 3;

  private constructor(private readonly tok: Tokenizer) {}

  /** From the text of an OPT/RoBERTa vocab.json and GPT-2 merges.txt. */
  static fromVocabFiles(vocabJson: string, mergesTxt: string): OptTokenizer {
    const vocab = JSON.parse(vocabJson) as Record<string, number>;
    for (const [tok, id] of [
      ['<pad>', 1],
      ['</s>', 2],
    ] as const) {
      if (vocab[tok] !== id) {
        throw new Error(
          `vocab.json maps ${tok} to ${vocab[tok]}, expected ${id}: this is not an OPT/RoBERTa vocabulary`,
        );
      }
    }
    const added = [
      { id: 1, content: '<pad>', special: true, normalized: true },
      { id: 2, content: '</s>', special: true, normalized: true },
    ];
    return new OptTokenizer(byteLevelBpe(vocab, parseMerges(mergesTxt), added));
  }

  /**
   * From a Hugging Face `tokenizer.json` (its text or parsed object) of an OPT/RoBERTa-layout BPE
   * tokenizer, with `tokenizer_config.json`'s settings when given. Its post-processor is not used:
   * `encode` prepends `</s>` itself (`addBos`), as for the vocab-file tokenizer.
   */
  static fromTokenizerJson(
    tokenizerJson: string | Record<string, unknown>,
    tokenizerConfig: Record<string, unknown> = {},
    source = 'tokenizer.json',
  ): OptTokenizer {
    const json = typeof tokenizerJson === 'string' ? parseJson(tokenizerJson, source) : tokenizerJson;
    const model = json.model as { type?: unknown } | undefined;
    if (model?.type !== 'BPE') {
      throw new Error(
        `${source}: model type is '${String(model?.type)}', expected 'BPE' for an OPT tokenizer`,
      );
    }
    let tok: Tokenizer;
    try {
      tok = new Tokenizer(json, { clean_up_tokenization_spaces: false, ...tokenizerConfig });
    } catch (e) {
      throw new Error(
        `${source}: not a tokenizer the tokenizers library reads: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    for (const [t, id] of [
      ['<pad>', OptTokenizer.PAD_ID],
      ['</s>', OptTokenizer.BOS_ID],
    ] as const) {
      if (tok.token_to_id(t) !== id) {
        throw new Error(
          `${source} maps ${t} to ${tok.token_to_id(t)}, expected ${id}: this is not an OPT/RoBERTa vocabulary`,
        );
      }
    }
    return new OptTokenizer(tok);
  }

  /**
   * Loads from files: `{vocab, merges}` paths, a folder holding vocab.json + merges.txt, or (no
   * argument) the vocabularies kept in the repository's data folder (`@sea/data`: tokenizers/opt/vocab.json +
   * tokenizers/gpt2/merges.txt).
   */
  static async load(from?: string | { vocab: string; merges: string }): Promise<OptTokenizer> {
    let paths: { vocab: string; merges: string };
    if (typeof from === 'object') paths = from;
    else if (typeof from === 'string')
      paths = { vocab: join(from, 'vocab.json'), merges: join(from, 'merges.txt') };
    else {
      paths = { vocab: dataFile('optVocab'), merges: dataFile('gpt2Merges') };
    }
    for (const p of [paths.vocab, paths.merges]) {
      if (!fileExists(p))
        throw new Error(`OPT tokenizer: missing ${p} (needs an OPT vocab.json and GPT-2 merges.txt)`);
    }
    const [v, m] = await Promise.all([readFile(paths.vocab, 'utf8'), readFile(paths.merges, 'utf8')]);
    return OptTokenizer.fromVocabFiles(v, m);
  }

  /** Vocabulary size, added tokens included. */
  get vocabSize(): number {
    return this.tok.get_vocab(true).size;
  }

  /** Byte-level BPE pieces (GPT-2's `Ġ` marks a leading space). */
  tokenize(text: string): string[] {
    return this.tok.tokenize(text, { add_special_tokens: false });
  }

  encode(text: string, opts: OptEncodeOptions = {}): number[] {
    const ids = this.tok.encode(text, { add_special_tokens: false }).ids;
    return opts.addBos === false ? ids : [OptTokenizer.BOS_ID, ...ids];
  }

  encodeBatch(texts: readonly string[], opts: OptBatchOptions = {}): BatchEncoding {
    const padding = opts.padding ?? 'longest';
    if ((padding === 'max_length' || opts.truncation) && opts.maxLength === undefined) {
      throw new Error(
        `OPT tokenizer: padding '${padding}'${opts.truncation ? ' with truncation' : ''} needs maxLength`,
      );
    }
    const rows = texts.map((t) => {
      const ids = this.encode(t, opts);
      return opts.truncation && opts.maxLength !== undefined ? ids.slice(0, opts.maxLength) : ids;
    });
    return padRows(rows, OptTokenizer.PAD_ID, {
      length: padding === 'max_length' ? opts.maxLength : undefined,
      side: opts.paddingSide,
    });
  }

  decode(ids: ArrayLike<number>, opts: OptDecodeOptions = {}): string {
    const list = Array.from(ids);
    if (list.length === 0) return '';
    return this.tok.decode(list, {
      skip_special_tokens: opts.skipSpecialTokens ?? false,
      clean_up_tokenization_spaces: false,
    });
  }

  tokenToId(token: string): number | undefined {
    return this.tok.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.tok.id_to_token(id);
  }
}

export function parseJson(text: string, source: string): Record<string, unknown> {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${source} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}
