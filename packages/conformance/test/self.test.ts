/**
 * The suite's own pieces: its float64 definitions against published values (glibc's erf, A&S
 * table 7.1; PyTorch's documented rounding), and its assertions failing when they must.
 */
import { describe, expect, it } from 'vitest';
import { assertClose, assertEqual, assertThrows } from '../src/check.js';
import { cellStart, erf, geluErf, geluTanh, roundHalfEven, sigmoid } from '../src/reference.js';

describe('float64 references', () => {
  it('erf matches tabulated values on both branches of its definition', () => {
    const table: [number, number][] = [
      [0, 0],
      [0.1, 0.1124629160182849],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [-1.5, -0.9661051464753108],
      [2, 0.9953222650189527],
      [2.999, 0.9999777698314002],
      [3, 0.9999779095030014],
      [4, 0.9999999845827421],
      [-5, -0.9999999999984626],
    ];
    for (const [x, want] of table) expect(Math.abs(erf(x) - want)).toBeLessThan(2e-15);
    expect(erf(30)).toBe(1);
    expect(Number.isNaN(erf(Number.NaN))).toBe(true);
  });

  it('GELU in both forms and the sigmoid at known points', () => {
    expect(geluErf(1)).toBeCloseTo(0.8413447460685429, 14);
    expect(geluErf(-1)).toBeCloseTo(-0.15865525393145707, 14);
    expect(geluTanh(1)).toBeCloseTo(0.8411919906082768, 14);
    expect(sigmoid(0)).toBe(0.5);
    expect(sigmoid(-800)).toBe(0);
    expect(sigmoid(800)).toBe(1);
  });

  it('roundHalfEven rounds halves to even as torch.round does', () => {
    const cases: [number, number][] = [
      [0.5, 0],
      [1.5, 2],
      [2.5, 2],
      [3.5, 4],
      [-0.5, 0],
      [-1.5, -2],
      [2.4999, 2],
      [2.5001, 3],
    ];
    for (const [x, want] of cases) expect(roundHalfEven(x) + 0).toBe(want);
  });

  it('cellStart rounds half up where half-to-even would differ', () => {
    // L = 5, K = 2: m·L/K = 2.5 → 3 (half-to-even would give 2).
    expect(cellStart(1, 5, 2)).toBe(3);
    expect(cellStart(0, 5, 2)).toBe(0);
    expect(cellStart(2, 5, 2)).toBe(5);
    // L = 7, K = 4: 1.75, 3.5, 5.25 → 2, 4, 5.
    expect([1, 2, 3].map((m) => cellStart(m, 7, 4))).toEqual([2, 4, 5]);
  });
});

describe('assertions', () => {
  it('assertClose accepts errors inside the tolerance and rejects the first one outside', () => {
    const tol = { rtol: 1e-3, atol: 1e-6 };
    expect(() => assertClose([1.0005, 2], [1, 2], tol, 'x')).not.toThrow();
    expect(() => assertClose([1, 2.01], [1, 2], tol, 'x', [1, 2])).toThrow(
      /x: 1 of 2 values out of tolerance.*worst at \[0,1\]: got 2\.01, want 2/,
    );
  });

  it('assertClose does not let NaN or infinities through', () => {
    const tol = { rtol: 1, atol: 1 };
    expect(() => assertClose([Number.NaN], [0], tol, 'nan')).toThrow(/nan/);
    expect(() => assertClose([0], [Number.NaN], tol, 'nan')).toThrow(/nan/);
    expect(() => assertClose([Number.NaN], [Number.NaN], tol, 'nan')).not.toThrow();
    expect(() => assertClose([1e30], [Number.POSITIVE_INFINITY], tol, 'inf')).toThrow(/inf/);
    expect(() => assertClose([Number.NEGATIVE_INFINITY], [Number.POSITIVE_INFINITY], tol, 'inf')).toThrow();
    expect(() => assertClose([3], [2], tol, 'len', [1], [5])).not.toThrow();
    expect(() => assertClose([1, 2], [1], tol, 'len')).toThrow(/expected 1 values, got 2/);
  });

  it('assertEqual is exact, treats −0 as +0, and names the first difference', () => {
    expect(() => assertEqual([0, 1], [-0, 1], 'eq')).not.toThrow();
    expect(() => assertEqual([0, 1, 3], [0, 1, 2], 'eq', [3])).toThrow(
      /eq: 1 of 3 values differ; first at \[2\]/,
    );
  });

  it('assertThrows checks the class and the message', () => {
    class ShapeError extends Error {}
    expect(() =>
      assertThrows(
        () => {
          throw new ShapeError('bad shape [2,3]');
        },
        ShapeError,
        'shape',
        '[2,3]',
      ),
    ).not.toThrow();
    expect(() => assertThrows(() => 1, ShapeError)).toThrow(/nothing was thrown/);
    expect(() =>
      assertThrows(() => {
        throw new TypeError('x');
      }, ShapeError),
    ).toThrow(/got TypeError/);
    expect(() =>
      assertThrows(
        () => {
          throw new ShapeError('bad');
        },
        ShapeError,
        'dtype',
      ),
    ).toThrow(/mention 'dtype'/);
  });
});
