/**
 * The predictor CNNs that turn the channel-split encoder output Ẑ into the compressed attention
 * logits Â [B, H, T, K] (spec §4a causal, §4b bidirectional).
 */
import {
  concat,
  conv2d,
  fmt,
  layerNorm,
  mul,
  ones,
  relu,
  resize,
  ShapeError,
  slice,
  type Tensor,
  tidy,
} from '@sea/tensor';
import { type PredictorConfig, type PredictorShape, predictorShape } from './config.js';
import type { PredictorWeights } from './weights.js';

/** PyTorch LayerNorm default eps. */
export const LAYER_NORM_EPS = 1e-5;

/**
 * Causal CNN, input [B, 2H, T, K/4]:
 * LN over K/4 → conv1 (3×3, dilation 2, taps t−4, t−2, t × w−2, w, w+2) → ReLU → conv2 (same) → ReLU
 * → nearest ×4 width → 1×1 conv 2H→H with one zero column each side (K+2) → area resize to K → LN over K
 * (the 1×1 conv runs before the upsampling, which it commutes with).
 * The official 5×3 causal kernel with its bottom two rows masked equals the top 3×3 taps with time
 * padding [4, 0], which is what runs here.
 */
function causalCnn(s: PredictorShape, w: PredictorWeights, x: Tensor): Tensor {
  const [, , T] = x.shape;
  const C = 2 * s.H;
  let y = layerNorm(x, w['cnn.norm_in.weight'], w['cnn.norm_in.bias'], LAYER_NORM_EPS);
  for (const name of ['cnn.conv1', 'cnn.conv2']) {
    const taps = slice(w[`${name}.weight`], [0, 0, 0, 0], [C, C, 3, 3]);
    y = relu(conv2d(y, taps, w[`${name}.bias`], { dilation: 2, padding: [4, 0, 2, 2] }));
  }
  // The 1×1 conv commutes with the nearest ×4 upsampling (every output pixel is the same dot product
  // over one input pixel's channels), so it runs on the K/4-wide map: 4× fewer products, the same
  // values. Its two zero-padded columns give the bias alone; they are put back before the area resize.
  const B = x.shape[0];
  const bias = w['cnn.conv_out.bias'];
  y = resize(conv2d(y, w['cnn.conv_out.weight'], bias), [T, s.K], 'nearest');
  const edge = mul(
    ones([B, s.H, T, 1], { backend: y.backend, dtype: y.dtype }),
    bias.reshape([1, s.H, 1, 1]),
  );
  y = concat([edge, y, edge], 3); // [B, H, T, K+2], what conv_out with width padding 1 writes
  y = resize(y, [T, s.K], 'area');
  return layerNorm(y, w['cnn.norm_out.weight'], w['cnn.norm_out.bias'], LAYER_NORM_EPS);
}

/**
 * Bidirectional CNN, input [B, 4H, T, K/2]:
 * conv 3×3 stride (2,1) pad 1 → ReLU → conv 3×3 pad 1 → ReLU → nearest ×2 time → conv 3×3 pad 1 (4H→H)
 * → bilinear resize to (T, K), align_corners=false.
 */
function bidirectionalCnn(s: PredictorShape, w: PredictorWeights, x: Tensor): Tensor {
  const [, , T] = x.shape;
  let y = relu(conv2d(x, w['cnn.conv1.weight'], w['cnn.conv1.bias'], { stride: [2, 1], padding: 1 }));
  y = relu(conv2d(y, w['cnn.conv2.weight'], w['cnn.conv2.bias'], { padding: 1 }));
  y = resize(y, [2 * y.shape[2], y.shape[3]], 'nearest');
  y = conv2d(y, w['cnn.conv_out.weight'], w['cnn.conv_out.bias'], { padding: 1 });
  return resize(y, [T, s.K], 'bilinear', { alignCorners: false });
}

/** Ẑ [B, H·c_h, T, K/c_s] → Â logits [B, H, T, K]. */
export function predictorCnn(config: PredictorConfig, weights: PredictorWeights, zHat: Tensor): Tensor {
  const s = predictorShape(config);
  if (zHat.rank !== 4 || zHat.shape[1] !== s.H * s.ch || zHat.shape[3] !== s.width) {
    throw new ShapeError(
      `predictorCnn: expected input of shape [B,${s.H * s.ch},T,${s.width}], got ${fmt(zHat.shape)}`,
    );
  }
  return tidy(() => (s.causal ? causalCnn(s, weights, zHat) : bidirectionalCnn(s, weights, zHat)));
}
