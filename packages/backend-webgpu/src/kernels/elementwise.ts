/**
 * Shared driver of the elementwise kernels (unary, binary, where, cast): one thread per output
 * element, operands read through broadcast strides. Operands whose shape equals the output's are
 * read at the flat index directly; the rank and that choice are baked into the shader.
 */
import type { DType } from '@sea/tensor';
import {
  broadcastStrides,
  computeType,
  main,
  offsetsFromIndex,
  type Param,
  u,
  wgslType,
} from '../codegen.js';
import type { GpuData, WebGpuBackend } from '../webgpu_backend.js';

export interface Operand {
  data: GpuData;
  shape: readonly number[];
}

const WG = 256;

/**
 * Runs `expr` (WGSL over `x0..x{n-1}`, the operand values) for every output element.
 * Returns the output buffer of `outSize` elements of `outDtype`.
 *
 * A 16-bit output is written a pair of elements per thread (one whole u32 word when packed).
 * Operands are read as f32 (16-bit storage converts on load) and `expr` computes in f32, unless
 * `halfMath` is set and the device stores float16 natively with every float operand float16: then
 * operands are f16 and `expr` computes in f16 (shader-f16 arithmetic).
 */
export function elementwise(
  b: WebGpuBackend,
  name: string,
  operands: readonly Operand[],
  outShape: readonly number[],
  outDtype: DType,
  expr: string,
  helpers = '',
  halfMath = false,
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
  const outType = wgslType(outDtype, b.nativeF16);
  const f16Math =
    halfMath &&
    outType === 'f16' &&
    operands.every((o) => o.data.dtype === 'bool' || wgslType(o.data.dtype, b.nativeF16) === 'f16');
  const reads = operands.map((o, j) => {
    const g = general.indexOf(j);
    const st = wgslType(o.data.dtype, b.nativeF16);
    const t = f16Math && st === 'f16' ? 'f16' : computeType(st);
    const inBounds = o.data.size === 1 ? '0u' : g < 0 ? 'idx' : `o${g}`;
    return t === 'f16'
      ? `let x${j}: f16 = f16(in${j}_ld(${inBounds}));`
      : `let x${j}: ${t} = in${j}_ld(${inBounds});`;
  });
  const offsets = general.length ? offsetsFromIndex(rank, general.length, dimAt, strAt) : '';
  let body: string;
  let threads = n;
  if (outType === 'f16' || outType === 'f16p' || outType === 'bf16p') {
    threads = Math.ceil(n / 2);
    body = `${helpers}
fn elem(idx: u32) -> ${f16Math ? 'f16' : 'f32'} {
  ${offsets}
  ${reads.join('\n  ')}
  return ${expr};
}
${main(WG)}
  let p = wg * ${WG}u + lid;
  if (2u * p >= pu(0u)) { return; }
  let v0 = elem(2u * p);
  var v1 = v0;
  if (2u * p + 1u < pu(0u)) { v1 = elem(2u * p + 1u); }
  y_st2(p, vec2<f32>(f32(v0), f32(v1)));
}`;
  } else {
    body = `${helpers}
${main(WG)}
  let idx = wg * ${WG}u + lid;
  if (idx >= pu(0u)) { return; }
  ${offsets}
  ${reads.join('\n  ')}
  y_st(idx, ${expr});
}`;
  }
  b.run({
    name,
    body,
    inputs: operands.map((o, j) => ({ name: `in${j}`, data: o.data })),
    outputs: [{ name: 'y', data: out, pairs: true }],
    params,
    grid: b.grid(Math.ceil(threads / WG)),
  });
  return out;
}
