import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCheckpoint, SafetensorsError, writeSafetensors } from './index.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sea-safetensors-ckpt-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const f32 = (...v: number[]) => ({
  dtype: 'float32' as const,
  shape: [v.length],
  data: Float32Array.from(v),
});

async function sharded(name: string, weightMap: Record<string, string>, extra = ''): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir);
  await writeSafetensors(
    join(dir, 'model-00001-of-00002.safetensors'),
    { a: f32(1, 2), b: f32(3) },
    { format: 'pt' },
  );
  await writeSafetensors(
    join(dir, 'model-00002-of-00002.safetensors'),
    { c: f32(4, 5, 6) },
    { format: 'pt' },
  );
  const index = extra || JSON.stringify({ metadata: { total_size: 24 }, weight_map: weightMap });
  await writeFile(join(dir, 'model.safetensors.index.json'), index);
  return dir;
}

const GOOD_MAP = {
  a: 'model-00001-of-00002.safetensors',
  b: 'model-00001-of-00002.safetensors',
  c: 'model-00002-of-00002.safetensors',
};

describe('openCheckpoint', () => {
  it('reads a sharded checkpoint through its index', async () => {
    const dir = await sharded('good', GOOD_MAP);
    const ck = await openCheckpoint(dir);
    try {
      expect(ck.names()).toEqual(['a', 'b', 'c']);
      expect(ck.shards).toHaveLength(2);
      expect(ck.indexMetadata).toEqual({ total_size: 24 });
      expect({ ...ck.metadata }).toEqual({ format: 'pt' });
      expect(ck.info('c').shard).toBe(join(dir, 'model-00002-of-00002.safetensors'));
      expect((await ck.readRaw('c')).array).toEqual(Float32Array.from([4, 5, 6]));
      expect((await ck.readRaw('a')).array).toEqual(Float32Array.from([1, 2]));
      await expect(ck.readRaw('zz')).rejects.toThrowError(SafetensorsError);
    } finally {
      await ck.close();
    }
    // the index file itself may be passed too
    const again = await openCheckpoint(join(dir, 'model.safetensors.index.json'));
    expect(again.names()).toEqual(['a', 'b', 'c']);
    await again.close();
  });

  it('reads a single model.safetensors, or a .safetensors file', async () => {
    const dir = join(root, 'single');
    await mkdir(dir);
    await writeSafetensors(join(dir, 'model.safetensors'), { w: f32(7) });
    for (const p of [dir, join(dir, 'model.safetensors')]) {
      const ck = await openCheckpoint(p);
      expect(ck.names()).toEqual(['w']);
      expect((await ck.readRaw('w')).array).toEqual(Float32Array.from([7]));
      await ck.close();
    }
  });

  it('rejects weight_map entries missing from their shard, missing shards and paths outside the folder', async () => {
    const cases: [string, Record<string, string>, RegExp][] = [
      [
        'wrongshard',
        { ...GOOD_MAP, c: 'model-00001-of-00002.safetensors' },
        /tensor 'c'.*has no such tensor/,
      ],
      [
        'missingname',
        { ...GOOD_MAP, d: 'model-00002-of-00002.safetensors' },
        /tensor 'd'.*has no such tensor/,
      ],
      ['missingshard', { ...GOOD_MAP, c: 'model-00003-of-00003.safetensors' }, /cannot open/],
      ['escape', { ...GOOD_MAP, c: '../good/model-00002-of-00002.safetensors' }, /not a file name/],
    ];
    for (const [name, map, re] of cases) {
      const dir = await sharded(name, map);
      const err = await openCheckpoint(dir).catch((e: unknown) => e);
      expect(err, name).toBeInstanceOf(SafetensorsError);
      expect(String((err as Error).message), name).toMatch(re);
    }
  });

  it('rejects malformed index files', async () => {
    const bad = [
      '{"weight_map": ',
      '[]',
      '{"metadata": {}}',
      '{"weight_map": {"a": 5}}',
      '{"weight_map": {"a": "x.safetensors", "a": "y.safetensors"}}',
    ];
    for (const [i, text] of bad.entries()) {
      const dir = await sharded(`badindex${i}`, {}, text);
      await expect(openCheckpoint(dir), text).rejects.toThrowError(SafetensorsError);
    }
  });

  it('explains how to convert a pytorch_model.bin folder', async () => {
    const dir = join(root, 'torch');
    await mkdir(dir);
    await writeFile(join(dir, 'pytorch_model.bin'), 'not really a pickle');
    const err = await openCheckpoint(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SafetensorsError);
    expect((err as Error).message).toMatch(/pytorch_model\.bin/);
    expect((err as Error).message).toMatch(/save_pretrained\(dir, safe_serialization=True\)/);
    expect((err as Error).message).toMatch(/from safetensors\.torch import save_file/);
  });

  it('fails clearly on an empty folder or a missing path', async () => {
    const dir = join(root, 'empty');
    await mkdir(dir);
    await expect(openCheckpoint(dir)).rejects.toThrowError(/no model\.safetensors/);
    await expect(openCheckpoint(join(root, 'nope'))).rejects.toThrowError(SafetensorsError);
  });
});
