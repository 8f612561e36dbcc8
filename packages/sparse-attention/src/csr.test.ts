// The CPU CSR kernels (SDDMM, per-head softmax with row scale, SpMM) against float64 definitions
// over CSR masks built by stretchToCsr, including rows where one head holds almost every entry.
import { CpuBackend } from '@sea/backend-cpu';
import { stretchToCsr } from '@sea/mask';
import * as sea from '@sea/tensor';
import { setTape } from '@sea/tensor/internal';
import { describe, expect, it } from 'vitest';
import { relErr } from '../test/reference.js';

const backend = new CpuBackend();
sea.useBackend(backend);

async function rowsOf(csr: sea.CsrMatrix) {
  const crow = (await csr.crow.data()) as Int32Array;
  const col = (await csr.col.data()) as Int32Array;
  return { crow, col, Z: csr.col.shape[1], T: csr.rows };
}

describe('CSR kernels', () => {
  for (const skew of [false, true]) {
    it(
      skew
        ? 'one head takes most of each row: nothing is dropped'
        : 'random masks with empty heads and padded rows',
      async () => {
        const rng = new sea.Rng(skew ? 4 : 3);
        const [B, H, T, K, D] = [2, 4, 48, 16, 7];
        const m = new Uint8Array(B * T * H * K);
        for (let b = 0; b < B; b++)
          for (let t = 0; t < T; t++)
            for (let h = 0; h < H; h++)
              for (let c = 0; c < K; c++) {
                const p = skew ? (h === 2 ? 1 : c === 0 && h === 0 ? 1 : 0) : 0.25;
                m[((b * T + t) * H + h) * K + c] = rng.uniform() < p ? 1 : 0;
              }
        const rl = new Int32Array(B * T);
        for (let t = 0; t < T; t++) {
          rl[t] = t + 1; // causal batch element
          rl[T + t] = t < 30 ? 30 : 0; // bidirectional, padded after 30
        }
        const mask = sea.tensor(m, [B, T, H, K], { dtype: 'bool' });
        const rowLen = sea.tensor(rl, [B, T], { dtype: 'int32' });
        const csr = await stretchToCsr(mask, rowLen, { k: 64, keys: T, layout: 'bthk' });
        const f = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
        const [qv, kv, vv] = [f(B * H * T * D), f(B * H * T * D), f(B * H * T * D)];
        const sc = Float32Array.from({ length: B * H * T }, () => rng.uniform());
        const [q, k, v] = [qv, kv, vv].map((a) => sea.tensor(a, [B, H, T, D]));
        const scale = 0.3;
        const s = sea.csrSddmm(csr, q, k, scale);
        const p = sea.csrSoftmax(csr, s, sea.tensor(sc, [B, H, T]));
        const o = sea.csrSpmm(csr, p, v);
        const [sv, pv, ov] = [await s.data(), await p.data(), await o.data()];
        const { crow, col, Z } = await rowsOf(csr);
        const wantS = new Float64Array(B * Z);
        const wantP = new Float64Array(B * Z);
        const wantO = new Float64Array(B * H * T * D);
        let maxHeadShare = 0;
        for (let b = 0; b < B; b++) {
          for (let t = 0; t < T; t++) {
            const z0 = crow[b * (T + 1) + t];
            const z1 = crow[b * (T + 1) + t + 1];
            const byHead = new Map<number, number[]>();
            for (let z = z0; z < z1; z++) {
              const h = Math.floor(col[b * Z + z] / T);
              const j = col[b * Z + z] % T;
              let acc = 0;
              for (let d = 0; d < D; d++)
                acc += qv[((b * H + h) * T + t) * D + d] * kv[((b * H + h) * T + j) * D + d];
              wantS[b * Z + z] = scale * acc;
              byHead.set(h, [...(byHead.get(h) ?? []), z]);
            }
            for (const [h, zs] of byHead) {
              maxHeadShare = Math.max(maxHeadShare, zs.length / (z1 - z0));
              const mx = Math.max(...zs.map((z) => wantS[b * Z + z]));
              const sum = zs.reduce((a, z) => a + Math.exp(wantS[b * Z + z] - mx), 0);
              for (const z of zs) {
                wantP[b * Z + z] = (sc[(b * H + h) * T + t] * Math.exp(wantS[b * Z + z] - mx)) / sum;
                const j = col[b * Z + z] % T;
                for (let d = 0; d < D; d++)
                  wantO[((b * H + h) * T + t) * D + d] +=
                    wantP[b * Z + z] * vv[((b * H + h) * T + j) * D + d];
              }
            }
          }
        }
        expect(relErr(sv, wantS)).toBeLessThan(1e-6);
        expect(relErr(pv, wantP)).toBeLessThan(1e-6);
        expect(relErr(ov, wantO)).toBeLessThan(1e-6);
        if (skew) expect(maxHeadShare).toBeGreaterThan(0.9);
        for (const t of [mask, rowLen, q, k, v, s, p, o]) t.dispose();
        csr.dispose();
      },
    );
  }
});

describe('csrAttention op', () => {
  /** A CPU backend with a csrAttention capability that records its calls (and can decline with null). */
  class FusingCpu extends CpuBackend {
    calls = 0;
    decline = false;
    csrAttention: NonNullable<sea.Backend['csrAttention']> = (csr, q, k, v, rowScale, opts) => {
      this.calls++;
      if (this.decline) return null;
      const s = this.csrSddmm(csr, q, k, opts.scale);
      const p = this.csrSoftmax(csr, s, rowScale);
      const o = this.csrSpmm(csr, p, v);
      this.free(s.dataId);
      this.free(p.dataId);
      return o;
    };
  }

  it('runs the capability without a tape, the three recorded primitives with one or when declined', async () => {
    const fb = new FusingCpu();
    const rng = new sea.Rng(11);
    const [B, H, T, K, D] = [1, 2, 20, 5, 8];
    const m = Uint8Array.from({ length: B * T * H * K }, () => (rng.uniform() < 0.4 ? 1 : 0));
    const mask = sea.tensor(m, [B, T, H, K], { dtype: 'bool', backend: fb });
    const rowLen = sea.tensor(
      Int32Array.from({ length: T }, (_, t) => t + 1),
      [B, T],
      { dtype: 'int32', backend: fb },
    );
    const csr = await stretchToCsr(mask, rowLen, { k: 64, keys: T, layout: 'bthk' });
    const f = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
    const [q, k, v] = [0, 1, 2].map(() => sea.tensor(f(B * H * T * D), [B, H, T, D], { backend: fb }));
    const rowScale = sea.tensor(f(B * H * T), [B, H, T], { backend: fb });
    const want = await sea
      .csrSpmm(csr, sea.csrSoftmax(csr, sea.csrSddmm(csr, q, k, 0.5), rowScale), v)
      .data();

    const fused = sea.csrAttention(csr, q, k, v, { scale: 0.5, rowScale });
    expect(fb.calls).toBe(1);
    expect(Array.from(await fused.data())).toEqual(Array.from(want));

    const ops: string[] = [];
    const prev = setTape({ record: (r) => ops.push(r.op) });
    let taped: sea.Tensor;
    try {
      taped = sea.csrAttention(csr, q, k, v, { scale: 0.5, rowScale });
    } finally {
      setTape(prev);
    }
    expect(fb.calls).toBe(1);
    expect(ops).toEqual(['csrSddmm', 'csrSoftmax', 'csrSpmm']);
    expect(Array.from(await taped.data())).toEqual(Array.from(want));

    fb.decline = true;
    const composed = sea.csrAttention(csr, q, k, v, { scale: 0.5, rowScale });
    expect(fb.calls).toBe(2);
    expect(Array.from(await composed.data())).toEqual(Array.from(want));
    expect(() =>
      sea.csrAttention(csr, q, k, sea.tensor(f(B * H * (T + 1) * D), [B, H, T + 1, D], { backend: fb })),
    ).toThrow(sea.ShapeError);
  });
});
