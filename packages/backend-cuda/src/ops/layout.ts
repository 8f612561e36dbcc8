import { bytesPerElement, isHalf, sizeOf, type TensorInfo } from '@sea/tensor';
import { numbersToHalfBits, type SliceRun, stridesOf } from '@sea/tensor/backend';
import type { CudaBackend } from '../cuda_backend.js';
import { copyStrided } from './elementwise.js';

export function transpose(b: CudaBackend, x: TensorInfo, perm: readonly number[]): TensorInfo {
  const outShape = perm.map((p) => x.shape[p]);
  const out = b.output(outShape, x.dtype);
  const st = stridesOf(x.shape);
  copyStrided(
    b,
    x.dtype,
    b.ptr(x),
    b.ptr(out),
    outShape,
    perm.map((p) => st[p]),
    stridesOf(outShape),
    0,
    0,
  );
  return out;
}

export function slice(
  b: CudaBackend,
  x: TensorInfo,
  begin: readonly number[],
  size: readonly number[],
): TensorInfo {
  const out = b.output(size, x.dtype);
  const st = stridesOf(x.shape);
  let base = 0;
  for (let i = 0; i < begin.length; i++) base += begin[i] * st[i];
  copyStrided(b, x.dtype, b.ptr(x), b.ptr(out), size, st, stridesOf(size), base, 0);
  return out;
}

/**
 * Concatenation along `axis`: up to 4 inputs in one launch (concat_cols* in kernels/elementwise.cu,
 * in the widest unit of 16, 8, 4, 2 or 1 bytes that every input's row and address divide), more as one
 * strided copy per input.
 */
export function concat(b: CudaBackend, xs: readonly TensorInfo[], axis: number): TensorInfo {
  const first = xs[0];
  const outShape = [...first.shape];
  outShape[axis] = xs.reduce((s, t) => s + t.shape[axis], 0);
  const out = b.output(outShape, first.dtype);
  const total = sizeOf(outShape);
  if (total === 0) return out;
  const parts = xs.filter((t) => sizeOf(t.shape) > 0);
  if (parts.length <= 4 && b.concatOneLaunch) {
    const es = bytesPerElement(first.dtype);
    const outer = sizeOf(outShape.slice(0, axis));
    const inner = sizeOf(outShape.slice(axis + 1));
    const rowBytes = parts.map((t) => t.shape[axis] * inner * es);
    const ptrs = [...parts.map((t) => b.ptr(t)), b.ptr(out)];
    const unit =
      [16, 8, 4, 2, 1].find(
        (u) => rowBytes.every((r) => r % u === 0) && ptrs.every((p) => p % BigInt(u) === 0n),
      ) ?? 1;
    const w = rowBytes.map((r) => r / unit);
    const W = w.reduce((s, x) => s + x, 0);
    b.params
      .ptr(0, ptrs[0])
      .ptr(1, parts.length > 1 ? ptrs[1] : 0n)
      .ptr(2, parts.length > 2 ? ptrs[2] : 0n)
      .ptr(3, parts.length > 3 ? ptrs[3] : 0n)
      .i64(4, w[0])
      .i64(5, w[1] ?? 0)
      .i64(6, w[2] ?? 0)
      .i64(7, W)
      .i64(8, outer * W)
      .ptr(9, b.ptr(out));
    b.launch(b.fn('elementwise', `concat_cols${unit}`), [b.blocks(outer * W)], [256]);
    return out;
  }
  const ost = stridesOf(outShape);
  let at = 0;
  for (const t of xs) {
    copyStrided(b, t.dtype, b.ptr(t), b.ptr(out), t.shape, stridesOf(t.shape), ost, 0, at * ost[axis]);
    at += t.shape[axis];
  }
  return out;
}

export function pad(
  b: CudaBackend,
  x: TensorInfo,
  pads: readonly (readonly [number, number])[],
  value: number,
): TensorInfo {
  const outShape = x.shape.map((d, i) => d + pads[i][0] + pads[i][1]);
  const n = sizeOf(outShape);
  const out = b.output(outShape, x.dtype, n);
  const p = b.ptr(out);
  if (x.dtype === 'bool') b.memset(p, 1, value ? 1 : 0, n);
  else if (x.dtype === 'int32') b.memset(p, 4, new Int32Array([value])[0], n);
  else if (isHalf(x.dtype)) b.memset(p, 2, numbersToHalfBits([value], x.dtype)[0], n);
  else b.memset(p, 4, new Uint32Array(new Float32Array([value]).buffer)[0], n);
  const st = stridesOf(outShape);
  let base = 0;
  for (let i = 0; i < pads.length; i++) base += pads[i][0] * st[i];
  copyStrided(b, x.dtype, b.ptr(x), p, x.shape, stridesOf(x.shape), st, 0, base);
  return out;
}

export function gather(b: CudaBackend, table: TensorInfo, indices: TensorInfo): TensorInfo {
  const rest = table.shape.slice(1);
  const w = sizeOf(rest);
  const nidx = sizeOf(indices.shape);
  const total = nidx * w;
  const out = b.output([...indices.shape, ...rest], table.dtype, total);
  if (total === 0) return out;
  b.params
    .i32(0, bytesPerElement(table.dtype))
    .ptr(1, b.ptr(table))
    .ptr(2, b.ptr(indices))
    .ptr(3, b.ptr(out))
    .i64(4, total)
    .i64(5, w);
  b.launch(b.fn('elementwise', 'gather_rows'), [b.blocks(total)], [256]);
  return out;
}

export function takeAlong(b: CudaBackend, x: TensorInfo, indices: TensorInfo): TensorInfo {
  const total = sizeOf(indices.shape);
  const out = b.output(indices.shape, x.dtype, total);
  if (total === 0) return out;
  b.params
    .i32(0, bytesPerElement(x.dtype))
    .ptr(1, b.ptr(x))
    .ptr(2, b.ptr(indices))
    .ptr(3, b.ptr(out))
    .i64(4, total)
    .i32(5, x.shape[x.shape.length - 1])
    .i32(6, indices.shape[indices.shape.length - 1]);
  b.launch(b.fn('elementwise', 'take_along'), [b.blocks(total)], [256]);
  return out;
}

/**
 * In-place slice write. Runs that step through both tensors evenly (the usual case: one run per
 * leading index, e.g. a K/V cache row per head) are one strided-copy launch; other runs are one
 * device-to-device copy each. Both are queued on the stream.
 */
export function writeSlice(
  b: CudaBackend,
  dst: TensorInfo,
  src: TensorInfo,
  runs: readonly SliceRun[],
): boolean {
  const d = b.ptr(dst);
  const s = b.ptr(src);
  const n = runs.length;
  if (n > 1) {
    const r0 = runs[0];
    const len = r0.length;
    const dStep = runs[1].dst - r0.dst;
    const sStep = runs[1].src - r0.src;
    let even = len > 0 && dStep >= len && sStep >= len;
    for (let i = 2; even && i < n; i++) {
      const r = runs[i];
      const p = runs[i - 1];
      even = r.length === len && r.dst - p.dst === dStep && r.src - p.src === sStep;
    }
    if (even) {
      copyStrided(b, dst.dtype, s, d, [n, len], [sStep, 1], [dStep, 1], r0.src, r0.dst);
      return true;
    }
  }
  const e = bytesPerElement(dst.dtype);
  for (const r of runs) b.copyDtoD(d + BigInt(r.dst * e), s + BigInt(r.src * e), r.length * e);
  return true;
}
