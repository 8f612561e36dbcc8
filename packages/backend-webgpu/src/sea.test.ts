/**
 * SEA routines on WebGPU against float64 definitions of docs/algorithm.md §3, §5, §6 and §7 written here, on
 * random inputs, and a whole sparse-attention pass leaving no memory behind.
 */
import type { CsrInfo, TensorInfo, TypedArray } from '@sea/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { maxAbsDiff, rand, tryBackend } from '../test/setup.js';
import type { WebGpuBackend } from './webgpu_backend.js';

const { backend: gpu, reason } = await tryBackend();
afterAll(() => gpu?.destroy());

function put(values: TypedArray, shape: number[], dtype: TensorInfo['dtype'] = 'float32'): TensorInfo {
  return { dataId: (gpu as WebGpuBackend).upload(values, dtype), shape, dtype };
}
async function get(t: TensorInfo): Promise<TypedArray> {
  return (gpu as WebGpuBackend).read(
    t.dataId,
    t.dtype,
    t.shape.reduce((a, d) => a * d, 1),
  );
}

/** docs/algorithm.md §3 causal prefix sum, in float64. */
function prefixSumRef(
  qf: Float32Array,
  kf: Float32Array,
  v: Float32Array,
  BH: number,
  T: number,
  M: number,
  E: number,
  eps: number,
) {
  const out = new Float64Array(BH * T * E);
  for (let bh = 0; bh < BH; bh++) {
    const S = new Float64Array(M * E);
    const z = new Float64Array(M);
    for (let t = 0; t < T; t++) {
      const f = (bh * T + t) * M;
      const vb = (bh * T + t) * E;
      for (let m = 0; m < M; m++) {
        z[m] += kf[f + m];
        for (let e = 0; e < E; e++) S[m * E + e] += kf[f + m] * v[vb + e];
      }
      let den = 0;
      for (let m = 0; m < M; m++) den += qf[f + m] * (z[m] + eps);
      for (let e = 0; e < E; e++) {
        let num = 0;
        for (let m = 0; m < M; m++) num += qf[f + m] * S[m * E + e];
        out[vb + e] = num / den;
      }
    }
  }
  return out;
}

/** docs/algorithm.md §6 cell stretching, straight from the formulas. */
function stretchRef(
  mask: Uint8Array,
  rowLen: Int32Array,
  B: number,
  Tq: number,
  H: number,
  Kc: number,
  k: number,
  keys: number,
) {
  const rows: number[][][] = [];
  for (let b = 0; b < B; b++) {
    const r: number[][] = [];
    for (let t = 0; t < Tq; t++) {
      const L = Math.max(0, rowLen[b * Tq + t]);
      const cols: number[] = [];
      for (let h = 0; h < H; h++) {
        for (let m = 0; m < Kc; m++) {
          if (!mask[((b * Tq + t) * H + h) * Kc + m]) continue;
          const a = Math.floor((m * L) / Kc + 0.5);
          const e = Math.floor(((m + 1) * L) / Kc + 0.5);
          const w = e - a;
          const n = Math.min(w, k);
          for (let i = 0; i < n; i++) cols.push(h * keys + e - 1 - Math.floor((i * w) / n));
        }
      }
      r.push(cols);
    }
    rows.push(r);
  }
  return rows;
}

const d = gpu ? describe : describe.skip;

d('webgpu SEA routines', () => {
  it('performerPrefixSum matches the float64 prefix sums (M not a multiple of 64, E not of 4)', async () => {
    // [B, H, T, M, E, chunk]: T in one chunk, in chunks of √T rows (the last one partial), and in
    // chunks of 7 rows (not a multiple of the 8-row blocks).
    for (const [B, H, T, M, E, chunk] of [
      [1, 2, 37, 33, 6, 64],
      [2, 1, 20, 130, 64, 32],
      [1, 3, 300, 33, 128, 0],
      [1, 2, 61, 70, 10, 7],
    ]) {
      const qf = rand(B * H * T * M, 1, 0.001, 1);
      const kf = rand(B * H * T * M, 2, 0.001, 1);
      const v = rand(B * H * T * E, 3);
      const y = (gpu as WebGpuBackend).performerPrefixSum(
        put(qf, [B, H, T, M]),
        put(kf, [B, H, T, M]),
        put(v, [B, H, T, E]),
        { eps: 1e-6 },
        ...(chunk ? [chunk] : []),
      );
      expect(y.shape).toEqual([B, H, T, E]);
      expect(maxAbsDiff(await get(y), prefixSumRef(qf, kf, v, B * H, T, M, E, 1e-6))).toBeLessThan(1e-5);
    }
  });

  it('groupedTopK keeps exactly min(max(budget,0),N) largest, ties to the lower index', async () => {
    const G = 7;
    const N = 1000;
    const s = rand(G * N, 4, -3, 3);
    // Heavy ties in group 1, all-equal group 2, negative zero and huge values in group 3.
    for (let i = 0; i < N; i++) s[N + i] = Math.round(s[N + i]);
    for (let i = 0; i < N; i++) s[2 * N + i] = 0.5;
    s[3 * N] = -0;
    s[3 * N + 1] = 3e38;
    s[3 * N + 2] = -3e38;
    const budgets = Int32Array.from([10, 333, 17, 1, 0, -5, 5000]);
    const y = await get((gpu as WebGpuBackend).groupedTopK(put(s, [G, N]), put(budgets, [G], 'int32')));
    for (let g = 0; g < G; g++) {
      const need = Math.min(Math.max(budgets[g], 0), N);
      const order = Array.from({ length: N }, (_, i) => i).sort(
        (a, b) => s[g * N + b] - s[g * N + a] || a - b,
      );
      const want = new Uint8Array(N);
      for (let i = 0; i < need; i++) want[order[i]] = 1;
      expect(Array.from(y.subarray(g * N, (g + 1) * N)), `group ${g}`).toEqual(Array.from(want));
    }
  });

  it('stretchToCsr, csrSddmm, csrSoftmax, csrSpmm match the formulas of docs/algorithm.md', async () => {
    const g = gpu as WebGpuBackend;
    const [B, Tq, H, Kc, D, k] = [2, 23, 3, 8, 16, 3];
    const Tk = Tq;
    const mask = Uint8Array.from(rand(B * Tq * H * Kc, 5, 0, 1), (x) => (x < 0.35 ? 1 : 0));
    // Causal row lengths t+1, with two padded rows (0) in batch 1.
    const rowLen = Int32Array.from({ length: B * Tq }, (_, i) => (i % Tq) + 1);
    rowLen[Tq + 5] = 0;
    rowLen[Tq + 6] = 0;
    const ref = stretchRef(mask, rowLen, B, Tq, H, Kc, k, Tk);
    const before = g.memory();
    const maskT = put(mask, [B, Tq, H, Kc], 'bool');
    const rowT = put(rowLen, [B, Tq], 'int32');
    const csr: CsrInfo = await g.stretchToCsr(maskT, rowT, { k, keys: Tk });
    const crow = (await get(csr.crow)) as Int32Array;
    const col = (await get(csr.col)) as Int32Array;
    const Z = csr.col.shape[1];
    for (let b = 0; b < B; b++) {
      const flat = ref[b].flat();
      expect(csr.nnz[b]).toBe(flat.length);
      expect(Array.from(col.subarray(b * Z, b * Z + flat.length))).toEqual(flat);
      expect(Array.from(col.subarray(b * Z + flat.length, (b + 1) * Z)).every((c) => c === 0)).toBe(true);
      let acc = 0;
      for (let t = 0; t <= Tq; t++) {
        expect(crow[b * (Tq + 1) + t]).toBe(acc);
        if (t < Tq) acc += ref[b][t].length;
      }
    }
    expect(Z).toBe(Math.max(...csr.nnz));

    const q = rand(B * H * Tq * D, 6);
    const kk = rand(B * H * Tk * D, 7);
    const v = rand(B * H * Tk * D, 8);
    const rs = rand(B * H * Tq, 9, 0.5, 1.5);
    const qT = put(q, [B, H, Tq, D]);
    const kT = put(kk, [B, H, Tk, D]);
    const vT = put(v, [B, H, Tk, D]);
    const rsT = put(rs, [B, H, Tq]);
    const scale = 0.25;
    const sT = g.csrSddmm(csr, qT, kT, scale);
    const pT = g.csrSoftmax(csr, sT, rsT);
    const oT = g.csrSpmm(csr, pT, vT);
    const [s, p, o] = await Promise.all([get(sT), get(pT), get(oT)]);
    const sRef = new Float64Array(B * Z);
    const pRef = new Float64Array(B * Z);
    const oRef = new Float64Array(B * H * Tq * D);
    for (let b = 0; b < B; b++) {
      let z = 0;
      for (let t = 0; t < Tq; t++) {
        const cols = ref[b][t];
        for (let h = 0; h < H; h++) {
          const idx: number[] = [];
          for (let e = 0; e < cols.length; e++) if (Math.floor(cols[e] / Tk) === h) idx.push(z + e);
          let mx = Number.NEGATIVE_INFINITY;
          for (const zi of idx) {
            const j = col[b * Z + zi] - h * Tk;
            let dot = 0;
            for (let x = 0; x < D; x++)
              dot += q[((b * H + h) * Tq + t) * D + x] * kk[((b * H + h) * Tk + j) * D + x];
            sRef[b * Z + zi] = scale * dot;
            mx = Math.max(mx, scale * dot);
          }
          let sum = 0;
          for (const zi of idx) sum += Math.exp(sRef[b * Z + zi] - mx);
          for (const zi of idx) {
            pRef[b * Z + zi] = (Math.exp(sRef[b * Z + zi] - mx) / sum) * rs[(b * H + h) * Tq + t];
            const j = col[b * Z + zi] - h * Tk;
            for (let x = 0; x < D; x++)
              oRef[((b * H + h) * Tq + t) * D + x] += pRef[b * Z + zi] * v[((b * H + h) * Tk + j) * D + x];
          }
        }
        z += cols.length;
      }
    }
    expect(maxAbsDiff(s, sRef)).toBeLessThan(1e-5);
    expect(maxAbsDiff(p, pRef)).toBeLessThan(1e-6);
    expect(maxAbsDiff(o, oRef)).toBeLessThan(1e-5);
    for (const t of [maskT, rowT, csr.crow, csr.col, qT, kT, vT, rsT, sT, pT, oT]) g.free(t.dataId);
    expect(g.memory().bytes).toBe(before.bytes);
    expect(g.memory().buffers).toBe(before.buffers);
  });

  it('stretchToCsr with nothing selected gives an empty matrix', async () => {
    const g = gpu as WebGpuBackend;
    const csr = await g.stretchToCsr(
      put(new Uint8Array(2 * 4 * 2 * 4), [2, 4, 2, 4], 'bool'),
      put(Int32Array.from([1, 2, 3, 4, 1, 2, 3, 4]), [2, 4], 'int32'),
      { k: 2, keys: 4 },
    );
    expect(csr.nnz).toEqual([0, 0]);
    expect(csr.col.shape).toEqual([2, 0]);
    expect(Array.from(await get(csr.crow))).toEqual(new Array(10).fill(0));
  });
});

if (!gpu) it.skip(`webgpu unavailable: ${reason}`, () => {});
