/**
 * The packages as a user gets them: packs every public workspace package (`pnpm pack`, whose
 * prepack builds it), checks what `npm pack --dry-run` would publish, installs the tarballs with
 * npm into a folder outside the workspace, and runs them there: SEA attention in plain Node, and
 * the same code bundled by esbuild for the browser (no `node:` import left) in headless Chromium,
 * each compared with the result of the workspace's own sources.
 */
import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(here, '../../..');
const FIXTURES = resolve(here, '../fixtures');
const CHROMIUM = process.env.SEA_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
];

interface PackageJson {
  name: string;
  version: string;
  private?: boolean;
  main?: string;
  types?: string;
  exports?: Record<string, string | Record<string, string>>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/** The workspace's public packages: packages/* and apps/* not marked private. */
function publicPackages(): { dir: string; pkg: PackageJson }[] {
  const out: { dir: string; pkg: PackageJson }[] = [];
  for (const group of ['packages', 'apps']) {
    for (const name of readdirSync(join(ROOT, group))) {
      const file = join(ROOT, group, name, 'package.json');
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as PackageJson;
      if (!pkg.private) out.push({ dir: join(ROOT, group, name), pkg });
    }
  }
  return out;
}

const PUBLIC = publicPackages();
const tarballName = (p: PackageJson) => `${p.name.replace('@', '').replace('/', '-')}-${p.version}.tgz`;

let tmp = '';
let app = '';
const tarballs = new Map<string, string>();

/** Every @sea package `names` needs, themselves included, read from the packed manifests. */
function seaClosure(names: string[], manifests: Map<string, PackageJson>): string[] {
  const seen = new Set<string>();
  const visit = (n: string) => {
    if (seen.has(n)) return;
    const m = manifests.get(n);
    if (!m) throw new Error(`${n} is needed but no public package of that name was packed`);
    seen.add(n);
    for (const d of Object.keys(m.dependencies ?? {})) if (d.startsWith('@sea/')) visit(d);
  };
  for (const n of names) visit(n);
  return [...seen].sort();
}

/** The packages the Node and browser checks import; their @sea dependencies come along. */
const INSTALLED = ['@sea/tensor', '@sea/backend-cpu', '@sea/backend-webgpu', '@sea/sparse-attention'];

const manifests = new Map<string, PackageJson>();

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'sea-pack-'));
  const packs = join(tmp, 'packs');
  mkdirSync(packs);
  // One recursive pack over the public packages: topological order, so each prepack build finds
  // the dist of the packages it depends on.
  const filters = PUBLIC.flatMap(({ pkg }) => ['--filter', pkg.name]);
  await run('pnpm', ['-r', '--workspace-concurrency=1', ...filters, 'pack', '--pack-destination', packs], {
    cwd: ROOT,
    maxBuffer: 64 << 20,
  });
  for (const { pkg } of PUBLIC) {
    const file = join(packs, tarballName(pkg));
    expect(existsSync(file), `${pkg.name}: ${file}`).toBe(true);
    tarballs.set(pkg.name, file);
    const { stdout } = await run('tar', ['-xOzf', file, 'package/package.json']);
    manifests.set(pkg.name, JSON.parse(stdout) as PackageJson);
  }

  app = join(tmp, 'app');
  mkdirSync(app);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'sea-user', private: true, type: 'module' }),
  );
  const wanted = seaClosure(INSTALLED, manifests);
  await run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--no-package-lock',
      ...wanted.map((n) => tarballs.get(n) as string),
    ],
    { cwd: app, maxBuffer: 64 << 20 },
  );
  for (const f of readdirSync(FIXTURES)) cpSync(join(FIXTURES, f), join(app, f));
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('packed packages', () => {
  it('every public package packs with dist, types, LICENSE and README, and source maps that resolve', async () => {
    const rootLicense = readFileSync(join(ROOT, 'LICENSE'), 'utf8');
    for (const { dir, pkg } of PUBLIC) {
      expect(readFileSync(join(dir, 'LICENSE'), 'utf8'), `${pkg.name} LICENSE`).toBe(rootLicense);
      const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
        cwd: dir,
        maxBuffer: 64 << 20,
      });
      const [report] = JSON.parse(stdout) as { files: { path: string }[]; size: number }[];
      const files = new Set(report.files.map((f) => f.path));
      const need = ['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts'];
      for (const f of need) expect(files.has(f), `${pkg.name} ships ${f}`).toBe(true);
      expect(pkg.main && files.has(pkg.main.replace(/^\.\//, '')), `${pkg.name} main`).toBe(true);
      expect(pkg.types && files.has(pkg.types.replace(/^\.\//, '')), `${pkg.name} types`).toBe(true);
      for (const [sub, target] of Object.entries(pkg.exports ?? {})) {
        if (typeof target === 'string') continue;
        for (const cond of ['types', 'import']) {
          expect(files.has(target[cond].replace(/^\.\//, '')), `${pkg.name} exports ${sub} ${cond}`).toBe(
            true,
          );
        }
      }
      expect([...files].filter((f) => f.endsWith('.test.ts') || f.endsWith('.test.js'))).toEqual([]);
      // Each source map names sources that the tarball carries.
      for (const f of files) {
        if (!f.endsWith('.js.map')) continue;
        const map = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { sources: string[] };
        for (const s of map.sources) {
          const target = relative(dir, resolve(dir, dirname(f), s));
          expect(files.has(target), `${pkg.name} ${f} → ${target}`).toBe(true);
        }
      }
      expect(report.size).toBeGreaterThan(0);
    }
  });

  it('depend on public packages only', () => {
    const publicNames = new Set(PUBLIC.map((p) => p.pkg.name));
    for (const [name, m] of manifests) {
      for (const [dep, range] of Object.entries(m.dependencies ?? {})) {
        if (!dep.startsWith('@sea/')) continue;
        expect(publicNames.has(dep), `${name} → ${dep}`).toBe(true);
        expect(range, `${name} → ${dep}`).toBe(manifests.get(dep)?.version);
      }
    }
  });

  it('@sea/backend-webgpu installs without Dawn, and says what to install in Node', async () => {
    expect(manifests.get('@sea/backend-webgpu')?.dependencies?.webgpu).toBeUndefined();
    expect(existsSync(join(app, 'node_modules/webgpu'))).toBe(false);
    const script =
      "import '@sea/backend-webgpu'; import { availableBackends } from '@sea/tensor';" +
      'console.log(JSON.stringify(await availableBackends()));';
    const { stdout } = await run('node', ['--input-type=module', '-e', script], { cwd: app });
    const status = (JSON.parse(stdout) as { name: string; available: boolean; reason?: string }[]).find(
      (s) => s.name === 'webgpu',
    );
    expect(status?.available).toBe(false);
    expect(status?.reason).toMatch(/webgpu/);
  });
});

describe('installed tarballs', () => {
  let nodeResult: { shape: number[]; nnz: number; values: number[] };

  it('run SEA attention in plain Node, as the workspace sources do', async () => {
    const { stdout } = await run('node', ['node_attention.mjs'], { cwd: app, maxBuffer: 64 << 20 });
    nodeResult = JSON.parse(stdout);
    const { seaAttentionOnce } = (await import('../fixtures/sea_attention.mjs')) as {
      seaAttentionOnce: () => Promise<typeof nodeResult>;
    };
    const workspace = await seaAttentionOnce();
    expect(nodeResult.shape).toEqual([1, 48, 32]);
    expect(nodeResult.nnz).toEqual(workspace.nnz);
    expect(nodeResult.values.every(Number.isFinite)).toBe(true);
    expect(nodeResult.values).toEqual(workspace.values);
  });

  it('bundle for the browser with no node: import and run in headless Chromium as in Node', async () => {
    const bundle = await build({
      entryPoints: [join(app, 'browser_attention.mjs')],
      absWorkingDir: app,
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(bundle.metafile.inputs);
    const nodeImports = Object.values(bundle.metafile.inputs).flatMap((i) =>
      i.imports.filter((imp) => imp.path.startsWith('node:') || imp.external).map((imp) => imp.path),
    );
    expect(nodeImports).toEqual([]);
    expect(inputs.every((p) => p.startsWith('node_modules/@sea/') || p.endsWith('.mjs'))).toBe(true);
    if (!existsSync(CHROMIUM)) {
      console.warn(
        `browser run skipped: ${CHROMIUM} not found (tooling/setup.sh installs Debian's chromium)`,
      );
      return;
    }
    const js = bundle.outputFiles[0].text;
    const html = '<!doctype html><meta charset="utf-8"><script type="module" src="/entry.js"></script>';
    const server: Server = createServer((req, res) => {
      const isJs = req.url === '/entry.js';
      res.writeHead(isJs || req.url === '/' ? 200 : 404, {
        'content-type': isJs ? 'text/javascript' : 'text/html',
      });
      res.end(isJs ? js : req.url === '/' ? html : '');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const profile = mkdtempSync(join(tmp, 'chromium-'));
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
    });
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.waitForFunction(
        () => (globalThis as { __seaResult?: unknown }).__seaResult !== undefined,
        null,
        {
          timeout: 120_000,
        },
      );
      const got = (await page.evaluate(() => (globalThis as { __seaResult?: unknown }).__seaResult)) as
        | typeof nodeResult
        | { error: string };
      if ('error' in got) throw new Error(`in the page: ${got.error}`);
      expect(got.shape).toEqual(nodeResult.shape);
      expect(got.nnz).toEqual(nodeResult.nnz);
      let maxErr = 0;
      for (let i = 0; i < got.values.length; i++)
        maxErr = Math.max(maxErr, Math.abs(got.values[i] - nodeResult.values[i]));
      expect(got.values.length).toBe(nodeResult.values.length);
      expect(maxErr).toBeLessThanOrEqual(1e-5);
    } finally {
      await browser.close();
      server.close();
    }
  });
});
