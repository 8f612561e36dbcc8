// Model folders' tokenizers: Hugging Face tokenizer.json folders (written here in the layout that
// transformers' converters save for facebook/opt-* and bert-base-uncased, from the bundled vocabulary
// files) tokenize to the same ids as the vocab-file tokenizers and as the published ids.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dataFile } from '@sea/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BertTokenizer } from './bert.js';
import { loadTokenizer, tokenizerFilesIn, writeTokenizerFiles } from './folder.js';
import { OptTokenizer } from './opt.js';

const tmp = mkdtempSync(join(tmpdir(), 'sea-tok-folder-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function folder(name: string, files: Record<string, string | object>): string {
  const dir = join(tmp, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [f, v] of Object.entries(files))
    writeFileSync(join(dir, f), typeof v === 'string' ? v : JSON.stringify(v));
  return dir;
}
const special = (id: number, content: string) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: true,
  special: true,
});

/** tokenizer.json as transformers saves it for facebook/opt-125m (merges as pairs, BOS template). */
function optTokenizerJson(): object {
  const vocab = JSON.parse(readFileSync(dataFile('optVocab'), 'utf8')) as Record<string, number>;
  const merges = readFileSync(dataFile('gpt2Merges'), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#version'))
    .map((l) => l.split(' '));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '<s>'), special(1, '<pad>'), special(2, '</s>'), special(3, '<unk>')],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '</s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '</s>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '</s>', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '</s>': { id: '</s>', ids: [2], tokens: ['</s>'] } },
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

/** tokenizer.json as transformers saves it for bert-base-uncased. */
function bertTokenizerJson(): object {
  const lines = readFileSync(dataFile('bertUncasedVocab'), 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  const vocab = Object.fromEntries(lines.map((t, i) => [t, i]));
  const sp = (id: number, content: string) => ({ ...special(id, content), normalized: false });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [sp(0, '[PAD]'), sp(100, '[UNK]'), sp(101, '[CLS]'), sp(102, '[SEP]'), sp(103, '[MASK]')],
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [101], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [102], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab,
    },
  };
}

const wiki = readFileSync(dataFile('wikitext2RawTest'), 'utf8').slice(0, 6000);
const optConfig = { model_type: 'opt', architectures: ['OPTForCausalLM'] };
const bertConfig = { model_type: 'bert', architectures: ['BertForSequenceClassification'] };

describe('loadTokenizer', () => {
  let bundledOpt: OptTokenizer;
  let bundledBert: BertTokenizer;
  beforeAll(async () => {
    bundledOpt = await OptTokenizer.load();
    bundledBert = await BertTokenizer.load();
  });

  it('an HF-format OPT folder with only tokenizer.json tokenizes like the bundled BPE and the published ids', async () => {
    const dir = folder('opt-hf', {
      'config.json': optConfig,
      'tokenizer.json': optTokenizerJson(),
      'tokenizer_config.json': {
        add_bos_token: true,
        model_max_length: 1e30,
        tokenizer_class: 'GPT2Tokenizer',
      },
    });
    expect(tokenizerFilesIn(dir)).toEqual(['tokenizer.json', 'tokenizer_config.json']);
    const tok = await loadTokenizer(dir);
    expect(tok).toBeInstanceOf(OptTokenizer);
    const opt = tok as OptTokenizer;
    // data/REFERENCE_NUMBERS.md §1 (facebook/opt-125m ids)
    expect(opt.encode('Hello, my name is')).toEqual([2, 31414, 6, 127, 766, 16]);
    expect(opt.encode('I love Hugging Face!')).toEqual([2, 100, 657, 30581, 3923, 12346, 328]);
    expect(opt.decode([0, 31414, 232, 328, 740, 1140, 12695, 69, 46078, 1588, 2])).toBe(
      '<s>Hello world! cécé herlolip</s>',
    );
    const ids = opt.encode(wiki);
    expect(ids.length).toBeGreaterThan(1000);
    expect(ids).toEqual(bundledOpt.encode(wiki));
    expect(opt.decode(ids.slice(1))).toBe(wiki);
    expect(opt.vocabSize).toBe(bundledOpt.vocabSize);
  });

  it('an HF-format BERT folder with only tokenizer.json tokenizes like the bundled WordPiece', async () => {
    const dir = folder('bert-hf', { 'config.json': bertConfig, 'tokenizer.json': bertTokenizerJson() });
    const tok = await loadTokenizer(dir);
    expect(tok).toBeInstanceOf(BertTokenizer);
    const bert = tok as BertTokenizer;
    const rows = readFileSync(dataFile('mrpcDev'), 'utf8').split('\n').slice(1, 40);
    for (const row of rows.filter(Boolean)) {
      const [, , , a, b] = row.split('\t');
      expect(bert.encode(a, b)).toEqual(bundledBert.encode(a, b));
    }
    expect(bert.encode('Hello World')).toEqual({
      inputIds: [101, 7592, 2088, 102],
      tokenTypeIds: [0, 0, 0, 0],
      attentionMask: [1, 1, 1, 1],
    });
  });

  it('reads vocab files, uses the bundled vocabulary only when asked, and names what is wrong', async () => {
    const files = folder('opt-files', { 'config.json': optConfig });
    await expect(loadTokenizer(files)).rejects.toThrow(/has no tokenizer files .*bundled: true/);
    const viaBundle = await loadTokenizer(files, { bundled: true });
    expect((viaBundle as OptTokenizer).encode(wiki)).toEqual(bundledOpt.encode(wiki));
    expect(await writeTokenizerFiles(files, 'opt')).toEqual(['vocab.json', 'merges.txt']);
    expect(((await loadTokenizer(files)) as OptTokenizer).encode(wiki)).toEqual(bundledOpt.encode(wiki));

    const bare = folder('bare', {});
    await expect(loadTokenizer(bare, { bundled: true })).rejects.toThrow(/pass bundled: 'opt' or 'bert'/);
    expect(await loadTokenizer(bare, { bundled: 'bert' })).toBeInstanceOf(BertTokenizer);

    const mismatch = folder('mismatch', { 'config.json': bertConfig, 'tokenizer.json': optTokenizerJson() });
    await expect(loadTokenizer(mismatch)).rejects.toThrow(
      /OPT tokenizer but config.json's model_type is 'bert'/,
    );
    await expect(loadTokenizer(files, { kind: 'bert' })).rejects.toThrow(
      /its tokenizer is OPT's, but a BERT tokenizer/,
    );
    const other = folder('other', { 'config.json': { model_type: 'llama' } });
    await expect(loadTokenizer(other)).rejects.toThrow(/model_type 'llama'/);
    const broken = folder('broken', { 'tokenizer.json': '{"model": ' });
    await expect(loadTokenizer(broken)).rejects.toThrow(/tokenizer.json is not valid JSON/);
    const unigram = folder('unigram', { 'tokenizer.json': { model: { type: 'Unigram', vocab: [] } } });
    await expect(loadTokenizer(unigram)).rejects.toThrow(/model type 'Unigram' is not one sea reads/);
  });

  it('writeTokenizerFiles copies a source folder’s tokenizer files', async () => {
    const src = folder('src', { 'config.json': optConfig, 'tokenizer.json': optTokenizerJson() });
    const dest = join(tmp, 'dest');
    expect(await writeTokenizerFiles(dest, 'opt', src)).toEqual(['tokenizer.json']);
    expect(readFileSync(join(dest, 'tokenizer.json'), 'utf8')).toBe(
      readFileSync(join(src, 'tokenizer.json'), 'utf8'),
    );
    const bertDest = join(tmp, 'bert-dest');
    expect(await writeTokenizerFiles(bertDest, 'bert')).toEqual(['vocab.txt']);
  });
});
