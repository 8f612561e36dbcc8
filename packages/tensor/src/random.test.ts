import { describe, expect, it } from 'vitest';
import { Rng } from './random.js';

describe('Rng', () => {
  it('is deterministic per seed and differs between seeds', () => {
    const draw = (seed: number) => {
      const r = new Rng(seed);
      return [r.nextU32(), r.uniform(), r.normal(), r.normal(), r.int(1000)];
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    expect(draw(0)).toEqual(draw(0));
  });

  it('seeds are uint32: a seed and seed + 2³² agree', () => {
    const a = new Rng(7);
    const b = new Rng(7 + 2 ** 32);
    for (let i = 0; i < 10; i++) expect(a.nextU32()).toBe(b.nextU32());
  });

  it('keeps the sequence of seed 1 (initialisations and projections depend on it)', () => {
    const r = new Rng(1);
    const got = Array.from({ length: 4 }, () => r.nextU32());
    expect(got).toEqual(PINNED_SEED_1);
  });

  it('uniform lies in [0, 1) with mean ½ and variance 1/12', () => {
    const r = new Rng(123);
    const n = 200_000;
    let s = 0;
    let s2 = 0;
    let lo = 1;
    let hi = 0;
    for (let i = 0; i < n; i++) {
      const u = r.uniform();
      s += u;
      s2 += u * u;
      lo = Math.min(lo, u);
      hi = Math.max(hi, u);
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    expect(Math.abs(s / n - 0.5)).toBeLessThan(0.005); // 7σ of 1/√(12n)
    expect(Math.abs(s2 / n - (s / n) ** 2 - 1 / 12)).toBeLessThan(0.002);
  });

  it('normal has mean 0 and variance 1; int covers [0, n)', () => {
    const r = new Rng(9);
    const n = 200_000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const x = r.normal();
      s += x;
      s2 += x * x;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.016); // 7σ
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.025);
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 70_000; i++) counts[r.int(7)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(700);
  });

  it('fills arrays', () => {
    const a = new Rng(5).fillNormal(new Float64Array(4), 10, 0);
    expect([...a]).toEqual([10, 10, 10, 10]);
    const u = new Rng(5).fillUniform(new Float32Array(100), -2, -1);
    for (const v of u) expect(v >= -2 && v <= -1).toBe(true);
    expect([...new Rng(5).fillUniform(new Float64Array(3))]).toEqual([
      ...new Rng(5).fillUniform(new Float64Array(3)),
    ]);
  });
});

// first outputs of seed 1 as of the scaffold; a change here changes every seeded initialisation
const PINNED_SEED_1 = [2442144158, 3238099751, 3819917871, 2104621829];
