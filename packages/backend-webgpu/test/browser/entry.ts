/**
 * Browser entry of the headless-Chromium test: creates the WebGPU backend through navigator.gpu,
 * runs a handful of primitives against float64 definitions computed here, and leaves a JSON report
 * in `globalThis.__seaResult` for the test to read.
 */
import type { TensorInfo } from '@sea/tensor';
import { createWebGpuBackend, type WebGpuBackend } from '../../src/index.js';

interface Check {
  name: string;
  maxErr: number;
  tol: number;
  ok: boolean;
}

function rand(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + ((hi - lo) * s) / 4294967296;
  });
}

async function main(): Promise<unknown> {
  const b: WebGpuBackend = await createWebGpuBackend();
  const checks: Check[] = [];
  const put = (
    v: Float32Array | Int32Array | Uint8Array,
    shape: number[],
    dtype: TensorInfo['dtype'] = 'float32',
  ): TensorInfo => ({
    dataId: b.upload(v, dtype),
    shape,
    dtype,
  });
  const check = async (name: string, t: TensorInfo, want: ArrayLike<number>, tol: number) => {
    const got = await b.read(t.dataId, t.dtype, want.length);
    let maxErr = got.length === want.length ? 0 : Number.POSITIVE_INFINITY;
    for (let i = 0; i < want.length; i++)
      maxErr = Math.max(maxErr, Math.abs(got[i] - want[i]) || (Number.isNaN(got[i]) ? Infinity : 0));
    checks.push({ name, maxErr, tol, ok: maxErr <= tol });
  };

  // matmul a[2,19,23] × b[23,17]ᵀ-free, and a[33,20] × b[24,20]ᵀ (aligned: vec4 kernels)
  for (const [M, K, N, transB] of [
    [19, 23, 17, false],
    [33, 20, 24, true],
  ] as const) {
    const a = rand(2 * M * K, 1);
    const c = rand(K * N, 2);
    const want = new Float64Array(2 * M * N);
    for (let z = 0; z < 2; z++)
      for (let i = 0; i < M; i++)
        for (let j = 0; j < N; j++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += a[(z * M + i) * K + k] * c[transB ? j * K + k : k * N + j];
          want[(z * M + i) * N + j] = s;
        }
    const y = b.matmul(put(a, [2, M, K]), put(c, transB ? [N, K] : [K, N]), { transB }, [2, M, N]);
    await check(`matmul ${M}x${K}x${N}${transB ? 'ᵀ' : ''}`, y, want, 1e-4);
  }

  // softmax over 37 with an additive mask broadcast over rows, one row all −∞
  {
    const x = rand(5 * 37, 3, -3, 3);
    const m = rand(37, 4, -1, 0);
    const xs = Float32Array.from(x);
    for (let j = 0; j < 37; j++) xs[4 * 37 + j] = Number.NEGATIVE_INFINITY;
    const want = new Float64Array(5 * 37);
    for (let r = 0; r < 5; r++) {
      const row = Array.from({ length: 37 }, (_, j) => xs[r * 37 + j] + m[j]);
      const mx = Math.max(...row);
      if (mx === Number.NEGATIVE_INFINITY) continue;
      const e = row.map((v) => Math.exp(v - mx));
      const s = e.reduce((p, q) => p + q, 0);
      e.forEach((v, j) => {
        want[r * 37 + j] = v / s;
      });
    }
    await check('softmax + mask', b.softmax(put(xs, [5, 37]), put(m, [37])), want, 1e-6);
  }

  // gelu (erf form) and broadcast add
  {
    const x = rand(300, 5, -5, 5);
    const erf = (z: number) => {
      // Abramowitz–Stegun 7.1.26 is too coarse; integrate the series (|z| ≤ 5/√2) in double instead.
      let sum = 0;
      let term = z;
      for (let n = 0; n < 200; n++) {
        sum += term / (2 * n + 1);
        term *= (-z * z) / (n + 1);
      }
      return (2 / Math.sqrt(Math.PI)) * sum;
    };
    await check(
      'gelu',
      b.unary('gelu', put(x, [300])),
      Array.from(x, (v) => 0.5 * v * (1 + erf(v / Math.SQRT2))),
      2e-6 * 5,
    );
    const y = rand(3, 6);
    await check(
      'add [100,3]+[3]',
      b.binary('add', put(x, [100, 3]), put(y, [3]), [100, 3]),
      Array.from(x, (v, i) => v + y[i % 3]),
      1e-6,
    );
  }

  // grouped top-k with ties → lower index
  {
    const G = 3;
    const N = 50;
    const s = Float32Array.from(rand(G * N, 7), (v) => Math.round(v * 4) / 4);
    const budgets = Int32Array.from([5, 0, 60]);
    const want = new Uint8Array(G * N);
    for (let g = 0; g < G; g++) {
      const idx = Array.from({ length: N }, (_, i) => i).sort((p, q) => s[g * N + q] - s[g * N + p] || p - q);
      for (let i = 0; i < Math.min(Math.max(budgets[g], 0), N); i++) want[g * N + idx[i]] = 1;
    }
    await check('groupedTopK', b.groupedTopK(put(s, [G, N]), put(budgets, [G], 'int32')), want, 0);
  }

  // causal prefix sums
  {
    const [T, M, E] = [21, 9, 5];
    const qf = rand(T * M, 8, 0.001, 1);
    const kf = rand(T * M, 9, 0.001, 1);
    const v = rand(T * E, 10);
    const want = new Float64Array(T * E);
    const S = new Float64Array(M * E);
    const z = new Float64Array(M);
    for (let t = 0; t < T; t++) {
      for (let m = 0; m < M; m++) {
        z[m] += kf[t * M + m];
        for (let e = 0; e < E; e++) S[m * E + e] += kf[t * M + m] * v[t * E + e];
      }
      let den = 0;
      for (let m = 0; m < M; m++) den += qf[t * M + m] * (z[m] + 1e-6);
      for (let e = 0; e < E; e++) {
        let num = 0;
        for (let m = 0; m < M; m++) num += qf[t * M + m] * S[m * E + e];
        want[t * E + e] = num / den;
      }
    }
    const y = b.performerPrefixSum(put(qf, [1, 1, T, M]), put(kf, [1, 1, T, M]), put(v, [1, 1, T, E]), {
      eps: 1e-6,
    });
    await check('performerPrefixSum', y, want, 1e-5);
  }

  // stretch a compressed mask to CSR and attend: SDDMM → per-head softmax → SpMM
  {
    const [Tq, H, Kc, D, k] = [12, 2, 4, 8, 2];
    const mask = Uint8Array.from(rand(Tq * H * Kc, 11, 0, 1), (x) => (x < 0.5 ? 1 : 0));
    const rowLen = Int32Array.from({ length: Tq }, (_, t) => t + 1);
    const csr = await b.stretchToCsr(put(mask, [1, Tq, H, Kc], 'bool'), put(rowLen, [1, Tq], 'int32'), {
      k,
      keys: Tq,
    });
    const q = rand(H * Tq * D, 12);
    const kk = rand(H * Tq * D, 13);
    const v = rand(H * Tq * D, 14);
    const out = b.csrSpmm(
      csr,
      b.csrSoftmax(csr, b.csrSddmm(csr, put(q, [1, H, Tq, D]), put(kk, [1, H, Tq, D]), 0.5), null),
      put(v, [1, H, Tq, D]),
    );
    const want = new Float64Array(H * Tq * D);
    for (let t = 0; t < Tq; t++) {
      const L = t + 1;
      for (let h = 0; h < H; h++) {
        const js: number[] = [];
        for (let m = 0; m < Kc; m++) {
          if (!mask[(t * H + h) * Kc + m]) continue;
          const a0 = Math.floor((m * L) / Kc + 0.5);
          const e = Math.floor(((m + 1) * L) / Kc + 0.5);
          const n = Math.min(e - a0, k);
          for (let i = 0; i < n; i++) js.push(e - 1 - Math.floor((i * (e - a0)) / n));
        }
        const sc = js.map((j) => {
          let s = 0;
          for (let d = 0; d < D; d++) s += q[(h * Tq + t) * D + d] * kk[(h * Tq + j) * D + d];
          return 0.5 * s;
        });
        const mx = Math.max(...sc);
        const ex = sc.map((s) => Math.exp(s - mx));
        const sum = ex.reduce((p, r) => p + r, 0);
        js.forEach((j, i) => {
          for (let d = 0; d < D; d++) want[(h * Tq + t) * D + d] += (ex[i] / sum) * v[(h * Tq + j) * D + d];
        });
      }
    }
    await check('stretchToCsr → csrSddmm → csrSoftmax → csrSpmm', out, want, 1e-5);
  }
  const summary = b.summary;
  b.destroy();
  return { adapter: summary, checks };
}

const g = globalThis as { __seaResult?: unknown };
main().then(
  (r) => {
    g.__seaResult = r;
  },
  (e: unknown) => {
    g.__seaResult = { error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  },
);
