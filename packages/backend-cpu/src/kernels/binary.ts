import { type BinaryOp, type Shape, sizeOf, type TensorInfo, type TypedArray } from '@sea/tensor';
import { allocArray, broadcastStrides, coalesce } from '@sea/tensor/backend';
import type { CpuBackend } from '../cpu_backend.js';

// Broadcast iteration shared by the elementwise kernels: `coalesce` (@sea/tensor/backend) merges the
// axes every operand walks as one, so the common cases become one long inner row.

/**
 * Calls `row(outOff, offs, n, inner)` once per innermost row of the broadcast of `inputs` to
 * `outShape`; the output is contiguous, so its offset is `rowIndex · n`.
 */
export function forEachRow(
  outShape: Shape,
  inputs: readonly Shape[],
  row: (outOff: number, offs: number[], n: number, inner: number[]) => void,
): void {
  forEachRowStrided(
    outShape,
    inputs.map((s) => broadcastStrides(s, outShape)),
    inputs.map(() => 0),
    row,
  );
}

/**
 * Walks the contiguous index space of `shape` row by row; operand k is addressed through
 * `strides[k]` starting at `base[k]`. The row callback must not keep `offs`.
 */
export function forEachRowStrided(
  shape: Shape,
  strides: number[][],
  base: readonly number[],
  row: (outOff: number, offs: number[], n: number, inner: number[]) => void,
): void {
  const total = sizeOf(shape);
  if (total === 0) return;
  const plan = coalesce(shape, strides);
  const rank = plan.shape.length;
  const n = plan.shape[rank - 1];
  const inner = plan.strides.map((s) => s[rank - 1]);
  const offs = [...base];
  const idx = new Array<number>(rank).fill(0);
  const rows = total / n;
  for (let r = 0; r < rows; r++) {
    row(r * n, offs, n, inner);
    // advance the outer counters (odometer over axes 0..rank-2)
    for (let ax = rank - 2; ax >= 0; ax--) {
      idx[ax]++;
      for (let k = 0; k < offs.length; k++) offs[k] += plan.strides[k][ax];
      if (idx[ax] < plan.shape[ax]) break;
      for (let k = 0; k < offs.length; k++) offs[k] -= plan.strides[k][ax] * plan.shape[ax];
      idx[ax] = 0;
    }
  }
}

const COMPARE = new Set<BinaryOp>(['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'and', 'or']);

type Fn = (x: number, y: number) => number;

/**
 * Scalar definitions. int32 results are stored through the Int32Array, so they wrap like C; 'div' on
 * int32 truncates toward zero (C / `torch.div(rounding_mode='trunc')`; x/0 stores 0). 'max'/'min'
 * propagate NaN (PyTorch `maximum`/`minimum`).
 */
function scalarFn(op: BinaryOp, int: boolean): Fn {
  switch (op) {
    case 'add':
      return (x, y) => x + y;
    case 'sub':
      return (x, y) => x - y;
    case 'mul':
      return int ? Math.imul : (x, y) => x * y;
    case 'div':
      return (x, y) => x / y;
    case 'max':
      return (x, y) => (x > y || Number.isNaN(x) ? x : y);
    case 'min':
      return (x, y) => (x < y || Number.isNaN(x) ? x : y);
    case 'pow':
      return Math.pow;
    case 'eq':
      return (x, y) => (x === y ? 1 : 0);
    case 'ne':
      return (x, y) => (x !== y ? 1 : 0);
    case 'lt':
      return (x, y) => (x < y ? 1 : 0);
    case 'le':
      return (x, y) => (x <= y ? 1 : 0);
    case 'gt':
      return (x, y) => (x > y ? 1 : 0);
    case 'ge':
      return (x, y) => (x >= y ? 1 : 0);
    case 'and':
      return (x, y) => (x && y ? 1 : 0);
    case 'or':
      return (x, y) => (x || y ? 1 : 0);
  }
}

/** The hot arithmetic ops get their own monomorphic loops; the rest go through `scalarFn`. */
function rowLoop(
  op: BinaryOp,
  f: Fn,
  a: TypedArray,
  ao: number,
  as: number,
  bv: TypedArray,
  bo: number,
  bs: number,
  o: TypedArray,
  oo: number,
  n: number,
): void {
  if (as === 1 && bs === 1) {
    switch (op) {
      case 'add':
        for (let i = 0; i < n; i++) o[oo + i] = a[ao + i] + bv[bo + i];
        return;
      case 'sub':
        for (let i = 0; i < n; i++) o[oo + i] = a[ao + i] - bv[bo + i];
        return;
      case 'mul':
        if (o instanceof Int32Array) break;
        for (let i = 0; i < n; i++) o[oo + i] = a[ao + i] * bv[bo + i];
        return;
      case 'div':
        for (let i = 0; i < n; i++) o[oo + i] = a[ao + i] / bv[bo + i];
        return;
    }
  } else if (as === 1 && bs === 0) {
    const y = bv[bo];
    switch (op) {
      case 'add':
        for (let i = 0; i < n; i++) o[oo + i] = a[ao + i] + y;
        return;
      case 'sub':
        for (let i = 0; i < n; i++) o[oo + i] = a[ao + i] - y;
        return;
      case 'mul':
        if (o instanceof Int32Array) break;
        for (let i = 0; i < n; i++) o[oo + i] = a[ao + i] * y;
        return;
      case 'div':
        for (let i = 0; i < n; i++) o[oo + i] = a[ao + i] / y;
        return;
    }
  }
  for (let i = 0; i < n; i++) o[oo + i] = f(a[ao + i * as], bv[bo + i * bs]);
}

export function binary(
  b: CpuBackend,
  op: BinaryOp,
  a: TensorInfo,
  bt: TensorInfo,
  outShape: Shape,
): TensorInfo {
  const outDtype = COMPARE.has(op) ? 'bool' : a.dtype;
  const out = allocArray(outDtype, sizeOf(outShape));
  const av = b.values(a);
  const bv = b.values(bt);
  const f = scalarFn(op, a.dtype === 'int32');
  forEachRow(outShape, [a.shape, bt.shape], (oo, offs, n, inner) => {
    rowLoop(op, f, av, offs[0], inner[0], bv, offs[1], inner[1], out, oo, n);
  });
  return b.out(out, outShape, outDtype);
}
