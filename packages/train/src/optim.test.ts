import * as sea from '@sea/tensor';
import { describe, expect, it } from 'vitest';
import { AdamW, klBatchmean } from './index.js';
import './test/gradcheck.js';

describe('AdamW (PyTorch rule, docs/algorithm.md §9c groups)', () => {
  it('two steps match the formula: decay by name, LR groups, global-norm clipping', () => {
    const opt = new AdamW({ lr: 1e-2, maxGradNorm: 1 });
    let params: Record<string, sea.Tensor> = {
      'layers.0.fc1.weight': sea.tensor([1, -2], [2], { dtype: 'float64' }),
      'layers.0.fc1.bias': sea.tensor([0.5], [1], { dtype: 'float64' }),
      'layers.0.self_attn.perlin_nu.weight': sea.tensor([3], [1], { dtype: 'float64' }),
    };
    const g = [[3, 4], [0], [0]]; // norm 5 → clipped by 1/5
    const want = { w: [1, -2], b: [0.5], s: [3] };
    const m = { w: [0, 0], b: [0], s: [0] };
    const v = { w: [0, 0], b: [0], s: [0] };
    for (let t = 1; t <= 2; t++) {
      const grads = {
        'layers.0.fc1.weight': sea.tensor(g[0], [2], { dtype: 'float64' }),
        'layers.0.fc1.bias': sea.tensor(g[1], [1], { dtype: 'float64' }),
        'layers.0.self_attn.perlin_nu.weight': sea.tensor(g[2], [1], { dtype: 'float64' }),
      };
      const r = opt.apply(params, grads);
      params = r.params;
      expect(r.gradNorm.dataSync()[0]).toBeCloseTo(5, 12);
      const clip = 1 / (5 + 1e-6);
      const upd = (k: 'w' | 'b' | 's', i: number, grad: number, lr: number, wd: number) => {
        const gg = grad * clip;
        m[k][i] = 0.9 * m[k][i] + 0.1 * gg;
        v[k][i] = 0.999 * v[k][i] + 0.001 * gg * gg;
        const p = want[k][i] * (1 - lr * wd);
        want[k][i] =
          p - ((lr / (1 - 0.9 ** t)) * m[k][i]) / (Math.sqrt(v[k][i]) / Math.sqrt(1 - 0.999 ** t) + 1e-8);
      };
      upd('w', 0, 3, 2e-3, 1e-2);
      upd('w', 1, 4, 2e-3, 1e-2);
      upd('b', 0, 0, 2e-3, 0);
      upd('s', 0, 0, 1e-1, 1e-2);
    }
    const got = (n: string) => [...params[n].dataSync()];
    got('layers.0.fc1.weight').forEach((x, i) => {
      expect(x).toBeCloseTo(want.w[i], 12);
    });
    expect(got('layers.0.fc1.bias')[0]).toBeCloseTo(want.b[0], 12);
    expect(got('layers.0.self_attn.perlin_nu.weight')[0]).toBeCloseTo(want.s[0], 12);
  });
});

describe('losses', () => {
  it('KL batchmean matches the float64 definition', () => {
    const a = [0.2, -1, 0.5, 2, 0, 1];
    const b = [1, 0.3, -0.2, 0.1, 0.4, -1];
    const got = klBatchmean(
      sea.tensor(a, [2, 3], { dtype: 'float64' }),
      sea.tensor(b, [2, 3], { dtype: 'float64' }),
    );
    let want = 0;
    for (let r = 0; r < 2; r++) {
      const sm = (x: number[]) => {
        const e = x.map(Math.exp);
        const s = e.reduce((p, q) => p + q, 0);
        return e.map((y) => y / s);
      };
      const p = sm(a.slice(r * 3, r * 3 + 3));
      const q = sm(b.slice(r * 3, r * 3 + 3));
      for (let j = 0; j < 3; j++) want += p[j] * (Math.log(p[j] + 1e-12) - Math.log(q[j]));
    }
    expect(got.dataSync()[0]).toBeCloseTo(want / 2, 10);
  });
});
