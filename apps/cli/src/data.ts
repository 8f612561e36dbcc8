/**
 * Where the evaluation data lives and how it is read: WikiText-2 (raw test split, joined as
 * Hugging Face `"\n\n".join(lines)`), GLUE MRPC and SST-2 dev (TSV).
 */
import fs from 'node:fs';
import path from 'node:path';
import { dataDir } from '@sea/data';
import { SeaError } from '@sea/tensor';

export function readText(file: string): string {
  if (!fs.existsSync(file)) throw new SeaError('E_DATA', `data file not found: ${file}`);
  return fs.readFileSync(file, 'utf8');
}

/** The WikiText-2 raw test split joined with "\n\n" (what GPTQ and the SEA trainer tokenize). */
export function wikitext2Test(): { file: string; text: string } {
  const file = path.join(dataDir(), 'wikitext-2-raw', 'wiki.test.hf_joined.txt');
  return { file, text: readText(file) };
}

export interface GlueExample {
  a: string;
  b?: string;
  label: number;
}

export type GlueTask = 'mrpc' | 'sst2';
export const GLUE_TASKS: readonly GlueTask[] = ['mrpc', 'sst2'];

/** Parses a GLUE dev TSV (header row, tab separated, BOM tolerated). */
export function parseGlueTsv(task: GlueTask, text: string, file = '<tsv>'): GlueExample[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const header = lines[0].split('\t');
  const col = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0)
      throw new SeaError('E_DATA', `${file}: header has no column '${name}' (found: ${header.join(', ')})`);
    return i;
  };
  const out: GlueExample[] = [];
  const [ia, ib, il] =
    task === 'mrpc'
      ? [col('#1 String'), col('#2 String'), col('Quality')]
      : [col('sentence'), -1, col('label')];
  for (let n = 1; n < lines.length; n++) {
    const line = lines[n];
    if (!line.trim()) continue;
    const f = line.split('\t');
    const label = Number(f[il]);
    if (!(label === 0 || label === 1)) {
      throw new SeaError('E_DATA', `${file}:${n + 1}: label '${f[il]}' is not 0 or 1`);
    }
    out.push(ib >= 0 ? { a: f[ia], b: f[ib], label } : { a: f[ia], label });
  }
  return out;
}

/** A task's TSV file in the repository's data folder (`train` exists for MRPC only). */
export function glueFile(task: GlueTask, split: 'train' | 'dev'): string {
  return path.join(dataDir(), 'glue', task === 'mrpc' ? 'MRPC' : 'SST-2', `${split}.tsv`);
}

/** The examples of a GLUE TSV file of `task`. */
export function readGlue(task: GlueTask, file: string): { file: string; examples: GlueExample[] } {
  return { file, examples: parseGlueTsv(task, readText(file), file) };
}

export function glueDev(task: GlueTask): { file: string; examples: GlueExample[] } {
  return readGlue(task, glueFile(task, 'dev'));
}
