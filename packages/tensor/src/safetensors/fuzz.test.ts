import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../backend.js';
import { DTYPES, type TypedArray } from '../dtype.js';
import { Rng } from '../random.js';
import { parseSafetensors, SafetensorsError, SafetensorsFile, serializeSafetensors } from './index.js';

function hostBackend(): Backend {
  const mem = new Map<object, TypedArray>();
  return {
    name: 'host',
    dtypes: DTYPES,
    upload(values: TypedArray) {
      const id = {};
      mem.set(id, values.slice());
      return id;
    },
    read: async (id: object) => (mem.get(id) as TypedArray).slice(),
    readSync: (id: object) => (mem.get(id) as TypedArray).slice(),
    free: (id: object) => {
      mem.delete(id);
    },
  } as unknown as Backend;
}
const backend = hostBackend();

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sea-safetensors-fuzz-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Parts {
  header: Record<string, unknown>;
  data: Uint8Array;
}

function split(file: Uint8Array): Parts {
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n))), data: file.slice(8 + n) };
}

function join3(headerBytes: Uint8Array, data: Uint8Array, length = BigInt(headerBytes.length)): Uint8Array {
  const out = new Uint8Array(8 + headerBytes.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt.asUintN(64, length), true);
  out.set(headerBytes, 8);
  out.set(data, 8 + headerBytes.length);
  return out;
}

const enc = (s: string) => new TextEncoder().encode(s);

type Mutator = (file: Uint8Array, rng: Rng) => Uint8Array;

const int = (rng: Rng, lo: number, hi: number) => lo + Math.floor(rng.uniform() * (hi - lo + 1));
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[int(rng, 0, xs.length - 1)];
const headerLen = (f: Uint8Array) => Number(new DataView(f.buffer, f.byteOffset).getBigUint64(0, true));
const tensorNames = (p: Parts) => Object.keys(p.header).filter((k) => k !== '__metadata__');

function flipBits(f: Uint8Array, rng: Rng, lo: number, hi: number, count: number): Uint8Array {
  const out = f.slice();
  for (let k = 0; k < count; k++) out[int(rng, lo, hi - 1)] ^= 1 << int(rng, 0, 7);
  return out;
}

function withEntry(f: Uint8Array, rng: Rng, change: (e: Record<string, unknown>) => void): Uint8Array {
  const p = split(f);
  const e = p.header[pick(rng, tensorNames(p))] as Record<string, unknown>;
  change(e);
  return join3(enc(JSON.stringify(p.header)), p.data);
}

const WEIRD: unknown[] = [-1, 1.5, '3', null, true, [], {}, 2 ** 53, 1e300, -0.5, [1]];

/** Mutators that must always produce an invalid file. */
const ALWAYS_BAD = new Set([
  'truncate',
  'hugeLength',
  'trailing',
  'duplicateKey',
  'notObject',
  'deepNesting',
  'invalidUtf8',
  'garbageBytes',
  'dropTensor',
]);

const MUTATORS: Record<string, Mutator> = {
  truncate: (f, rng) => f.slice(0, int(rng, 0, f.length - 1)),
  headerBitFlip: (f, rng) => flipBits(f, rng, 8, 8 + headerLen(f), int(rng, 1, 4)),
  lengthBitFlip: (f, rng) => flipBits(f, rng, 0, 8, 1),
  anyBitFlip: (f, rng) => flipBits(f, rng, 0, f.length, int(rng, 1, 3)),
  dataBitFlip: (f, rng) => flipBits(f, rng, 8 + headerLen(f), f.length, int(rng, 1, 8)),
  hugeLength: (f, rng) => {
    const out = f.slice();
    const choices = [
      2n ** 64n - 1n,
      2n ** 63n,
      BigInt(f.length),
      BigInt(f.length - 7),
      100_000_001n,
      2n ** 32n + 5n,
    ];
    new DataView(out.buffer).setBigUint64(0, pick(rng, choices), true);
    return out;
  },
  lengthOffByFew: (f, rng) => {
    const out = f.slice();
    const d = pick(rng, [-3, -2, -1, 1, 2, 3, 8]);
    new DataView(out.buffer).setBigUint64(0, BigInt(Math.max(0, headerLen(f) + d)), true);
    return out;
  },
  garbageBytes: (f, rng) => {
    const n = headerLen(f);
    const out = f.slice();
    out[8] = 0x7b; // '{' then random bytes: the JSON cannot close properly with the first key broken
    out[9] = 0x01;
    for (let i = 10; i < 8 + n; i++) out[i] = rng.nextU32() & 0xff;
    return out;
  },
  garbageJson: (f, rng) => {
    const p = split(f);
    const frags = [
      '{',
      '}',
      '[',
      ']',
      ':',
      ',',
      '"a"',
      '"dtype"',
      '"F32"',
      '1',
      '-',
      '1e999',
      'nul',
      'true',
      '"\\u12"',
      '"\\x"',
      ' ',
    ];
    let s = '{';
    const n = int(rng, 1, 40);
    for (let i = 0; i < n; i++) s += pick(rng, frags);
    return join3(enc(s), p.data);
  },
  trailing: (f, rng) => {
    const extra = Uint8Array.from({ length: int(rng, 1, 16) }, () => rng.nextU32() & 0xff);
    const out = new Uint8Array(f.length + extra.length);
    out.set(f);
    out.set(extra, f.length);
    return out;
  },
  lyingOffsets: (f, rng) =>
    withEntry(f, rng, (e) => {
      const [b, en] = e.data_offsets as [number, number];
      const choices: unknown[] = [
        [b, en + 1],
        [b + 1, en + 1],
        [en, b],
        [b - 1, en - 1],
        [0, en],
        [b, 1e20],
        [b, en, 0],
        [b],
        [b + 0.5, en],
        [String(b), en],
        { 0: b, 1: en },
        -5,
        [b, 2 ** 60],
      ];
      e.data_offsets = pick(
        rng,
        choices.filter((c) => JSON.stringify(c) !== JSON.stringify([b, en])),
      );
    }),
  lyingShape: (f, rng) =>
    withEntry(f, rng, (e) => {
      const shape = e.shape as number[];
      const choices: unknown[] = [
        [...shape, 2],
        shape.map((d) => d + 1),
        [-1],
        [0.5],
        ['2'],
        [[2]],
        [2 ** 53],
        [1e300],
        [2 ** 40, 2 ** 40, 2 ** 40],
        [0, 2 ** 53 + 2],
        'x',
        null,
        Array(100).fill(1),
      ];
      e.shape = pick(rng, choices);
    }),
  wrongDType: (f, rng) =>
    withEntry(f, rng, (e) => {
      e.dtype = pick(rng, [
        'F32',
        'F64',
        'F16',
        'I64',
        'BOOL',
        'F4',
        'F6_E2M3',
        'C64',
        'f32',
        'float32',
        'Q4',
        '',
        7,
        null,
      ]);
    }),
  missingField: (f, rng) =>
    withEntry(f, rng, (e) => {
      delete e[pick(rng, ['dtype', 'shape', 'data_offsets'])];
    }),
  entryNotObject: (f, rng) => {
    const p = split(f);
    p.header[pick(rng, tensorNames(p))] = pick(rng, WEIRD);
    return join3(enc(JSON.stringify(p.header)), p.data);
  },
  badMetadata: (f, rng) => {
    const p = split(f);
    p.header.__metadata__ = pick(rng, [{ a: 1 }, { a: null }, { a: ['x'] }, [], 'x', 3, { a: { b: 'c' } }]);
    return join3(enc(JSON.stringify(p.header)), p.data);
  },
  duplicateKey: (f, rng) => {
    const p = split(f);
    const name = pick(
      rng,
      [...tensorNames(p), '__metadata__'].filter((k) => k in p.header),
    );
    const text = JSON.stringify(p.header);
    const dup = `${JSON.stringify(name)}:${JSON.stringify(p.header[name])}`;
    return join3(enc(`{${dup},${text.slice(1)}`), p.data);
  },
  dropTensor: (f, rng) => {
    const p = split(f);
    delete p.header[pick(rng, tensorNames(p))];
    return join3(enc(JSON.stringify(p.header)), p.data);
  },
  notObject: (f, rng) =>
    join3(enc(pick(rng, ['[]', 'null', '123', '"x"', ' {}', 'true', '{}x', '{} {}'])), split(f).data),
  deepNesting: (f, rng) => {
    const depth = int(rng, 40, 100000);
    return join3(enc(`{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`), split(f).data);
  },
  invalidUtf8: (f, rng) => {
    const p = split(f);
    const text = enc(JSON.stringify(p.header));
    const bad = pick(rng, [
      [0xff],
      [0xc0, 0x80],
      [0xed, 0xa0, 0x80],
      [0xe2, 0x82],
      [0xf5, 0x80, 0x80, 0x80],
      [0x80],
    ]);
    const at = text.indexOf(0x22) + 1; // inside the first key
    const h = new Uint8Array(text.length + bad.length);
    h.set(text.subarray(0, at));
    h.set(bad, at);
    h.set(text.subarray(at), at + bad.length);
    return join3(h, p.data);
  },
  swapOffsets: (f, rng) => {
    const p = split(f);
    const names = tensorNames(p);
    const a = p.header[pick(rng, names)] as Record<string, unknown>;
    const b = p.header[pick(rng, names)] as Record<string, unknown>;
    [a.data_offsets, b.data_offsets] = [b.data_offsets, a.data_offsets];
    return join3(enc(JSON.stringify(p.header)), p.data);
  },
};

type Outcome = 'accepted' | 'rejected' | 'WRONG';

function readAllSync(bytes: Uint8Array): { outcome: Outcome; error?: unknown } {
  try {
    const f = parseSafetensors(bytes);
    for (const name of f.names()) {
      f.readRawSync(name);
      try {
        f.readTensorSync(name, { backend }).dispose();
      } catch (e) {
        if (!(e instanceof SafetensorsError)) throw e;
      }
    }
    return { outcome: 'accepted' };
  } catch (e) {
    return e instanceof SafetensorsError ? { outcome: 'rejected', error: e } : { outcome: 'WRONG', error: e };
  }
}

async function readAllFile(path: string): Promise<{ outcome: Outcome; error?: unknown }> {
  let f: SafetensorsFile | undefined;
  try {
    f = await SafetensorsFile.open(path);
    for (const name of f.names()) {
      await f.readRaw(name);
      try {
        (await f.readTensor(name, { backend })).dispose();
      } catch (e) {
        if (!(e instanceof SafetensorsError)) throw e;
      }
    }
    return { outcome: 'accepted' };
  } catch (e) {
    return e instanceof SafetensorsError ? { outcome: 'rejected', error: e } : { outcome: 'WRONG', error: e };
  } finally {
    await f?.close();
  }
}

async function bases(): Promise<Uint8Array[]> {
  const rng = new Rng(1);
  const r = (n: number) => Float32Array.from({ length: n }, () => rng.uniform() - 0.5);
  return [
    await serializeSafetensors(
      {
        'layer.0.weight': { dtype: 'float32', shape: [4, 3], data: r(12) },
        'layer.0.bias': { dtype: 'float32', shape: [3], data: r(3), storage: 'F16' },
        emb: { dtype: 'float32', shape: [2, 2], data: r(4), storage: 'BF16' },
        ids: { dtype: 'I64', shape: [3], data: BigInt64Array.from([1n, 2n ** 40n, -3n]) },
        mask: { dtype: 'bool', shape: [5], data: Uint8Array.from([1, 0, 1, 1, 0]) },
        small: { dtype: 'I8', shape: [3], data: Int8Array.from([-1, 2, -3]) },
        pos: { dtype: 'int32', shape: [2], data: Int32Array.from([7, 8]) },
      },
      { format: 'pt' },
    ),
    await serializeSafetensors({
      a: { dtype: 'F64', shape: [2], data: Float64Array.from([1, 2]) },
      b: { dtype: 'U8', shape: [1, 1], data: Uint8Array.from([9]) },
      c: { dtype: 'float32', shape: [], data: Float32Array.from([3]) },
    }),
  ];
}

describe('fuzz: corrupted files end in SafetensorsError or a valid read', () => {
  it('600 seeded corruptions, in memory and (every 4th) through a file handle', {
    timeout: 120_000,
  }, async () => {
    const base = await bases();
    for (const b of base) expect(readAllSync(b).outcome).toBe('accepted');
    const rng = new Rng(20240611);
    const names = Object.keys(MUTATORS);
    const stats: Record<string, { accepted: number; rejected: number }> = {};
    const problems = new Map<string, number>();
    const wrong: string[] = [];
    const cases = 600;
    let fileCases = 0;
    for (let c = 0; c < cases; c++) {
      const m = names[c % names.length];
      const file = MUTATORS[m](pick(rng, base), rng);
      const t0 = performance.now();
      const res = readAllSync(file);
      const ms = performance.now() - t0;
      if (ms > 2000) wrong.push(`case ${c} (${m}) took ${ms.toFixed(0)} ms`);
      stats[m] ??= { accepted: 0, rejected: 0 };
      const s = stats[m];
      if (res.outcome === 'WRONG') wrong.push(`case ${c} (${m}): ${String(res.error)}`);
      else s[res.outcome]++;
      if (res.outcome === 'accepted' && ALWAYS_BAD.has(m)) wrong.push(`case ${c} (${m}) was accepted`);
      if (res.error instanceof SafetensorsError) {
        const key = res.error.problem
          .replace(/[0-9]+/g, 'N')
          .replace(/\[.*?\]|'.*?'|".*?"/g, '…')
          .slice(0, 50);
        problems.set(key, (problems.get(key) ?? 0) + 1);
        if (res.error.offset !== undefined && (res.error.offset < 0 || res.error.offset > file.length)) {
          wrong.push(`case ${c} (${m}): offset ${res.error.offset} outside the file`);
        }
      }
      if (c % 4 === 0) {
        fileCases++;
        const p = join(dir, `case-${c}.safetensors`);
        await writeFile(p, file);
        const fr = await readAllFile(p);
        if (fr.outcome === 'WRONG') wrong.push(`case ${c} (${m}) from file: ${String(fr.error)}`);
        else if (fr.outcome !== res.outcome)
          wrong.push(`case ${c} (${m}): file says ${fr.outcome}, memory ${res.outcome}`);
        await rm(p);
      }
    }
    const total = Object.values(stats).reduce((a, s) => a + s.accepted + s.rejected, 0);
    const rejected = Object.values(stats).reduce((a, s) => a + s.rejected, 0);
    console.log(
      `fuzz: ${total} cases (${fileCases} also from disk), ${rejected} rejected, ${total - rejected} accepted\n` +
        Object.entries(stats)
          .map(([m, s]) => `  ${m.padEnd(15)} rejected ${s.rejected}, accepted ${s.accepted}`)
          .join('\n') +
        `\n  ${problems.size} distinct problems: ${[...problems.entries()]
          .sort((a, b) => b[1] - a[1])
          .map(([k, n]) => `${n}× ${k}`)
          .join(' | ')}`,
    );
    expect(wrong).toEqual([]);
    expect(total).toBe(cases);
    expect(rejected).toBeGreaterThan(cases * 0.7);
    expect(stats.dataBitFlip.accepted).toBeGreaterThan(0);
  });
});
