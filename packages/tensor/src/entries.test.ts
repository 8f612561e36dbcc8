/**
 * The package's entry points: what each exports, and that the user and safetensors entries bundle
 * for a browser with no `node:` module in their import graph.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import * as backendEntry from './entry/backend.js';
import * as internalEntry from './entry/internal.js';
import * as nodeEntry from './entry/node.js';
import * as safetensorsEntry from './entry/safetensors.js';
import * as userEntry from './index.js';

const src = dirname(fileURLToPath(import.meta.url));

/** Every module an entry pulls in, by esbuild's metafile (platform browser, nothing external). */
async function importGraph(entry: string): Promise<{ inputs: string[]; nodeImports: string[] }> {
  const res = await build({
    entryPoints: [join(src, entry)],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    metafile: true,
    logLevel: 'silent',
    external: ['node:*'],
  });
  const meta = res.metafile;
  const nodeImports = Object.values(meta.inputs).flatMap((i) =>
    i.imports.filter((imp) => imp.path.startsWith('node:')).map((imp) => imp.path),
  );
  return { inputs: Object.keys(meta.inputs), nodeImports };
}

describe('@sea/tensor entries', () => {
  it('the user entry imports no node: module and bundles for the browser', async () => {
    const g = await importGraph('index.ts');
    expect(g.nodeImports).toEqual([]);
    expect(g.inputs.some((p) => p.includes('safetensors/node'))).toBe(false);
  });

  it('the safetensors entry imports no node: module', async () => {
    const g = await importGraph('entry/safetensors.ts');
    expect(g.nodeImports).toEqual([]);
  });

  it('the node entry is where node:fs lives', async () => {
    const g = await importGraph('entry/node.ts');
    expect(g.nodeImports).toContain('node:fs/promises');
  });

  it('each name has one home: tape hooks, file I/O and backend helpers stay out of the user entry', () => {
    const user = new Set(Object.keys(userEntry));
    for (const name of Object.keys(internalEntry)) expect(user.has(name), name).toBe(false);
    for (const name of Object.keys(nodeEntry)) expect(user.has(name), name).toBe(false);
    for (const name of Object.keys(safetensorsEntry)) expect(user.has(name), name).toBe(false);
    for (const name of Object.keys(backendEntry)) expect(user.has(name), name).toBe(false);
    expect(Object.keys(internalEntry).sort()).toEqual(['isRecording', 'recordOp', 'setTape']);
    expect(Object.keys(nodeEntry).sort()).toEqual([
      'Checkpoint',
      'SafetensorsFile',
      'openCheckpoint',
      'writeSafetensors',
    ]);
    for (const name of ['tensor', 'matmul', 'tidy', 'Tensor', 'setBackend', 'DTYPES', 'attention'])
      expect(user.has(name), name).toBe(true);
    for (const name of ['PRIMITIVES', 'wrap', 'stridesOf', 'broadcastStrides', 'f16BitsToNumber'])
      expect(backendEntry, name).toHaveProperty(name);
    for (const name of ['parseSafetensors', 'serializeSafetensors', 'SafetensorsBuffer', 'SafetensorsError'])
      expect(safetensorsEntry, name).toHaveProperty(name);
  });
});
