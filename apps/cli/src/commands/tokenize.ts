/**
 * `sea tokenize`: text, GLUE TSV or WikiText files (or `--text`, or `-` for stdin) → token ids as a
 * JSON array (OPT by default, for `sea distill`; BERT with `--tokenizer bert`; a model folder's own
 * tokenizer with `--model`), written to `--out` or printed; `--decode` turns id files back into text.
 */
import fs from 'node:fs';
import { SeaError } from '@sea/tensor';
import type { BertTokenizer, OptTokenizer } from '@sea/tokenizers';
import { corpusText, writeIds } from '../corpus.js';

export interface TokenizeFlags {
  out?: string;
  text?: string;
  decode?: boolean;
  tokenizer?: string;
  model?: string;
  special?: boolean;
  json?: boolean;
}

async function tokenizerOf(
  o: TokenizeFlags,
): Promise<{ kind: 'opt' | 'bert'; tok: OptTokenizer | BertTokenizer }> {
  const { loadTokenizer, tokenizerFilesIn } = await import('@sea/models');
  if (o.model) {
    if (fs.existsSync(o.model) && tokenizerFilesIn(o.model).length === 0)
      process.stderr.write(`sea: ${o.model} has no tokenizer files; using the vocabulary bundled with sea\n`);
    const tok = await loadTokenizer(o.model, { bundled: true });
    return { kind: 'clsId' in tok ? 'bert' : 'opt', tok };
  }
  const kind = o.tokenizer ?? 'opt';
  if (kind !== 'opt' && kind !== 'bert')
    throw new SeaError('E_ARGS', `--tokenizer must be opt or bert (or use --model DIR), got '${kind}'`);
  const { BertTokenizer: B, OptTokenizer: O } = await import('@sea/tokenizers');
  return { kind, tok: kind === 'opt' ? await O.load() : await B.load() };
}

function inputText(files: readonly string[], o: TokenizeFlags): string {
  if (o.text !== undefined) {
    if (files.length) throw new SeaError('E_ARGS', 'give either files or --text, not both');
    return o.text;
  }
  if (files.length === 0) throw new SeaError('E_ARGS', 'no input: give files, - for stdin, or --text');
  return files.map((f) => (f === '-' ? fs.readFileSync(0, 'utf8') : corpusText(f))).join('\n\n');
}

export async function tokenizeCommand(files: string[], o: TokenizeFlags): Promise<void> {
  const t0 = performance.now();
  const { kind, tok } = await tokenizerOf(o);
  if (o.decode) {
    const ids =
      o.text !== undefined
        ? readIdsText(o.text, '--text')
        : files.flatMap((f) =>
            f === '-' ? readIdsText(fs.readFileSync(0, 'utf8'), 'stdin') : readIdFile(f),
          );
    const text = tok.decode(ids, { skipSpecialTokens: !o.special });
    if (o.out) fs.writeFileSync(o.out, text);
    if (o.json)
      process.stdout.write(`${JSON.stringify({ tokenizer: kind, tokens: ids.length, text, out: o.out })}\n`);
    else if (!o.out) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    else
      process.stdout.write(
        `wrote ${o.out}: ${text.length.toLocaleString('en')} characters from ${ids.length} ${kind.toUpperCase()} tokens\n`,
      );
    return;
  }
  const text = inputText(files, o);
  const ids =
    kind === 'opt'
      ? (tok as OptTokenizer).encode(text, { addBos: !!o.special })
      : (tok as BertTokenizer).encode(text, undefined, {
          addSpecialTokens: !!o.special,
          maxLength: Number.MAX_SAFE_INTEGER,
        }).inputIds;
  const ms = performance.now() - t0;
  if (o.out) writeIds(o.out, ids);
  if (o.json) {
    const r = {
      files,
      out: o.out,
      tokenizer: kind,
      chars: text.length,
      tokens: ids.length,
      ms,
      ...(o.out ? {} : { ids }),
    };
    process.stdout.write(`${JSON.stringify(r)}\n`);
  } else if (!o.out) {
    process.stdout.write(`[${ids.join(',')}]\n`);
  } else {
    process.stdout.write(
      `wrote ${o.out}: ${ids.length.toLocaleString('en')} ${kind.toUpperCase()} tokens from ${files.length || 1} input(s), ${text.length.toLocaleString('en')} characters (${(ms / 1000).toFixed(1)} s)\n`,
    );
  }
}

function readIdFile(file: string): number[] {
  if (!fs.existsSync(file)) throw new SeaError('E_DATA', `token id file not found: ${file}`);
  return readIdsText(fs.readFileSync(file, 'utf8'), file);
}

function readIdsText(text: string, where: string): number[] {
  const ids = text
    .replace(/[[\]]/g, ' ')
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(Number);
  const bad = ids.findIndex((v) => !Number.isInteger(v) || v < 0);
  if (bad >= 0) throw new SeaError('E_DATA', `${where}: token ${bad} is not a non-negative integer`);
  return ids;
}
