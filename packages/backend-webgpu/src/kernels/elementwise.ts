/**
 * Shared driver of the elementwise kernels (unary, binary, where, cast): one thread per output
 * element, operands read through broadcast strides. Operands whose shape equals the output's are
 * read at the flat index directly; the rank and that choice are baked into the shader.
 */
import type { DType } from '@sea/tensor';
import { broadcastStrides, main, offsetsFromIndex, type Param, u, wgslType } from '../codegen.js';
import type { GpuData, WebGpuBackend } from '../webgpu_backend.js';

export interface Operand {
  data: GpuData;
  shape: readonly number[];
}

const WG = 256;

/**
 * Runs `expr` (WGSL over `x0..x{n-1}`, the operand values) for every output element.
 * Returns the output buffer of `outSize` elements of `outDtype`.
 */
export function elementwise(
  b: WebGpuBackend,
  name: string,
  operands: readonly Operand[],
  outShape: readonly number[],
  outDtype: DType,
  expr: string,
  helpers = '',
): GpuData {
  const n = outShape.reduce((a, d) => a * d, 1);
  const out = b.alloc(n, outDtype);
  if (n === 0) return out;
  const same = operands.map(
    (o) => o.shape.length === outShape.length && o.shape.every((d, k) => d === outShape[k]),
  );
  const general = operands.map((_o, j) => (same[j] ? -1 : j)).filter((j) => j >= 0);
  const rank = outShape.length;
  const params: Param[] = [u(n)];
  const dimAt = params.length;
  if (general.length) {
    for (const d of outShape) params.push(u(d));
    for (const j of general) for (const s of broadcastStrides(operands[j].shape, outShape)) params.push(u(s));
  }
  const strAt = dimAt + rank;
  const reads = operands.map((o, j) => {
    const g = general.indexOf(j);
    const t = wgslType(o.data.dtype);
    const inBounds = o.data.size === 1 ? '0u' : g < 0 ? 'idx' : `o${g}`;
    return `let x${j}: ${t} = in${j}_ld(${inBounds});`;
  });
  const body = `${helpers}
${main(WG)}
  let idx = wg * ${WG}u + lid;
  if (idx >= pu(0u)) { return; }
  ${general.length ? offsetsFromIndex(rank, general.length, dimAt, strAt) : ''}
  ${reads.join('\n  ')}
  y_st(idx, ${expr});
}`;
  b.run({
    name,
    body,
    inputs: operands.map((o, j) => ({ name: `in${j}`, data: o.data })),
    outputs: [{ name: 'y', data: out }],
    params,
    grid: b.grid(Math.ceil(n / WG)),
  });
  return out;
}
