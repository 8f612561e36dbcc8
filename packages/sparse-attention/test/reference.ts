// Float64 references of docs/algorithm.md §5–§7 written from docs/algorithm.md's formulas, for the tests. Nothing here
// calls the package code.

/** PyTorch round: half to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export type Mode = 'query' | 'head' | 'batch' | 'causal_batch';

export interface RefInputs {
  B: number;
  H: number;
  T: number;
  D: number;
  K: number;
  q: ArrayLike<number>;
  k: ArrayLike<number>;
  v: ArrayLike<number>;
  /** Â [B,H,T,K] with padded rows zero */
  probs: ArrayLike<number>;
  sProb: ArrayLike<number>;
  sMix: ArrayLike<number>;
}

export interface RefOptions {
  causal: boolean;
  k: number;
  mode: Mode;
  scale: number;
  lengths: number[];
  /** sparse path: a cell contributes at most k keys spread from its end */
  cap: boolean;
}

/** docs/algorithm.md §5: selected cells [B,H,T,K] (0/1), top by (Â desc, flat index asc), padded rows never. */
export function refCells(x: RefInputs, o: RefOptions): Uint8Array {
  const { B, H, T, K } = x;
  const sel = new Uint8Array(B * H * T * K);
  const at = (b: number, h: number, t: number, m: number) => ((b * H + h) * T + t) * K + m;
  const budget = (L: number, t: number) => {
    const r = (v: number) => Math.max(1, roundHalfEven(v));
    if (o.mode === 'query') return r((o.k * K) / L);
    if (o.mode === 'head') return r(o.k * K);
    if (o.mode === 'batch') return r(H * o.k * K);
    return r((H * o.k * K) / (o.causal ? t + 1 : L));
  };
  for (let b = 0; b < B; b++) {
    const L = o.lengths[b];
    if (L === 0) continue;
    const groups: { cells: [number, number, number][]; t: number }[] = [];
    const all = (hs: number[], ts: number[]) => {
      const cells: [number, number, number][] = [];
      for (const h of hs) for (const t of ts) for (let m = 0; m < K; m++) cells.push([h, t, m]);
      return cells;
    };
    const heads = Array.from({ length: H }, (_, h) => h);
    const rows = Array.from({ length: T }, (_, t) => t);
    if (o.mode === 'query')
      for (const h of heads) for (let t = 0; t < L; t++) groups.push({ cells: all([h], [t]), t });
    if (o.mode === 'head') for (const h of heads) groups.push({ cells: all([h], rows), t: 0 });
    if (o.mode === 'batch') groups.push({ cells: all(heads, rows), t: 0 });
    if (o.mode === 'causal_batch') {
      for (let t = 0; t < L; t++) {
        const cells: [number, number, number][] = [];
        for (const h of heads) for (let m = 0; m < K; m++) cells.push([h, t, m]);
        groups.push({ cells, t });
      }
    }
    for (const g of groups) {
      const score = (c: [number, number, number]) =>
        c[1] < L ? x.probs[at(b, c[0], c[1], c[2])] : Number.NEGATIVE_INFINITY;
      const order = g.cells.map((_, i) => i);
      order.sort((i, j) => {
        const si = score(g.cells[i]);
        const sj = score(g.cells[j]);
        return si !== sj ? sj - si : i - j;
      });
      const n = Math.min(budget(L, g.t), g.cells.length);
      for (let r = 0; r < n; r++) {
        const [h, t, m] = g.cells[order[r]];
        if (t < L) sel[at(b, h, t, m)] = 1;
      }
    }
  }
  return sel;
}

/** docs/algorithm.md §6: the selected keys of (b,h,t), in CSR order (cells ascending, keys descending). */
export function refKeys(
  sel: Uint8Array,
  x: RefInputs,
  o: RefOptions,
  b: number,
  h: number,
  t: number,
): number[] {
  const { H, T, K } = x;
  const L = t < o.lengths[b] ? (o.causal ? t + 1 : o.lengths[b]) : 0;
  const keys: number[] = [];
  if (L === 0) return keys;
  for (let m = 0; m < K; m++) {
    if (!sel[((b * H + h) * T + t) * K + m]) continue;
    const a = Math.floor((m * L) / K + 0.5);
    const e = Math.floor(((m + 1) * L) / K + 0.5);
    const w = e - a;
    const n = o.cap ? Math.min(w, o.k) : w;
    for (let i = 0; i < n; i++) keys.push(e - 1 - Math.floor((i * w) / n));
  }
  return keys;
}

/** docs/algorithm.md §5–§7 end to end: context [B,T,H·D] in float64. */
export function refSea(x: RefInputs, o: RefOptions): { context: Float64Array; cells: Uint8Array } {
  const { B, H, T, D, K } = x;
  const sel = refCells(x, o);
  const out = new Float64Array(B * T * H * D);
  const vec = (b: number, h: number, t: number) => ((b * H + h) * T + t) * D;
  for (let b = 0; b < B; b++) {
    const L = o.lengths[b];
    const vz = (h: number, j: number, d: number) => (j < L ? x.v[vec(b, h, j) + d] : 0);
    for (let h = 0; h < H; h++) {
      // bidirectional C_avg: î = (1/T)·Σ_t Â[t,:], i_j = î[⌊(j+½)K/L − 1e-4⌋] for j < L
      const cAvgBi = new Float64Array(D);
      if (!o.causal && L > 0) {
        const iHat = new Float64Array(K);
        for (let t = 0; t < T; t++)
          for (let m = 0; m < K; m++) iHat[m] += x.probs[((b * H + h) * T + t) * K + m] / T;
        for (let j = 0; j < L; j++) {
          const w = iHat[Math.floor(((j + 0.5) * K) / L - 1e-4)];
          for (let d = 0; d < D; d++) cAvgBi[d] += w * vz(h, j, d);
        }
      }
      const running = new Float64Array(D);
      for (let t = 0; t < T; t++) {
        for (let d = 0; d < D; d++) running[d] += vz(h, t, d);
        const keys = refKeys(sel, x, o, b, h, t);
        const c = new Float64Array(D);
        if (keys.length) {
          const s = keys.map((j) => {
            let acc = 0;
            for (let d = 0; d < D; d++) acc += x.q[vec(b, h, t) + d] * x.k[vec(b, h, j) + d];
            return acc * o.scale;
          });
          const mx = Math.max(...s);
          const e = s.map((v) => Math.exp(v - mx));
          const sum = e.reduce((p, v) => p + v, 0);
          const sp = x.sProb[(b * H + h) * T + t];
          keys.forEach((j, i) => {
            for (let d = 0; d < D; d++) c[d] += ((sp * e[i]) / sum) * x.v[vec(b, h, j) + d];
          });
        }
        const mix = x.sMix[(b * H + h) * T + t];
        for (let d = 0; d < D; d++) {
          const avg = o.causal ? running[d] / (t + 1) : cAvgBi[d];
          out[((b * T + t) * H + h) * D + d] = mix * c[d] + (1 - mix) * avg;
        }
      }
    }
  }
  return { context: out, cells: sel };
}

/** max |got − want| / max |want| */
export function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num = Math.max(num, Math.abs(got[i] - want[i]));
    den = Math.max(den, Math.abs(want[i]));
  }
  return den === 0 ? num : num / den;
}

export function softmaxRows(x: Float64Array, n: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / n; r++) {
    let mx = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) mx = Math.max(mx, x[r * n + i]);
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.exp(x[r * n + i] - mx);
    for (let i = 0; i < n; i++) out[r * n + i] = Math.exp(x[r * n + i] - mx) / s;
  }
  return out;
}
