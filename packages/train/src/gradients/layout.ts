import type { Tensor } from '@sea/tensor';
import * as sea from '@sea/tensor';
import { registerGradient } from '../tape.js';
import { asFloat, attr } from './util.js';

/**
 * Largest one-hot block (rows × vocabulary) the device fallback of the embedding gradient builds at
 * once: 2^28 elements on CUDA (a 2048-token window over a 50272-word vocabulary is one block: one
 * GEMM with float32 accumulation instead of 25 GEMMs whose 16-bit partial tables are added), 2^22
 * elsewhere (WebGPU's buffer bindings are smaller).
 */
const oneHotBlock = (backend: sea.Backend): number => (backend.name === 'cuda' ? 1 << 28 : 1 << 22);

/**
 * Scatter-add of dy [N, W] into rows idx [N] of a [V, W] table. On backends with host memory the sum
 * runs on the host in float64 (exact, O(N·W)); elsewhere it is a one-hot matmul over row blocks, all
 * with ops, so no new backend primitive is needed.
 */
export function scatterAddRows(dy: Tensor, idx: Tensor, rows: number): Tensor {
  const [n, w] = dy.shape;
  const backend = dy.backend;
  if (backend.readSync) {
    const g = dy.dataSync();
    const ix = idx.dataSync() as Int32Array;
    const acc = new Float64Array(rows * w);
    for (let i = 0; i < n; i++) {
      const src = i * w;
      const dst = ix[i] * w;
      for (let j = 0; j < w; j++) acc[dst + j] += g[src + j];
    }
    const out = dy.dtype === 'float64' ? acc : Float32Array.from(acc);
    return sea.tensor(out, [rows, w], { backend, dtype: dy.dtype });
  }
  const vocab = sea.arange(0, rows, { backend }).reshape([1, rows]);
  const block = Math.max(1, Math.floor(oneHotBlock(backend) / rows));
  let total: Tensor | null = null;
  for (let s = 0; s < n; s += block) {
    const m = Math.min(block, n - s);
    const oneHot = asFloat(sea.equal(sea.slice(idx, [s], [m]).reshape([m, 1]), vocab), dy);
    const part = sea.matmul(oneHot, sea.slice(dy, [s, 0], [m, w]), { transA: true });
    total = total ? sea.add(total, part) : part;
  }
  return total ?? sea.zeros([rows, w], { backend, dtype: dy.dtype });
}

/** The most reads of one table row for which gatherRows' gradient adds by occurrence. */
const MAX_OCCURRENCES = 64;

/**
 * Gradient of a gather of host-known rows (the recorded 'gatherRows' op): dtable[r] = Σ dy[i] over
 * the positions i reading row r, as one gather of dy's rows per occurrence (the k-th reader of every
 * row, or a zero row), added in order of k: m gathers of the table's size for rows read at most m
 * times. Rows read more often fall back to scatterAddRows.
 */
function gatherRowsGrad(dy: Tensor, table: Tensor, rows: Int32Array): Tensor {
  const n = table.shape[0];
  const w = table.size / Math.max(n, 1);
  const N = rows.length;
  const count = new Int32Array(n);
  for (let i = 0; i < N; i++) count[rows[i]]++;
  let m = 0;
  for (let r = 0; r < n; r++) m = Math.max(m, count[r]);
  const backend = dy.backend;
  const d = dy.reshape([N, w]);
  if (m > MAX_OCCURRENCES) {
    return scatterAddRows(d, sea.tensor(rows, [N], { dtype: 'int32', backend }), n).reshape(table.shape);
  }
  // occ[k·n + r]: the position of row r's k-th reader (ascending), or N (the zero row)
  const occ = new Int32Array(Math.max(m, 1) * n).fill(N);
  const seen = new Int32Array(n);
  for (let i = 0; i < N; i++) {
    const r = rows[i];
    occ[seen[r]++ * n + r] = i;
  }
  const padded = sea.pad(d, [
    [0, 1],
    [0, 0],
  ]);
  let g: Tensor | null = null;
  for (let k = 0; k < Math.max(m, 1); k++) {
    const idx = sea.tensor(occ.subarray(k * n, (k + 1) * n), [n], { dtype: 'int32', backend });
    const part = sea.gather(padded, idx);
    g = g ? sea.add(g, part) : part;
  }
  return (g as Tensor).reshape(table.shape);
}

export function registerLayoutGradients(): void {
  registerGradient('gatherRows', (dy, { inputs: [table], attrs }) => [
    gatherRowsGrad(dy, table!, attr<Int32Array>(attrs, 'rows')),
  ]);
  registerGradient('reshape', (dy, { inputs: [x] }) => [dy.reshape(x!.shape)]);
  registerGradient('transpose', (dy, { attrs }) => {
    const perm = attr<number[]>(attrs, 'perm');
    const inv = new Array<number>(perm.length);
    perm.forEach((p, i) => {
      inv[p] = i;
    });
    return [sea.transpose(dy, inv)];
  });
  registerGradient('slice', (dy, { inputs: [x], attrs }) => {
    const begin = attr<number[]>(attrs, 'begin');
    const size = attr<number[]>(attrs, 'size');
    return [
      sea.pad(
        dy,
        begin.map((b, i) => [b, x!.shape[i] - b - size[i]] as const),
      ),
    ];
  });
  registerGradient('pad', (dy, { inputs: [x], attrs }) => {
    const pads = attr<[number, number][]>(attrs, 'pads');
    return [
      sea.slice(
        dy,
        pads.map(([b]) => b),
        x!.shape,
      ),
    ];
  });
  registerGradient('concat', (dy, { inputs, attrs, needs }) => {
    const axis = attr<number>(attrs, 'axis');
    let off = 0;
    return inputs.map((x, i) => {
      const begin = dy.shape.map((_, j) => (j === axis ? off : 0));
      off += x!.shape[axis];
      return needs[i] ? sea.slice(dy, begin, x!.shape) : null;
    });
  });
  registerGradient('cumsum', (dy, { attrs }) => [
    sea.cumsum(dy, attr<number>(attrs, 'axis'), {
      exclusive: attr<boolean>(attrs, 'exclusive'),
      reverse: !attr<boolean>(attrs, 'reverse'),
    }),
  ]);
  // embedding lookup: the table gradient scatter-adds dy into the looked-up rows
  registerGradient('gather', (dy, { inputs: [table, idx] }) => {
    const rows = table!.shape[0];
    const w = table!.size / Math.max(rows, 1);
    const n = idx!.size;
    const g = scatterAddRows(dy.reshape([n, w]), idx!.reshape([n]), rows);
    return [g.reshape(table!.shape), null];
  });
  // take_along_axis (last axis): dx[..., j] = Σ_m dy[..., m]·[idx[..., m] = j], as a one-hot matmul
  registerGradient('takeAlong', (dy, { inputs: [x, idx] }) => {
    const n = x!.shape[x!.rank - 1];
    const m = idx!.shape[idx!.rank - 1];
    const lead = x!.shape.slice(0, -1);
    const cols = sea.arange(0, n, { backend: dy.backend });
    const oneHot = asFloat(sea.equal(idx!.reshape([...lead, m, 1]), cols), dy);
    const g = sea.matmul(dy.reshape([...lead, 1, m]), oneHot);
    return [g.reshape(x!.shape), null];
  });
}
