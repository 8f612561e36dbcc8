/**
 * The position code V_I that SEA concatenates to V before the Performer (docs/algorithm.md §3, "V_I
 * construction" and "Position code").
 */
import {
  abs,
  add,
  arange,
  cast,
  cumsum,
  div,
  fmt,
  mul,
  ones,
  relu,
  ShapeError,
  slice,
  sub,
  sum,
  type Tensor,
  tidy,
  where,
} from '@sea/tensor';
import { type PredictorConfig, predictorShape } from './config.js';
import type { PredictorWeights } from './weights.js';

export interface PositionCodeOptions {
  batch: number;
  T: number;
  /** bool [B, T]: false at pad tokens. Absent: every token is valid. */
  keyValid?: Tensor;
}

/**
 * V_I [B, H, T, D] float32.
 * - Bidirectional: a soft one-hot over D bins spanning the valid tokens,
 *   V_I[t] = (1−f)·e_⌊p⌋ + f·e_⌊p⌋+1 with p = r_t·(D−1)/(L_b−1+1e-8), r_t the token's rank among the
 *   valid tokens and L_b their count (grid_sample, bilinear, align_corners=True, on I_D); this is
 *   the hat function max(0, 1−|p−i|) over bins i. Pad tokens are zero.
 * - Causal: the learned table P[0:T] broadcast over batch and heads (zero at pad tokens if given).
 */
export function positionCode(
  config: PredictorConfig,
  weights: PredictorWeights,
  opts: PositionCodeOptions,
): Tensor {
  const s = predictorShape(config);
  const { batch: B, T, keyValid } = opts;
  if (!Number.isInteger(B) || B < 1 || !Number.isInteger(T) || T < 1) {
    throw new RangeError(`positionCode: batch and T must be positive integers, got batch=${B}, T=${T}`);
  }
  if (
    keyValid &&
    (keyValid.dtype !== 'bool' || keyValid.rank !== 2 || keyValid.shape[0] !== B || keyValid.shape[1] !== T)
  ) {
    throw new ShapeError(
      `positionCode: expected keyValid bool [${B},${T}], got ${keyValid.dtype} ${fmt(keyValid.shape)}`,
    );
  }
  if (s.causal) {
    if (T > s.maxPositions) {
      throw new RangeError(
        `positionCode: T=${T} exceeds the position table's ${s.maxPositions} rows (maxPositions); raise maxPositions or resize the 'position' weight`,
      );
    }
    const table = weights.position;
    if (table?.rank !== 2 || table.shape[0] !== s.maxPositions || table.shape[1] !== s.D) {
      throw new ShapeError(
        `positionCode: expected weight 'position' of shape [${s.maxPositions},${s.D}], got ${table ? fmt(table.shape) : 'none'}`,
      );
    }
    const backend = table.backend;
    return tidy(() => {
      // the whole table when T is its length: a view, not a copy
      const rows = T === s.maxPositions ? table : slice(table, [0, 0], [T, s.D]);
      const p = rows.reshape([1, 1, T, s.D]);
      const v = mul(p, ones([B, s.H, 1, 1], { backend, dtype: table.dtype }));
      return keyValid ? where(keyValid.reshape([B, 1, T, 1]), v, 0) : v;
    });
  }
  const backend = keyValid?.backend ?? weights['encoder.linear.weight']?.backend;
  return tidy(() => {
    const valid = keyValid ? cast(keyValid, 'float32') : ones([B, T], { backend });
    const rank = sub(cumsum(valid, 1), 1); // [B,T]
    const count = sum(valid, 1, true); // [B,1]
    const p = mul(div(rank, add(sub(count, 1), 1e-8)), s.D - 1).reshape([B, 1, T, 1]);
    const bins = cast(arange(0, s.D, { backend }), 'float32').reshape([1, 1, 1, s.D]);
    const hat = relu(sub(1, abs(sub(p, bins)))); // [B,1,T,D]
    const code = keyValid ? where(keyValid.reshape([B, 1, T, 1]), hat, 0) : hat;
    const out = mul(code, ones([1, s.H, 1, 1], { backend }));
    // float64 weights (gradient checks) get a float64 code; it holds no parameter
    const dtype = weights['encoder.linear.weight']?.dtype ?? 'float32';
    return dtype === 'float32' ? out : cast(out, dtype);
  });
}
