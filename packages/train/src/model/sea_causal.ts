/**
 * SEA attention for causal (OPT) layers, dense reference path (spec §1: the path used in training
 * and in every reported evaluation), with the same shapes as spec §2–§7: learned position code,
 * causal ReLU Performer, encoder μ, scalers, channel split, causal CNN, causal-per-batch top-k,
 * stretching to a T×T additive mask, s_prob-scaled sparse softmax, running-mean context and s_mix.
 * The selection runs on the host and is never differentiated (spec §5). It stands in until
 * @sea/sparse-attention's SeaAttention exposes its dense path with these training outputs.
 */

import type { Tensor } from '@sea/tensor';
import * as sea from '@sea/tensor';
import { performerPrefixSumDense } from '../gradients/sea_ops.js';
import { broadcastTo } from '../gradients/util.js';
import { FP_MIN } from '../losses.js';
import type { AttentionFn, AttentionOutput, OptConfig, Weights } from './opt.js';
import { P } from './opt.js';

export interface SeaOptions {
  /** Sparsity budget k (keys per query per head, on average). */
  k: number;
  /** Compressed width K (predictor length); a multiple of 4. */
  predictorLength: number;
  /** Performer feature factor: m = ⌊D ln D / nbf⌋. */
  nbf: number;
}

/** Name prefix of layer i's SEA weights (contains 'perlin', the spec's marker for the SEA LR group). */
export const seaPrefix = (i: number) => `${P(i)}self_attn.perlin_`;
/** The Performer projection is a buffer: saved with the SEA weights, never trained. */
export const isBuffer = (name: string) => name.endsWith('perlin_performer_proj');

export function performerFeatures(d: number, nbf: number): number {
  return Math.max(1, Math.floor((d * Math.log(d)) / nbf));
}

/** Orthogonal random features (spec §3): QR blocks (Gram–Schmidt) of Gaussians, rows scaled by χ_D norms. */
function orthogonalProjection(m: number, d: number, rng: sea.Rng): Float64Array {
  const out = new Float64Array(m * d);
  let row = 0;
  while (row < m) {
    const block: Float64Array[] = [];
    for (let r = 0; r < d; r++) {
      const v = rng.fillNormal(new Float64Array(d)) as Float64Array;
      for (const u of block) {
        let dot = 0;
        for (let i = 0; i < d; i++) dot += v[i] * u[i];
        for (let i = 0; i < d; i++) v[i] -= dot * u[i];
      }
      const n = Math.hypot(...v);
      for (let i = 0; i < d; i++) v[i] /= n;
      block.push(v);
    }
    for (let r = 0; r < d && row < m; r++, row++) {
      const g = rng.fillNormal(new Float64Array(d)) as Float64Array;
      const s = Math.hypot(...g);
      for (let i = 0; i < d; i++) out[row * d + i] = block[r][i] * s;
    }
  }
  return out;
}

/** Fresh SEA weights for every layer (PyTorch default inits; position code N(0,1)). */
export function initSeaWeights(
  cfg: OptConfig,
  o: SeaOptions,
  seed: number,
  dtype: 'float32' | 'float64' = 'float32',
): Weights {
  if (o.predictorLength % 4 !== 0)
    throw new Error(`predictor length must be a multiple of 4, got ${o.predictorLength}`);
  const rng = new sea.Rng(seed);
  const H = cfg.heads;
  const D = cfg.hidden / H;
  const K = o.predictorLength;
  const m = performerFeatures(D, o.nbf);
  const w: Weights = {};
  const put = (name: string, shape: number[], a: Float64Array) => {
    w[name] = sea.tensor(dtype === 'float64' ? a : Float32Array.from(a), shape, { dtype });
  };
  const uniform = (n: number, bound: number) =>
    rng.fillUniform(new Float64Array(n), -bound, bound) as Float64Array;
  const linear = (name: string, out: number, inn: number) => {
    put(`${name}.weight`, [out, inn], uniform(out * inn, 1 / Math.sqrt(inn)));
    put(`${name}.bias`, [out], uniform(out, 1 / Math.sqrt(inn)));
  };
  const norm = (name: string, n: number) => {
    put(`${name}.weight`, [n], new Float64Array(n).fill(1));
    put(`${name}.bias`, [n], new Float64Array(n));
  };
  const conv = (name: string, out: number, inn: number, kh: number, kw: number) => {
    const fan = inn * kh * kw;
    put(`${name}.weight`, [out, inn, kh, kw], uniform(out * fan, 1 / Math.sqrt(fan)));
    put(`${name}.bias`, [out], uniform(out, 1 / Math.sqrt(fan)));
  };
  for (let i = 0; i < cfg.layers; i++) {
    const p = seaPrefix(i);
    put(
      `${p}position`,
      [cfg.maxPositions, D],
      rng.fillNormal(new Float64Array(cfg.maxPositions * D)) as Float64Array,
    );
    put(`${p}performer_proj`, [m, D], orthogonalProjection(m, D, rng));
    linear(`${p}encoder`, 2 * D, 3 * D);
    norm(`${p}encoder_norm`, 2 * D);
    linear(`${p}scaler`, 2, 2 * D);
    linear(`${p}nu`, K / 2, 2 * D);
    norm(`${p}cnn_norm_in`, K / 4);
    conv(`${p}cnn_conv1`, 2 * H, 2 * H, 3, 3);
    conv(`${p}cnn_conv2`, 2 * H, 2 * H, 3, 3);
    conv(`${p}cnn_conv4`, H, 2 * H, 1, 1);
    norm(`${p}cnn_norm_out`, K);
  }
  return w;
}

/** Round half to even (PyTorch `round`), for the budgets. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Key j of row t (L_t = t+1 visible keys) belongs to cell ⌊(j+½)·K/L_t − 10⁻⁴⌋ (spec §6, dense form). */
export function cellOf(j: number, t: number, K: number): number {
  return Math.floor(((j + 0.5) * K) / (t + 1) - 1e-4);
}

export interface SeaMask {
  /** Additive mask [B,H,T,T]: 0 on selected keys, FP_MIN elsewhere. */
  mask: Tensor;
  /** [B,H,T,1]: 1 where the row of that head has any key (empty rows get zero probabilities). */
  rowAny: Tensor;
}

/**
 * Causal-per-batch grouped top-k̂ (spec §5) of Â [B,H,T,K] and stretching to a dense mask (spec §6):
 * group (b,t) holds the H·K cells, budget round(H·k·K/(t+1)) clamped to [1, H·K], largest first,
 * ties to the lower flat index (h·K + m).
 */
export function selectCausalMask(
  aHat: Float64Array | Float32Array,
  shape: readonly number[],
  k: number,
  dtype: sea.DType,
): SeaMask {
  const [B, H, T, K] = shape;
  const mask = new Float64Array(B * H * T * T).fill(FP_MIN);
  const any = new Float64Array(B * H * T);
  const order = new Int32Array(H * K);
  const vals = new Float64Array(H * K);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < H; h++)
        for (let m = 0; m < K; m++) vals[h * K + m] = aHat[((b * H + h) * T + t) * K + m];
      for (let i = 0; i < H * K; i++) order[i] = i;
      order.sort((x, y) => vals[y] - vals[x] || x - y);
      const budget = Math.min(H * K, Math.max(1, roundHalfEven((H * k * K) / (t + 1))));
      const chosen = new Uint8Array(H * K);
      for (let i = 0; i < budget; i++) chosen[order[i]] = 1;
      for (let h = 0; h < H; h++) {
        const row = ((b * H + h) * T + t) * T;
        for (let j = 0; j <= t; j++) {
          if (chosen[h * K + cellOf(j, t, K)]) {
            mask[row + j] = 0;
            any[(b * H + h) * T + t] = 1;
          }
        }
      }
    }
  }
  const cast = (a: Float64Array) => (dtype === 'float64' ? a : Float32Array.from(a));
  return {
    mask: sea.tensor(cast(mask), [B, H, T, T], { dtype }),
    rowAny: sea.tensor(cast(any), [B, H, T, 1], { dtype }),
  };
}

export interface SeaCausal {
  attention: AttentionFn;
  /** When set, layer i reuses the mask it selected first (for gradient checks with the mask fixed). */
  frozen: Map<number, SeaMask> | null;
}

/** Builds the SEA attention of every layer over `w` (the SEA weights, read at call time). */
export function seaCausalAttention(_cfg: OptConfig, o: SeaOptions, getWeights: () => Weights): SeaCausal {
  const K = o.predictorLength;
  const self: SeaCausal = { attention: () => ({}) as AttentionOutput, frozen: null };
  self.attention = ({ layer, q, k, v }) => {
    const w = getWeights();
    const p = seaPrefix(layer);
    const g = (n: string) => w[`${p}${n}`];
    const [B, H, T, D] = q.shape;
    // Performer (causal ReLU kernel, spec §3) on V_cat = [P[0:T] ; V]
    const proj = g('performer_proj');
    const phi = (x: Tensor) =>
      sea.add(sea.relu(sea.matmul(sea.mul(x, D ** -0.25), proj, { transB: true })), 0.001);
    const pos = broadcastTo(sea.slice(g('position'), [0, 0], [T, D]).reshape([1, 1, T, D]), [B, H, T, D]);
    const cPerf = performerPrefixSumDense(phi(q), phi(k), sea.concat([pos, v], -1), 1e-6);
    // encoder μ, scalers, ν + channel split (spec §4)
    const lin = (x: Tensor, n: string) => sea.linear(x, g(`${n}.weight`), g(`${n}.bias`));
    const ln = (x: Tensor, n: string) => sea.layerNorm(x, g(`${n}.weight`), g(`${n}.bias`), 1e-5);
    const z = sea.gelu(ln(lin(sea.concat([cPerf, v], -1), 'encoder'), 'encoder_norm'));
    const s = sea.sigmoid(lin(z, 'scaler'));
    const sProb = sea.slice(s, [0, 0, 0, 0], [B, H, T, 1]);
    const sMix = sea.slice(s, [0, 0, 0, 1], [B, H, T, 1]);
    const zh = sea
      .transpose(lin(z, 'nu').reshape([B, H, T, 2, K / 4]), [0, 1, 3, 2, 4])
      .reshape([B, 2 * H, T, K / 4]);
    // causal CNN (spec §4a)
    const conv = (x: Tensor, n: string, args: sea.Conv2dArgs) =>
      sea.conv2d(x, g(`${n}.weight`), g(`${n}.bias`), args);
    let c = ln(zh, 'cnn_norm_in');
    c = sea.relu(conv(c, 'cnn_conv1', { dilation: 2, padding: [4, 0, 2, 2] }));
    c = sea.relu(conv(c, 'cnn_conv2', { dilation: 2, padding: [4, 0, 2, 2] }));
    c = sea.resize(c, [T, K], 'nearest');
    c = conv(c, 'cnn_conv4', { padding: [0, 0, 1, 1] });
    c = sea.resize(c, [T, K], 'area');
    const aLogits = ln(c, 'cnn_norm_out'); // [B,H,T,K]
    // selection (no gradient)
    let sel = self.frozen?.get(layer);
    if (!sel) {
      const aHat = sea.softmax(aLogits);
      sel = selectCausalMask(aHat.dataSync() as Float32Array, [B, H, T, K], o.k, q.dtype);
      aHat.dispose();
      if (self.frozen) {
        sel.mask.keep();
        sel.rowAny.keep();
        self.frozen.set(layer, sel);
      }
    }
    // Â logits stretched to T×T ("nearest" over each row's cells) for L_approx
    const idx = new Int32Array(B * H * T * T);
    for (let r = 0; r < B * H; r++) {
      for (let t = 0; t < T; t++) for (let j = 0; j <= t; j++) idx[(r * T + t) * T + j] = cellOf(j, t, K);
    }
    const approxLogits = sea.takeAlong(aLogits, sea.tensor(idx, [B, H, T, T], { dtype: 'int32' }));
    // sparse attention on the mask, scaled by s_prob; running-mean context; s_mix (spec §7)
    const scores = sea.matmul(q, k, { transB: true });
    const probs = sea.mul(sea.mul(sea.softmax(scores, sel.mask), sel.rowAny), sProb);
    const ctx = sea.matmul(probs, v);
    const counts = sea.tensor(
      Float64Array.from({ length: T }, (_, t) => 1 / (t + 1)),
      [1, 1, T, 1],
      { dtype: 'float64' },
    );
    const avg = sea.mul(sea.cumsum(v, 2), sea.cast(counts, v.dtype));
    const mixed = sea.add(sea.mul(sMix, ctx), sea.mul(sea.sub(1, sMix), avg));
    return { context: sea.transpose(mixed, [0, 2, 1, 3]).reshape([B, T, H * D]), scores, approxLogits };
  };
  return self;
}

/** The Performer baseline (spec §3 causal kernel on V only): context = linear attention output. */
export function performerCausalAttention(_cfg: OptConfig, getWeights: () => Weights): AttentionFn {
  return ({ layer, q, k, v }) => {
    const proj = getWeights()[`${seaPrefix(layer)}performer_proj`];
    const [B, H, T, D] = q.shape;
    const phi = (x: Tensor) =>
      sea.add(sea.relu(sea.matmul(sea.mul(x, D ** -0.25), proj, { transB: true })), 0.001);
    const out = performerPrefixSumDense(phi(q), phi(k), v, 1e-6);
    return { context: sea.transpose(out, [0, 2, 1, 3]).reshape([B, T, H * D]) };
  };
}
