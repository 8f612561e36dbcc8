/**
 * Reductions over any set of axes. The kept axes index the output; the reduced axes are walked as
 * one flat range R through their own strides. Small R: one thread per output; large R: one
 * workgroup per output with a shared-memory tree. argmax/argmin keep the first index on ties and
 * treat NaN as the extreme (PyTorch); max/min propagate NaN.
 */
import type { ReduceOp, TensorInfo } from '@sea/tensor';
import { computeType, main, type Param, stridesOf, u, wgslType } from '../codegen.js';
import type { WebGpuBackend } from '../webgpu_backend.js';

const WG = 128;

function ops(op: ReduceOp, t: string): { init: string; step: string; merge: string } {
  const nan = t === 'f32' ? (v: string) => `(${v} != ${v})` : () => 'false';
  switch (op) {
    case 'sum':
    case 'mean':
      return { init: `${t}(0)`, step: 'acc = acc + v;', merge: 'acc = acc + acc2;' };
    case 'prod':
      return { init: `${t}(1)`, step: 'acc = acc * v;', merge: 'acc = acc * acc2;' };
    case 'max':
    case 'argmax':
    case 'min':
    case 'argmin': {
      const cmp = op === 'max' || op === 'argmax' ? '>' : '<';
      return {
        init: 'first',
        step: `if (v ${cmp} acc || (${nan('v')} && !${nan('acc')})) { acc = v; arg = r; }`,
        merge: `if (acc2 ${cmp} acc || (${nan('acc2')} && !${nan('acc')}) || ((acc2 == acc || (${nan('acc2')} && ${nan('acc')})) && arg2 < arg)) { acc = acc2; arg = arg2; }`,
      };
    }
  }
}

export function reduce(b: WebGpuBackend, op: ReduceOp, x: TensorInfo, axes: readonly number[]): TensorInfo {
  const shape = x.shape;
  const st = stridesOf(shape);
  const kept = shape.map((_, k) => k).filter((k) => !axes.includes(k));
  const outShape = kept.map((k) => shape[k]);
  const nOut = outShape.reduce((a, d) => a * d, 1);
  const R = axes.reduce((a, k) => a * shape[k], 1);
  const outDtype = op === 'argmax' || op === 'argmin' ? 'int32' : x.dtype;
  const out = b.alloc(nOut, outDtype);
  if (nOut === 0) return b.out(out, outShape, outDtype);
  const t = computeType(wgslType(x.dtype, b.nativeF16));
  const params: Param[] = [u(nOut), u(R)];
  const kAt = params.length;
  for (const k of kept) params.push(u(shape[k]), u(st[k]));
  const rAt = params.length;
  for (const k of axes) params.push(u(shape[k]), u(st[k]));
  const offset = (at: number, n: number, v: string, res: string) =>
    n === 0
      ? `var ${res} = 0u;`
      : `var ${res} = 0u; { var rem = ${v};
    for (var k = ${n - 1}i; k >= 0; k--) { let d = pu(${at}u + 2u * u32(k)); ${res} += (rem % d) * pu(${at + 1}u + 2u * u32(k)); rem = rem / d; } }`;
  const o = ops(op, t);
  const isArg = op === 'argmax' || op === 'argmin';
  const result = isArg ? 'i32(arg)' : op === 'mean' ? 'acc / f32(pu(1u))' : 'acc';
  const perThread = R <= 512 || nOut >= 4096;
  const empty = op === 'prod' ? `${t}(1)` : op === 'mean' ? 'nan_f32()' : `${t}(0)`;
  const initAcc = o.init === 'first' ? `x_ld(base)` : o.init;
  let body: string;
  if (perThread) {
    body = `${main(WG)}
  let idx = wg * ${WG}u + lid;
  if (idx >= pu(0u)) { return; }
  ${offset(kAt, kept.length, 'idx', 'base')}
  if (pu(1u) == 0u) { y_st(idx, ${isArg ? '0i' : empty}); return; }
  var acc: ${t} = ${initAcc};
  var arg = 0u;
  for (var r = ${o.init === 'first' ? '1u' : '0u'}; r < pu(1u); r++) {
    ${offset(rAt, axes.length, 'r', 'ro')}
    let v = x_ld(base + ro);
    ${o.step}
  }
  y_st(idx, ${result});
}`;
  } else {
    body = `var<workgroup> sAcc: array<${t}, ${WG}>;
var<workgroup> sArg: array<u32, ${WG}>;
${main(WG)}
  let idx = wg;
  if (idx >= pu(0u)) { return; }
  ${offset(kAt, kept.length, 'idx', 'base')}
  var acc: ${t} = ${initAcc};
  var arg = 0u;
  for (var r = lid; r < pu(1u); r += ${WG}u) {
    ${offset(rAt, axes.length, 'r', 'ro')}
    let v = x_ld(base + ro);
    if (r == lid && ${o.init === 'first' ? 'true' : 'false'}) { acc = v; arg = r; } else { ${o.step} }
  }
  if (lid >= pu(1u)) { arg = 0xffffffffu; }
  sAcc[lid] = acc; sArg[lid] = arg;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let acc2 = sAcc[lid + s]; let arg2 = sArg[lid + s];
      acc = sAcc[lid]; arg = sArg[lid];
      if (arg2 != 0xffffffffu) { ${o.merge} }
      sAcc[lid] = acc; sArg[lid] = arg;
    }
    workgroupBarrier();
  }
  if (lid == 0u) { acc = sAcc[0]; arg = sArg[0]; y_st(idx, ${result}); }
}`;
  }
  b.run({
    name: `reduce_${op}`,
    body,
    inputs: [{ name: 'x', data: b.data(x) }],
    outputs: [{ name: 'y', data: out }],
    params,
    grid: b.grid(perThread ? Math.ceil(nOut / WG) : nOut),
  });
  return b.out(out, outShape, outDtype);
}
