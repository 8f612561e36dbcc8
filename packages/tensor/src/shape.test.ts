import { describe, expect, it } from 'vitest';
import { ShapeError } from './errors.js';
import {
  assertShape,
  broadcastShapes,
  broadcastStrides,
  fmt,
  normAxis,
  shapesEqual,
  sizeOf,
  stridesOf,
} from './shape.js';

describe('shape helpers', () => {
  it('sizeOf and stridesOf', () => {
    expect(sizeOf([])).toBe(1);
    expect(sizeOf([2, 3, 4])).toBe(24);
    expect(sizeOf([5, 0, 2])).toBe(0);
    expect(stridesOf([2, 3, 4])).toEqual([12, 4, 1]);
    expect(stridesOf([7])).toEqual([1]);
    expect(stridesOf([])).toEqual([]);
  });

  it('assertShape accepts non-negative integers only', () => {
    expect(() => assertShape([2, 0, 1])).not.toThrow();
    expect(() => assertShape([2, -1])).toThrow(ShapeError);
    expect(() => assertShape([1.5])).toThrow(/non-negative integers, got \[1.5\]/);
    expect(() => assertShape('2,3' as unknown as number[])).toThrow(/must be an array/);
  });

  it('shapesEqual and fmt', () => {
    expect(shapesEqual([2, 3], [2, 3])).toBe(true);
    expect(shapesEqual([2, 3], [3, 2])).toBe(false);
    expect(shapesEqual([2], [2, 1])).toBe(false);
    expect(fmt([])).toBe('[]');
    expect(fmt([1, 12, 64])).toBe('[1,12,64]');
  });

  it('broadcastShapes follows NumPy', () => {
    expect(broadcastShapes([2, 3, 4], [3, 1])).toEqual([2, 3, 4]);
    expect(broadcastShapes([5, 1, 7], [1, 6, 1])).toEqual([5, 6, 7]);
    expect(broadcastShapes([], [4, 5])).toEqual([4, 5]);
    expect(broadcastShapes([1], [0])).toEqual([0]);
    expect(broadcastShapes([3, 1], [])).toEqual([3, 1]);
  });

  it('broadcastShapes names both shapes and the axis on mismatch', () => {
    expect(() => broadcastShapes([2, 3], [4], 'add operands')).toThrow(
      'cannot broadcast add operands of shapes [2,3] and [4] (axis 1: 3 vs 4)',
    );
  });

  it('broadcastStrides gives 0 on broadcast axes', () => {
    expect(broadcastStrides([3, 1], [2, 3, 4])).toEqual([0, 1, 0]);
    expect(broadcastStrides([2, 3, 4], [2, 3, 4])).toEqual([12, 4, 1]);
    expect(broadcastStrides([], [2, 2])).toEqual([0, 0]);
  });

  it('normAxis wraps negatives and rejects out-of-range axes', () => {
    expect(normAxis(-1, 3)).toBe(2);
    expect(normAxis(0, 1)).toBe(0);
    expect(() => normAxis(3, 3)).toThrow('axis 3 is out of range for rank 3');
    expect(() => normAxis(-4, 3)).toThrow(ShapeError);
    expect(() => normAxis(0.5, 3)).toThrow(ShapeError);
  });
});
