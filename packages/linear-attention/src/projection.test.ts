import { Rng } from '@sea/tensor';
import { describe, expect, it } from 'vitest';
import { orthogonalRandomProjection, performerFeatureCount, qrQ } from './projection.js';

describe('performerFeatureCount', () => {
  it('is ⌊D·ln D / nbf⌋ (docs/algorithm.md §3 numbers)', () => {
    expect(performerFeatureCount(64, 1)).toBe(266);
    expect(performerFeatureCount(64, 8)).toBe(33);
    expect(performerFeatureCount(80, 1)).toBe(350);
    expect(performerFeatureCount(80, 8)).toBe(43);
    expect(performerFeatureCount(128, 8)).toBe(77);
  });
  it('rejects bad arguments', () => {
    expect(() => performerFeatureCount(0, 1)).toThrow(/head dim/);
    expect(() => performerFeatureCount(64, 0)).toThrow(/factor/);
    expect(() => performerFeatureCount(2, 100)).toThrow(/no features/);
  });
});

describe('qrQ', () => {
  it('gives an orthogonal Q with QᵀA upper triangular and a positive diagonal', () => {
    const n = 9;
    const a = new Rng(3).fillNormal(new Float64Array(n * n)) as Float64Array;
    const q = qrQ(a, n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let qtq = 0;
        let r = 0;
        for (let l = 0; l < n; l++) {
          qtq += q[l * n + i] * q[l * n + j];
          r += q[l * n + i] * a[l * n + j];
        }
        expect(Math.abs(qtq - (i === j ? 1 : 0))).toBeLessThan(1e-12);
        if (i > j) expect(Math.abs(r)).toBeLessThan(1e-12);
        if (i === j) expect(r).toBeGreaterThan(0);
      }
    }
  });
});

describe('orthogonalRandomProjection', () => {
  const D = 16;
  const m = 37; // two full blocks and a partial block of 5 rows

  function rows(w: Float32Array): number[][] {
    return Array.from({ length: w.length / D }, (_, r) => Array.from(w.subarray(r * D, (r + 1) * D)));
  }
  const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);

  it('has rows orthogonal within each block and χ_D-scaled norms', () => {
    const w = orthogonalRandomProjection(m, D, new Rng(11));
    expect(w.length).toBe(m * D);
    const rs = rows(w);
    let crossBlock = 0;
    for (let i = 0; i < m; i++) {
      for (let j = i + 1; j < m; j++) {
        const cos = dot(rs[i], rs[j]) / Math.sqrt(dot(rs[i], rs[i]) * dot(rs[j], rs[j]));
        if (Math.floor(i / D) === Math.floor(j / D)) expect(Math.abs(cos)).toBeLessThan(1e-6);
        else crossBlock = Math.max(crossBlock, Math.abs(cos));
      }
    }
    // independent blocks are not orthogonal to one another
    expect(crossBlock).toBeGreaterThan(0.1);
    // row norms are norms of D-dim Gaussians: mean ≈ √D, never all equal
    const norms = rs.map((r) => Math.sqrt(dot(r, r)));
    const meanNorm = norms.reduce((s, x) => s + x, 0) / m;
    expect(Math.abs(meanNorm - Math.sqrt(D))).toBeLessThan(1);
    expect(Math.max(...norms) - Math.min(...norms)).toBeGreaterThan(0.5);
  });

  it('is reproducible from the seed and differs across seeds', () => {
    const a = orthogonalRandomProjection(m, D, new Rng(5));
    const b = orthogonalRandomProjection(m, D, new Rng(5));
    const c = orthogonalRandomProjection(m, D, new Rng(6));
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });

  it('makes the OPT-125m and BERT-base shapes', () => {
    expect(orthogonalRandomProjection(33, 64, new Rng(1)).length).toBe(33 * 64);
    expect(orthogonalRandomProjection(266, 64, new Rng(1)).length).toBe(266 * 64);
  });
});
