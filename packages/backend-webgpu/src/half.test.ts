/**
 * 16-bit storage: float32 → float16/bfloat16 on the GPU rounds to nearest even (checked against
 * the definition: the nearest representable value, ties to the even significand; overflow to ±∞;
 * NaN stays NaN), 16-bit → float32 is exact for every bit pattern, and packed stores from
 * neighbouring threads and across binding chunks never lose each other's halves. Each check runs
 * on the packed path (every adapter) and on the shader-f16 path where the device offers it.
 */
import type { DType, TensorInfo } from '@sea/tensor';
import { bf16BitsToNumber, f16BitsToNumber } from '@sea/tensor/backend';
import { afterAll, describe, expect, it } from 'vitest';
import { rand, tryBackend } from '../test/setup.js';
import type { WebGpuBackend } from './webgpu_backend.js';

const F16: DType = 'float16';
const BF16: DType = 'bfloat16';

const packed = (await tryBackend({ float16: 'packed' })).backend;
const hasF16 = !!packed?.summary.features.includes('shader-f16');
const native = hasF16 ? (await tryBackend({ float16: 'native' })).backend : null;
const packedSmall = packed
  ? (await tryBackend({ float16: 'packed', maxBindingBytes: 64 * 1024 })).backend
  : null;
afterAll(() => {
  packed?.destroy();
  native?.destroy();
  packedSmall?.destroy();
});

/** Bits of the 16-bit value nearest to x (ties to even significand), by search over the format. */
function nearestBits(
  x: number,
  decode: (h: number) => number,
  maxFiniteBits: number,
  infBits: number,
): number {
  if (Number.isNaN(x)) return -1;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  // Binary search over the positive finite patterns (monotone in their value).
  let lo = 0;
  let hi = maxFiniteBits;
  if (a >= decode(maxFiniteBits)) {
    // Past the largest finite value: it rounds to ∞ from half an ulp above.
    const ulp = decode(maxFiniteBits) - decode(maxFiniteBits - 1);
    return sign | (a >= decode(maxFiniteBits) + ulp / 2 ? infBits : maxFiniteBits);
  }
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (decode(mid) <= a) lo = mid;
    else hi = mid;
  }
  const dl = a - decode(lo);
  const dh = decode(hi) - a;
  const pick = dl < dh ? lo : dh < dl ? hi : lo % 2 === 0 ? lo : hi;
  return sign | pick;
}

async function bitsOf(b: WebGpuBackend, t: TensorInfo, n: number): Promise<Uint16Array> {
  const v = await b.read(t.dataId, t.dtype, n);
  if (v instanceof Uint16Array) return v;
  throw new Error(`expected the bits of ${t.dtype} as a Uint16Array, got ${v.constructor.name}`);
}

function edgeValues(dtype: DType): Float32Array {
  const out: number[] = [0, -0, 1, -1, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN];
  const decode = dtype === F16 ? f16BitsToNumber : bf16BitsToNumber;
  // Midpoints between neighbours (ties), and values just off them, over the whole range.
  for (let h = 0; h < 0x7c00; h += dtype === F16 ? 37 : 53) {
    const a = decode(h);
    const c = decode(h + 1);
    if (!Number.isFinite(c)) break;
    const m = (a + c) / 2;
    out.push(m, -m, Math.fround(m * (1 + 2 ** -20)), Math.fround(m * (1 - 2 ** -20)));
  }
  if (dtype === F16)
    out.push(65504, 65519, 65520, 65536, 1e6, 2 ** -24, 2 ** -25, 2 ** -26, 3 * 2 ** -25, 5.96e-8);
  else out.push(3.4e38, 3.3895313892515355e38, 1e-40);
  return Float32Array.from(out);
}

const cases: [string, () => WebGpuBackend | null][] = [
  ['packed', () => packed],
  ['shader-f16', () => native],
];

describe.each(cases)('16-bit storage (%s)', (mode, get) => {
  const b = get();
  const run = b ? it : it.skip;
  for (const dtype of [F16, BF16]) {
    const name = dtype === F16 ? 'float16' : 'bfloat16';
    run(`${name}: float32 → ${name} on the GPU rounds to nearest even`, async () => {
      const g = b as WebGpuBackend;
      const vals = new Float32Array([...edgeValues(dtype), ...rand(999, 7, 3)]);
      const x = { dataId: g.upload(vals, 'float32'), shape: [vals.length], dtype: 'float32' as DType };
      const y = g.cast(x, dtype);
      const got = await bitsOf(g, y, vals.length);
      const decode = dtype === F16 ? f16BitsToNumber : bf16BitsToNumber;
      const [maxF, inf] = dtype === F16 ? [0x7bff, 0x7c00] : [0x7f7f, 0x7f80];
      let bad = 0;
      let first = '';
      for (let i = 0; i < vals.length; i++) {
        const want = nearestBits(vals[i], decode, maxF, inf);
        const ok = want < 0 ? Number.isNaN(decode(got[i])) : got[i] === want;
        if (!ok && bad++ === 0) first = `${vals[i]} → 0x${got[i].toString(16)}, want 0x${want.toString(16)}`;
      }
      g.free(x.dataId);
      g.free(y.dataId);
      expect(bad, `${bad} of ${vals.length} wrong (${mode}); first ${first}`).toBe(0);
    });
    run(`${name} → float32 is exact for every bit pattern`, async () => {
      const g = b as WebGpuBackend;
      const bits = new Uint16Array(65536).map((_, i) => i);
      const x = { dataId: g.upload(bits, dtype), shape: [65536], dtype };
      const y = g.cast(x, 'float32');
      const got = (await g.read(y.dataId, 'float32', 65536)) as Float32Array;
      const decode = dtype === F16 ? f16BitsToNumber : bf16BitsToNumber;
      let bad = 0;
      let first = '';
      for (let h = 0; h < 65536; h++) {
        const w = decode(h);
        const ok = Number.isNaN(w) ? Number.isNaN(got[h]) : Object.is(got[h], w);
        if (!ok && bad++ === 0) first = `0x${h.toString(16)} → ${got[h]}, want ${w}`;
      }
      g.free(x.dataId);
      g.free(y.dataId);
      expect(bad, `${bad} patterns wrong (${mode}); first ${first}`).toBe(0);
    });
  }
});

describe('packed 16-bit stores', () => {
  const run = packedSmall ? it : it.skip;
  run('single-element stores into shared words, across binding chunks, odd sizes', async () => {
    const g = packedSmall as WebGpuBackend;
    expect(g.chunkElems).toBe(16384);
    // transpose writes one element per thread: neighbours share words; 3 chunks, odd count.
    const [R, C] = [211, 263];
    const vals = rand(R * C, 3);
    const bits = Uint16Array.from(vals, (v) => Math.round(Math.abs(v) * 1000) + 1024);
    for (const dtype of [F16, BF16]) {
      const x = { dataId: g.upload(bits, dtype), shape: [R, C], dtype };
      const y = g.transpose(x, [1, 0]);
      expect(g.data(y).chunks.length).toBe(Math.ceil((R * C) / 16384));
      const got = await bitsOf(g, y, R * C);
      let bad = 0;
      for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) if (got[c * R + r] !== bits[r * C + c]) bad++;
      expect(bad).toBe(0);
      g.free(x.dataId);
      g.free(y.dataId);
    }
  });
});
