// The CPU CSR kernels (SDDMM, per-head softmax with row scale, SpMM) against float64 definitions
// over CSR masks built by stretchToCsr, including rows where one head holds almost every entry.
import { CpuBackend } from '@sea/backend-cpu';
import { stretchToCsr } from '@sea/mask';
import * as sea from '@sea/tensor';
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
