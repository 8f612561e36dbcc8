/**
 * WebGPU in a real page: bundles test/browser/entry.ts with esbuild, serves it from 127.0.0.1,
 * opens it in Debian's headless Chromium (playwright-core, flags from the project's toolchain
 * notes) and asserts the JSON report. Chromium's adapter here is SwiftShader: a correctness check
 * in a browser, not a speed test. Skips with the reason when /usr/bin/chromium is absent.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';

const CHROMIUM = process.env.SEA_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = [
  '--enable-unsafe-webgpu',
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const here = dirname(fileURLToPath(import.meta.url));
const missing = existsSync(CHROMIUM)
  ? ''
  : `${CHROMIUM} not found (install Debian's chromium: tooling/setup-lavapipe.sh does as root)`;
if (missing) console.warn(`browser test skipped: ${missing}`);

interface Report {
  error?: string;
  adapter?: { vendor: string; architecture: string; description: string; isFallback: boolean };
  checks?: { name: string; maxErr: number; tol: number; ok: boolean }[];
}

/** Bundles `entry` (vitest → the device stand-in), serves it, runs it in headless Chromium. */
async function runPage(entry: string, timeout: number): Promise<{ report: unknown; logs: string[] }> {
  const bundle = await build({
    entryPoints: [join(here, entry)],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['source'],
    external: ['node:*', 'webgpu'],
    alias: { vitest: join(here, 'device/vitest_shim.ts') },
    write: false,
    logLevel: 'silent',
  });
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
  const profile = mkdtempSync(join(tmpdir(), 'sea-chromium-'));
  // A fresh user data dir per run (persistent context is how Playwright takes one).
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
  });
  try {
    const page = await browser.newPage();
    const logs: string[] = [];
    page.on('console', (m) => logs.push(m.text()));
    page.on('pageerror', (e) => logs.push(e.message));
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction(
      () => (globalThis as { __seaResult?: unknown }).__seaResult !== undefined,
      null,
      { timeout },
    );
    const report = await page.evaluate(() => (globalThis as { __seaResult?: unknown }).__seaResult);
    return { report, logs };
  } finally {
    await browser.close();
    server.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

/** The float dtype a test title names (16-bit tests name theirs; float32 keeps plain titles). */
function dtypeOf(title: string): string {
  return /\bbfloat16\b/.test(title) ? 'bfloat16' : /\bfloat16\b/.test(title) ? 'float16' : 'float32';
}

interface ConformanceReport {
  error?: string;
  adapter?: Report['adapter'] & { float16: string; features: string[] };
  passed: number;
  failed: number;
  skipped: number;
  failures: string[];
}

describe.skipIf(!!missing)('webgpu in headless Chromium', () => {
  it('runs matmul, softmax, gelu, broadcast add, top-k, prefix sums and the CSR attention path against float64', async () => {
    const { report: r, logs } = await runPage('browser/entry.ts', 180_000);
    const report = r as Report;
    const a = report.adapter;
    console.log(
      `chromium adapter: ${a ? `${a.vendor} ${a.architecture} ${a.description} (fallback ${a.isFallback})` : '?'}; ${JSON.stringify(report.checks ?? report.error)}`,
    );
    expect(report.error, logs.join('\n')).toBeUndefined();
    expect(report.checks?.length).toBe(8);
    for (const c of report.checks ?? [])
      expect(c.ok, `${c.name}: max error ${c.maxErr} > ${c.tol}`).toBe(true);
  });

  it('passes the shared conformance suite in float32, float16 and bfloat16', async () => {
    const { report: r, logs } = await runPage('browser/conformance.ts', 1_500_000);
    const report = r as ConformanceReport;
    const a = report.adapter;
    console.log(
      `chromium conformance: ${a ? `${a.vendor} ${a.architecture} ${a.description}, float16 ${a.float16}` : '?'}: ${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped` +
        ['float32', 'float16', 'bfloat16']
          .map((d) => `; ${d} ${logs.filter((l) => l.startsWith('  ✓') && dtypeOf(l) === d).length} passed`)
          .join(''),
    );
    expect(report.error, logs.slice(-20).join('\n')).toBeUndefined();
    expect(report.failures, report.failures.join('\n')).toEqual([]);
    // every float dtype ran (titles of 16-bit tests name their dtype)
    for (const d of ['float16', 'bfloat16'])
      expect(
        logs.some((l) => l.startsWith('  ✓') && dtypeOf(l) === d),
        d,
      ).toBe(true);
    expect(report.passed).toBeGreaterThan(500);
  }, 1_600_000);
});
