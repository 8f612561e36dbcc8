/**
 * Dynamic loss scaling for float16 compute (PyTorch GradScaler's rule): the backward seed is the loss
 * scale S (times 1/accumulate), the summed gradients are unscaled by 1/S before clipping and the
 * update; a step whose gradients hold a non-finite value is skipped (no update; the same step's
 * batch runs again) and S halves; after `growthInterval` good steps in a row S doubles. S stays a
 * power of two, so with no overflow the unscaled float32 gradients equal unscaled training's bit for
 * bit. The parameters and AdamW's moments stay float32 (master weights).
 */
export interface LossScaleOptions {
  /** Initial scale (default 2^16). */
  init?: number;
  growthFactor?: number;
  backoffFactor?: number;
  growthInterval?: number;
}

export class DynamicLossScaler {
  scale: number;
  goodSteps = 0;
  skipped = 0;
  readonly growthFactor: number;
  readonly backoffFactor: number;
  readonly growthInterval: number;

  constructor(o: LossScaleOptions = {}) {
    this.scale = o.init ?? 2 ** 16;
    this.growthFactor = o.growthFactor ?? 2;
    this.backoffFactor = o.backoffFactor ?? 0.5;
    this.growthInterval = o.growthInterval ?? 2000;
    if (!(this.scale > 0) || !Number.isFinite(this.scale))
      throw new RangeError(`loss scale must be a positive finite number, got ${this.scale}`);
  }

  /** Records whether the step's gradients were finite; returns whether to apply the update. */
  update(finite: boolean): boolean {
    if (!finite) {
      this.scale *= this.backoffFactor;
      this.goodSteps = 0;
      this.skipped += 1;
      return false;
    }
    this.goodSteps += 1;
    if (this.goodSteps >= this.growthInterval) {
      this.scale *= this.growthFactor;
      this.goodSteps = 0;
    }
    return true;
  }

  state(): { scale: number; goodSteps: number; skipped: number } {
    return { scale: this.scale, goodSteps: this.goodSteps, skipped: this.skipped };
  }
}
