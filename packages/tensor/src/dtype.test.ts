import { describe, expect, it } from 'vitest';
import {
  allocArray,
  assertDType,
  bf16BitsToNumber,
  bytesPerElement,
  dtypeOfArray,
  f16BitsToNumber,
  halfBitsToFloat32,
  isFloat,
  isHalf,
  numbersToHalfBits,
  numberToBf16Bits,
  numberToF16Bits,
  roundToDType,
  toTypedArray,
  unitRoundoff,
} from './dtype.js';
import { DTypeError } from './errors.js';
import { Rng } from './random.js';

const isF16NaN = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
const isBf16NaN = (h: number) => (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;

/**
 * Nearest representable value by search over every finite value of the format (sorted), ties to
 * the even bit pattern; beyond the largest finite value by half an ulp or more: ∞. `ulpTop` is
 * the spacing just under the overflow threshold.
 */
function nearestBits(x: number, decode: (h: number) => number, finiteMax: number, ulpTop: number): number {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  const infBits = decode === f16BitsToNumber ? 0x7c00 : 0x7f80;
  if (a >= decode(finiteMax) + ulpTop / 2) return sign | infBits;
  let lo = 0;
  let hi = finiteMax;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (decode(mid) <= a) lo = mid;
    else hi = mid;
  }
  if (decode(hi) <= a) lo = hi;
  const up = Math.min(lo + 1, finiteMax);
  const dLo = a - decode(lo);
  const dUp = decode(up) - a;
  let best = lo;
  if (up !== lo && (dUp < dLo || (dUp === dLo && (up & 1) === 0))) best = up;
  return sign | best;
}

describe('dtype basics', () => {
  it('sizes, float-ness and validation', () => {
    expect(
      ['float32', 'float64', 'float16', 'bfloat16', 'int32', 'bool'].map((d) => bytesPerElement(d as never)),
    ).toEqual([4, 8, 2, 2, 4, 1]);
    expect(isFloat('float64')).toBe(true);
    expect(isFloat('bfloat16')).toBe(true);
    expect(isFloat('float16')).toBe(true);
    expect(isFloat('int32')).toBe(false);
    expect(() => assertDType('float16')).not.toThrow();
    expect(() => assertDType('half')).toThrow(DTypeError);
    expect(() => assertDType('half')).toThrow(
      "unknown dtype 'half'; expected one of float32, float64, float16, bfloat16, int32, bool",
    );
  });

  it('16-bit storage: bit patterns in a Uint16Array, float32 values back', () => {
    expect(allocArray('bfloat16', 3)).toBeInstanceOf(Uint16Array);
    expect(allocArray('float16', 3)).toBeInstanceOf(Uint16Array);
    // 1 + 2^-8 is a bfloat16 tie between 1 and 1 + 2^-7: to even (1); 1 + 3·2^-9 rounds up
    const bits = toTypedArray([1, 1 + 2 ** -8, 1 + 3 * 2 ** -9, -2.5, 65520], 'bfloat16') as Uint16Array;
    expect([...bits]).toEqual([0x3f80, 0x3f80, 0x3f81, 0xc020, 0x4780]);
    expect([...halfBitsToFloat32(bits, 'bfloat16')]).toEqual([1, 1, 1 + 2 ** -7, -2.5, 65536]);
    // float16: 65520 is the overflow threshold (to ∞), 2^-25 the smallest value rounding up to 2^-24
    const h = toTypedArray([1, 65504, 65520, 2 ** -25 * 1.5, -0.333251953125], 'float16') as Uint16Array;
    expect([...halfBitsToFloat32(h, 'float16')]).toEqual([1, 65504, Infinity, 2 ** -24, -0.333251953125]);
    expect(roundToDType(1 + 2 ** -11, 'float16')).toBe(1);
    expect(roundToDType(1 + 3 * 2 ** -12, 'float16')).toBe(1 + 2 ** -10);
    expect(
      [...numbersToHalfBits([Number.NaN], 'float16')].map(
        (x) => (x & 0x7c00) === 0x7c00 && (x & 0x3ff) !== 0,
      ),
    ).toEqual([true]);
    expect(() => dtypeOfArray(new Uint16Array(2))).toThrow(/name the dtype/);
    expect(unitRoundoff('bfloat16')).toBe(2 ** -8);
    expect(isHalf('float32')).toBe(false);
  });

  it('arrays of each dtype', () => {
    expect(allocArray('bool', 3)).toBeInstanceOf(Uint8Array);
    expect(dtypeOfArray(allocArray('float64', 1))).toBe('float64');
    expect(dtypeOfArray(new Int32Array(1))).toBe('int32');
    expect([...toTypedArray([true, false, true], 'bool')]).toEqual([1, 0, 1]);
    expect([...toTypedArray([2.7, -2.7, 0.5], 'int32')]).toEqual([2, -2, 0]);
    expect([...toTypedArray([0.1], 'float32')]).toEqual([Math.fround(0.1)]);
    expect([...toTypedArray([3, 0, -1e-9], 'bool')]).toEqual([1, 0, 1]);
  });
});

describe('float16', () => {
  it('decodes known bit patterns exactly', () => {
    const cases: [number, number][] = [
      [0x3c00, 1],
      [0xc000, -2],
      [0x7bff, 65504],
      [0x0001, 2 ** -24],
      [0x03ff, 1023 * 2 ** -24],
      [0x0400, 2 ** -14],
      [0x3555, 0.333251953125],
      [0x7c00, Number.POSITIVE_INFINITY],
      [0xfc00, Number.NEGATIVE_INFINITY],
    ];
    for (const [h, v] of cases) expect(f16BitsToNumber(h)).toBe(v);
    expect(Object.is(f16BitsToNumber(0x8000), -0)).toBe(true);
    expect(f16BitsToNumber(0x7e00)).toBeNaN();
  });

  it('every bit pattern round-trips (NaN stays NaN)', () => {
    for (let h = 0; h < 0x10000; h++) {
      const back = numberToF16Bits(f16BitsToNumber(h));
      if (isF16NaN(h)) expect(isF16NaN(back)).toBe(true);
      else if (back !== h) expect(back.toString(16)).toBe(h.toString(16));
    }
  });

  it('rounds to nearest, ties to even', () => {
    expect(numberToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie, even below
    expect(numberToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie, even above
    expect(numberToF16Bits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01); // past the tie
    expect(numberToF16Bits(65519)).toBe(0x7bff);
    expect(numberToF16Bits(65520)).toBe(0x7c00); // tie with the next binade: overflow
    expect(numberToF16Bits(2 ** -25)).toBe(0x0000); // subnormal tie to even (0)
    expect(numberToF16Bits(3 * 2 ** -25)).toBe(0x0002);
    expect(numberToF16Bits(2 ** -25 + 2 ** -35)).toBe(0x0001);
    expect(numberToF16Bits(-1e6)).toBe(0xfc00);
    expect(numberToF16Bits(-1e-10)).toBe(0x8000);
  });

  it('matches a nearest-value search on random float32 values', () => {
    const rng = new Rng(16);
    for (let i = 0; i < 4000; i++) {
      const x = Math.fround((rng.uniform() - 0.5) * 2 ** (rng.int(40) - 28));
      const want = nearestBits(x, f16BitsToNumber, 0x7bff, 32);
      expect(numberToF16Bits(x), `x = ${x}`).toBe(want);
    }
  });
});

describe('bfloat16', () => {
  it('decodes known bit patterns exactly', () => {
    expect(bf16BitsToNumber(0x3f80)).toBe(1);
    expect(bf16BitsToNumber(0xc040)).toBe(-3);
    expect(bf16BitsToNumber(0x7f80)).toBe(Number.POSITIVE_INFINITY);
    expect(bf16BitsToNumber(0x0001)).toBe(2 ** -133);
    expect(bf16BitsToNumber(0x7f7f)).toBe(Math.fround(3.3895313892515355e38));
  });

  it('every bit pattern round-trips (NaN stays NaN)', () => {
    for (let h = 0; h < 0x10000; h++) {
      const back = numberToBf16Bits(bf16BitsToNumber(h));
      if (isBf16NaN(h)) expect(isBf16NaN(back)).toBe(true);
      else if (back !== h) expect(back.toString(16)).toBe(h.toString(16));
    }
  });

  it('rounds to nearest, ties to even', () => {
    expect(numberToBf16Bits(1 + 2 ** -8)).toBe(0x3f80);
    expect(numberToBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(numberToBf16Bits(1 + 2 ** -8 + 2 ** -20)).toBe(0x3f81);
    expect(numberToBf16Bits(-(1 + 2 ** -8))).toBe(0xbf80);
    expect(numberToBf16Bits(3.4028234663852886e38)).toBe(0x7f80); // float32 max rounds up to ∞
  });

  it('matches a nearest-value search on random float32 values', () => {
    const rng = new Rng(17);
    for (let i = 0; i < 4000; i++) {
      const x = Math.fround((rng.uniform() - 0.5) * 2 ** (rng.int(200) - 100));
      const want = nearestBits(x, bf16BitsToNumber, 0x7f7f, 2 ** (127 - 7));
      expect(numberToBf16Bits(x), `x = ${x}`).toBe(want);
    }
  });
});
