// Float64 re-derivations of the predictor, written from the formulas of docs/algorithm.md §3–§4 with plain loops.
// Arrays are row-major; `W` maps our weight names to their values.

export type W = Record<string, ArrayLike<number>>;

export function erf64(x: number): number {
  if (Math.abs(x) >= 5) return Math.sign(x);
  // Maclaurin series; fine in float64 for |x| < 5
  let term = x;
  let s = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    const add = term / (2 * n + 1);
    s += add;
    if (Math.abs(add) < 1e-17) break;
  }
  return (2 / Math.sqrt(Math.PI)) * s;
}

export const gelu64 = (x: number) => 0.5 * x * (1 + erf64(x / Math.SQRT2));
export const sigmoid64 = (x: number) => 1 / (1 + Math.exp(-x));

/** LayerNorm over the last n entries of each of `rows` rows (biased variance, eps 1e-5). */
export function layerNorm64(
  x: ArrayLike<number>,
  n: number,
  g: ArrayLike<number>,
  b: ArrayLike<number>,
): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / n; r++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += x[r * n + i];
    mean /= n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (x[r * n + i] - mean) ** 2;
    v /= n;
    for (let i = 0; i < n; i++) out[r * n + i] = ((x[r * n + i] - mean) / Math.sqrt(v + 1e-5)) * g[i] + b[i];
  }
  return out;
}

/** y = x·Wᵀ + b, W [out, in]. */
export function linear64(
  x: ArrayLike<number>,
  inp: number,
  w: ArrayLike<number>,
  b: ArrayLike<number>,
  out: number,
) {
  const rows = x.length / inp;
  const y = new Float64Array(rows * out);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < out; o++) {
      let s = b[o];
      for (let i = 0; i < inp; i++) s += x[r * inp + i] * w[o * inp + i];
      y[r * out + o] = s;
    }
  return y;
}

/** 4-D accessor with zero outside. */
function at(x: ArrayLike<number>, shape: number[], b: number, c: number, t: number, w: number): number {
  const [, C, T, Wd] = shape;
  if (t < 0 || t >= T || w < 0 || w >= Wd) return 0;
  return x[((b * C + c) * T + t) * Wd + w];
}

/**
 * Generic conv: y[o,i,j] = bias[o] + Σ_c Σ_{a,b} w[o,c,a,b]·x[c, i·sh + a·dh − pt, j·sw + b·dw − pl].
 * `rowsUsed` limits the kernel rows read (the causal 5×3 kernel uses its top 3).
 */
function conv64(
  x: ArrayLike<number>,
  shape: number[],
  w: ArrayLike<number>,
  wShape: number[],
  bias: ArrayLike<number>,
  o: {
    sh: number;
    dh: number;
    dw: number;
    pt: number;
    pl: number;
    OH: number;
    OW: number;
    rowsUsed?: number;
  },
) {
  const [B, C] = shape;
  const [O, , KH, KW] = wShape;
  const out = new Float64Array(B * O * o.OH * o.OW);
  for (let b = 0; b < B; b++)
    for (let oc = 0; oc < O; oc++)
      for (let i = 0; i < o.OH; i++)
        for (let j = 0; j < o.OW; j++) {
          let s = bias[oc];
          for (let c = 0; c < C; c++)
            for (let a = 0; a < (o.rowsUsed ?? KH); a++)
              for (let q = 0; q < KW; q++)
                s +=
                  w[((oc * C + c) * KH + a) * KW + q] *
                  at(x, shape, b, c, i * o.sh + a * o.dh - o.pt, j + q * o.dw - o.pl);
          out[((b * O + oc) * o.OH + i) * o.OW + j] = s;
        }
  return out;
}

const relu64 = (x: Float64Array) => x.map((v) => Math.max(v, 0));

/** Causal CNN (docs/algorithm.md §4a) on x [B, 2H, T, K/4] → [B, H, T, K]. */
export function causalCnn64(
  x: ArrayLike<number>,
  B: number,
  H: number,
  T: number,
  K: number,
  w: W,
): Float64Array {
  const C = 2 * H;
  const Wd = K / 4;
  let y = layerNorm64(x, Wd, w['cnn.norm_in.weight'], w['cnn.norm_in.bias']);
  for (const name of ['cnn.conv1', 'cnn.conv2']) {
    // y[o,t,w] = bias + Σ W[o,c,a,b]·x[c, t−4+2a, w−2+2b], a,b ∈ {0,1,2}
    y = relu64(
      conv64(y, [B, C, T, Wd], w[`${name}.weight`], [C, C, 5, 3], w[`${name}.bias`], {
        sh: 1,
        dh: 2,
        dw: 2,
        pt: 4,
        pl: 2,
        OH: T,
        OW: Wd,
        rowsUsed: 3,
      }),
    );
  }
  const up = new Float64Array(B * C * T * K);
  for (let i = 0; i < B * C * T; i++)
    for (let j = 0; j < K; j++) up[i * K + j] = y[i * Wd + Math.floor(j / 4)];
  const wide = conv64(up, [B, C, T, K], w['cnn.conv_out.weight'], [H, C, 1, 1], w['cnn.conv_out.bias'], {
    sh: 1,
    dh: 1,
    dw: 1,
    pt: 0,
    pl: 1,
    OH: T,
    OW: K + 2,
  });
  const area = new Float64Array(B * H * T * K);
  for (let i = 0; i < B * H * T; i++)
    for (let j = 0; j < K; j++) {
      const lo = Math.floor((j * (K + 2)) / K);
      const hi = Math.ceil(((j + 1) * (K + 2)) / K);
      let s = 0;
      for (let c = lo; c < hi; c++) s += wide[i * (K + 2) + c];
      area[i * K + j] = s / (hi - lo);
    }
  return layerNorm64(area, K, w['cnn.norm_out.weight'], w['cnn.norm_out.bias']);
}

/** Bidirectional CNN (docs/algorithm.md §4b) on x [B, 4H, T, K/2] → [B, H, T, K]. */
export function bidirectionalCnn64(
  x: ArrayLike<number>,
  B: number,
  H: number,
  T: number,
  K: number,
  w: W,
): Float64Array {
  const C = 4 * H;
  const Wd = K / 2;
  const Th = Math.ceil(T / 2);
  const s3 = { dh: 1, dw: 1, pt: 1, pl: 1, OW: Wd };
  const y1 = relu64(
    conv64(x, [B, C, T, Wd], w['cnn.conv1.weight'], [C, C, 3, 3], w['cnn.conv1.bias'], {
      ...s3,
      sh: 2,
      OH: Th,
    }),
  );
  const y2 = relu64(
    conv64(y1, [B, C, Th, Wd], w['cnn.conv2.weight'], [C, C, 3, 3], w['cnn.conv2.bias'], {
      ...s3,
      sh: 1,
      OH: Th,
    }),
  );
  const T2 = 2 * Th;
  const up = new Float64Array(B * C * T2 * Wd);
  for (let i = 0; i < B * C; i++)
    for (let r = 0; r < T2; r++)
      for (let j = 0; j < Wd; j++) up[(i * T2 + r) * Wd + j] = y2[(i * Th + Math.floor(r / 2)) * Wd + j];
  const y3 = conv64(up, [B, C, T2, Wd], w['cnn.conv_out.weight'], [H, C, 3, 3], w['cnn.conv_out.bias'], {
    ...s3,
    sh: 1,
    OH: T2,
  });
  // bilinear, align_corners=False: src = max(0, (dst+½)·in/out − ½)
  const src = (dst: number, inp: number, out: number) => {
    const s = Math.max(0, ((dst + 0.5) * inp) / out - 0.5);
    const i0 = Math.floor(s);
    return { i0, i1: Math.min(i0 + 1, inp - 1), f: s - i0 };
  };
  const out = new Float64Array(B * H * T * K);
  for (let i = 0; i < B * H; i++)
    for (let r = 0; r < T; r++) {
      const sr = src(r, T2, T);
      for (let j = 0; j < K; j++) {
        const sc = src(j, Wd, K);
        const g = (rr: number, cc: number) => y3[(i * T2 + rr) * Wd + cc];
        out[(i * T + r) * K + j] =
          (1 - sr.f) * ((1 - sc.f) * g(sr.i0, sc.i0) + sc.f * g(sr.i0, sc.i1)) +
          sr.f * ((1 - sc.f) * g(sr.i1, sc.i0) + sc.f * g(sr.i1, sc.i1));
      }
    }
  return out;
}

/** docs/algorithm.md §3 V_I for one sequence: valid flags → [T, D] (zero rows at pads). */
export function vIdentity64(valid: ArrayLike<number>, D: number): Float64Array {
  const T = valid.length;
  let L = 0;
  for (let t = 0; t < T; t++) L += valid[t] ? 1 : 0;
  const out = new Float64Array(T * D);
  let r = 0;
  for (let t = 0; t < T; t++) {
    if (!valid[t]) continue;
    const p = (r * (D - 1)) / (L - 1 + 1e-8);
    const lo = Math.floor(p);
    const f = p - lo;
    out[t * D + lo] += 1 - f;
    if (lo + 1 < D) out[t * D + lo + 1] += f;
    r++;
  }
  return out;
}

/** Performer on one (b,h) slice: q,k [T,D], v [T,E], W [m,D]. */
export function performer64(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  T: number,
  D: number,
  E: number,
  W: ArrayLike<number>,
  m: number,
  causal: boolean,
): Float64Array {
  const c = D ** -0.25;
  const feats = (x: ArrayLike<number>, isQuery: boolean) => {
    const proj = new Float64Array(T * m);
    const diag = new Float64Array(T);
    for (let t = 0; t < T; t++) {
      for (let i = 0; i < D; i++) diag[t] += (c * x[t * D + i]) ** 2 / 2;
      for (let f = 0; f < m; f++)
        for (let i = 0; i < D; i++) proj[t * m + f] += c * x[t * D + i] * W[f * D + i];
    }
    if (causal) return proj.map((p) => Math.max(p, 0) + 0.001);
    const all = Math.max(...proj);
    const out = new Float64Array(T * m);
    for (let t = 0; t < T; t++) {
      const peak = isQuery ? Math.max(...proj.subarray(t * m, (t + 1) * m)) : all;
      for (let f = 0; f < m; f++)
        out[t * m + f] = m ** -0.5 * (Math.exp(proj[t * m + f] - diag[t] - peak) + 1e-4);
    }
    return out;
  };
  const qf = feats(q, true);
  const kf = feats(k, false);
  const out = new Float64Array(T * E);
  for (let t = 0; t < T; t++) {
    let den = 0;
    if (causal) for (let f = 0; f < m; f++) den += 1e-6 * qf[t * m + f];
    for (let j = 0; j < (causal ? t + 1 : T); j++) {
      let a = 0;
      for (let f = 0; f < m; f++) a += qf[t * m + f] * kf[j * m + f];
      den += a;
      for (let e = 0; e < E; e++) out[t * E + e] += a * v[j * E + e];
    }
    for (let e = 0; e < E; e++) out[t * E + e] /= den;
  }
  return out;
}

export interface Estimate64 {
  logits: Float64Array;
  sProb: Float64Array;
  sMix: Float64Array;
}

/** estimateAttention in float64 (spec steps 2–12). q,k,v [B,H,T,D]; valid [B,T] (1/0). */
export function estimate64(
  cfg: { causal: boolean; H: number; D: number; K: number },
  w: W,
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  proj: ArrayLike<number>,
  m: number,
  B: number,
  T: number,
  valid: ArrayLike<number>,
): Estimate64 {
  const { causal, H, D, K } = cfg;
  const [cs, ch] = causal ? [4, 2] : [2, 4];
  const Wd = K / cs;
  const zHat = new Float64Array(B * H * ch * T * Wd);
  const sProb = new Float64Array(B * H * T);
  const sMix = new Float64Array(B * H * T);
  for (let b = 0; b < B; b++) {
    const vb = Array.from({ length: T }, (_, t) => valid[b * T + t]);
    const vI = causal ? Float64Array.from(w.position).subarray(0, T * D) : vIdentity64(vb, D);
    for (let h = 0; h < H; h++) {
      const off = (b * H + h) * T * D;
      const vz = new Float64Array(T * D);
      const vCat = new Float64Array(T * 2 * D);
      for (let t = 0; t < T; t++)
        for (let i = 0; i < D; i++) {
          const keep = vb[t] ? 1 : 0;
          vz[t * D + i] = keep * v[off + t * D + i];
          vCat[t * 2 * D + i] = keep * vI[t * D + i];
          vCat[t * 2 * D + D + i] = vz[t * D + i];
        }
      const cPerf = performer64(
        Array.from({ length: T * D }, (_, i) => q[off + i]),
        Array.from({ length: T * D }, (_, i) => k[off + i]),
        vCat,
        T,
        D,
        2 * D,
        proj,
        m,
        causal,
      );
      const x3 = new Float64Array(T * 3 * D);
      for (let t = 0; t < T; t++) {
        for (let i = 0; i < 2 * D; i++) x3[t * 3 * D + i] = cPerf[t * 2 * D + i];
        for (let i = 0; i < D; i++) x3[t * 3 * D + 2 * D + i] = vz[t * D + i];
      }
      const z = layerNorm64(
        linear64(x3, 3 * D, w['encoder.linear.weight'], w['encoder.linear.bias'], 2 * D),
        2 * D,
        w['encoder.norm.weight'],
        w['encoder.norm.bias'],
      ).map(gelu64);
      const sc = linear64(z, 2 * D, w['scaler.weight'], w['scaler.bias'], 2);
      const nu = linear64(z, 2 * D, w['nu.weight'], w['nu.bias'], ch * Wd);
      for (let t = 0; t < T; t++) {
        sProb[(b * H + h) * T + t] = sigmoid64(sc[t * 2]);
        sMix[(b * H + h) * T + t] = sigmoid64(sc[t * 2 + 1]);
        for (let s = 0; s < ch; s++)
          for (let j = 0; j < Wd; j++)
            zHat[(((b * H + h) * ch + s) * T + t) * Wd + j] = nu[t * ch * Wd + s * Wd + j];
      }
    }
  }
  const logits = causal ? causalCnn64(zHat, B, H, T, K, w) : bidirectionalCnn64(zHat, B, H, T, K, w);
  return { logits, sProb, sMix };
}
