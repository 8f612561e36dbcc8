import {
  type CausalCnnStepTensors,
  causalCnnStep,
  type DType,
  type FloatDType,
  performerStep,
  roundToDType,
  type SeaEncoderStepTensors,
  seaDecodeAttention,
  seaEncoderStep,
  tensor,
  unitRoundoff,
} from '@sea/tensor';
import { assertClose, values } from '../check.js';
import { normal, rngFor, uniform } from '../data.js';
import type { SuiteContext } from '../suite.js';
import { dtypeTag } from './sea_estimate.js';

/** x rounded to what `dtype` stores (float32: fround), as the contracts round intermediates. */
const rd = (x: number, dtype: DType) => roundToDType(x, dtype);

/**
 * The causal Performer's row from its running sums (docs/algorithm.md §3 causal, §8), in float64:
 * φ(x)_m = rd(max(x·w_m, 0) + κ), S' = S + φ(k) ⊗ [v, 1], out = φ(q)·S'[:, :E] / φ(q)·S'[:, E]. With
 * |v| and |S| it gives each output's error scale. With a prefix table [N, P], sequence b's value row
 * is [table[rows[b]] ; v].
 */
function performerStepRef(
  S: Float64Array,
  q: Float64Array,
  k: Float64Array,
  v: Float64Array,
  w: Float64Array,
  [BH, M, D, E]: number[],
  kappa: number,
  dtype: DType,
  prefix: { p: Float64Array; P: number; H: number; rows: number[] } | null = null,
): { out: Float64Array; next: Float64Array } {
  const E1 = E + 1;
  const P = prefix?.P ?? 0;
  // the value row [prefix ; v] of sequence bh / H
  const val = (bh: number, e: number) =>
    prefix && e < P ? prefix.p[prefix.rows[Math.floor(bh / prefix.H)] * P + e] : v[bh * (E - P) + e - P];
  const out = new Float64Array(BH * E);
  const next = new Float64Array(S.length);
  for (let bh = 0; bh < BH; bh++) {
    const phi = (x: Float64Array, m: number) => {
      let a = 0;
      for (let d = 0; d < D; d++) a += x[bh * D + d] * w[m * D + d];
      return rd(Math.max(a, 0) + kappa, dtype);
    };
    const num = new Float64Array(E1);
    for (let m = 0; m < M; m++) {
      const fq = phi(q, m);
      const fk = phi(k, m);
      for (let e = 0; e < E1; e++) {
        const i = (bh * M + m) * E1 + e;
        next[i] = S[i] + fk * (e < E ? val(bh, e) : 1);
        num[e] += fq * next[i];
      }
    }
    for (let e = 0; e < E; e++) out[bh * E + e] = num[e] / num[E];
  }
  return { out, next };
}

/** LayerNorm of a row (biased variance), × γ + β, in float64. */
function lnRow(a: number[], g: ArrayLike<number>, b: ArrayLike<number>, eps: number): number[] {
  const n = a.length;
  const mean = a.reduce((x, y) => x + y, 0) / n;
  const v = a.reduce((x, y) => x + (y - mean) ** 2, 0) / n;
  return a.map((x, i) => ((x - mean) / Math.sqrt(v + eps)) * g[i] + b[i]);
}

interface CnnInputs {
  x: Float64Array;
  win0: Float64Array;
  win1: Float64Array;
  w: Record<keyof CausalCnnStepTensors, Float64Array>;
}

/**
 * The causal CNN's row (docs/algorithm.md §4a) in float64, straight from its definition: x0 = LN(x)
 * over W; conv_i(o, p) = bias_o + Σ_{i, r, c} taps[o, i, r, c] · in[i, row t − 4 + 2r, p + 2c − 2]
 * (zero outside the width) on [window; new row], ReLU; z = convOut·x2 + bias with the bias as the two
 * edge columns; o = map·z; logits = LN(o) over K. x0, x1, x2 rounded to the dtype, as the contract says.
 */
function cnnStepRef(
  inp: CnnInputs,
  [B, C, W, H, K]: number[],
  eps: number,
  dtype: DType,
): { logits: Float64Array; n0: Float64Array; n1: Float64Array } {
  const { x, win0, win1, w } = inp;
  const logits = new Float64Array(B * H * K);
  const n0 = new Float64Array(win0.length);
  const n1 = new Float64Array(win1.length);
  for (let b = 0; b < B; b++) {
    const at = (win: Float64Array, i: number, r: number, p: number) => win[((b * C + i) * 4 + r) * W + p];
    const x0: number[][] = [];
    for (let c = 0; c < C; c++) {
      const row = Array.from({ length: W }, (_, p) => x[(b * C + c) * W + p]);
      x0.push(lnRow(row, w.normInGamma, w.normInBeta, eps).map((y) => rd(y, dtype)));
    }
    const conv = (win: Float64Array, cur: number[][], taps: Float64Array, bias: Float64Array) =>
      Array.from({ length: C }, (_, o) =>
        Array.from({ length: W }, (_, p) => {
          let a = bias[o];
          for (let i = 0; i < C; i++)
            for (let r = 0; r < 3; r++)
              for (let c = 0; c < 3; c++) {
                const col = p + 2 * c - 2;
                if (col < 0 || col >= W) continue;
                // rows t−4, t−2 are window rows 0, 2; row t is the new row
                const xin = r === 2 ? cur[i][col] : at(win, i, 2 * r, col);
                a += taps[((o * C + i) * 3 + r) * 3 + c] * xin;
              }
          return rd(Math.max(a, 0), dtype);
        }),
      );
    const x1 = conv(win0, x0, w.conv1, w.conv1Bias);
    const x2 = conv(win1, x1, w.conv2, w.conv2Bias);
    for (let h = 0; h < H; h++) {
      const z = [w.convOutBias[h]];
      for (let p = 0; p < W; p++) {
        let a = w.convOutBias[h];
        for (let c = 0; c < C; c++) a += w.convOut[h * C + c] * x2[c][p];
        z.push(a);
      }
      z.push(w.convOutBias[h]);
      const o = Array.from({ length: K }, (_, j) =>
        z.reduce((s, zi, i) => s + w.map[j * (W + 2) + i] * zi, 0),
      );
      const y = lnRow(o, w.normOutGamma, w.normOutBeta, eps);
      for (let j = 0; j < K; j++) logits[(b * H + h) * K + j] = y[j];
    }
    for (let c = 0; c < C; c++)
      for (let p = 0; p < W; p++) {
        for (let r = 0; r < 3; r++) {
          n0[((b * C + c) * 4 + r) * W + p] = at(win0, c, r + 1, p);
          n1[((b * C + c) * 4 + r) * W + p] = at(win1, c, r + 1, p);
        }
        n0[((b * C + c) * 4 + 3) * W + p] = x0[c][p];
        n1[((b * C + c) * 4 + 3) * W + p] = x1[c][p];
      }
  }
  return { logits, n0, n1 };
}

const maxAbs = (a: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
};

export function registerSeaDecode(s: SuiteContext): void {
  s.group('performerStep', 'performerStep', (test) => {
    // [B, H, M, D, E, P]: odd sizes, the OPT-125m estimator (m 33, E = 2D = 128 of which the position
    // row is a 64-wide prefix), nbf 1 (m 266), the limits; P columns of the value row shared by the heads
    const cases: number[][] = [
      [1, 1, 1, 2, 1, 0],
      [2, 3, 7, 5, 11, 0],
      [2, 3, 7, 5, 11, 4],
      [1, 12, 33, 64, 128, 64],
      [1, 2, 266, 64, 64, 0],
      [2, 1, 1024, 16, 3, 0],
      [1, 1, 5, 8, 1039, 0],
    ];
    for (const dtype of s.seaDTypes)
      for (const [B, H, M, D, E, P] of cases) {
        const title = `${dtypeTag(dtype)}sums[${B},${H},${M},${E + 1}] q[…,${D}]${P ? ` prefix ${P}` : ''}`;
        test(title, async ({ backend, tol }) => {
          const rng = rngFor(title);
          const E1 = E + 1;
          // a running state: S of either sign, z + eps positive (the sums of positive features)
          const S = normal(rng, [B, H, M, E1], 'float32', 2);
          for (let i = E; i < S.length; i += E1) S[i] = Math.fround(0.5 + 3 * rng.uniform());
          const q = normal(rng, [B, H, 1, D], dtype);
          const k = normal(rng, [B, H, 1, D], dtype);
          const v = normal(rng, [B, H, 1, E - P], dtype);
          // the prefix table: 7 rows, sequence b reads row (3 + 2b) mod 7
          const N = 7;
          const pv = normal(rng, [N, P], dtype);
          const rows = Array.from({ length: B }, (_, b) => (3 + 2 * b) % N);
          const w = normal(rng, [M, D], dtype, D ** -0.5);
          const kappa = 0.001;
          const r = performerStep(
            tensor(S, [B, H, M, E1], { backend, dtype: 'float32' }),
            tensor(q, [B, H, 1, D], { backend, dtype }),
            tensor(k, [B, H, 1, D], { backend, dtype }),
            tensor(v, [B, H, 1, E - P], { backend, dtype }),
            tensor(w, [M, D], { backend, dtype }),
            kappa,
            P ? { table: tensor(pv, [N, P], { backend, dtype }), rows } : undefined,
          );
          const pre = P ? { p: pv, P, H, rows } : null;
          const absPre = P ? { p: pv.map(Math.abs), P, H, rows } : null;
          const want = performerStepRef(S, q, k, v, w, [B * H, M, D, E], kappa, dtype, pre);
          const mag = performerStepRef(
            S.map(Math.abs),
            q,
            k,
            v.map(Math.abs),
            w,
            [B * H, M, D, E],
            kappa,
            dtype,
            absPre,
          );
          // sums over M features: float32 error grows with √M
          const f = Math.max(2, Math.sqrt(M));
          assertClose(
            await values(r.out, [B, H, 1, E], dtype, title),
            want.out,
            tol(dtype, 'performerStep', f),
            `${title} out`,
            [B, H, 1, E],
            mag.out,
          );
          // the sums are float32; each added term φk_m·[v, 1]_e carries φk's one rounding to the dtype
          const t32 = tol('float32', 'performerStep', 2);
          const u = unitRoundoff(dtype as FloatDType);
          const gotSums = await values(r.sums, [B, H, M, E1], 'float32', title);
          for (let i = 0; i < want.next.length; i++) {
            const term = Math.abs(want.next[i] - S[i]);
            const allowed = t32.atol + t32.rtol * mag.next[i] + 2 * u * term;
            if (!(Math.abs(gotSums[i] - want.next[i]) <= allowed))
              throw new Error(
                `${title} sums: value ${i} is ${gotSums[i]}, want ${want.next[i]} (error ${Math.abs(gotSums[i] - want.next[i]).toExponential(3)}, allowed ${allowed.toExponential(3)})`,
              );
          }
        });
      }
  });

  s.group('causalCnnStep', 'causalCnnStep', (test) => {
    // [B, H, W, K]: C = 2H channels; tiny, odd, the OPT-125m estimator (H 12, K 256, W 64), and one
    // whose rows (3·C·W + H·(W+2) + H·K floats, 88 KiB) exceed a GPU block's shared memory
    const cases: number[][] = [
      [1, 1, 1, 4],
      [2, 3, 5, 20],
      [1, 2, 7, 9],
      [1, 12, 64, 256],
      [2, 16, 128, 512],
    ];
    for (const dtype of s.seaDTypes)
      for (const [B, H, W, K] of cases) {
        const C = 2 * H;
        const title = `${dtypeTag(dtype)}x[${B},${C},1,${W}] K ${K}`;
        test(title, async ({ backend, tol }) => {
          const rng = rngFor(title);
          const fan = (n: number) => n ** -0.5;
          const inp: CnnInputs = {
            x: normal(rng, [B, C, 1, W], dtype, 2, 0.3),
            win0: normal(rng, [B, C, 4, W], dtype),
            win1: uniform(rng, [B, C, 4, W], dtype, 0, 1.5),
            w: {
              normInGamma: normal(rng, [W], dtype, 0.2, 1),
              normInBeta: normal(rng, [W], dtype, 0.1),
              conv1: normal(rng, [C, C, 3, 3], dtype, fan(9 * C)),
              conv1Bias: normal(rng, [C], dtype, 0.1),
              conv2: normal(rng, [C, C, 3, 3], dtype, fan(9 * C)),
              conv2Bias: normal(rng, [C], dtype, 0.1),
              convOut: normal(rng, [H, C], dtype, fan(C)),
              convOutBias: normal(rng, [H], dtype, 0.1),
              map: uniform(rng, [K, W + 2], dtype, 0, 0.5),
              normOutGamma: normal(rng, [K], dtype, 0.2, 1),
              normOutBeta: normal(rng, [K], dtype, 0.1),
            },
          };
          const shapes: Record<keyof CausalCnnStepTensors, number[]> = {
            normInGamma: [W],
            normInBeta: [W],
            conv1: [C, C, 3, 3],
            conv1Bias: [C],
            conv2: [C, C, 3, 3],
            conv2Bias: [C],
            convOut: [H, C],
            convOutBias: [H],
            map: [K, W + 2],
            normOutGamma: [K],
            normOutBeta: [K],
          };
          const wt = Object.fromEntries(
            Object.entries(inp.w).map(([n, a]) => [
              n,
              tensor(a, shapes[n as keyof CausalCnnStepTensors], { backend, dtype }),
            ]),
          ) as unknown as CausalCnnStepTensors;
          const eps = 1e-5;
          const r = causalCnnStep(
            tensor(inp.x, [B, C, 1, W], { backend, dtype }),
            tensor(inp.win0, [B, C, 4, W], { backend, dtype }),
            tensor(inp.win1, [B, C, 4, W], { backend, dtype }),
            wt,
            eps,
          );
          const want = cnnStepRef(inp, [B, C, W, H, K], eps, dtype);
          // sums over 9·C taps, then W + 2 map columns, through two LayerNorms: each against its tensor's scale
          const t = tol(dtype, 'causalCnnStep', Math.max(4, Math.sqrt(9 * C)));
          for (const [name, got, w, shape] of [
            ['logits', r.logits, want.logits, [B, H, 1, K]],
            ['win0', r.win0, want.n0, [B, C, 4, W]],
            ['win1', r.win1, want.n1, [B, C, 4, W]],
          ] as const) {
            const m = new Float64Array(w.length).fill(maxAbs(w));
            assertClose(await values(got, shape, dtype, title), w, t, `${title} ${name}`, shape, m);
          }
        });
      }
  });
}

interface DecodeRow {
  B: number;
  H: number;
  K: number;
  Tk: number;
  D: number;
  E: number;
  kcap: number;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** round(n/d) half to even, exactly, for integers n ≥ 0, d > 0. */
function roundHalfEvenRatio(n: number, d: number): number {
  const q = Math.floor(n / d);
  const r2 = 2 * (n - q * d);
  return r2 > d || (r2 === d && q % 2 === 1) ? q + 1 : q;
}

/** Â of sequence b (softmax over K per head, rounded to the dtype), flat h·K + m. */
function probsRef(logits: Float64Array, b: number, H: number, K: number, dtype: DType): Float64Array {
  const p = new Float64Array(H * K);
  for (let h = 0; h < H; h++) {
    const o = (b * H + h) * K;
    let m = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < K; c++) m = Math.max(m, logits[o + c]);
    let s = 0;
    for (let c = 0; c < K; c++) s += Math.exp(logits[o + c] - m);
    for (let c = 0; c < K; c++) p[h * K + c] = rd(Math.exp(logits[o + c] - m) / s, dtype);
  }
  return p;
}

/** The causal budget of a row of L visible keys (docs/algorithm.md §5). */
const budgetOf = (r: DecodeRow, L: number) =>
  Math.min(Math.max(roundHalfEvenRatio(r.H * r.kcap * r.K, L), 1), r.H * r.K);

/**
 * One decoded row's sparse attention (docs/algorithm.md §5–§7), in float64 from the definitions: the
 * n largest Â cells over all heads (ties to the lower flat index), cell m's keys
 * [⌊m·L/K + ½⌋, ⌊(m+1)·L/K + ½⌋) of which a cell of width w takes n = min(w, kcap),
 * j_i = end − 1 − ⌊i·w/n⌋; softmax of the scaled scores over a head's keys times s_prob = rd(σ(·));
 * vSum' = vSum + v_{L−1}; out = s_mix·rd(local) + (1 − s_mix)·vSum'/L. |v| instead of v gives the scale.
 */
function decodeAttentionRef(
  r: DecodeRow,
  x: {
    logits: Float64Array;
    q: Float64Array;
    k: Float64Array;
    v: Float64Array;
    scales: Float64Array;
    vSum: Float64Array;
  },
  rowLen: number[],
  scale: number,
  dtype: DType,
): { out: Float64Array; next: Float64Array } {
  const { B, H, K, Tk, D, E, kcap } = r;
  const out = new Float64Array(B * H * E);
  const next = new Float64Array(B * H * E);
  for (let b = 0; b < B; b++) {
    const L = rowLen[b];
    const p = probsRef(x.logits, b, H, K, dtype);
    const order = Array.from({ length: H * K }, (_, i) => i).sort((i, j) => p[j] - p[i] || i - j);
    const sel = new Set(order.slice(0, budgetOf(r, L)));
    for (let h = 0; h < H; h++) {
      const bh = b * H + h;
      const keys: number[] = [];
      for (let m = 0; m < K; m++) {
        if (!sel.has(h * K + m)) continue;
        const a = Math.floor((m * L) / K + 0.5);
        const e = Math.floor(((m + 1) * L) / K + 0.5);
        const w = e - a;
        const n = Math.min(w, kcap);
        for (let i = 0; i < n; i++) keys.push(e - 1 - Math.floor((i * w) / n));
      }
      const s = keys.map((j) => {
        let a = 0;
        for (let d = 0; d < D; d++) a += x.q[bh * D + d] * x.k[(bh * Tk + j) * D + d];
        return scale * a;
      });
      const mx = Math.max(...s);
      const ws = s.map((z) => Math.exp(z - mx));
      const z = ws.reduce((u, y) => u + y, 0);
      const sp = rd(sigmoid(x.scales[bh * 2]), dtype);
      const sm = rd(sigmoid(x.scales[bh * 2 + 1]), dtype);
      for (let e = 0; e < E; e++) {
        let acc = 0;
        for (const [i, j] of keys.entries()) acc += ws[i] * x.v[(bh * Tk + j) * E + e];
        const local = keys.length ? rd((sp * acc) / z, dtype) : 0;
        const vs = x.vSum[bh * E + e] + x.v[(bh * Tk + L - 1) * E + e];
        next[bh * E + e] = vs;
        out[bh * E + e] = sm * local + (1 - sm) * (vs / L);
      }
    }
  }
  return { out, next };
}

/**
 * A row length near `want` whose selection has a clear margin in every sequence: the n-th and
 * (n+1)-th largest Â differ by over 2% (or n is every cell), so a float32 softmax selects the same
 * cells as the float64 one. Exact ties inside one head (equal logits) are left to the tie rule.
 */
function clearRowLen(r: DecodeRow, logits: Float64Array, b: number, want: number, dtype: DType): number {
  const p = probsRef(logits, b, r.H, r.K, dtype);
  const sorted = Array.from(p).sort((x, y) => y - x);
  for (let off = 0; off < r.Tk; off++)
    for (const L of [want - off, want + off]) {
      if (L < 1 || L > r.Tk) continue;
      const n = budgetOf(r, L);
      if (n >= r.H * r.K || sorted[n - 1] > 1.02 * sorted[n] || sorted[n - 1] === sorted[n]) {
        if (sorted[n - 1] !== sorted[n] || n >= r.H * r.K) return L;
        // a tie at the threshold: only when every value tied with it sits in one head (exact equals)
        const heads = new Set<number>();
        for (let i = 0; i < p.length; i++)
          if (Math.abs(p[i] - sorted[n]) <= 0.02 * sorted[n]) heads.add(Math.floor(i / r.K));
        if (heads.size === 1) return L;
      }
    }
  throw new Error('no row length with a clear selection margin');
}

export function registerSeaDecodeAttention(s: SuiteContext): void {
  s.group('seaDecodeAttention', 'seaDecodeAttention', (test) => {
    // [B, H, K, Tk, D, E, kcap, L]: tiny; odd sizes; the OPT-125m layer (H 12, K 256, D 64, k 64) at a
    // short row (budget below H·K, cells of one key) and at a long one (wide cells capped at k); one
    // head with quarter-step logits (exact ties to the lower index); two sequences at other positions
    const cases: [number[], number[], string][] = [
      [[1, 1, 4, 9, 4, 4, 2], [7], 'tiny'],
      [[2, 3, 8, 40, 5, 7, 2], [29, 40], 'odd sizes, two positions'],
      [[1, 12, 256, 300, 64, 64, 64], [280], 'OPT-125m, short row'],
      [[1, 12, 256, 2100, 64, 64, 64], [2048], 'OPT-125m, cells wider than k'],
      [[1, 1, 8, 50, 4, 6, 2], [33], 'one head, tied logits'],
      [[2, 2, 6, 64, 8, 128, 3], [3, 61], 'E 128, a row of 3 keys'],
    ];
    for (const dtype of s.seaDTypes)
      for (const [[B, H, K, Tk, D, E, kcap], wants, note] of cases) {
        const title = `${dtypeTag(dtype)}[${B},${H},${K}] Tk ${Tk} D ${D} E ${E} k ${kcap}: ${note}`;
        test(title, async ({ backend, tol }) => {
          const rng = rngFor(title);
          const r: DecodeRow = { B, H, K, Tk, D, E, kcap };
          const ties = note.includes('tied');
          const logits = ties
            ? normal(rng, [B, H, 1, K], dtype).map((x) => Math.round(x * 4) / 4)
            : normal(rng, [B, H, 1, K], dtype, 1.5);
          const x = {
            logits,
            q: normal(rng, [B, H, 1, D], dtype, D ** -0.5),
            k: normal(rng, [B, H, Tk, D], dtype),
            v: normal(rng, [B, H, Tk, E], dtype),
            scales: normal(rng, [B, H, 1, 2], dtype),
            vSum: normal(rng, [B, H, 1, E], 'float32', 3),
          };
          const rowLen = wants.map((w, b) => clearRowLen(r, logits, b, w, dtype));
          const scale = 0.9;
          const got = seaDecodeAttention(
            tensor(x.logits, [B, H, 1, K], { backend, dtype }),
            tensor(x.q, [B, H, 1, D], { backend, dtype }),
            tensor(x.k, [B, H, Tk, D], { backend, dtype }),
            tensor(x.v, [B, H, Tk, E], { backend, dtype }),
            tensor(x.scales, [B, H, 1, 2], { backend, dtype }),
            tensor(x.vSum, [B, H, 1, E], { backend, dtype: 'float32' }),
            { k: kcap, scale, rowLen },
          );
          const want = decodeAttentionRef(r, x, rowLen, scale, dtype);
          // outputs are blends of V rows and of vSum/L: each against the tensor's scale
          const shape = [B, H, 1, E];
          const m = new Float64Array(B * H * E).fill(Math.max(maxAbs(want.out), 1));
          assertClose(
            await values(got.out, shape, dtype, title),
            want.out,
            tol(dtype, 'seaDecodeAttention', 4),
            `${title} out`,
            shape,
            m,
          );
          assertClose(
            await values(got.vSum, shape, 'float32', title),
            want.next,
            tol('float32', 'seaDecodeAttention', 2),
            `${title} vSum`,
            shape,
            m,
          );
        });
      }
  });
}

/** GELU with erf in float64 (erf by its Maclaurin series, |x| small, or 1 − erfc by continued fraction). */
function gelu64(x: number): number {
  const t = Math.abs(x) / Math.SQRT2;
  let erf: number;
  if (t < 3) {
    let term = t;
    let sum = t;
    for (let n = 1; n < 100; n++) {
      term *= (-t * t) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-18) break;
    }
    erf = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // erfc(t) = e^(−t²)/√π · 1/(t + 1/2/(t + 1/(t + 3/2/(t + …)))), evaluated bottom-up
    let f = t;
    for (let n = 60; n >= 1; n--) f = t + n / 2 / f;
    erf = 1 - Math.exp(-t * t) / (Math.sqrt(Math.PI) * f);
  }
  return 0.5 * x * (1 + Math.sign(x) * erf);
}

export function registerSeaEncoderStep(s: SuiteContext): void {
  s.group('seaEncoderStep', 'seaEncoderStep', (test) => {
    // [B, H, Ec, Ev, N, S, X]: tiny, odd, the OPT-125m estimator (C_perf 2D = 128, V 64, N 2D, S 2, X 128)
    const cases: number[][] = [
      [1, 1, 2, 1, 3, 2, 4],
      [2, 3, 10, 5, 12, 2, 9],
      [1, 12, 128, 64, 128, 2, 128],
    ];
    for (const dtype of s.seaDTypes)
      for (const [B, H, Ec, Ev, N, S, X] of cases) {
        const title = `${dtypeTag(dtype)}c[${B},${H},1,${Ec}] v[…,${Ev}] N ${N} → S ${S}, X ${X}`;
        test(title, async ({ backend, tol }) => {
          const rng = rngFor(title);
          const In = Ec + Ev;
          const c = normal(rng, [B, H, 1, Ec], dtype);
          const v = normal(rng, [B, H, 1, Ev], dtype);
          const w: Record<keyof SeaEncoderStepTensors, Float64Array> = {
            encoder: normal(rng, [N, In], dtype, In ** -0.5),
            encoderBias: normal(rng, [N], dtype, 0.1),
            normGamma: normal(rng, [N], dtype, 0.2, 1),
            normBeta: normal(rng, [N], dtype, 0.1),
            scaler: normal(rng, [S, N], dtype, N ** -0.5),
            scalerBias: normal(rng, [S], dtype, 0.1),
            nu: normal(rng, [X, N], dtype, N ** -0.5),
            nuBias: normal(rng, [X], dtype, 0.1),
          };
          const shapes: Record<keyof SeaEncoderStepTensors, number[]> = {
            encoder: [N, In],
            encoderBias: [N],
            normGamma: [N],
            normBeta: [N],
            scaler: [S, N],
            scalerBias: [S],
            nu: [X, N],
            nuBias: [X],
          };
          const wt = Object.fromEntries(
            Object.entries(w).map(([n, a]) => [
              n,
              tensor(a, shapes[n as keyof SeaEncoderStepTensors], { backend, dtype }),
            ]),
          ) as unknown as SeaEncoderStepTensors;
          const eps = 1e-5;
          const got = seaEncoderStep(
            tensor(c, [B, H, 1, Ec], { backend, dtype }),
            tensor(v, [B, H, 1, Ev], { backend, dtype }),
            wt,
            eps,
          );
          // float64 from the definitions: Linear → LayerNorm → GELU (rounded to the dtype) → two Linears
          const wantS = new Float64Array(B * H * S);
          const wantX = new Float64Array(B * H * X);
          for (let bh = 0; bh < B * H; bh++) {
            const row = [...c.subarray(bh * Ec, (bh + 1) * Ec), ...v.subarray(bh * Ev, (bh + 1) * Ev)];
            const enc = Array.from({ length: N }, (_, j) =>
              row.reduce((a, x, i) => a + w.encoder[j * In + i] * x, w.encoderBias[j]),
            );
            const z = lnRow(enc, w.normGamma, w.normBeta, eps).map((y) => rd(gelu64(y), dtype));
            for (let o = 0; o < S; o++)
              wantS[bh * S + o] = z.reduce((a, x, j) => a + w.scaler[o * N + j] * x, w.scalerBias[o]);
            for (let o = 0; o < X; o++)
              wantX[bh * X + o] = z.reduce((a, x, j) => a + w.nu[o * N + j] * x, w.nuBias[o]);
          }
          // sums over the row, then over N through a LayerNorm: against each output's tensor scale
          const t = tol(dtype, 'seaEncoderStep', Math.max(4, Math.sqrt(In)));
          for (const [name, g, want, shape] of [
            ['scales', got.scales, wantS, [B, H, 1, S]],
            ['x', got.x, wantX, [B, H, 1, X]],
          ] as const) {
            const m = new Float64Array(want.length).fill(maxAbs(want));
            assertClose(await values(g, shape, dtype, title), want, t, `${title} ${name}`, shape, m);
          }
        });
      }
  });
}
