import {
  type Backend,
  CsrMatrix,
  cellMaskAttention,
  csrAttention,
  csrSddmm,
  csrSoftmax,
  csrSpmm,
  type Rng,
  stretchToCsr,
  tensor,
} from '@sea/tensor';
import { assertClose, assertEqual, values } from '../check.js';
import { bools, normal, rngFor, toDType } from '../data.js';
import { cellStart } from '../reference.js';
import type { SuiteContext } from '../suite.js';
import { dtypeTag } from './sea_estimate.js';

/** keys[b][t][h] = the key indices j of head h in row t, in CSR order. */
type RowKeys = number[][][][];

interface HostCsr {
  B: number;
  Tq: number;
  H: number;
  Tk: number;
  crow: Int32Array;
  col: Int32Array;
  nnz: number[];
  Z: number;
}

function pack(keys: RowKeys, H: number, Tk: number): HostCsr {
  const B = keys.length;
  const Tq = keys[0].length;
  const rows = keys.map((perB) => perB.map((perT) => perT.flatMap((js, h) => js.map((j) => h * Tk + j))));
  const nnz = rows.map((r) => r.reduce((p, e) => p + e.length, 0));
  const Z = Math.max(0, ...nnz);
  const crow = new Int32Array(B * (Tq + 1));
  const col = new Int32Array(B * Z);
  rows.forEach((perB, b) => {
    let z = 0;
    perB.forEach((entries, t) => {
      for (const c of entries) col[b * Z + z++] = c;
      crow[b * (Tq + 1) + t + 1] = z;
    });
  });
  return { B, Tq, H, Tk, crow, col, nnz, Z };
}

/**
 * docs/algorithm.md §6 from its formulas: cell m of a row with L visible keys covers [⌊m·L/K+½⌋, ⌊(m+1)·L/K+½⌋);
 * a selected cell of width w gives n = min(w, k) keys j_i = end−1−⌊i·w/n⌋; heads ascending, cells
 * ascending, keys descending within a cell.
 */
function stretchRef(
  mask: ArrayLike<number>,
  [B, Tq, H, Kc]: number[],
  rowLen: ArrayLike<number>,
  k: number,
): RowKeys {
  const out: RowKeys = [];
  for (let b = 0; b < B; b++) {
    const perB: number[][][] = [];
    for (let t = 0; t < Tq; t++) {
      const L = rowLen[b * Tq + t];
      const perT: number[][] = [];
      for (let h = 0; h < H; h++) {
        const js: number[] = [];
        for (let m = 0; m < Kc; m++) {
          if (!mask[((b * Tq + t) * H + h) * Kc + m]) continue;
          const a = cellStart(m, L, Kc);
          const end = cellStart(m + 1, L, Kc);
          const w = end - a;
          const n = Math.min(w, k);
          for (let i = 0; i < n; i++) js.push(end - 1 - Math.floor((i * w) / n));
        }
        perT.push(js);
      }
      perB.push(perT);
    }
    out.push(perB);
  }
  return out;
}

interface StretchCase {
  name: string;
  B: number;
  Tq: number;
  H: number;
  Kc: number;
  k: number;
  keys: number;
  rowLen: (b: number, t: number) => number;
  density: number[];
}

const STRETCH: StretchCase[] = [
  {
    name: 'causal, L_t < K in early rows, capped cells, ragged batch',
    B: 2,
    Tq: 23,
    H: 3,
    Kc: 8,
    k: 2,
    keys: 23,
    rowLen: (_b, t) => t + 1,
    density: [0.4, 0.2],
  },
  {
    name: 'bidirectional with padded rows (L = 0)',
    B: 2,
    Tq: 16,
    H: 2,
    Kc: 5,
    k: 3,
    keys: 16,
    rowLen: (b, t) => (b === 0 ? 16 : t < 11 ? 11 : 0),
    density: [0.5, 0.6],
  },
  {
    name: 'causal, long rows, every cell capped',
    B: 1,
    Tq: 200,
    H: 4,
    Kc: 16,
    k: 4,
    keys: 200,
    rowLen: (_b, t) => t + 1,
    density: [0.25],
  },
  {
    name: 'uncapped (k ≥ widths), Tq ≠ Tk',
    B: 1,
    Tq: 7,
    H: 2,
    Kc: 4,
    k: 64,
    keys: 30,
    rowLen: (_b, t) => 30 - 3 * t,
    density: [0.7],
  },
  {
    name: 'causal, L_t < K, rows of whole 16-cell vectors',
    B: 2,
    Tq: 37,
    H: 2,
    Kc: 8,
    k: 2,
    keys: 37,
    rowLen: (_b, t) => t + 1,
    density: [0.3, 0.05],
  },
  {
    name: 'padded rows (L = 0), rows of whole 16-cell vectors',
    B: 2,
    Tq: 20,
    H: 3,
    Kc: 16,
    k: 3,
    keys: 20,
    rowLen: (b, t) => (b === 0 ? 20 : t < 13 ? 13 : 0),
    density: [0.5, 0.6],
  },
  {
    name: 'causal, more rows than one scan pass (8300), capped cells wider than a warp',
    B: 1,
    Tq: 8300,
    H: 2,
    Kc: 8,
    k: 40,
    keys: 8300,
    rowLen: (_b, t) => t + 1,
    density: [0.02],
  },
  {
    name: 'uncapped cells wider than a warp (up to 75 keys)',
    B: 2,
    Tq: 300,
    H: 1,
    Kc: 4,
    k: 500,
    keys: 300,
    rowLen: (_b, t) => t + 1,
    density: [0.3, 0.1],
  },
];

function stretchInputs(c: StretchCase, rng: Rng) {
  const maskShape = [c.B, c.Tq, c.H, c.Kc];
  const mask = new Float64Array(c.B * c.Tq * c.H * c.Kc);
  for (let b = 0; b < c.B; b++) {
    const part = bools(rng, [c.Tq * c.H * c.Kc], c.density[b]);
    mask.set(part, b * part.length);
  }
  const rowLen = Array.from({ length: c.B * c.Tq }, (_, i) => c.rowLen(Math.floor(i / c.Tq), i % c.Tq));
  return { mask, maskShape, rowLen };
}

function upload(backend: Backend, h: HostCsr): CsrMatrix {
  return new CsrMatrix(
    tensor(h.crow, [h.B, h.Tq + 1], { backend, dtype: 'int32' }),
    tensor(h.col, [h.B, h.Z], { backend, dtype: 'int32' }),
    h.H,
    h.Tk,
    h.nnz,
  );
}

/** A CSR where one head owns almost all of some rows (the case whose entries a per-head cap would drop). */
function heavyHeadCsr(rng: Rng): HostCsr {
  const [B, Tq, H, Tk] = [2, 6, 4, 96];
  const keys: RowKeys = [];
  for (let b = 0; b < B; b++) {
    const perB: number[][][] = [];
    for (let t = 0; t < Tq; t++) {
      const perT: number[][] = [];
      for (let h = 0; h < H; h++) {
        let count: number;
        if (t === 0) count = h === 2 ? 90 : 1;
        else if (t === 1) count = 0;
        else if (t === 2) count = h === 0 ? Tk : 0;
        else count = b === 1 && t === 5 ? 0 : rng.int(6);
        // distinct keys in a scrambled order
        const all = Array.from({ length: Tk }, (_, j) => j);
        for (let i = Tk - 1; i > 0; i--) {
          const r = rng.int(i + 1);
          [all[i], all[r]] = [all[r], all[i]];
        }
        perT.push(all.slice(0, count));
      }
      perB.push(perT);
    }
    keys.push(perB);
  }
  return pack(keys, H, Tk);
}

function stretchedCsr(c: StretchCase, rng: Rng): HostCsr {
  const { mask, maskShape, rowLen } = stretchInputs(c, rng);
  return pack(stretchRef(mask, maskShape, rowLen, c.k), c.H, c.keys);
}

/** The CSR inputs of the SDDMM/softmax/SpMM tests: two stretched masks and the heavy-head one. */
function csrCases(): [string, (rng: Rng) => HostCsr][] {
  return [
    [STRETCH[0].name, (rng) => stretchedCsr(STRETCH[0], rng)],
    [STRETCH[1].name, (rng) => stretchedCsr(STRETCH[1], rng)],
    ['one head owns most of a row, empty rows and heads', heavyHeadCsr],
  ];
}

/** For each entry z < nnz_b of each batch: [b, t, h, j]. */
function entries(h: HostCsr): [number, number, number, number, number][] {
  const out: [number, number, number, number, number][] = [];
  for (let b = 0; b < h.B; b++)
    for (let t = 0; t < h.Tq; t++)
      for (let z = h.crow[b * (h.Tq + 1) + t]; z < h.crow[b * (h.Tq + 1) + t + 1]; z++) {
        const c = h.col[b * h.Z + z];
        out.push([b, t, Math.floor(c / h.Tk), c % h.Tk, z]);
      }
  return out;
}

export function registerSeaCsr(s: SuiteContext): void {
  s.group('stretchToCsr', 'stretchToCsr', (test) => {
    test('cell bounds round half up; caps spread from the cell end (hand-worked)', async ({ backend }) => {
      // rows with L = 5, 3, 1, 7 over K = 2 cells, both selected: cell edges at ⌊L/2 + ½⌋ = 3, 2, 1, 4
      const rowLen = [5, 3, 1, 7];
      const mask = tensor(new Array(8).fill(1), [1, 4, 1, 2], { backend, dtype: 'bool' });
      const len = tensor(rowLen, [1, 4], { backend, dtype: 'int32' });
      const wide = await stretchToCsr(mask, len, { k: 10, keys: 7 });
      assertEqual(await values(wide.crow, [1, 5], 'int32', 'crow'), [0, 5, 8, 9, 16], 'uncapped crow');
      const wantWide = [2, 1, 0, 4, 3, 1, 0, 2, 0, 3, 2, 1, 0, 6, 5, 4];
      assertEqual(await values(wide.col, [1, 16], 'int32', 'col'), wantWide, 'uncapped col');
      assertEqual(wide.nnz, [16], 'uncapped nnz');
      // k = 2 (j_i = end−1−⌊i·w/n⌋): L = 5's width-3 cell keeps 2, 1; L = 7's cells of widths 4 and 3 keep 3, 1 and 6, 5
      const capped = await stretchToCsr(mask, len, { k: 2, keys: 7 });
      assertEqual(await values(capped.crow, [1, 5], 'int32', 'crow'), [0, 4, 7, 8, 12], 'capped crow');
      assertEqual(
        await values(capped.col, [1, 12], 'int32', 'col'),
        [2, 1, 4, 3, 1, 0, 2, 0, 3, 1, 6, 5],
        'capped col',
      );
      expect2(capped.heads === 1 && capped.keys === 7, `heads/keys ${capped.heads}/${capped.keys}`);
    });
    for (const c of STRETCH) {
      test(c.name, async ({ backend }) => {
        const rng = rngFor(c.name);
        const { mask, maskShape, rowLen } = stretchInputs(c, rng);
        const want = pack(stretchRef(mask, maskShape, rowLen, c.k), c.H, c.keys);
        const csr = await stretchToCsr(
          tensor(mask, maskShape, { backend, dtype: 'bool' }),
          tensor(rowLen, [c.B, c.Tq], { backend, dtype: 'int32' }),
          { k: c.k, keys: c.keys },
        );
        assertEqual(csr.nnz, want.nnz, `${c.name}: nnz`);
        expect2(
          csr.heads === c.H && csr.keys === c.keys,
          `heads/keys ${csr.heads}/${csr.keys}, want ${c.H}/${c.keys}`,
        );
        assertEqual(await values(csr.crow, [c.B, c.Tq + 1], 'int32', 'crow'), want.crow, `${c.name}: crow`, [
          c.B,
          c.Tq + 1,
        ]);
        assertEqual(
          await values(csr.col, [c.B, want.Z], 'int32', 'col'),
          want.col,
          `${c.name}: col (tails 0)`,
          [c.B, want.Z],
        );
      });
    }
    for (const c of STRETCH.slice(0, 2)) {
      test(`${c.name}: a capacity sizes col and nothing is read back`, async ({ backend }) => {
        const rng = rngFor(`${c.name} capacity`);
        const { mask, maskShape, rowLen } = stretchInputs(c, rng);
        const want = pack(stretchRef(mask, maskShape, rowLen, c.k), c.H, c.keys);
        const maskT = tensor(mask, maskShape, { backend, dtype: 'bool' });
        const lenT = tensor(rowLen, [c.B, c.Tq], { backend, dtype: 'int32' });
        for (const capacity of [want.Z, want.Z + 3]) {
          const target = backend as unknown as Record<string, unknown>;
          const own = Object.hasOwn(target, 'read');
          const read = target.read as (...a: unknown[]) => unknown;
          let reads = 0;
          target.read = (...a: unknown[]) => {
            reads++;
            return read.apply(backend, a);
          };
          let csr: CsrMatrix;
          try {
            csr = await stretchToCsr(maskT, lenT, { k: c.k, keys: c.keys, capacity });
          } finally {
            if (own) target.read = read;
            else delete target.read;
          }
          expect2(reads === 0, `${reads} reads during a stretch given its capacity`);
          assertEqual(csr.nnz, new Array(c.B).fill(capacity), `${c.name}: nnz reports the capacity`);
          assertEqual(await values(csr.crow, [c.B, c.Tq + 1], 'int32', 'crow'), want.crow, `${c.name}: crow`);
          const col = new Int32Array(c.B * capacity);
          for (let b = 0; b < c.B; b++)
            col.set(want.col.subarray(b * want.Z, b * want.Z + want.nnz[b]), b * capacity);
          assertEqual(
            await values(csr.col, [c.B, capacity], 'int32', 'col'),
            col,
            `${c.name}: col (tails 0)`,
          );
          csr.dispose();
        }
      });
    }
    test('no selected cells', async ({ backend }) => {
      const csr = await stretchToCsr(
        tensor(new Array(2 * 3 * 2 * 4).fill(0), [2, 3, 2, 4], { backend, dtype: 'bool' }),
        tensor([1, 2, 3, 3, 3, 0], [2, 3], { backend, dtype: 'int32' }),
        { k: 4, keys: 3 },
      );
      assertEqual(csr.nnz, [0, 0], 'nnz');
      assertEqual(await values(csr.crow, [2, 4], 'int32', 'crow'), new Array(8).fill(0), 'crow');
      expect2(csr.col.shape[0] === 2 && csr.col.shape[1] === 0, `col shape [${csr.col.shape}], want [2,0]`);
    });
  });

  s.group('csrSddmm', 'csrSddmm', (test) => {
    for (const dtype of s.seaDTypes)
      for (const [name, make] of csrCases()) {
        for (const [D, scale] of [
          [16, 0.25],
          [7, 1],
        ] as const) {
          const title = `${dtypeTag(dtype)}${name}, D ${D}, scale ${scale}`;
          test(title, async ({ backend, tol }) => {
            const rng = rngFor(title);
            const h = make(rng);
            const qs = [h.B, h.H, h.Tq, D];
            const ks = [h.B, h.H, h.Tk, D];
            const qv = normal(rng, qs, dtype);
            const kv = normal(rng, ks, dtype);
            const out = csrSddmm(
              upload(backend, h),
              tensor(qv, qs, { backend, dtype }),
              tensor(kv, ks, { backend, dtype }),
              scale,
            );
            const want = new Float64Array(h.B * h.Z);
            const mag = new Float64Array(h.B * h.Z);
            for (const [b, t, hh, j, z] of entries(h)) {
              let acc = 0;
              let m = 0;
              for (let d = 0; d < D; d++) {
                const p = qv[((b * h.H + hh) * h.Tq + t) * D + d] * kv[((b * h.H + hh) * h.Tk + j) * D + d];
                acc += p;
                m += Math.abs(p);
              }
              want[b * h.Z + z] = scale * acc;
              mag[b * h.Z + z] = scale * m;
            }
            const got = await values(out, [h.B, h.Z], dtype, title);
            assertClose(got, want, tol(dtype, 'csrSddmm'), `${title} (tails 0)`, [h.B, h.Z], mag);
          });
        }
      }
  });

  s.group('csrSoftmax', 'csrSoftmax', (test) => {
    for (const dtype of s.seaDTypes)
      for (const [name, make] of csrCases()) {
        for (const withScale of [false, true]) {
          const title = `${dtypeTag(dtype)}${name}${withScale ? ', rowScale' : ''}`;
          test(title, async ({ backend, tol }) => {
            const rng = rngFor(title);
            const h = make(rng);
            const vv = normal(rng, [h.B, h.Z], dtype, 3).map((x) =>
              rng.uniform() < 0.05 ? toDType(x + 60, dtype) : x,
            );
            const ss = [h.B, h.H, h.Tq];
            const sv = withScale ? normal(rng, ss, dtype, 0.5, 0.5) : null;
            const val = tensor(vv, [h.B, h.Z], { backend, dtype });
            const out = csrSoftmax(upload(backend, h), val, sv ? tensor(sv, ss, { backend, dtype }) : null);
            const got = await values(out, [h.B, h.Z], dtype, title);
            assertEqual(await val.data(), vv, `${title}: values after the op`, [h.B, h.Z]);
            // group entries by (b, t, h) and normalize each group on its own
            const groups = new Map<string, number[]>();
            for (const [b, t, hh, , z] of entries(h)) {
              const key = `${b},${t},${hh}`;
              const g = groups.get(key) ?? [];
              g.push(b * h.Z + z);
              groups.set(key, g);
            }
            const want: number[] = [];
            const gotLive: number[] = [];
            for (const [key, idx] of groups) {
              const [b, t, hh] = key.split(',').map(Number);
              const m = Math.max(...idx.map((i) => vv[i]));
              const e = idx.map((i) => Math.exp(vv[i] - m));
              const sum = e.reduce((p, x) => p + x, 0);
              const scale = sv ? sv[(b * h.H + hh) * h.Tq + t] : 1;
              e.forEach((x, n) => {
                want.push((x / sum) * scale);
                gotLive.push(got[idx[n]]);
              });
            }
            assertClose(gotLive, want, tol(dtype, 'csrSoftmax'), `${title} (entries in (b,t,h) order)`);
          });
        }
      }
  });

  s.group('csrSpmm', 'csrSpmm', (test) => {
    for (const dtype of s.seaDTypes)
      for (const [name, make] of csrCases()) {
        for (const D of [16, 5]) {
          const title = `${dtypeTag(dtype)}${name}, D ${D}`;
          test(title, async ({ backend, tol }) => {
            const rng = rngFor(title);
            const h = make(rng);
            const vs = [h.B, h.H, h.Tk, D];
            const val = normal(rng, [h.B, h.Z], dtype);
            // tails past nnz_b hold garbage: a kernel must not read them
            for (let b = 0; b < h.B; b++) for (let z = h.nnz[b]; z < h.Z; z++) val[b * h.Z + z] = 1e30;
            const vv = normal(rng, vs, dtype);
            const out = csrSpmm(
              upload(backend, h),
              tensor(val, [h.B, h.Z], { backend, dtype }),
              tensor(vv, vs, { backend, dtype }),
            );
            const os = [h.B, h.H, h.Tq, D];
            const want = new Float64Array(h.B * h.H * h.Tq * D);
            const mag = new Float64Array(want.length);
            for (const [b, t, hh, j, z] of entries(h)) {
              for (let d = 0; d < D; d++) {
                const p = val[b * h.Z + z] * vv[((b * h.H + hh) * h.Tk + j) * D + d];
                want[((b * h.H + hh) * h.Tq + t) * D + d] += p;
                mag[((b * h.H + hh) * h.Tq + t) * D + d] += Math.abs(p);
              }
            }
            assertClose(await values(out, os, dtype, title), want, tol(dtype, 'csrSpmm'), title, os, mag);
          });
        }
      }
  });
}

/**
 * The `csrAttention` op: a backend's fused kernel where it has the capability (CUDA: D % 4 = 0 and
 * E even, both ≤ 128; its instances for D ≤ 64 and ≤ 128, E % 4 = 0 or not), csrSddmm → csrSoftmax → csrSpmm elsewhere; either must match the float64
 * definition rowScale · Σ softmax_head(scale·q·k)·v, zeros for a head without entries.
 */
/**
 * float64 attention over a host CSR: per (b, t, h) the softmax of scale·q·k over the row's entries of
 * head h, times rowScale, weighting the v rows (empty heads 0); `mag` is each output's error scale.
 */
function attentionRef(
  h: HostCsr,
  qv: ArrayLike<number>,
  kv: ArrayLike<number>,
  vv: ArrayLike<number>,
  sv: ArrayLike<number> | null,
  D: number,
  E: number,
  scale: number,
): { want: Float64Array; mag: Float64Array } {
  // group entries by (b, t, h): softmax over each group, then the weighted sum of v rows
  const groups = new Map<string, number[]>();
  for (const [b, t, hh, j] of entries(h)) {
    const key = `${b},${t},${hh}`;
    const g = groups.get(key) ?? [];
    g.push(j);
    groups.set(key, g);
  }
  const want = new Float64Array(h.B * h.H * h.Tq * E);
  const mag = new Float64Array(want.length);
  for (const [key, js] of groups) {
    const [b, t, hh] = key.split(',').map(Number);
    const bh = b * h.H + hh;
    const sc = js.map((j) => {
      let acc = 0;
      for (let d = 0; d < D; d++) acc += qv[(bh * h.Tq + t) * D + d] * kv[(bh * h.Tk + j) * D + d];
      return scale * acc;
    });
    const m = Math.max(...sc);
    const p = sc.map((x) => Math.exp(x - m));
    const sum = p.reduce((a, x) => a + x, 0);
    const rs = sv ? sv[bh * h.Tq + t] : 1;
    for (let e = 0; e < E; e++) {
      let acc = 0;
      let am = 0;
      js.forEach((j, n) => {
        const w = vv[(bh * h.Tk + j) * E + e];
        acc += p[n] * w;
        am += p[n] * Math.abs(w);
      });
      want[(bh * h.Tq + t) * E + e] = (acc / sum) * rs;
      mag[(bh * h.Tq + t) * E + e] = (am / sum) * Math.abs(rs);
    }
  }
  return { want, mag };
}

export function registerCsrAttention(s: SuiteContext): void {
  s.group('csrAttention', 'csrAttention (fused capability or composition)', (test) => {
    const cases: [string, (rng: Rng) => HostCsr][] = [
      ...csrCases(),
      [STRETCH[2].name, (rng) => stretchedCsr(STRETCH[2], rng)],
    ];
    for (const dtype of s.seaDTypes)
      for (const [name, make] of cases) {
        for (const [D, E, scale, withScale] of [
          [16, 16, 0.25, true],
          [64, 64, 0.125, false],
          [12, 6, 1, true],
          [7, 5, 0.5, true],
          [96, 96, 0.125, true],
          [100, 50, 0.1, false],
          [4, 130, 0.5, false],
        ] as const) {
          const title = `${dtypeTag(dtype)}${name}, D ${D}, E ${E}, scale ${scale}${withScale ? ', rowScale' : ''}`;
          test(title, async ({ backend, tol }) => {
            const rng = rngFor(title);
            const h = make(rng);
            const qs = [h.B, h.H, h.Tq, D];
            const ks = [h.B, h.H, h.Tk, D];
            const vs = [h.B, h.H, h.Tk, E];
            const ss = [h.B, h.H, h.Tq];
            const qv = normal(rng, qs, dtype);
            const kv = normal(rng, ks, dtype);
            const vv = normal(rng, vs, dtype);
            const sv = withScale ? normal(rng, ss, dtype, 0.5, 0.5) : null;
            const out = csrAttention(
              upload(backend, h),
              tensor(qv, qs, { backend, dtype }),
              tensor(kv, ks, { backend, dtype }),
              tensor(vv, vs, { backend, dtype }),
              { scale, rowScale: sv ? tensor(sv, ss, { backend, dtype }) : null },
            );
            const os = [h.B, h.H, h.Tq, E];
            const { want, mag } = attentionRef(h, qv, kv, vv, sv, D, E, scale);
            assertClose(
              await values(out, os, dtype, title),
              want,
              tol(dtype, 'csrSpmm', 10),
              `${title} (empty heads 0)`,
              os,
              mag,
            );
          });
        }
      }
  });
}

/**
 * The `cellMaskAttention` op (stretch + csrAttention without the CSR arrays where a backend fuses
 * it; CUDA: D % 4 = 0 and D ≤ 128, E even and ≤ 128, K ≤ 256) against float64 attention over the
 * stretch reference's entries: causal, capped, ragged and padded rows, rows of whole 16-cell vectors,
 * more rows than one scan pass, cells wider than a warp.
 */
export function registerCellMaskAttention(s: SuiteContext): void {
  s.group(
    'cellMaskAttention',
    'cellMaskAttention (fused stretch + CSR attention, or the two ops)',
    (test) => {
      const heads: [number, number, number, boolean][] = [
        [64, 64, 0.125, true],
        [96, 96, 0.125, false],
        [7, 5, 0.5, true],
      ];
      for (const dtype of s.seaDTypes)
        for (const [ci, c] of STRETCH.entries()) {
          for (const [D, E, scale, withScale] of ci === 6 ? heads.slice(0, 1) : heads) {
            const title = `${dtypeTag(dtype)}${c.name}, D ${D}, E ${E}, scale ${scale}${withScale ? ', rowScale' : ''}`;
            test(title, async ({ backend, tol }) => {
              const rng = rngFor(title);
              const { mask, maskShape, rowLen } = stretchInputs(c, rng);
              const h = pack(stretchRef(mask, maskShape, rowLen, c.k), c.H, c.keys);
              const qs = [c.B, c.H, c.Tq, D];
              const ks = [c.B, c.H, c.keys, D];
              const vs = [c.B, c.H, c.keys, E];
              const ss = [c.B, c.H, c.Tq];
              const qv = normal(rng, qs, dtype);
              const kv = normal(rng, ks, dtype);
              const vv = normal(rng, vs, dtype);
              const sv = withScale ? normal(rng, ss, dtype, 0.5, 0.5) : null;
              const out = await cellMaskAttention(
                tensor(mask, maskShape, { backend, dtype: 'bool' }),
                tensor(rowLen, [c.B, c.Tq], { backend, dtype: 'int32' }),
                tensor(qv, qs, { backend, dtype }),
                tensor(kv, ks, { backend, dtype }),
                tensor(vv, vs, { backend, dtype }),
                { k: c.k, scale, rowScale: sv ? tensor(sv, ss, { backend, dtype }) : null },
              );
              const os = [c.B, c.H, c.Tq, E];
              const { want, mag } = attentionRef(h, qv, kv, vv, sv, D, E, scale);
              assertClose(
                await values(out, os, dtype, title),
                want,
                tol(dtype, 'csrSpmm', 10),
                title,
                os,
                mag,
              );
            });
          }
        }
    },
  );
}

function expect2(ok: boolean, what: string): void {
  if (!ok) throw new Error(`unexpected: ${what}`);
}
