/**
 * AdamW with docs/algorithm.md's parameter groups (§9c): betas 0.9/0.999, eps 1e-8, weight decay 1e-2 except
 * for names containing 'bias' or 'LayerNorm' (OPT/SEA norms are not named LayerNorm, so they decay),
 * non-SEA parameters at 0.2·lr and SEA parameters at 10·lr (base lr 1e-5 for OPT 125m-class),
 * global-norm gradient clipping at 1.0. Parameters are float32 master weights updated in place of
 * their handles; all math is @sea/tensor ops, so it runs on any backend.
 */

import type { Tensor } from '@sea/tensor';
import * as sea from '@sea/tensor';

export interface AdamWOptions {
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** Multiplier of lr for non-SEA parameters (OPT 125m–1.3b: 0.2; OPT-2.7b: 0.05; BERT: 1). */
  baseScale?: number;
  /** Multiplier of lr for SEA parameters (OPT: 10; OPT-2.7b: 0.5; BERT: 10). */
  seaScale?: number;
  /** Which parameters are SEA's (default: names containing 'perlin' or a '.sea.'/'sea.' segment). */
  isSea?: (name: string) => boolean;
  /** Which parameters skip weight decay (default: names containing 'bias' or 'LayerNorm'). */
  noDecay?: (name: string) => boolean;
  /** Global-norm clipping threshold; 0 or Infinity disables it. */
  maxGradNorm?: number;
}

export const isSeaParam = (name: string): boolean => name.includes('perlin') || /(^|\.)sea\./.test(name);
export const isNoDecayParam = (name: string): boolean => name.includes('bias') || name.includes('LayerNorm');

export interface ParamGroup {
  lr: number;
  weightDecay: number;
}

export class AdamW {
  readonly opts: Required<AdamWOptions>;
  step = 0;
  readonly m = new Map<string, Tensor>();
  readonly v = new Map<string, Tensor>();

  constructor(opts: AdamWOptions = {}) {
    this.opts = {
      lr: opts.lr ?? 1e-5,
      beta1: opts.beta1 ?? 0.9,
      beta2: opts.beta2 ?? 0.999,
      eps: opts.eps ?? 1e-8,
      weightDecay: opts.weightDecay ?? 1e-2,
      baseScale: opts.baseScale ?? 0.2,
      seaScale: opts.seaScale ?? 10,
      isSea: opts.isSea ?? isSeaParam,
      noDecay: opts.noDecay ?? isNoDecayParam,
      maxGradNorm: opts.maxGradNorm ?? 1,
    };
  }

  group(name: string): ParamGroup {
    const o = this.opts;
    return {
      lr: o.lr * (o.isSea(name) ? o.seaScale : o.baseScale),
      weightDecay: o.noDecay(name) ? 0 : o.weightDecay,
    };
  }

  /**
   * Σ‖g‖² over `names` (float32, in that order): the square of the global gradient norm, one scalar
   * on the device (read once by the caller for both the non-finite check and the clipping).
   */
  static sumOfSquares(grads: Readonly<Record<string, Tensor>>, names = Object.keys(grads).sort()): Tensor {
    // one reduction over every gradient laid end to end (a copy each, then one square and one sum)
    // instead of a square, a sum and an add per parameter
    return sea.tidy(() => {
      if (!names.length) return sea.scalar(0);
      const flat = names.map((n) => {
        const g = grads[n];
        return (g.dtype === 'float32' ? g : sea.cast(g, 'float32')).reshape([g.size]);
      });
      return sea.sum(sea.square(flat.length === 1 ? flat[0] : sea.concat(flat, 0)));
    });
  }

  /** Clipping's factor for a global gradient norm: min(maxGradNorm / (norm + 1e-6), 1), or 1 when off. */
  clipFactor(gradNorm: number): number {
    const o = this.opts;
    if (!(o.maxGradNorm > 0 && Number.isFinite(o.maxGradNorm))) return 1;
    return Math.min(o.maxGradNorm / (gradNorm + 1e-6), 1);
  }

  /**
   * One update: clips the gradients to the global norm, then for each parameter
   * p ← p·(1 − lr·wd); m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; p ← p − lr·m̂/(√v̂ + eps)
   * (PyTorch AdamW; `sea.adamwStep`, one fused pass per parameter on a backend with the capability).
   * Returns the new parameter tensors (the old ones are disposed) and the pre-clipping gradient norm
   * (a scalar tensor, for logging). `lrScale` multiplies every group's lr (a schedule's warmup or
   * decay). `gradNorm`: the global norm when the caller has read it already (the clipping factor is
   * then a number: no device work for it); otherwise it is computed here on the device.
   */
  apply(
    params: Readonly<Record<string, Tensor>>,
    grads: Readonly<Record<string, Tensor>>,
    lrScale = 1,
    gradNorm?: number,
  ): { params: Record<string, Tensor>; gradNorm: Tensor } {
    const o = this.opts;
    this.step += 1;
    const t = this.step;
    // a fixed order, so the clipping norm (a float sum) does not depend on how the record was built
    const names = Object.keys(params).sort();
    const anyParam = params[names[0]];
    const normT =
      gradNorm !== undefined
        ? sea.scalar(gradNorm, anyParam ? { backend: anyParam.backend } : {})
        : sea.tidy(() => sea.sqrt(AdamW.sumOfSquares(grads, names)));
    const clipT =
      gradNorm === undefined && o.maxGradNorm > 0 && Number.isFinite(o.maxGradNorm)
        ? sea.tidy(() => sea.minimum(sea.div(o.maxGradNorm, sea.add(normT, 1e-6)), 1))
        : null;
    const gradScale = gradNorm !== undefined ? this.clipFactor(gradNorm) : 1;
    const out: Record<string, Tensor> = {};
    for (const n of names) {
      const p = params[n];
      const g0 = this.group(n);
      const r = sea.tidy(() => {
        let g = grads[n];
        if (clipT) g = sea.mul(g, sea.cast(clipT, g.dtype));
        const x = sea.adamwStep(p, g, this.m.get(n) ?? null, this.v.get(n) ?? null, {
          lr: g0.lr * lrScale,
          beta1: o.beta1,
          beta2: o.beta2,
          eps: o.eps,
          weightDecay: g0.weightDecay,
          step: t,
          gradScale,
        });
        return [x.param, x.m, x.v];
      });
      this.m.get(n)?.dispose();
      this.v.get(n)?.dispose();
      this.m.set(n, r[1].keep());
      this.v.set(n, r[2].keep());
      out[n] = r[0];
    }
    clipT?.dispose();
    for (const n of names) params[n].dispose();
    return { params: out, gradNorm: normT };
  }

  /** Moments and step as named tensors plus metadata, for a safetensors checkpoint. */
  stateTensors(): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
    const tensors: Record<string, Tensor> = {};
    for (const [n, t] of this.m) tensors[`exp_avg.${n}`] = t;
    for (const [n, t] of this.v) tensors[`exp_avg_sq.${n}`] = t;
    return {
      tensors,
      metadata: { step: String(this.step), options: JSON.stringify(this.serializableOptions()) },
    };
  }

  /** Restores moments and step (takes ownership of the tensors). */
  loadState(tensors: Readonly<Record<string, Tensor>>, step: number): void {
    for (const t of this.m.values()) t.dispose();
    for (const t of this.v.values()) t.dispose();
    this.m.clear();
    this.v.clear();
    for (const [k, t] of Object.entries(tensors)) {
      if (k.startsWith('exp_avg_sq.')) this.v.set(k.slice('exp_avg_sq.'.length), t.keep());
      else if (k.startsWith('exp_avg.')) this.m.set(k.slice('exp_avg.'.length), t.keep());
      else t.dispose();
    }
    this.step = step;
  }

  serializableOptions(): Omit<Required<AdamWOptions>, 'isSea' | 'noDecay'> {
    const { isSea: _s, noDecay: _d, ...rest } = this.opts;
    return rest;
  }

  dispose(): void {
    for (const t of this.m.values()) t.dispose();
    for (const t of this.v.values()) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}
