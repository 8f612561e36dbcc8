/**
 * Builds `@huggingface/tokenizers` objects from vocab files: the library takes a `tokenizer.json`
 * structure, so for folders that ship only vocab.json + merges.txt (GPT-2/OPT) or vocab.txt (BERT)
 * we write the same structure Hugging Face's converters would.
 */
import { Tokenizer } from '@huggingface/tokenizers';

export interface AddedTokenSpec {
  id: number;
  content: string;
  special: boolean;
  /** Whether the normalizer runs before matching (false for BERT's [CLS] etc.). */
  normalized: boolean;
}

function addedToken(t: AddedTokenSpec): Record<string, unknown> {
  return { ...t, single_word: false, lstrip: false, rstrip: false };
}

/** merges.txt lines ("a b"), without the `#version` header and blank lines. */
export function parseMerges(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const l = line.replace(/\r$/, '');
    if (l === '' || l.startsWith('#version')) continue;
    out.push(l);
  }
  return out;
}

/** vocab.txt (one token per line, id = line number). */
export function parseVocabTxt(text: string): Record<string, number> {
  const vocab: Record<string, number> = {};
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((tok, i) => {
    vocab[tok.replace(/\r$/, '')] = i;
  });
  return vocab;
}

/** A GPT-2 style byte-level BPE tokenizer (no post-processor: callers add special tokens). */
export function byteLevelBpe(
  vocab: Record<string, number>,
  merges: string[],
  added: AddedTokenSpec[],
): Tokenizer {
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added.map(addedToken),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
  return new Tokenizer(json, { clean_up_tokenization_spaces: false });
}

export interface WordPieceOptions {
  lowercase: boolean;
  /** null: strip accents when lowercasing (BERT's default). */
  stripAccents: boolean | null;
  unkToken: string;
}

/** A BERT WordPiece tokenizer (BertNormalizer + BertPreTokenizer; no post-processor). */
export function wordPiece(
  vocab: Record<string, number>,
  added: AddedTokenSpec[],
  opts: WordPieceOptions,
): Tokenizer {
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added.map(addedToken),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: opts.stripAccents,
      lowercase: opts.lowercase,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: null,
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: opts.unkToken,
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab,
    },
  };
  return new Tokenizer(json, { clean_up_tokenization_spaces: true });
}
