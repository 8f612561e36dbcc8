// `sea tokenize`: OPT and BERT ids (checked against the published ids of data/REFERENCE_NUMBERS.md
// §1 and Hugging Face's bert-base-uncased ids), printed or written, and decoded back to the text.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dataFile } from '@sea/data';
import { afterAll, describe, expect, it } from 'vitest';
import { stdoutOf } from '../../test/stdout.js';
import { tokenizeCommand } from './tokenize.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sea-cli-tokenize-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('sea tokenize', () => {
  it('prints OPT ids (with BOS when --special) and BERT ids', async () => {
    expect(
      JSON.parse(await stdoutOf(() => tokenizeCommand([], { text: 'Hello, my name is', special: true }))),
    ).toEqual([2, 31414, 6, 127, 766, 16]);
    expect(JSON.parse(await stdoutOf(() => tokenizeCommand([], { text: 'I love Hugging Face!' })))).toEqual([
      100, 657, 30581, 3923, 12346, 328,
    ]);
    const bert = JSON.parse(
      await stdoutOf(() =>
        tokenizeCommand([], { text: 'Hello World', tokenizer: 'bert', special: true, json: true }),
      ),
    );
    expect(bert).toMatchObject({ tokenizer: 'bert', tokens: 4, ids: [101, 7592, 2088, 102] });
  });

  it('writes --out, and --decode gives the text back', async () => {
    const text = fs.readFileSync(dataFile('wikitext2RawTest'), 'utf8').slice(0, 3000);
    const src = path.join(tmp, 'wiki.txt');
    fs.writeFileSync(src, text);
    for (const tokenizer of ['opt', 'bert']) {
      const ids = path.join(tmp, `${tokenizer}.json`);
      const said = await stdoutOf(() => tokenizeCommand([src], { out: ids, tokenizer }));
      expect(said).toMatch(
        new RegExp(`wrote .*${tokenizer}\\.json: [\\d,]+ ${tokenizer.toUpperCase()} tokens`),
      );
      const back = await stdoutOf(() => tokenizeCommand([ids], { decode: true, tokenizer }));
      if (tokenizer === 'opt') expect(back).toBe(text.endsWith('\n') ? text : `${text}\n`);
      else
        expect(back.trim().split(/\s+/).slice(0, 6)).toEqual([
          '=',
          'robert',
          'boulter',
          '=',
          'robert',
          'boulter',
        ]);
    }
  });

  it('names what is wrong', async () => {
    await expect(tokenizeCommand([], {})).rejects.toThrow(/no input/);
    await expect(tokenizeCommand([], { tokenizer: 'gpt4', text: 'x' })).rejects.toThrow(
      /--tokenizer must be opt or bert/,
    );
    await expect(tokenizeCommand([], { decode: true, text: '[1, -2]' })).rejects.toThrow(
      /token 1 is not a non-negative integer/,
    );
    await expect(tokenizeCommand([path.join(tmp, 'nope.json')], { decode: true })).rejects.toThrow(
      /not found: .*nope\.json/,
    );
  });
});
