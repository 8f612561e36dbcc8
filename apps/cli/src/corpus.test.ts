import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OptTokenizer } from '@sea/tokenizers';
import { describe, expect, it } from 'vitest';
import { corpusText, isTokenIdFile, tokenizeFiles, writeIds } from './corpus.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sea-corpus-'));
const file = (name: string, text: string) => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
};

describe('training corpus', () => {
  it('takes the sentences of GLUE TSV files and drops WikiText <unk> marks', () => {
    const mrpc = file(
      'm.tsv',
      'Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tA cat sat.\tA cat was sitting.\n',
    );
    expect(corpusText(mrpc)).toBe('A cat sat.\nA cat was sitting.');
    const sst = file('s.tsv', 'sentence\tlabel\nit is good .\t1\nbad .\t0\n');
    expect(corpusText(sst)).toBe('it is good .\nbad .');
    expect(corpusText(file('w.txt', ' = A = \n The <unk> river <unk>\n'))).toBe(' = A = \n The river\n');
  });

  it('names the file and the problem for a TSV it cannot read', () => {
    expect(() => corpusText(file('x.tsv', 'a\tb\n1\t2\n'))).toThrow(
      /x\.tsv: a \.tsv must be GLUE MRPC.*header: a, b/,
    );
    expect(() => corpusText(file('y.tsv', 'sentence\tlabel\nok\t1\n'))).not.toThrow();
    expect(() => corpusText(path.join(dir, 'missing.txt'))).toThrow(/data file not found: .*missing\.txt/);
  });

  it('tells token-id files from text and tokenizes text as sea eval does', async () => {
    expect(isTokenIdFile(file('ids.json', '[2, 133, 4]'))).toBe(true);
    expect(isTokenIdFile(file('ids.txt', '2 133,4\n'))).toBe(true);
    expect(isTokenIdFile(file('t.txt', 'Hello world 3'))).toBe(false);
    const text = 'Hello world. The tower is 324 metres tall.';
    const { ids } = await tokenizeFiles([file('a.txt', text)]);
    expect(ids).toEqual((await OptTokenizer.load()).encode(text, { addBos: false }));
    expect(ids[0]).not.toBe(OptTokenizer.BOS_ID);
    const out = path.join(dir, 'sub', 'ids.json');
    writeIds(out, ids);
    expect(JSON.parse(fs.readFileSync(out, 'utf8'))).toEqual(ids);
    expect(fs.readdirSync(path.dirname(out))).toEqual(['ids.json']);
  });
});
