/**
 * The predictor CNNs that turn the channel-split encoder output Ẑ into the compressed attention
 * logits Â [B, H, T, K] (docs/algorithm.md §4a causal, §4b bidirectional).
 */
import {
  concat,
  conv2d,
  type DType,
  fmt,
  layerNorm,
  linear,
  mul,
  ones,
  releaseEarly,
  resize,
  ShapeError,
  slice,
  type Tensor,
  type TypedArray,
  tensor,
  tidy,
} from '@sea/tensor';
import { toTypedArray } from '@sea/tensor/backend';
import { type PredictorConfig, type PredictorShape, predictorShape } from './config.js';
import type { PredictorWeights } from './weights.js';

/** PyTorch LayerNorm default eps. */
export const LAYER_NORM_EPS = 1e-5;

/** widthMap per (W, K), built once (read-only: `tensor()` copies it to the backend). */
const widthMaps = new Map<string, Float32Array>();

/**
 * The causal CNN's tail along the width as a matrix M [K, W+2] (out = M·[b, z_0 … z_{W−1}, b]): nearest
 * upsampling W → K (source ⌊j·W/K⌋), one column of the conv's bias on each side (K+2), then PyTorch's
 * area resize K+2 → K (window [⌊i(K+2)/K⌋, ⌈(i+1)(K+2)/K⌉), the mean of its columns).
 */
export function widthMap(W: number, K: number): Float32Array {
  const key = `${W},${K}`;
  const cached = widthMaps.get(key);
  if (cached) return cached;
  const m = new Float32Array(K * (W + 2));
  const src = (j: number): number => (j === 0 ? 0 : j === K + 1 ? W + 1 : 1 + Math.floor(((j - 1) * W) / K));
  for (let i = 0; i < K; i++) {
    const a = Math.floor((i * (K + 2)) / K);
    const e = Math.ceil(((i + 1) * (K + 2)) / K);
    for (let j = a; j < e; j++) m[i * (W + 2) + src(j)] += 1 / (e - a);
  }
  widthMaps.set(key, m);
  return m;
}

/** widthMap in a dtype's storage (16-bit bit patterns for float16/bfloat16), converted once per dtype. */
const widthMapsIn = new Map<string, TypedArray>();
export function widthMapIn(W: number, K: number, dtype: DType): TypedArray {
  if (dtype === 'float32') return widthMap(W, K);
  const key = `${W},${K},${dtype}`;
  let m = widthMapsIn.get(key);
  if (!m) {
    m = toTypedArray(widthMap(W, K), dtype);
    widthMapsIn.set(key, m);
  }
  return m;
}

/**
 * Causal CNN, input [B, 2H, T, K/4]:
 * LN over K/4 → conv1 (3×3, dilation 2, taps t−4, t−2, t × w−2, w, w+2) → ReLU → conv2 (same) → ReLU
 * → nearest ×4 width → 1×1 conv 2H→H with one zero column each side (K+2) → area resize to K → LN over K
 * (the 1×1 conv runs before the upsampling, which it commutes with).
 * The official 5×3 causal kernel with its bottom two rows masked equals the top 3×3 taps with time
 * padding [4, 0], which is what runs here.
 */
function causalCnn(s: PredictorShape, w: PredictorWeights, x: Tensor): Tensor {
  let y = layerNorm(x, w['cnn.norm_in.weight'], w['cnn.norm_in.bias'], LAYER_NORM_EPS);
  for (const name of ['cnn.conv1', 'cnn.conv2'] as const) {
    const next = causalConv(s, w, name, y, 4);
    releaseEarly(y);
    y = next;
  }
  return causalCnnHead(s, w, y, undefined, true);
}

/**
 * One of the causal CNN's dilated convs with its ReLU: the top 3×3 taps, dilation 2, `timePad`
 * zero rows before the first (4 for a whole sequence; 0 when the caller supplies the 4 rows before).
 */
export function causalConv(
  s: PredictorShape,
  w: PredictorWeights,
  name: 'cnn.conv1' | 'cnn.conv2',
  x: Tensor,
  timePad: number,
): Tensor {
  const C = 2 * s.H;
  const taps = slice(w[`${name}.weight`], [0, 0, 0, 0], [C, C, 3, 3]);
  // the ReLU in the conv's store
  const out = conv2d(x, taps, w[`${name}.bias`], {
    dilation: 2,
    padding: [timePad, 0, 2, 2],
    activation: 'relu',
  });
  releaseEarly(taps);
  return out;
}

/**
 * The causal CNN after conv2 (row by row): 1×1 conv, width map to K, LN → [B, H, T, K]. A decoder
 * passes the edge columns [B, H, T, 1] and the width map, which are the same at every step.
 */
export function causalCnnHead(
  s: PredictorShape,
  w: PredictorWeights,
  y: Tensor,
  constants?: { edge: Tensor; map: Tensor },
  releaseInput = false,
): Tensor {
  const [B, , T] = y.shape;
  // The 1×1 conv commutes with the nearest ×4 upsampling (every output pixel is the same dot product
  // over one input pixel's channels), so it runs on the K/4-wide map; its two zero-padded columns give
  // the bias alone. Nearest ×4, those two columns and the area resize K+2 → K are then one fixed linear
  // map along the width (widthMap), applied as one GEMM: the same sums of the same terms.
  const bias = w['cnn.conv_out.bias'];
  const z = conv2d(y, w['cnn.conv_out.weight'], bias); // [B, H, T, K/4]
  if (releaseInput) releaseEarly(y);
  const edge =
    constants?.edge ??
    mul(ones([B, s.H, T, 1], { backend: z.backend, dtype: z.dtype }), bias.reshape([1, s.H, 1, 1]));
  const map =
    constants?.map ??
    tensor(widthMapIn(s.width, s.K, z.dtype), [s.K, s.width + 2], {
      backend: z.backend,
      dtype: z.dtype,
    });
  const zPad = concat([edge, z, edge], 3);
  releaseEarly(z, constants ? null : edge);
  const out = linear(zPad, map); // [B, H, T, K]
  releaseEarly(zPad, constants ? null : map);
  const normed = layerNorm(out, w['cnn.norm_out.weight'], w['cnn.norm_out.bias'], LAYER_NORM_EPS);
  releaseEarly(out);
  return normed;
}

/**
 * Bidirectional CNN, input [B, 4H, T, K/2]:
 * conv 3×3 stride (2,1) pad 1 → ReLU → conv 3×3 pad 1 → ReLU → nearest ×2 time → conv 3×3 pad 1 (4H→H)
 * → bilinear resize to (T, K), align_corners=false.
 */
function bidirectionalCnn(s: PredictorShape, w: PredictorWeights, x: Tensor): Tensor {
  const [, , T] = x.shape;
  let y = conv2d(x, w['cnn.conv1.weight'], w['cnn.conv1.bias'], {
    stride: [2, 1],
    padding: 1,
    activation: 'relu',
  });
  y = conv2d(y, w['cnn.conv2.weight'], w['cnn.conv2.bias'], { padding: 1, activation: 'relu' });
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
