/**
 * Training text for `sea tokenize` and `sea distill --data`: plain text files as they are, GLUE TSV
 * files (MRPC, SST-2; recognised by their header) as their sentences, WikiText token files with the
 * `<unk>` placeholders removed. Documents are joined with "\n\n" and tokenized with OPT's tokenizer
 * (no BOS), the way `sea eval` tokenizes the test text.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SeaError } from '@sea/tensor';
import { OptTokenizer } from '@sea/tokenizers';

/** The text of one source file, as training text. */
export function corpusText(file: string): string {
  if (!fs.existsSync(file)) throw new SeaError('E_DATA', `data file not found: ${file}`);
  const raw = fs.readFileSync(file, 'utf8');
  if (file.endsWith('.tsv')) {
    const lines = raw.replace(/^\uFEFF/, '').split(/\r?\n/);
    const header = lines[0].split('\t');
    const cols = ['#1 String', '#2 String', 'sentence'].map((c) => header.indexOf(c)).filter((i) => i >= 0);
    if (cols.length === 0) {
      throw new SeaError(
        'E_DATA',
        `${file}: a .tsv must be GLUE MRPC ('#1 String', '#2 String') or SST-2 ('sentence'); header: ${header.join(', ')}`,
      );
    }
    const out: string[] = [];
    for (let n = 1; n < lines.length; n++) {
      if (!lines[n].trim()) continue;
      const f = lines[n].split('\t');
      for (const c of cols) {
        if (f[c] === undefined)
          throw new SeaError('E_DATA', `${file}:${n + 1}: row has no column ${header[c]}`);
        out.push(f[c]);
      }
    }
    return out.join('\n');
  }
  return raw.replaceAll(' <unk>', '').replaceAll('<unk>', '');
}

/**
 * True when the file looks like token ids — a JSON array, or numbers separated by spaces/commas —
 * including malformed ones (negative, fractional, exponent), which the id reader then refuses with
 * the offending value instead of tokenizing the digits as text.
 */
export function isTokenIdFile(file: string): boolean {
  if (!fs.existsSync(file)) throw new SeaError('E_DATA', `data file not found: ${file}`);
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    const head = buf.subarray(0, n).toString('utf8');
    return /\d/.test(head) && /^\s*(\[[\s\d,.eE+-]*\]?\s*|[\d\s,.eE+-]*)$/.test(head);
  } finally {
    fs.closeSync(fd);
  }
}

/** Tokenizes the files (joined with "\n\n") with OPT's tokenizer. */
export async function tokenizeFiles(files: readonly string[]): Promise<{ ids: number[]; chars: number }> {
  if (files.length === 0) throw new SeaError('E_ARGS', 'no input files');
  const text = files.map((f) => corpusText(f)).join('\n\n');
  const tokenizer = await OptTokenizer.load();
  return { ids: tokenizer.encode(text, { addBos: false }), chars: text.length };
}

/** Writes ids as a JSON array atomically (temporary file, then rename). */
export function writeIds(file: string, ids: readonly number[]): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, `[${ids.join(',')}]\n`);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
