/**
 * Every TypeScript example in the project's READMEs runs. A ```ts block runs as a program (tsx,
 * workspace sources, from the repository root, so relative paths in examples are the repository's);
 * a block fenced ```ts file=PATH is a copy of that file of the repository, which the file's own
 * tests run, and must match it.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(here, '../../..');
const OUT = resolve(here, '../.examples');

interface Example {
  readme: string;
  line: number;
  info: string;
  code: string;
}

function readmes(): string[] {
  const out = [join(ROOT, 'README.md')];
  for (const group of ['packages', 'apps', 'tooling']) {
    for (const name of readdirSync(join(ROOT, group)).sort()) {
      const f = join(ROOT, group, name, 'README.md');
      if (existsSync(f)) out.push(f);
    }
  }
  return out;
}

function examples(file: string): Example[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const found: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^```(ts|typescript)\b(.*)$/.exec(lines[i]);
    if (!m) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i]);
    found.push({
      readme: relative(ROOT, file),
      line: start + 1,
      info: m[2].trim(),
      code: `${body.join('\n')}\n`,
    });
  }
  return found;
}

const ALL = readmes().flatMap(examples);

describe('README examples', () => {
  it('are found', () => {
    expect(ALL.length).toBeGreaterThanOrEqual(10);
  });

  for (const ex of ALL) {
    const name = `${ex.readme}:${ex.line}`;
    const file = /(?:^|\s)file=(\S+)/.exec(ex.info)?.[1];
    if (file) {
      it(`${name} is ${file}`, () => {
        const actual = readFileSync(join(ROOT, file), 'utf8');
        expect(actual.trim()).toBe(ex.code.trim());
      });
      continue;
    }
    it(`${name} runs`, async () => {
      mkdirSync(OUT, { recursive: true });
      const path = join(OUT, `${ex.readme.replace(/[/.]/g, '_')}_${ex.line}.ts`);
      writeFileSync(path, ex.code);
      const tsx = join(here, '../node_modules/.bin/tsx');
      const { stdout, stderr } = await run(tsx, ['--conditions=source', path], {
        cwd: ROOT,
        maxBuffer: 64 << 20,
        env: { ...process.env, NODE_NO_WARNINGS: '1' },
      }).catch((e: { stdout?: string; stderr?: string; message: string }) => {
        throw new Error(`${name} failed:\n${e.stderr || e.message}\n${e.stdout ?? ''}`);
      });
      expect(stderr).not.toMatch(/Error/);
      // An example that prints shows it got somewhere; a NaN in what it prints is a failure.
      expect(stdout).not.toMatch(/\bNaN\b/);
    });
  }
});
