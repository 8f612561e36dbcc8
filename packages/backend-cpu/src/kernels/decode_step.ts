/**
 * The SEA decoding steps (docs/algorithm.md §8): one new row of the causal Performer from its running
 * sums, and one row of the causal estimator's CNN from its rolling windows. float64 math; a 16-bit
 * output (and the features / CNN rows the contract rounds) rounded once to the inputs' dtype.
 */
import { type DType, roundToDType, type TensorInfo } from '@sea/tensor';
import type {
  CausalCnnStepWeights,
  PerformerStepOptions,
  SeaDecodeAttentionOptions,
  SeaEncoderStepWeights,
} from '@sea/tensor/backend';
import type { CpuBackend } from '../cpu_backend.js';
import { erfc } from './unary.js';

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
  prefix: TensorInfo | null,
  v: TensorInfo,
  w: TensorInfo,
  opts: PerformerStepOptions,
): [TensorInfo, TensorInfo] {
  const [B, H, M, E1] = sums.shape;
  const E = E1 - 1;
  const P = prefix ? prefix.shape[1] : 0;
  const rows = opts.prefixRows ?? [];
  const pv = prefix ? b.values(prefix) : null;
  const Ev = E - P;
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
        const x =
          e >= E
            ? 1
            : e < P
              ? (pv as ArrayLike<number>)[rows[Math.floor(bh / H)] * P + e]
              : vv[bh * Ev + e - P];
        const s = Math.fround(S[row + e] + fk[m] * x);
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

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** round(x) half to even (the budgets' rounding, docs/algorithm.md §5) of a non-negative n/d, exactly. */
function roundHalfEvenRatio(n: number, d: number): number {
  const q = Math.floor(n / d);
  const r2 = 2 * (n - q * d);
  if (r2 > d) return q + 1;
  if (r2 < d) return q;
  return q % 2 === 0 ? q : q + 1;
}

export function seaDecodeAttention(
  b: CpuBackend,
  logits: TensorInfo,
  q: TensorInfo,
  k: TensorInfo,
  v: TensorInfo,
  scales: TensorInfo,
  vSum: TensorInfo,
  opts: SeaDecodeAttentionOptions,
): [TensorInfo, TensorInfo] {
  const [B, H, , K] = logits.shape;
  const [, , Tk, D] = k.shape;
  const E = v.shape[3];
  const dt = q.dtype;
  const lg = b.values(logits);
  const qv = b.values(q);
  const kv = b.values(k);
  const vv = b.values(v);
  const sc = b.values(scales);
  const vs = b.values(vSum);
  const out = floatOut(dt, B * H * E);
  const next = new Float32Array(B * H * E);
  const HK = H * K;
  const p = new Float64Array(HK);
  const order = new Int32Array(HK);
  const acc = new Float64Array(E);
  for (let bb = 0; bb < B; bb++) {
    const L = opts.rowLen[bb];
    // Â = softmax over K per head, rounded to the dtype
    for (let h = 0; h < H; h++) {
      const o = (bb * H + h) * K;
      let m = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < K; c++) m = Math.max(m, lg[o + c]);
      let s = 0;
      for (let c = 0; c < K; c++) s += Math.exp(lg[o + c] - m);
      for (let c = 0; c < K; c++) p[h * K + c] = rd(Math.exp(lg[o + c] - m) / s, dt);
    }
    const n = Math.min(Math.max(roundHalfEvenRatio(H * opts.k * K, L), 1), HK);
    for (let i = 0; i < HK; i++) order[i] = i;
    order.sort((x, y) => p[y] - p[x] || x - y);
    const selected = new Uint8Array(HK);
    for (let r = 0; r < n; r++) selected[order[r]] = 1;
    for (let h = 0; h < H; h++) {
      const bh = bb * H + h;
      // the head's keys: selected cells ascending, keys descending within a cell
      const keys: number[] = [];
      for (let c = 0; c < K; c++) {
        if (!selected[h * K + c]) continue;
        const a = Math.floor((2 * c * L + K) / (2 * K));
        const e = Math.floor((2 * (c + 1) * L + K) / (2 * K));
        const w = e - a;
        const cnt = Math.min(w, opts.k);
        for (let i = 0; i < cnt; i++) keys.push(e - 1 - Math.floor((i * w) / cnt));
      }
      acc.fill(0);
      let local = 0;
      if (keys.length > 0) {
        const s = keys.map((j) => {
          let a = 0;
          for (let d = 0; d < D; d++) a += qv[bh * D + d] * kv[(bh * Tk + j) * D + d];
          return opts.scale * a;
        });
        const m = Math.max(...s);
        let z = 0;
        for (const [i, j] of keys.entries()) {
          const w = Math.exp(s[i] - m);
          z += w;
          for (let e = 0; e < E; e++) acc[e] += w * vv[(bh * Tk + j) * E + e];
        }
        local = rd(sigmoid(sc[bh * 2]), dt) / z;
      }
      const mix = rd(sigmoid(sc[bh * 2 + 1]), dt);
      for (let e = 0; e < E; e++) {
        const sum = Math.fround(vs[bh * E + e] + vv[(bh * Tk + L - 1) * E + e]);
        next[bh * E + e] = sum;
        const loc = rd(acc[e] * local, dt);
        out[bh * E + e] = rd(mix * loc + (1 - mix) * (sum / L), dt);
      }
    }
  }
  return [b.out(out, [B, H, 1, E], dt), b.out(next, [B, H, 1, E], 'float32')];
}

export function seaEncoderStep(
  b: CpuBackend,
  c: TensorInfo,
  v: TensorInfo,
  w: SeaEncoderStepWeights,
  opts: { eps: number },
): [TensorInfo, TensorInfo] {
  const [B, H, , Ec] = c.shape;
  const Ev = v.shape[3];
  const N = w.encoder.shape[0];
  const S = w.scaler.shape[0];
  const X = w.nu.shape[0];
  const dt = c.dtype;
  const cv = b.values(c);
  const vv = b.values(v);
  const [We, be, g, bt, Ws, bs, Wn, bn] = [
    w.encoder,
    w.encoderBias,
    w.normGamma,
    w.normBeta,
    w.scaler,
    w.scalerBias,
    w.nu,
    w.nuBias,
  ].map((t) => b.values(t));
  const scales = floatOut(dt, B * H * S);
  const xs = floatOut(dt, B * H * X);
  const In = Ec + Ev;
  const enc = new Float64Array(N);
  const z = new Float64Array(N);
  for (let bh = 0; bh < B * H; bh++) {
    for (let j = 0; j < N; j++) {
      let a = be[j];
      for (let i = 0; i < Ec; i++) a += We[j * In + i] * cv[bh * Ec + i];
      for (let i = 0; i < Ev; i++) a += We[j * In + Ec + i] * vv[bh * Ev + i];
      enc[j] = a;
    }
    layerNormRow(enc, N, g, bt, opts.eps);
    for (let j = 0; j < N; j++) z[j] = rd(0.5 * enc[j] * erfc(-enc[j] * Math.SQRT1_2), dt);
    for (let s = 0; s < S; s++) {
      let a = bs[s];
      for (let j = 0; j < N; j++) a += Ws[s * N + j] * z[j];
      scales[bh * S + s] = rd(a, dt);
    }
    for (let x = 0; x < X; x++) {
      let a = bn[x];
      for (let j = 0; j < N; j++) a += Wn[x * N + j] * z[j];
      xs[bh * X + x] = rd(a, dt);
    }
  }
  return [b.out(scales, [B, H, 1, S], dt), b.out(xs, [B, H, 1, X], dt)];
}
