/**
 * `changeset version` on a copy of the workspace's manifests and pending changesets: every public
 * package gets a CHANGELOG.md and one new version (one fixed group), private packages are left alone.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const tmp = mkdtempSync(join(tmpdir(), 'sea-changesets-'));

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
}

function manifests(root: string): Map<string, { dir: string; pkg: Manifest }> {
  const out = new Map<string, { dir: string; pkg: Manifest }>();
  for (const group of ['packages', 'apps', 'tooling']) {
    if (!existsSync(join(root, group))) continue;
    for (const name of readdirSync(join(root, group))) {
      const f = join(root, group, name, 'package.json');
      if (!existsSync(f)) continue;
      const pkg = JSON.parse(readFileSync(f, 'utf8')) as Manifest;
      out.set(pkg.name, { dir: join(group, name), pkg });
    }
  }
  return out;
}

describe('changesets', () => {
  it('version writes CHANGELOGs for the public packages and leaves private ones unversioned', async () => {
    const pending = readdirSync(join(ROOT, '.changeset')).filter(
      (f) => f.endsWith('.md') && f !== 'README.md',
    );
    expect(pending.length, 'a pending changeset to version').toBeGreaterThan(0);
    for (const f of ['package.json', 'pnpm-workspace.yaml', '.changeset'])
      cpSync(join(ROOT, f), join(tmp, f), { recursive: true });
    const before = manifests(ROOT);
    for (const { dir } of before.values()) {
      mkdirSync(join(tmp, dir), { recursive: true });
      cpSync(join(ROOT, dir, 'package.json'), join(tmp, dir, 'package.json'));
    }
    await run(join(ROOT, 'node_modules/.bin/changeset'), ['version'], { cwd: tmp });
    const after = manifests(tmp);
    const versions = new Set<string>();
    for (const [name, { dir, pkg }] of before) {
      const now = after.get(name)?.pkg;
      if (pkg.private) {
        expect(now?.version, name).toBe(pkg.version);
        expect(existsSync(join(tmp, dir, 'CHANGELOG.md')), `${name} CHANGELOG`).toBe(false);
      } else {
        expect(now?.version, name).not.toBe(pkg.version);
        versions.add(now?.version ?? '');
        expect(readFileSync(join(tmp, dir, 'CHANGELOG.md'), 'utf8')).toContain(`# ${name}`);
      }
    }
    expect(versions.size).toBe(1);
  });
});
