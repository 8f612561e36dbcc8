import { describe, expect, it } from 'vitest';
import { glueDev, parseGlueTsv, wikitext2Test } from './data.js';

describe('evaluation data', () => {
  it('reads GLUE MRPC dev: 408 labelled pairs', () => {
    const { examples } = glueDev('mrpc');
    expect(examples).toHaveLength(408);
    expect(examples.every((e) => e.b !== undefined && (e.label === 0 || e.label === 1))).toBe(true);
  });
  it('reads GLUE SST-2 dev: 872 sentences', () => {
    const { examples } = glueDev('sst2');
    expect(examples).toHaveLength(872);
  });
  it('reads the joined WikiText-2 test split', () => {
    const { text } = wikitext2Test();
    expect(text.length).toBeGreaterThan(1_000_000);
    expect(text.startsWith('\n\n = Robert Boulter = \n')).toBe(true);
  });
  it('names a missing column and a bad label', () => {
    expect(() => parseGlueTsv('sst2', 'text\tlabel\nfoo\t1\n', 'x.tsv')).toThrow(
      /x.tsv: header has no column 'sentence'/,
    );
    expect(() => parseGlueTsv('sst2', 'sentence\tlabel\nfoo\t7\n', 'x.tsv')).toThrow(/x.tsv:2: label '7'/);
  });
});
