import type { TensorInfo } from '@sea/tensor';
import { allocArray, type ResizeOptions } from '@sea/tensor/backend';
import type { CpuBackend } from '../cpu_backend.js';

/**
 * One axis of a separable resize: output position i reads input positions idx[i*taps + t] with
 * weights w[i*taps + t] (taps fixed per mode; unused taps carry weight 0).
 */
interface AxisPlan {
  taps: number;
  idx: Int32Array;
  w: Float64Array;
}

/** PyTorch nearest: src = ⌊dst·in/out⌋ (exact integer form; PyTorch's float32 scale agrees at these sizes). */
function nearestPlan(inn: number, out: number): AxisPlan {
  const idx = new Int32Array(out);
  const w = new Float64Array(out).fill(1);
  for (let i = 0; i < out; i++) idx[i] = Math.min(Math.floor((i * inn) / out), inn - 1);
  return { taps: 1, idx, w };
}

/** PyTorch bilinear (upsample_bilinear2d): half-pixel centres clamped at 0, or align_corners. */
function linearPlan(inn: number, out: number, alignCorners: boolean): AxisPlan {
  const idx = new Int32Array(out * 2);
  const w = new Float64Array(out * 2);
  const scale = alignCorners ? (out > 1 ? (inn - 1) / (out - 1) : 0) : inn / out;
  for (let i = 0; i < out; i++) {
    const src = alignCorners ? i * scale : Math.max(scale * (i + 0.5) - 0.5, 0);
    const i0 = Math.min(Math.floor(src), inn - 1);
    const i1 = i0 < inn - 1 ? i0 + 1 : i0;
    const l1 = Math.min(Math.max(src - i0, 0), 1);
    idx[2 * i] = i0;
    idx[2 * i + 1] = i1;
    w[2 * i] = 1 - l1;
    w[2 * i + 1] = l1;
  }
  return { taps: 2, idx, w };
}

/** Adaptive average pooling: window [⌊i·in/out⌋, ⌈(i+1)·in/out⌉), equal weights. */
function areaPlan(inn: number, out: number): AxisPlan {
  let taps = 1;
  const lo = new Int32Array(out);
  const hi = new Int32Array(out);
  for (let i = 0; i < out; i++) {
    lo[i] = Math.floor((i * inn) / out);
    hi[i] = Math.ceil(((i + 1) * inn) / out);
    taps = Math.max(taps, hi[i] - lo[i]);
  }
  const idx = new Int32Array(out * taps);
  const w = new Float64Array(out * taps);
  for (let i = 0; i < out; i++) {
    const c = hi[i] - lo[i];
    for (let t = 0; t < taps; t++) {
      idx[i * taps + t] = t < c ? lo[i] + t : lo[i];
      w[i * taps + t] = t < c ? 1 / c : 0;
    }
  }
  return { taps, idx, w };
}

function plan(inn: number, out: number, opts: ResizeOptions): AxisPlan {
  if (opts.mode === 'nearest') return nearestPlan(inn, out);
  if (opts.mode === 'bilinear') return linearPlan(inn, out, opts.alignCorners ?? false);
  return areaPlan(inn, out);
}

/** x [B, C, H, W] → [B, C, outH, outW] (F.interpolate); rows first, then columns, in double. */
export function resize(
  b: CpuBackend,
  x: TensorInfo,
  outH: number,
  outW: number,
  opts: ResizeOptions,
): TensorInfo {
  const [B, C, H, W] = x.shape;
  const src = b.values(x);
  const out = allocArray(x.dtype, B * C * outH * outW);
  const ph = plan(H, outH, opts);
  const pw = plan(W, outW, opts);
  const tmp = new Float64Array(H * outW);
  for (let p = 0; p < B * C; p++) {
    const ib = p * H * W;
    // columns: tmp[h, j] = Σ_t w[j,t] x[h, idx[j,t]]
    for (let h = 0; h < H; h++) {
      const row = ib + h * W;
      for (let j = 0; j < outW; j++) {
        let s = 0;
        for (let t = 0, q = j * pw.taps; t < pw.taps; t++, q++) s += pw.w[q] * src[row + pw.idx[q]];
        tmp[h * outW + j] = s;
      }
    }
    const ob = p * outH * outW;
    for (let i = 0; i < outH; i++) {
      const o = ob + i * outW;
      for (let j = 0; j < outW; j++) {
        let s = 0;
        for (let t = 0, q = i * ph.taps; t < ph.taps; t++, q++) s += ph.w[q] * tmp[ph.idx[q] * outW + j];
        out[o + j] = s;
      }
    }
  }
  return b.out(out, [B, C, outH, outW], x.dtype);
}
