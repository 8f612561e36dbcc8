// The backends' shared shape planning, on hand-worked cases.
import { describe, expect, it } from 'vitest';
import { coalesce, reducePlan } from './plan.js';
import { broadcastStrides, stridesOf } from './shape.js';

describe('coalesce', () => {
  it('merges same-shape operands into one axis', () => {
    const s = stridesOf([2, 3, 4]);
    expect(coalesce([2, 3, 4], [s, s])).toEqual({ shape: [24], strides: [[1], [1]] });
  });
  it('keeps the axis a row vector broadcasts along apart, and drops size-1 axes', () => {
    const out = [2, 1, 3, 4];
    expect(coalesce(out, [stridesOf(out), broadcastStrides([4], out)])).toEqual({
      shape: [6, 4],
      strides: [
        [4, 1],
        [0, 1],
      ],
    });
  });
  it('a scalar gives one axis of stride 0; a transposed operand stays apart', () => {
    expect(coalesce([1, 1], [[0, 0]])).toEqual({ shape: [1], strides: [[0]] });
    // [3,2] read through transposed strides [1,3] against a contiguous output
    expect(coalesce([3, 2], [stridesOf([3, 2]), [1, 3]])).toEqual({
      shape: [3, 2],
      strides: [
        [2, 1],
        [1, 3],
      ],
    });
  });
});

describe('reducePlan', () => {
  it('a contiguous run of reduced axes reads in place as outer × len × inner', () => {
    expect(reducePlan([2, 3, 4, 5], [1, 2])).toEqual({
      outShape: [2, 5],
      len: 12,
      outer: 2,
      inner: 5,
      permutation: null,
    });
    expect(reducePlan([7], [0])).toEqual({ outShape: [], len: 7, outer: 1, inner: 1, permutation: null });
  });
  it('split reduced axes move last first; no axes reduce nothing', () => {
    expect(reducePlan([2, 3, 4], [0, 2])).toEqual({
      outShape: [3],
      len: 8,
      outer: 3,
      inner: 1,
      permutation: [1, 0, 2],
    });
    expect(reducePlan([2, 3], [])).toEqual({
      outShape: [2, 3],
      len: 1,
      outer: 6,
      inner: 1,
      permutation: null,
    });
  });
  it('an empty reduced axis has len 0', () => {
    expect(reducePlan([3, 0], [1]).len).toBe(0);
  });
});
