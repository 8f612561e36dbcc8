// The data folder: found from the package location, every file matches its recorded size and
// SHA-256 (data/SOURCE.md), and nothing in the repository reads data from outside it.
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DATA_FILES, dataDir, dataFile, findDataDir } from './index.js';

const data = dataDir();
const repo = dirname(data);

function walk(dir: string, skip: (rel: string) => boolean, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (skip(relative(repo, p))) continue;
    if (e.isDirectory()) walk(p, skip, out);
    else if (e.isFile()) out.push(p);
  }
  return out;
}

describe('data folder', () => {
  const prev = process.env.SEA_DATA;
  afterEach(() => {
    if (prev === undefined) delete process.env.SEA_DATA;
    else process.env.SEA_DATA = prev;
  });

  it('is <repo>/data, found from the package location whatever the current directory', () => {
    delete process.env.SEA_DATA;
    expect(relative(repo, data)).toBe('data');
    expect(statSync(join(repo, 'pnpm-workspace.yaml')).isFile()).toBe(true);
    const cwd = process.cwd();
    const elsewhere = mkdtempSync(join(tmpdir(), 'sea-data-'));
    try {
      process.chdir(elsewhere);
      expect(dataDir()).toBe(data);
      expect(findDataDir(elsewhere)).toBeNull();
      expect(() => dataDir(elsewhere)).toThrow(/no data\/ folder .*SEA_DATA/);
    } finally {
      process.chdir(cwd);
      rmSync(elsewhere, { recursive: true });
    }
  });

  it('SEA_DATA points elsewhere, and a folder without SOURCE.md is refused by name', () => {
    const other = mkdtempSync(join(tmpdir(), 'sea-data-'));
    try {
      process.env.SEA_DATA = other;
      expect(findDataDir()).toBeNull();
      expect(() => dataDir()).toThrow(`SEA_DATA=${other} is not a data folder`);
    } finally {
      rmSync(other, { recursive: true });
    }
  });

  it('dataFile resolves roles and relative paths, and names a missing file', () => {
    expect(dataFile('optVocab')).toBe(join(data, 'tokenizers/opt/vocab.json'));
    expect(dataFile('glue/SST-2/dev.tsv')).toBe(join(data, 'glue/SST-2/dev.tsv'));
    expect(() => dataFile('glue/QQP/dev.tsv')).toThrow(
      `data file not found: ${join(data, 'glue/QQP/dev.tsv')}`,
    );
    for (const rel of Object.values(DATA_FILES)) expect(statSync(join(data, rel)).isFile()).toBe(true);
  });

  it('every file has the size and SHA-256 that SOURCE.md records, and every file is recorded', () => {
    const source = readFileSync(join(data, 'SOURCE.md'), 'utf8');
    const rows = [...source.matchAll(/^- `([^`]+)` \| (\d+) \| ([0-9a-f]{64}) \|/gm)].map((m) => ({
      path: m[1],
      size: Number(m[2]),
      sha: m[3],
    }));
    const files = walk(data, () => false)
      .map((p) => relative(data, p))
      .filter((p) => !p.endsWith('.md'))
      .sort();
    expect(rows.map((r) => r.path).sort()).toEqual(files);
    for (const r of rows) {
      const bytes = readFileSync(join(data, r.path));
      expect({ path: r.path, size: bytes.length }).toEqual({ path: r.path, size: r.size });
      expect({ path: r.path, sha: createHash('sha256').update(bytes).digest('hex') }).toEqual({
        path: r.path,
        sha: r.sha,
      });
    }
    // every folder carries its provenance and licence beside its files; MRPC's licence text travels with it
    for (const dir of new Set(files.map((f) => dirname(f)))) {
      expect(readFileSync(join(data, dir, 'SOURCE.md'), 'utf8')).toMatch(/^Licence: /m);
    }
    expect(files).toContain('glue/MRPC/LICENSE-MSR-SSLA.htm');
  });
});

describe('no reads from outside the repository', () => {
  // Built from pieces so that this file does not match itself.
  const parent = '..' + '/shared';
  const patterns = [parent, 'shared' + '/data', 'SEA_' + 'SHARED_DATA', 'Shared' + 'Data('];
  const skipDirs = new Set(['node_modules', 'dist', '.git', '.turbo', '.cache', '.lavapipe', '.device']);
  // Records of past runs (their logs name the folders of that time) and internal notes are history, not code.
  const history = /(^|\/)(experiments|results|notes)(\/|$)/;
  const textFile = /\.(ts|mts|cts|js|mjs|cjs|json|sh|py|md|ya?ml|html|txt)$|(^|\/)(run|\.gitignore)$/;

  it('no source, test, tooling or documentation file reads data from a folder beside the repository', () => {
    const files = walk(repo, (rel) => {
      const base = rel.split('/').pop() as string;
      return skipDirs.has(base) || history.test(rel) || rel === 'data' || rel === 'models';
    }).filter((p) => textFile.test(relative(repo, p)));
    expect(files.length).toBeGreaterThan(100);
    expect(files.some((f) => f.endsWith(join('.ci', 'run')))).toBe(true);
    const offenders: string[] = [];
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      text.split('\n').forEach((line, i) => {
        if (patterns.some((p) => line.includes(p)))
          offenders.push(`${relative(repo, f)}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(offenders).toEqual([]);
  });
});
