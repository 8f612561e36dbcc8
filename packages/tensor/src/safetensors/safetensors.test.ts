import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../backend.js';
import { DTYPES, type TypedArray } from '../dtype.js';
import { SeaError } from '../errors.js';
import { tensor } from '../ops.js';
import { Rng } from '../random.js';
import {
  parseSafetensors,
  SafetensorsError,
  SafetensorsFile,
  serializeSafetensors,
  writeSafetensors,
} from './index.js';

/** A minimal host-memory backend (upload/read only), enough to build and read Tensors. */
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
  dir = await mkdtemp(join(tmpdir(), 'sea-safetensors-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** IEEE binary16 → number from the format's definition (written independently of dtype.ts). */
function halfRef(h: number): number {
  const s = h >> 15 ? -1 : 1;
  const e = (h >> 10) & 31;
  const m = h & 1023;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * 2 ** (e - 15) * (1 + m / 1024);
}

/** bfloat16 → number from the definition (top 16 bits of a float32). */
function bf16Ref(h: number): number {
  const dv = new DataView(new ArrayBuffer(4));
  dv.setUint32(0, h << 16);
  return dv.getFloat32(0);
}

describe('hand-built fixture (independent of the writer)', () => {
  // Laid out byte by byte from the format description: u64 LE header length, JSON, buffer.
  const json =
    '{"__metadata__":{"format":"pt"},' +
    '"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
    '"b":{"dtype":"F16","shape":[2],"data_offsets":[8,12]},' +
    '"c":{"dtype":"BF16","shape":[1,1],"data_offsets":[12,14]},' +
    '"d":{"dtype":"BOOL","shape":[2],"data_offsets":[14,16]},' +
    '"e":{"dtype":"I64","shape":[],"data_offsets":[16,24]},' +
    '"f":{"dtype":"I8","shape":[0,3],"data_offsets":[24,24]},' +
    '"g":{"dtype":"U8","shape":[1],"data_offsets":[24,25]}}';
  const n = json.length;
  const data = [
    ...[0x00, 0x00, 0x80, 0x3f], // F32 1.0
    ...[0x00, 0x00, 0x20, 0xc0], // F32 -2.5
    ...[0x00, 0x3c], // F16 1.0
    ...[0xff, 0x7b], // F16 65504 (largest half)
    ...[0x80, 0xbf], // BF16 -1.0
    ...[0x01, 0x00], // BOOL true, false
    ...[0x05, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00], // I64 2^40 + 5
    ...[0xfe], // U8 254
  ];
  const bytes = new Uint8Array([
    n & 0xff,
    (n >> 8) & 0xff,
    0,
    0,
    0,
    0,
    0,
    0,
    ...Array.from(json, (ch) => ch.charCodeAt(0)),
    ...data,
  ]);

  it('reads names, metadata, infos and values', async () => {
    const f = parseSafetensors(bytes);
    expect(f.names()).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    expect({ ...f.metadata }).toEqual({ format: 'pt' });
    expect(f.info('c')).toMatchObject({
      dtype: 'BF16',
      shape: [1, 1],
      dataOffsets: [12, 14],
      fileOffset: 8 + n + 12,
    });
    expect([...(f.readRawSync('a').array as Float32Array)]).toEqual([1, -2.5]);
    expect([...(f.readRawSync('b').array as Uint16Array)]).toEqual([0x3c00, 0x7bff]);
    expect((f.readRawSync('e').array as BigInt64Array)[0]).toBe(2n ** 40n + 5n);
    expect([...f.readRawSync('d').bytes]).toEqual([1, 0]);
    expect(f.readRawSync('f').shape).toEqual([0, 3]);

    expect(await f.readTensorSync('b', { backend }).data()).toEqual(new Float32Array([1, 65504]));
    expect(await f.readTensorSync('c', { backend }).data()).toEqual(new Float32Array([-1]));
    const d = f.readTensorSync('d', { backend });
    expect(d.dtype).toBe('bool');
    expect(await d.data()).toEqual(new Uint8Array([1, 0]));
    const g = f.readTensorSync('g', { backend });
    expect(g.dtype).toBe('int32');
    expect(await g.data()).toEqual(new Int32Array([254]));
    expect(() => f.readTensorSync('e', { backend })).toThrowError(/tensor 'e'.*does not fit in int32/);
    expect(await f.readTensorSync('e', { backend, dtype: 'float64' }).data()).toEqual(
      new Float64Array([2 ** 40 + 5]),
    );
  });

  it('reads the same through a file handle', async () => {
    const p = join(dir, 'fixture.safetensors');
    await writeFile(p, bytes);
    const f = await SafetensorsFile.open(p);
    try {
      expect(f.names()).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
      expect([...(await f.readRaw('a')).bytes]).toEqual(data.slice(0, 8));
      expect(await (await f.readTensor('a', { backend })).data()).toEqual(new Float32Array([1, -2.5]));
      await expect(f.readRaw('nope')).rejects.toThrowError(SafetensorsError);
    } finally {
      await f.close();
    }
  });
});

describe('round trip of every dtype', () => {
  const rng = new Rng(7);
  const u32 = () => rng.nextU32();

  it('is exact, bit for bit, through a file', async () => {
    const allHalf = new Uint16Array(65536).map((_, i) => i);
    const i64 = BigInt64Array.from([
      0n,
      1n,
      -1n,
      2n ** 31n,
      -(2n ** 31n) - 1n,
      2n ** 62n + 12345n,
      -(2n ** 63n),
      2n ** 63n - 1n,
    ]);
    const u64 = BigUint64Array.from([0n, 2n ** 64n - 1n, 2n ** 40n]);
    const f64 = Float64Array.from({ length: 50 }, () => (u32() - 2 ** 31) * Math.PI * 1e-3);
    f64.set([Number.NaN, -0, Number.POSITIVE_INFINITY, Number.MIN_VALUE, Number.MAX_VALUE], 0);
    const f32 = Float32Array.from({ length: 37 }, () => (u32() - 2 ** 31) / 7);
    const i32 = Int32Array.from({ length: 30 }, () => u32() | 0);
    i32.set([-2147483648, 2147483647], 0);
    const i16 = Int16Array.from({ length: 21 }, () => (u32() & 0xffff) - 32768);
    const i8 = Int8Array.from({ length: 19 }, () => (u32() & 0xff) - 128);
    const u32a = Uint32Array.from({ length: 9 }, () => u32());
    const u16 = Uint16Array.from({ length: 9 }, () => u32() & 0xffff);
    const u8 = Uint8Array.from({ length: 256 }, (_, i) => i);
    const bool = Uint8Array.from({ length: 33 }, () => u32() & 1);
    const f8 = Uint8Array.from({ length: 4 }, () => u32() & 0xff);
    const src = {
      f64: { dtype: 'F64', shape: [5, 10], data: f64 },
      f32: { dtype: 'float32', shape: [37], data: f32 },
      f16: { dtype: 'F16', shape: [256, 256], data: allHalf },
      bf16: { dtype: 'BF16', shape: [65536], data: allHalf },
      i64: { dtype: 'I64', shape: [2, 4], data: i64 },
      u64: { dtype: 'U64', shape: [3], data: u64 },
      i32: { dtype: 'int32', shape: [3, 10], data: i32 },
      u32: { dtype: 'U32', shape: [9], data: u32a },
      i16: { dtype: 'I16', shape: [21], data: i16 },
      u16: { dtype: 'U16', shape: [9], data: u16 },
      i8: { dtype: 'I8', shape: [19, 1], data: i8 },
      u8: { dtype: 'U8', shape: [256], data: u8 },
      bool: { dtype: 'bool', shape: [3, 11], data: bool },
      f8: { dtype: 'F8_E4M3', shape: [4], data: f8 },
      scalar: { dtype: 'float32', shape: [], data: new Float32Array([42]) },
      empty: { dtype: 'float32', shape: [0, 5], data: new Float32Array(0) },
    } as const;
    const p = join(dir, 'all.safetensors');
    await writeSafetensors(p, src, { format: 'pt', note: 'ünïcode ✓' });
    const f = await SafetensorsFile.open(p);
    try {
      expect({ ...f.metadata }).toEqual({ format: 'pt', note: 'ünïcode ✓' });
      expect(f.names()).toEqual(Object.keys(src).sort());
      const want: Record<string, string> = {
        f64: 'F64',
        f32: 'F32',
        f16: 'F16',
        bf16: 'BF16',
        i64: 'I64',
        u64: 'U64',
        i32: 'I32',
        u32: 'U32',
        i16: 'I16',
        u16: 'U16',
        i8: 'I8',
        u8: 'U8',
        bool: 'BOOL',
        f8: 'F8_E4M3',
        scalar: 'F32',
        empty: 'F32',
      };
      for (const [name, entry] of Object.entries(src)) {
        const raw = await f.readRaw(name);
        expect(raw.dtype, name).toBe(want[name]);
        expect(raw.shape, name).toEqual(entry.shape);
        const d = entry.data as ArrayBufferView;
        expect(raw.bytes, name).toEqual(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
        if (name !== 'f8') expect(raw.array, name).toEqual(entry.data);
        // every tensor is aligned to its element size in the buffer
        const size = raw.array ? raw.array.BYTES_PER_ELEMENT : 1;
        expect(f.info(name).fileOffset % size, name).toBe(0);
      }
      // sea conversions against the format definitions
      const f16 = (await (await f.readTensor('f16', { backend })).data()) as Float32Array;
      const bf = (await (await f.readTensor('bf16', { backend })).data()) as Float32Array;
      const same = (a: number, b: number) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));
      const badHalf: number[] = [];
      for (let h = 0; h < 65536; h++) {
        if (!same(f16[h], Math.fround(halfRef(h))) || !same(bf[h], bf16Ref(h))) badHalf.push(h);
      }
      expect(badHalf).toEqual([]);
      const t64 = await f.readTensor('f64', { backend });
      expect(t64.dtype).toBe('float32');
      expect(await t64.data()).toEqual(Float32Array.from(f64));
      expect(await (await f.readTensor('f64', { backend, dtype: 'float64' })).data()).toEqual(f64);
      expect(await (await f.readTensor('i16', { backend })).data()).toEqual(Int32Array.from(i16));
      expect(await (await f.readTensor('i8', { backend })).data()).toEqual(Int32Array.from(i8));
      expect(await (await f.readTensor('u8', { backend })).data()).toEqual(Int32Array.from(u8));
      expect(await (await f.readTensor('bool', { backend })).data()).toEqual(bool);
      await expect(f.readTensor('i64', { backend })).rejects.toThrowError(
        /tensor 'i64'.*does not fit in int32/,
      );
      await expect(f.readTensor('f8', { backend })).rejects.toThrowError(/F8_E4M3 is not supported/);
      await expect(f.readTensor('f32', { backend, dtype: 'int32' })).rejects.toThrowError(SafetensorsError);
      const small = await f.readTensor('scalar', { backend });
      expect(small.shape).toEqual([]);
      expect(await small.data()).toEqual(new Float32Array([42]));
    } finally {
      await f.close();
    }
  });

  it('header is padded with spaces to 8-byte alignment, names sorted, __metadata__ first', async () => {
    const bytes = await serializeSafetensors(
      {
        zeta: { dtype: 'float32', shape: [1], data: new Float32Array([1]) },
        alpha: { dtype: 'int32', shape: [1], data: new Int32Array([2]) },
      },
      { k: 'v' },
    );
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(text.trimEnd()).toBe(
      '{"__metadata__":{"k":"v"},"alpha":{"dtype":"I32","shape":[1],"data_offsets":[0,4]},"zeta":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
    );
    expect(/^ *$/.test(text.slice(text.trimEnd().length))).toBe(true);
  });

  it('writes float32 as F16/BF16 with round-to-nearest-even, and narrows integers with range checks', async () => {
    const x = new Float32Array([
      1 / 3,
      65520,
      3 * 2 ** -25,
      2 ** -26,
      -0,
      Number.NaN,
      1 + 2 ** -11,
      1 + 3 * 2 ** -11,
      1e6,
    ]);
    // expected bits from the IEEE definitions (NumPy gives the same)
    const f16 = [0x3555, 0x7c00, 0x0002, 0x0000, 0x8000, null, 0x3c00, 0x3c02, 0x7c00];
    const xb = new Float32Array([1 / 3, 1 + 2 ** -8, 1 + 3 * 2 ** -8, -1.5, Number.POSITIVE_INFINITY]);
    const bf16 = [0x3eab, 0x3f80, 0x3f82, 0xbfc0, 0x7f80];
    const ints = new Int32Array([-128, 0, 127]);
    const bytes = await serializeSafetensors(
      {
        h: { dtype: 'float32', shape: [9], data: x, storage: 'F16' },
        b: { dtype: 'float32', shape: [5], data: xb },
        t: tensor(new Float64Array([0.1, -2]), [2], { backend }),
        i: { dtype: 'int32', shape: [3], data: ints },
        j: { dtype: 'int32', shape: [3], data: ints },
      },
      undefined,
      { storage: { b: 'BF16', t: 'F32', i: 'I8', j: 'I64' } },
    );
    const f = parseSafetensors(bytes);
    const h = f.readRawSync('h').array as Uint16Array;
    f16.forEach((bits, k) => {
      if (bits === null) expect((h[k] & 0x7c00) === 0x7c00 && (h[k] & 0x3ff) !== 0).toBe(true);
      else expect(h[k], `f16 ${k}`).toBe(bits);
    });
    expect([...(f.readRawSync('b').array as Uint16Array)]).toEqual(bf16);
    expect(f.readRawSync('t').dtype).toBe('F32');
    expect(f.readRawSync('t').array).toEqual(new Float32Array([0.1, -2]));
    expect(f.readRawSync('i').array).toEqual(new Int8Array([-128, 0, 127]));
    expect(f.readRawSync('j').array).toEqual(new BigInt64Array([-128n, 0n, 127n]));
    await expect(
      serializeSafetensors({ i: { dtype: 'int32', shape: [1], data: new Int32Array([128]), storage: 'I8' } }),
    ).rejects.toThrowError(/tensor 'i'.*128.*does not fit in I8/);
    await expect(
      serializeSafetensors({
        x: { dtype: 'float32', shape: [1], data: new Float32Array([1]), storage: 'I32' },
      }),
    ).rejects.toThrowError(/floats are not converted/);
  });

  it('rejects bad entries with SafetensorsError', async () => {
    const bad: unknown[] = [
      { a: { dtype: 'float32', shape: [3], data: new Float32Array(2) } },
      { a: { dtype: 'float32', shape: [2], data: new Int32Array(2) } },
      { a: { dtype: 'F17', shape: [2], data: new Int32Array(2) } },
      { a: { dtype: 'float32', shape: [-1], data: new Float32Array(0) } },
      { __metadata__: { dtype: 'float32', shape: [1], data: new Float32Array(1) } },
      { a: { dtype: 'bool', shape: [1], data: new Uint8Array([2]) } },
      { a: 5 },
      { '\ud800': { dtype: 'float32', shape: [1], data: new Float32Array(1) } },
    ];
    for (const b of bad) {
      await expect(serializeSafetensors(b as never)).rejects.toThrowError(SafetensorsError);
    }
    await expect(serializeSafetensors({}, { k: 1 } as never)).rejects.toThrowError(SafetensorsError);
    const t = tensor([1, 2], [2], { backend });
    t.dispose();
    await expect(serializeSafetensors({ t })).rejects.toThrowError(/disposed/);
  });

  it('an empty file (no tensors) round-trips', async () => {
    const f = parseSafetensors(await serializeSafetensors({}));
    expect(f.names()).toEqual([]);
  });
});

describe('atomic write', () => {
  const good = { w: { dtype: 'float32' as const, shape: [2], data: new Float32Array([1, 2]) } };

  async function leftovers(): Promise<string[]> {
    return (await readdir(dir)).filter((n) => n.endsWith('.tmp'));
  }

  it('replaces the file and leaves no temp file', async () => {
    const p = join(dir, 'atomic.safetensors');
    await writeSafetensors(p, good);
    await writeSafetensors(p, { w: { dtype: 'float32', shape: [1], data: new Float32Array([5]) } });
    const f = parseSafetensors(new Uint8Array(await readFile(p)));
    expect(f.readRawSync('w').array).toEqual(new Float32Array([5]));
    expect(await leftovers()).toEqual([]);
  });

  it('keeps the old file intact when validation fails before writing', async () => {
    const p = join(dir, 'atomic2.safetensors');
    await writeSafetensors(p, good);
    const before = await readFile(p);
    await expect(
      writeSafetensors(p, { w: { dtype: 'float32', shape: [5], data: new Float32Array(2) } }),
    ).rejects.toThrowError(SafetensorsError);
    expect(await readFile(p)).toEqual(before);
    expect(await leftovers()).toEqual([]);
  });

  it('removes the temp file when encoding fails mid-write', async () => {
    const p = join(dir, 'atomic3.safetensors');
    await writeSafetensors(p, good);
    const before = await readFile(p);
    // 'a' (F32, written first) is fine; 'z' fails its range check after the header and 'a' are written
    const err = await writeSafetensors(p, {
      a: { dtype: 'float32', shape: [1000], data: new Float32Array(1000) },
      z: { dtype: 'int32', shape: [2], data: new Int32Array([1, 300]), storage: 'U8' },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SafetensorsError);
    expect((err as SafetensorsError).tensor).toBe('z');
    expect(await readFile(p)).toEqual(before);
    expect(await leftovers()).toEqual([]);
  });

  it('fails with SafetensorsError into a missing folder', async () => {
    const err = await writeSafetensors(join(dir, 'no', 'such', 'x.safetensors'), good).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SafetensorsError);
    expect(err).toBeInstanceOf(SeaError);
  });
});
