import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dataFile } from '@sea/data';
import { beforeAll, describe, expect, it } from 'vitest';
import { BertTokenizer } from './bert.js';
import { OptTokenizer } from './opt.js';

const here = dirname(fileURLToPath(import.meta.url));
// Ids written by Hugging Face transformers (tooling/reference/make_model_fixtures.py --only-tokenizers).
const hf = JSON.parse(readFileSync(join(here, '../test/fixtures/hf_tokenizer_ids.json'), 'utf8')) as {
  opt: {
    text: string;
    ids: number[];
    ids_no_special: number[];
    decoded: string;
    decoded_skip_special: string;
  }[];
  bert: {
    singles: { text: string; input_ids: number[]; tokens: string[] }[];
    pairs: {
      a: string;
      b: string;
      full: Record<'input_ids' | 'token_type_ids' | 'attention_mask', number[]>;
      max_length: number;
      truncated_padded: Record<'input_ids' | 'token_type_ids' | 'attention_mask', number[]>;
    }[];
    batch_pairs_padding_longest_max24: Record<'input_ids' | 'token_type_ids' | 'attention_mask', number[][]>;
  };
};

describe('OPT tokenizer (GPT-2 BPE, fairseq ids)', () => {
  let tok: OptTokenizer;
  beforeAll(async () => {
    tok = await OptTokenizer.load();
  });

  // REFERENCE_NUMBERS.md §1
  it('encodes "Hello, my name is" with </s> as BOS', () => {
    expect(tok.encode('Hello, my name is')).toEqual([2, 31414, 6, 127, 766, 16]);
  });
  it('encodes "I love Hugging Face!"', () => {
    expect(tok.encode('I love Hugging Face!')).toEqual([2, 100, 657, 30581, 3923, 12346, 328]);
  });
  it('decodes the HF OPT integration-test input', () => {
    expect(tok.decode([0, 31414, 232, 328, 740, 1140, 12695, 69, 46078, 1588, 2])).toBe(
      '<s>Hello world! cécé herlolip</s>',
    );
  });
  it('decodes the vLLM generated ids', () => {
    expect(tok.decode([8966, 6, 127, 4252, 16, 127, 1441, 8, 52, 32, 11, 10, 1291, 4, 38, 524])).toBe(
      ' Joel, my dad is my friend and we are in a relationship. I am',
    );
  });
  it('can leave out the BOS', () => {
    expect(tok.encode('Hello, my name is', { addBos: false })).toEqual([31414, 6, 127, 766, 16]);
  });

  it.each(hf.opt.map((r) => [r.text, r] as const))('matches Hugging Face on %j', (_t, r) => {
    expect(tok.encode(r.text)).toEqual(r.ids);
    expect(tok.encode(r.text, { addBos: false })).toEqual(r.ids_no_special);
    expect(tok.decode(r.ids)).toBe(r.decoded);
    expect(tok.decode(r.ids, { skipSpecialTokens: true })).toBe(r.decoded_skip_special);
  });

  it('pads batches right (default) or left, with masks, and truncates', () => {
    const b = tok.encodeBatch(['Hello, my name is', 'I love Hugging Face!']);
    expect(b.shape).toEqual([2, 7]);
    expect(Array.from(b.inputIds)).toEqual([
      2, 31414, 6, 127, 766, 16, 1, 2, 100, 657, 30581, 3923, 12346, 328,
    ]);
    expect(Array.from(b.attentionMask)).toEqual([1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1]);
    const l = tok.encodeBatch(['Hello, my name is', 'I love Hugging Face!'], { paddingSide: 'left' });
    expect(Array.from(l.inputIds.subarray(0, 7))).toEqual([1, 2, 31414, 6, 127, 766, 16]);
    expect(Array.from(l.attentionMask.subarray(0, 7))).toEqual([0, 1, 1, 1, 1, 1, 1]);
    const t = tok.encodeBatch(['Hello, my name is'], {
      truncation: true,
      maxLength: 4,
      padding: 'max_length',
    });
    expect(Array.from(t.inputIds)).toEqual([2, 31414, 6, 127]);
    const m = tok.encodeBatch(['Hello'], { padding: 'max_length', maxLength: 4 });
    expect(Array.from(m.inputIds)).toEqual([2, 31414, 1, 1]);
    expect(() => tok.encodeBatch(['Hello, my name is'], { padding: 'max_length', maxLength: 3 })).toThrow(
      /truncation/,
    );
  });

  it('decodes an empty list to an empty string', () => {
    expect(tok.decode([])).toBe('');
  });

  it('round-trips WikiText text', () => {
    const text = readFileSync(dataFile('wikitext2RawTest'), 'utf8').slice(0, 4000);
    const ids = tok.encode(text);
    expect(ids[0]).toBe(2);
    expect(tok.decode(ids.slice(1))).toBe(text);
  });
});

describe('BERT uncased WordPiece tokenizer', () => {
  let tok: BertTokenizer;
  beforeAll(async () => {
    tok = await BertTokenizer.load();
  });

  it('has the bert-base-uncased special ids', () => {
    expect([tok.padId, tok.unkId, tok.clsId, tok.sepId, tok.maskId]).toEqual([0, 100, 101, 102, 103]);
  });

  it.each(hf.bert.singles.map((r) => [r.text.slice(0, 40), r] as const))(
    'matches Hugging Face on %j',
    (_t, r) => {
      const enc = tok.encode(r.text);
      expect(enc.inputIds).toEqual(r.input_ids);
      expect(['[CLS]', ...tok.tokenize(r.text), '[SEP]']).toEqual(r.tokens);
    },
  );

  it('lowercases and strips accents', () => {
    expect(tok.tokenize('Héllo Wörld CAFÉ')).toEqual(['hello', 'world', 'cafe']);
  });

  it.each(hf.bert.pairs.map((p) => [p.a.slice(0, 30), p] as const))(
    'encodes the pair %j as HF does',
    (_t, p) => {
      const full = tok.encode(p.a, p.b);
      expect(full.inputIds).toEqual(p.full.input_ids);
      expect(full.tokenTypeIds).toEqual(p.full.token_type_ids);
      expect(full.attentionMask).toEqual(p.full.attention_mask);
      const b = tok.encodeBatch([[p.a, p.b]], {
        truncation: true,
        maxLength: p.max_length,
        padding: 'max_length',
      });
      expect(Array.from(b.inputIds)).toEqual(p.truncated_padded.input_ids);
      expect(Array.from(b.tokenTypeIds as Int32Array)).toEqual(p.truncated_padded.token_type_ids);
      expect(Array.from(b.attentionMask)).toEqual(p.truncated_padded.attention_mask);
    },
  );

  it('pads a batch of pairs to the longest row after truncation, as HF does', () => {
    const want = hf.bert.batch_pairs_padding_longest_max24;
    const b = tok.encodeBatch(
      hf.bert.pairs.map((p) => [p.a, p.b] as const),
      { truncation: true, maxLength: 24 },
    );
    expect(b.shape).toEqual([want.input_ids.length, want.input_ids[0].length]);
    expect(Array.from(b.inputIds)).toEqual(want.input_ids.flat());
    expect(Array.from(b.tokenTypeIds as Int32Array)).toEqual(want.token_type_ids.flat());
    expect(Array.from(b.attentionMask)).toEqual(want.attention_mask.flat());
  });

  it('truncates single texts and decodes', () => {
    const e = tok.encode('The quick brown fox jumps over the lazy dog.', null, {
      truncation: true,
      maxLength: 5,
    });
    expect(e.inputIds).toEqual([101, 1996, 4248, 2829, 102]);
    expect(tok.decode(e.inputIds, { skipSpecialTokens: true })).toBe('the quick brown');
    expect(tok.decode(tok.encode('unaffable tokenization').inputIds)).toBe(
      '[CLS] unaffable tokenization [SEP]',
    );
  });

  it('reads GLUE MRPC pairs', () => {
    const lines = readFileSync(dataFile('mrpcDev'), 'utf8').split('\n').slice(1, 4);
    const pairs = lines.map((l) => {
      const c = l.split('\t');
      return [c[3], c[4]] as const;
    });
    const b = tok.encodeBatch(pairs, { truncation: true, maxLength: 256 });
    expect(b.shape[0]).toBe(3);
    expect(b.inputIds[0]).toBe(101);
  });
});
