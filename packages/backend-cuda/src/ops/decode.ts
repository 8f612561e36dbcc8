/**
 * The SEA decoding steps (docs/algorithm.md §8; kernels/decode.cu): one launch each for the causal
 * Performer's row from its running sums and the causal estimator CNN's row from its rolling windows.
 */
import { DeviceError, type TensorInfo } from '@sea/tensor';
import type {
  CausalCnnStepWeights,
  PerformerStepOptions,
  SeaDecodeAttentionOptions,
  SeaEncoderStepWeights,
} from '@sea/tensor/backend';
import { type CudaBackend, floatSuffix } from '../cuda_backend.js';

/** Most features and value columns + 1 of `performerStep` (PS_MAXM, PS_MAXE1 in decode.cu). */
const PS_MAXM = 1024;
const PS_MAXE1 = 1040;

export function performerStep(
  b: CudaBackend,
  sums: TensorInfo,
  q: TensorInfo,
  k: TensorInfo,
  prefix: TensorInfo | null,
  v: TensorInfo,
  w: TensorInfo,
  opts: PerformerStepOptions,
): [TensorInfo, TensorInfo] {
  const [B, H, M, E1] = sums.shape;
  const E = E1 - 1;
  const D = w.shape[1];
  const sfx = floatSuffix('performerStep', q.dtype);
  if (M > PS_MAXM || E1 > PS_MAXE1)
    throw new DeviceError(
      `cuda performerStep supports at most ${PS_MAXM} features and ${PS_MAXE1 - 1} value columns, got ${M} and ${E}`,
    );
  const out = b.output([B, H, 1, E], q.dtype);
  const next = b.output(sums.shape, 'float32');
  if (B * H === 0) return [out, next];
  // the prefix table's row per sequence: a parameter for one sequence, else a small upload
  const rowIds = opts.prefixRows ?? [0];
  const rows = prefix && B > 1 ? b.upload(Int32Array.from(rowIds), 'int32') : null;
  b.params
    .ptr(0, b.ptr(sums))
    .ptr(1, b.ptr(q))
    .ptr(2, b.ptr(k))
    .ptr(3, prefix ? b.ptr(prefix) : 0n)
    .ptr(4, rows ? b.ptr(rows) : 0n)
    .i32(5, rowIds[0] ?? 0)
    .ptr(6, b.ptr(v))
    .ptr(7, b.ptr(w))
    .ptr(8, b.ptr(out))
    .ptr(9, b.ptr(next))
    .i32(10, H)
    .i32(11, M)
    .i32(12, prefix ? prefix.shape[1] : 0)
    .i32(13, E)
    .i32(14, D)
    .f32(15, opts.kernelEps);
  b.launch(b.fn('decode', `performer_step${sfx}`), [B * H], [256]);
  if (rows) b.free(rows);
  return [out, next];
}

export function causalCnnStep(
  b: CudaBackend,
  x: TensorInfo,
  win0: TensorInfo,
  win1: TensorInfo,
  w: CausalCnnStepWeights,
  opts: { eps: number },
): [TensorInfo, TensorInfo, TensorInfo] {
  const [B, C, , W] = x.shape;
  const H = w.convOut.shape[0];
  const K = w.map.shape[0];
  const dt = x.dtype;
  const sfx = floatSuffix('causalCnnStep', dt);
  const logits = b.output([B, H, 1, K], dt);
  const n0 = b.output(win0.shape, dt);
  const n1 = b.output(win1.shape, dt);
  if (B === 0) return [logits, n0, n1];
  // the block's rows in shared memory when they fit (OPT-125m: 34 KiB), else a global scratch
  const per = (3 * C * W + H * (W + 2) + H * K) * 4;
  const scratch = per > SDA_SMEM ? b.alloc(B * per) : null;
  const p = b.params;
  const ins = [
    x,
    win0,
    win1,
    w.normInGamma,
    w.normInBeta,
    w.conv1,
    w.conv1Bias,
    w.conv2,
    w.conv2Bias,
    w.convOut,
    w.convOutBias,
    w.map,
    w.normOutGamma,
    w.normOutBeta,
    logits,
    n0,
    n1,
  ];
  for (const [i, t] of ins.entries()) p.ptr(i, b.ptr(t));
  p.ptr(17, scratch ? scratch.ptr : 0n)
    .i32(18, C)
    .i32(19, H)
    .i32(20, W)
    .i32(21, K)
    .f32(22, opts.eps);
  b.launch(b.fn('decode', `causal_cnn_step${sfx}`), [B], [1024], scratch ? 0 : per);
  if (scratch) b.free(scratch); // stream-ordered: the next user of the block runs after this kernel
  return [logits, n0, n1];
}

/** Shared memory `seaDecodeAttention` may take (the default limit without opting in). */
const SDA_SMEM = 48 * 1024;

export function seaDecodeAttention(
  b: CudaBackend,
  logits: TensorInfo,
  q: TensorInfo,
  k: TensorInfo,
  v: TensorInfo,
  scales: TensorInfo,
  vSum: TensorInfo,
  opts: SeaDecodeAttentionOptions,
): [TensorInfo, TensorInfo] {
  const [B, H, , K] = logits.shape;
  const [, , Tk, D] = k.shape;
  const E = v.shape[3];
  const sfx = floatSuffix('seaDecodeAttention', q.dtype);
  // Â, the selected cells, q, and one accumulator row per warp (8)
  const smem = (H * K + 3 * K + D + 8 * E) * 4;
  if (smem > SDA_SMEM)
    throw new DeviceError(
      `cuda seaDecodeAttention holds H·K + 3·K + D + 8·E = ${smem / 4} values in shared memory, at most ${SDA_SMEM / 4}`,
    );
  if (H > 65535 || B > 65535)
    throw new DeviceError(`cuda seaDecodeAttention: at most 65535 heads and sequences`);
  const out = b.output([B, H, 1, E], q.dtype);
  const next = b.output([B, H, 1, E], 'float32');
  if (B * H === 0) return [out, next];
  const lens = B > 1 ? b.upload(Int32Array.from(opts.rowLen), 'int32') : null;
  b.params
    .ptr(0, b.ptr(logits))
    .ptr(1, b.ptr(q))
    .ptr(2, b.ptr(k))
    .ptr(3, b.ptr(v))
    .ptr(4, b.ptr(scales))
    .ptr(5, b.ptr(vSum))
    .ptr(6, lens ? b.ptr(lens) : 0n)
    .i32(7, opts.rowLen[0])
    .ptr(8, b.ptr(out))
    .ptr(9, b.ptr(next))
    .i32(10, H)
    .i32(11, K)
    .i32(12, Tk)
    .i32(13, D)
    .i32(14, E)
    .i32(15, opts.k)
    .f32(16, opts.scale);
  b.launch(b.fn('decode', `sea_decode_attention${sfx}`), [H, B], [256], smem);
  if (lens) b.free(lens);
  return [out, next];
}

export function seaEncoderStep(
  b: CudaBackend,
  c: TensorInfo,
  v: TensorInfo,
  w: SeaEncoderStepWeights,
  opts: { eps: number },
): [TensorInfo, TensorInfo] {
  const [B, H, , Ec] = c.shape;
  const Ev = v.shape[3];
  const N = w.encoder.shape[0];
  const S = w.scaler.shape[0];
  const X = w.nu.shape[0];
  const dt = c.dtype;
  const sfx = floatSuffix('seaEncoderStep', dt);
  const smem = (Ec + Ev + N) * 4;
  if (smem > SDA_SMEM)
    throw new DeviceError(
      `cuda seaEncoderStep holds a row of ${smem / 4} values in shared memory, at most ${SDA_SMEM / 4}`,
    );
  const scales = b.output([B, H, 1, S], dt);
  const xs = b.output([B, H, 1, X], dt);
  if (B * H === 0) return [scales, xs];
  const p = b.params;
  const ins = [
    c,
    v,
    w.encoder,
    w.encoderBias,
    w.normGamma,
    w.normBeta,
    w.scaler,
    w.scalerBias,
    w.nu,
    w.nuBias,
    scales,
    xs,
  ];
  for (const [i, t] of ins.entries()) p.ptr(i, b.ptr(t));
  p.i32(12, Ec).i32(13, Ev).i32(14, N).i32(15, S).i32(16, X).f32(17, opts.eps);
  b.launch(b.fn('decode', `sea_encoder_step${sfx}`), [B * H], [512], smem);
  return [scales, xs];
}
