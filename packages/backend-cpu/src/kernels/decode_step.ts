/**
 * The SEA decoding steps (docs/algorithm.md §8): one new row of the causal Performer from its running
 * sums, and one row of the causal estimator's CNN from its rolling windows. float64 math; a 16-bit
 * output (and the features / CNN rows the contract rounds) rounded once to the inputs' dtype.
 */
import { type DType, roundToDType, type TensorInfo } from '@sea/tensor';
import type { CausalCnnStepWeights, PerformerStepOptions } from '@sea/tensor/backend';
import type { CpuBackend } from '../cpu_backend.js';

/** A float output array of `dtype` (16-bit held as float64 values, as CpuMemory keeps them). */
function floatOut(dtype: DType, n: number): Float32Array | Float64Array {
  return dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
}

/** x rounded to `dtype` (float32: fround; 16-bit: nearest even). */
function rd(x: number, dtype: DType): number {
  return dtype === 'float32' ? Math.fround(x) : dtype === 'float64' ? x : roundToDType(x, dtype);
}

export function performerStep(
  b: CpuBackend,
  sums: TensorInfo,
  q: TensorInfo,
  k: TensorInfo,
  v: TensorInfo,
  w: TensorInfo,
  opts: PerformerStepOptions,
): [TensorInfo, TensorInfo] {
  const [B, H, M, E1] = sums.shape;
  const E = E1 - 1;
  const D = w.shape[1];
  const dt = q.dtype;
  const S = b.values(sums);
  const qv = b.values(q);
  const kv = b.values(k);
  const vv = b.values(v);
  const wv = b.values(w);
  const next = new Float32Array(S.length);
  const out = floatOut(dt, B * H * E);
  const fq = new Float64Array(M);
  const fk = new Float64Array(M);
  const num = new Float64Array(E1);
  for (let bh = 0; bh < B * H; bh++) {
    for (let m = 0; m < M; m++) {
      let a = 0;
      let c = 0;
      for (let d = 0; d < D; d++) {
        a += qv[bh * D + d] * wv[m * D + d];
        c += kv[bh * D + d] * wv[m * D + d];
      }
      fq[m] = rd(Math.max(a, 0) + opts.kernelEps, dt);
      fk[m] = rd(Math.max(c, 0) + opts.kernelEps, dt);
    }
    num.fill(0);
    for (let m = 0; m < M; m++) {
      const row = (bh * M + m) * E1;
      for (let e = 0; e < E1; e++) {
        const s = Math.fround(S[row + e] + fk[m] * (e < E ? vv[bh * E + e] : 1));
        next[row + e] = s;
        num[e] += fq[m] * s;
      }
    }
    for (let e = 0; e < E; e++) out[bh * E + e] = rd(num[e] / num[E], dt);
  }
  return [b.out(out, [B, H, 1, E], dt), b.out(next, sums.shape, 'float32')];
}

/** Biased-variance LayerNorm of a[0..n) in place (float64), then × γ + β. */
function layerNormRow(
  a: Float64Array,
  n: number,
  g: ArrayLike<number>,
  be: ArrayLike<number>,
  eps: number,
): void {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i];
  const mean = s / n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (a[i] - mean) ** 2;
  const r = 1 / Math.sqrt(v / n + eps);
  for (let i = 0; i < n; i++) a[i] = (a[i] - mean) * r * g[i] + be[i];
}

export function causalCnnStep(
  b: CpuBackend,
  x: TensorInfo,
  win0: TensorInfo,
  win1: TensorInfo,
  w: CausalCnnStepWeights,
  opts: { eps: number },
): [TensorInfo, TensorInfo, TensorInfo] {
  const [B, C, , W] = x.shape;
  const H = w.convOut.shape[0];
  const K = w.map.shape[0];
  const dt = x.dtype;
  const xv = b.values(x);
  const w0 = b.values(win0);
  const w1 = b.values(win1);
  const [gIn, bIn, c1, b1, c2, b2, co, cob, map, gOut, bOut] = [
    w.normInGamma,
    w.normInBeta,
    w.conv1,
    w.conv1Bias,
    w.conv2,
    w.conv2Bias,
    w.convOut,
    w.convOutBias,
    w.map,
    w.normOutGamma,
    w.normOutBeta,
  ].map((t) => b.values(t));
  const logits = floatOut(dt, B * H * K);
  const n0 = floatOut(dt, B * C * 4 * W);
  const n1 = floatOut(dt, B * C * 4 * W);
  const CW = C * W;
  const row = new Float64Array(Math.max(W, K));
  const x0 = new Float64Array(CW);
  const x1 = new Float64Array(CW);
  const x2 = new Float64Array(CW);
  const zPad = new Float64Array(W + 2);
  // conv over rows t−4, t−2 (window rows 0, 2) and t (`cur`), taps [C, C, 3, 3], width padding 2
  const conv = (
    win: ArrayLike<number>,
    wb: number,
    cur: Float64Array,
    taps: ArrayLike<number>,
    bias: ArrayLike<number>,
    out: Float64Array,
  ) => {
    for (let o = 0; o < C; o++)
      for (let p = 0; p < W; p++) {
        let a = bias[o];
        for (let i = 0; i < C; i++)
          for (let r = 0; r < 3; r++)
            for (let c = 0; c < 3; c++) {
              const col = p + 2 * c - 2;
              if (col < 0 || col >= W) continue;
              const inp = r === 2 ? cur[i * W + col] : win[wb + (i * 4 + 2 * r) * W + col];
              a += taps[((o * C + i) * 3 + r) * 3 + c] * inp;
            }
        out[o * W + p] = rd(Math.max(a, 0), dt);
      }
  };
  for (let bb = 0; bb < B; bb++) {
    const wb = bb * CW * 4;
    for (let c = 0; c < C; c++) {
      for (let p = 0; p < W; p++) row[p] = xv[bb * CW + c * W + p];
      layerNormRow(row, W, gIn, bIn, opts.eps);
      for (let p = 0; p < W; p++) x0[c * W + p] = rd(row[p], dt);
    }
    conv(w0, wb, x0, c1, b1, x1);
    conv(w1, wb, x1, c2, b2, x2);
    for (let h = 0; h < H; h++) {
      zPad[0] = cob[h];
      zPad[W + 1] = cob[h];
      for (let p = 0; p < W; p++) {
        let a = cob[h];
        for (let c = 0; c < C; c++) a += co[h * C + c] * x2[c * W + p];
        zPad[p + 1] = a;
      }
      for (let j = 0; j < K; j++) {
        let a = 0;
        for (let i = 0; i < W + 2; i++) a += map[j * (W + 2) + i] * zPad[i];
        row[j] = a;
      }
      layerNormRow(row, K, gOut, bOut, opts.eps);
      for (let j = 0; j < K; j++) logits[(bb * H + h) * K + j] = rd(row[j], dt);
    }
    // windows: rows 1…3 move up, the new row goes last
    for (let c = 0; c < C; c++) {
      const base = wb + c * 4 * W;
      for (let r = 0; r < 3; r++)
        for (let p = 0; p < W; p++) {
          n0[base + r * W + p] = w0[base + (r + 1) * W + p];
          n1[base + r * W + p] = w1[base + (r + 1) * W + p];
        }
      for (let p = 0; p < W; p++) {
        n0[base + 3 * W + p] = x0[c * W + p];
        n1[base + 3 * W + p] = x1[c * W + p];
      }
    }
  }
  return [b.out(logits, [B, H, 1, K], dt), b.out(n0, win0.shape, dt), b.out(n1, win1.shape, dt)];
}
