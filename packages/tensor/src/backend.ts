/**
 * The backend interface: memory plus a fixed list of primitive kernels.
 *
 * A backend owns device memory, addressed by opaque `DataId`s, and implements the primitives below.
 * Kernels receive `TensorInfo`s (a DataId with its shape and dtype) whose shapes the op layer
 * (`ops.ts`) has already validated, and return freshly allocated outputs that the caller owns.
 * Kernels never free their inputs. Reference counting, scopes and validation live in the engine,
 * so a backend stays a handful of methods (jax-js / tinygrad style).
 *
 * Every primitive has a written shape contract here; the conformance suite (`@sea/conformance`)
 * checks each of them against float64 definitions on every backend.
 */
import type { DType, TypedArray } from './dtype.js';
import type { Shape } from './shape.js';

/** Opaque handle to a buffer owned by a backend. */
export type DataId = object;

/**
 * The key under which a DataId may carry its own reference count: a backend whose buffer class
 * declares `[REF_COUNT] = 0` has the tensors' shared count kept on the buffer (a field update per
 * tensor made or disposed); any other DataId's count lives in a WeakMap of the engine.
 */
export const REF_COUNT: unique symbol = Symbol.for('sea.refCount');

/** A DataId that carries its reference count ({@link REF_COUNT}). */
export interface RefCounted {
  [REF_COUNT]: number;
}

export interface TensorInfo {
  readonly dataId: DataId;
  readonly shape: Shape;
  readonly dtype: DType;
}

export interface MemoryInfo {
  /** Bytes held by live buffers (pooled free buffers excluded). */
  bytes: number;
  /** Number of live buffers. */
  buffers: number;
  /** Peak of `bytes` since the last `resetPeak()`. */
  peakBytes: number;
}

export type UnaryOp =
  | 'neg'
  | 'abs'
  | 'exp'
  | 'log'
  | 'sqrt'
  | 'rsqrt'
  | 'square'
  | 'reciprocal'
  | 'sin'
  | 'cos'
  | 'tanh'
  | 'sigmoid'
  | 'relu'
  /** GELU, erf form: x·½(1+erf(x/√2)) (PyTorch `gelu`, HF "gelu"). */
  | 'gelu'
  /** GELU, tanh form: ½x(1+tanh(√(2/π)(x+0.044715x³))) (HF "gelu_new"). */
  | 'gelu_tanh'
  | 'erf'
  | 'floor'
  | 'ceil'
  /** Round half to even (PyTorch `round`). */
  | 'round'
  | 'sign'
  /** logical not (bool → bool) */
  | 'not';

export type BinaryOp =
  | 'add'
  | 'sub'
  | 'mul'
  | 'div'
  | 'max'
  | 'min'
  | 'pow'
  /** comparisons produce bool */
  | 'eq'
  | 'ne'
  | 'lt'
  | 'le'
  | 'gt'
  | 'ge'
  /** logical and/or on bool */
  | 'and'
  | 'or';

export type ReduceOp = 'sum' | 'mean' | 'max' | 'min' | 'prod' | 'argmax' | 'argmin';

export type ResizeMode = 'nearest' | 'bilinear' | 'area';

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
}

export interface Conv2dOptions {
  /** [strideH, strideW] */
  stride: [number, number];
  /** [dilationH, dilationW] */
  dilation: [number, number];
  /** [top, bottom, left, right] zero padding, may be asymmetric */
  padding: [number, number, number, number];
  groups: number;
  /** 'relu': max(0, ·) of each output (after the bias) before its store; absent: none. */
  activation?: 'none' | 'relu';
}

export interface ResizeOptions {
  mode: ResizeMode;
  /** Only for bilinear; PyTorch `align_corners`. */
  alignCorners?: boolean;
}

/** A batch of FlatCSR matrices (docs/algorithm.md §6): one CSR matrix of shape (Tq, H·Tk) per batch element. */
export interface CsrInfo {
  /** int32 [B, Tq+1]: crow[b,0] = 0, crow[b,t+1]-crow[b,t] = entries of row t. */
  readonly crow: TensorInfo;
  /** int32 [B, Z]: column c = h·Tk + j; tails past crow[b,Tq] are 0. */
  readonly col: TensorInfo;
  /** Number of heads H folded into the columns. */
  readonly heads: number;
  /** Key length Tk. */
  readonly keys: number;
  /**
   * Entries per batch element (crow[b,Tq]), on the host. A stretch given a `capacity` reads nothing
   * back: each is then that capacity (Z, an upper bound) and crow[b,Tq] holds the count on the backend.
   */
  readonly nnz: readonly number[];
}

export interface StretchOptions {
  /** Sparse budget k: a selected cell contributes at most min(width, k) keys, spread from the cell end. */
  k: number;
  /** Key length Tk of the stretched matrix (columns per head). */
  keys: number;
  /**
   * Entries per batch element the caller knows to be enough (e.g. from the per-row budgets when
   * decoding): col is then [B, capacity] and the backend reads nothing back to size it. Every
   * batch element's entry count must be at most this; a backend writes no entry past it.
   */
  capacity?: number;
}

/** Options of the fused attention capability ({@link Backend.attention}). */
export interface AttentionOptions {
  /** Multiplies Q·Kᵀ before the mask and the softmax. */
  scale: number;
  /** Query t sees key j only when j ≤ t. */
  causal: boolean;
  /**
   * Axis order of q, k, v and the output: 'bhtd' ([B,H,T,D], the default) or 'bthd' ([B,T,H,D], the
   * layout a linear projection writes, so no head transposes are needed). A backend whose kernel
   * lacks a layout returns null for it.
   */
  layout?: AttentionLayout;
}

export type AttentionLayout = 'bhtd' | 'bthd';

/** Options of the fused linear capability ({@link Backend.linear}). */
/** What layerNorm applies to its output before storing it. */
export type LayerNormActivation = 'none' | 'gelu';

export interface LinearOptions {
  /** Applied to x·wᵀ + bias before the residual is added. */
  activation: 'none' | 'relu';
}

/**
 * Constants of the fused AdamW update ({@link Backend.adamw}), each already rounded to float32 by
 * the caller (the values the composed update's scalar operands hold).
 */
export interface AdamWConstants {
  /** Multiplies the gradient first; 1: not applied (gradient clipping's factor). */
  gradScale: number;
  beta1: number;
  /** 1 − β1. */
  oneMinusBeta1: number;
  beta2: number;
  /** 1 − β2. */
  oneMinusBeta2: number;
  /** 1 − lr·wd; 1: no decay (not applied). */
  decay: number;
  /** √(1 − β2ᵗ). */
  sqrtBc2: number;
  eps: number;
  /** lr / (1 − β1ᵗ). */
  stepSize: number;
}

/** Options of the fused CSR attention capability ({@link Backend.csrAttention}). */
export interface CsrAttentionOptions {
  /** Multiplies Q·Kᵀ before the softmax (as csrSddmm's scale). */
  scale: number;
}

/** Options of the fused stretch + CSR attention capability ({@link Backend.cellMaskAttention}). */
export interface CellMaskAttentionOptions {
  /** Multiplies Q·Kᵀ before the softmax (as csrSddmm's scale). */
  scale: number;
  /** The stretch's cap k: a cell wider than k keys keeps k of them (as stretchToCsr). */
  k: number;
}

export interface SeaDecodeAttentionOptions {
  /** The per-cell key cap k (the sparse budget). */
  k: number;
  /** Score scale (1 for OPT, whose q is already scaled). */
  scale: number;
  /** L_b per sequence: the decoded row's visible keys (position + 1). */
  rowLen: readonly number[];
}

export interface PerformerStepOptions {
  /** Added to every ReLU feature (docs/algorithm.md §3: 0.001). */
  kernelEps: number;
  /** With a prefix table: its row per sequence. */
  prefixRows?: readonly number[];
}

/** The weights `seaEncoderStep` reads: [N, Ec + Ev], [N]; LayerNorm [N] ×2; [S, N], [S]; [X, N], [X]. */
export interface SeaEncoderStepWeights {
  encoder: TensorInfo;
  encoderBias: TensorInfo;
  normGamma: TensorInfo;
  normBeta: TensorInfo;
  scaler: TensorInfo;
  scalerBias: TensorInfo;
  nu: TensorInfo;
  nuBias: TensorInfo;
}

/** The weights `causalCnnStep` reads (shapes in its contract). */
export interface CausalCnnStepWeights {
  normInGamma: TensorInfo;
  normInBeta: TensorInfo;
  conv1: TensorInfo;
  conv1Bias: TensorInfo;
  conv2: TensorInfo;
  conv2Bias: TensorInfo;
  convOut: TensorInfo;
  convOutBias: TensorInfo;
  map: TensorInfo;
  normOutGamma: TensorInfo;
  normOutBeta: TensorInfo;
}

export interface PrefixSumOptions {
  /** Added to every element of the running key sum z before the dot product (docs/algorithm.md §3: 1e-6). */
  eps: number;
}

/**
 * Everything a backend implements. All kernels are synchronous to enqueue; only `read`,
 * `sync`, and the routines whose output size depends on data (`stretchToCsr`) are async.
 */
export interface Backend {
  readonly name: string;
  /** dtypes this backend computes in. CPU: all; GPU backends at least float32, int32, bool. */
  readonly dtypes: readonly DType[];

  // ---- memory ----
  /** Copies `values` into a new buffer of `dtype` (values already of that dtype's array type). */
  upload(values: TypedArray, dtype: DType): DataId;
  /** A new zero-filled buffer. */
  zeros(size: number, dtype: DType): DataId;
  /** Reads a buffer back. The result is a fresh copy the caller may keep. */
  read(dataId: DataId, dtype: DType, size: number): Promise<TypedArray>;
  /** Synchronous read; only backends whose memory is host memory implement it. */
  readSync?(dataId: DataId, dtype: DType, size: number): TypedArray;
  free(dataId: DataId): void;
  memory(): MemoryInfo;
  resetPeak(): void;
  /** Resolves when all enqueued work has finished. */
  sync(): Promise<void>;
  /** Releases the device; the backend cannot be used afterwards. */
  destroy(): void;

  // ---- dense primitives ----
  /**
   * a [...batchA, M, K] (or [..., K, M] with transA), b [...batchB, K, N] (or [..., N, K] with transB);
   * batch dims broadcast; output [...batch, M, N]. Rank ≥ 2 for both. float32/float64.
   */
  matmul(a: TensorInfo, b: TensorInfo, opts: MatmulOptions, outShape: Shape): TensorInfo;
  /** Elementwise; output has x's shape; dtype float for math ops, bool for 'not', same for neg/abs/sign. */
  unary(op: UnaryOp, x: TensorInfo): TensorInfo;
  /** Elementwise with NumPy broadcasting to `outShape`; comparisons and and/or give bool. */
  binary(op: BinaryOp, a: TensorInfo, b: TensorInfo, outShape: Shape): TensorInfo;
  /** cond bool, a and b of one dtype, all broadcast to `outShape`. */
  where(cond: TensorInfo, a: TensorInfo, b: TensorInfo, outShape: Shape): TensorInfo;
  /** Converts dtype; float→int truncates toward zero; anything→bool is (x != 0). */
  cast(x: TensorInfo, dtype: DType): TensorInfo;
  /**
   * Reduces over `axes` (sorted, unique, normalized). Output shape drops those axes (keepDims is the
   * op layer's reshape). argmax/argmin take exactly one axis and return int32 (first index on ties).
   */
  reduce(op: ReduceOp, x: TensorInfo, axes: readonly number[]): TensorInfo;
  /**
   * Softmax over the last axis of x [..., N]. `mask`, when given, is additive and broadcasts to x.
   * A row whose every entry is −∞ gives zeros (never NaN).
   */
  softmax(x: TensorInfo, mask: TensorInfo | null): TensorInfo;
  /** log-softmax over the last axis. */
  logSoftmax(x: TensorInfo): TensorInfo;
  /**
   * LayerNorm over the last axis N: (x−mean)/sqrt(var+eps)·gamma+beta; gamma, beta [N] (biased var),
   * then `activation` on each output ('gelu': x·Φ(x), the exact GELU; 'none' when absent) before the
   * one store.
   */
  layerNorm(
    x: TensorInfo,
    gamma: TensorInfo,
    beta: TensorInfo,
    eps: number,
    activation?: LayerNormActivation,
  ): TensorInfo;
  /** table [V, ...rest] gathered by int32 indices [...idx] → [...idx, ...rest]; indices checked by op layer. */
  gather(table: TensorInfo, indices: TensorInfo): TensorInfo;
  /** take_along_axis on the last axis: x [..., N], idx int32 [..., M] (same leading dims) → [..., M]. */
  takeAlong(x: TensorInfo, indices: TensorInfo): TensorInfo;
  /**
   * x [B, C, H, W], w [O, C/groups, kh, kw], bias [O] or null →
   * [B, O, ⌊(H+pt+pb−dh(kh−1)−1)/sh⌋+1, ⌊(W+pl+pr−dw(kw−1)−1)/sw⌋+1] (PyTorch Conv2d, zero padding).
   */
  conv2d(
    x: TensorInfo,
    w: TensorInfo,
    bias: TensorInfo | null,
    opts: Conv2dOptions,
    outShape: Shape,
  ): TensorInfo;
  /** Inclusive (or exclusive) prefix sum along `axis`, optionally from the end. */
  cumsum(x: TensorInfo, axis: number, exclusive: boolean, reverse: boolean): TensorInfo;
  /**
   * x [B, C, H, W] → [B, C, outH, outW], PyTorch `F.interpolate` semantics:
   * nearest: src = ⌊dst·in/out⌋; bilinear: align_corners as given (half-pixel when false, clamped);
   * area: adaptive average pooling (window [⌊i·in/out⌋, ⌈(i+1)·in/out⌉)).
   */
  resize(x: TensorInfo, outH: number, outW: number, opts: ResizeOptions): TensorInfo;
  /** Permutes axes; output shape is x.shape[perm[i]]. */
  transpose(x: TensorInfo, perm: readonly number[]): TensorInfo;
  /** Contiguous copy of the box starting at `begin` with extent `size` (per axis). */
  slice(x: TensorInfo, begin: readonly number[], size: readonly number[]): TensorInfo;
  /** Concatenates along `axis`; all other dims equal; same dtype. */
  concat(xs: readonly TensorInfo[], axis: number): TensorInfo;
  /** Zero/constant padding: pads[i] = [before, after] for axis i. */
  pad(x: TensorInfo, pads: readonly (readonly [number, number])[], value: number): TensorInfo;
  /** A new tensor of `size` elements all equal to `value`. */
  fill(size: number, value: number, dtype: DType): TensorInfo & { shape: [number] };
  /**
   * A new tensor of `size` elements y[i] = start + i·step (float dtypes: computed in at least float32
   * and stored once; int32: exact, the op layer checks every value fits). Positions and indices made
   * on the device instead of uploaded.
   */
  range(size: number, start: number, step: number, dtype: DType): TensorInfo & { shape: [number] };

  // ---- SEA routines (docs/algorithm.md §3–§7) ----
  /**
   * Causal linear attention by prefix sums (docs/algorithm.md §3, causal Performer):
   * qf, kf [B, H, T, M] (non-negative features), v [B, H, T, E] →
   * out[b,h,t] = φq_t·S_t / (φq_t·(z_t + eps)), S_t = Σ_{j≤t} φk_j v_jᵀ, z_t = Σ_{j≤t} φk_j. float32.
   */
  performerPrefixSum(qf: TensorInfo, kf: TensorInfo, v: TensorInfo, opts: PrefixSumOptions): TensorInfo;
  /**
   * The causal global context and the s_mix blend in one pass (docs/algorithm.md §7.5–§7.6), heads
   * merged: local, v [B, H, T, E], sMix [B, H, T] (one float dtype) → [B, T, H·E] with
   * out[b, t, h·E + e] = s·local[b,h,t,e] + (1 − s)·(Σ_{j≤t} v[b,h,j,e])/(t + 1), s = sMix[b,h,t].
   * Sums in at least float32, t + 1 exact.
   */
  runningMeanMix(local: TensorInfo, v: TensorInfo, sMix: TensorInfo): TensorInfo;
  /**
   * Grouped top-k selection (docs/algorithm.md §5): scores [G, N] float32, budgets int32 [G] →
   * bool [G, N] with exactly min(max(budget_g, 0), N) entries set in group g: the largest scores,
   * ties broken by lower index first (deterministic).
   */
  groupedTopK(scores: TensorInfo, budgets: TensorInfo): TensorInfo;
  /**
   * Stretch a compressed mask to FlatCSR (docs/algorithm.md §6, sparse path): mask bool [B, Tq, H, Kc] (cell m of
   * head h selected for query row t), rowLen int32 [B, Tq] (L_t, visible keys of row t; 0 for padded rows).
   * Cell m of row t covers keys [round(m·L_t/Kc), round((m+1)·L_t/Kc)) with round = ⌊x+½⌋; a selected
   * cell of width w contributes n = min(w, k) keys j_i = end−1−⌊i·w/n⌋. Row entries are grouped by head
   * (ascending), cells ascending within a head, keys descending within a cell. Column = h·keys + j.
   * With `opts.capacity`, col is [B, capacity] and nothing is read back (see StretchOptions).
   */
  stretchToCsr(mask: TensorInfo, rowLen: TensorInfo, opts: StretchOptions): Promise<CsrInfo>;
  /**
   * CSR SDDMM: q [B, H, Tq, D], k [B, H, Tk, D] → val float32 [B, Z] with
   * val[b,z] = scale · q[b,h,t]·k[b,h,j] for entry z of row t, column h·Tk+j. Tails (z ≥ nnz_b) are 0.
   */
  csrSddmm(csr: CsrInfo, q: TensorInfo, k: TensorInfo, scale: number): TensorInfo;
  /**
   * Per-row, per-head softmax of CSR values [B, Z] (each head's entries of a row are normalized on
   * their own; an empty head gives nothing), then multiplied by rowScale [B, H, Tq] when given.
   */
  csrSoftmax(csr: CsrInfo, val: TensorInfo, rowScale: TensorInfo | null): TensorInfo;
  /** CSR SpMM: out[b,h,t] = Σ_{entries z of row t in head h} val[b,z]·v[b,h,j] → [B, H, Tq, D]. No cap. */
  csrSpmm(csr: CsrInfo, val: TensorInfo, v: TensorInfo): TensorInfo;

  // ---- SEA decoding steps (docs/algorithm.md §8, incremental decoding): one new row per sequence ----
  /**
   * One row of the causal Performer (docs/algorithm.md §3, causal) from its running sums:
   * sums float32 [B, H, M, E+1] ([S | z + eps] over the rows before), q, k [B, H, 1, D], the value row
   * [prefix[opts.prefixRows[b]] ; v] of E = P + E' columns: prefix a table [N, P] whose row
   * prefixRows[b] (known on the host) leads sequence b's value row in every head (null: P = 0), and
   * v [B, H, 1, E'], w [M, D] (the projection × D^(-1/4)), all but sums in one float dtype. With
   * φ(x)_m = max(x·w_m, 0) + kernelEps rounded to that dtype: sums' = sums + φ(k) ⊗ [prefix, v, 1]
   * (float32) and out = φ(q)·S' / (φ(q)·(z' + eps)) [B, H, 1, E] in that dtype. Returns [out, sums'].
   */
  performerStep(
    sums: TensorInfo,
    q: TensorInfo,
    k: TensorInfo,
    prefix: TensorInfo | null,
    v: TensorInfo,
    w: TensorInfo,
    opts: PerformerStepOptions,
  ): [TensorInfo, TensorInfo];
  /**
   * One row of the causal estimator's CNN (docs/algorithm.md §4a) from its rolling windows:
   * x [B, C, 1, W] (the row of Ẑ, C = 2H channels), win0, win1 [B, C, 4, W] (rows t−4 … t−1 of LN(Ẑ)
   * and of ReLU(conv1)), then the weights: normIn γ, β [W]; conv1, conv2 taps [C, C, 3, 3] with biases
   * [C]; convOut [H, C] with bias [H]; map [K, W+2] (nearest ×4, the two bias columns, area resize to
   * K); normOut γ, β [K]; all in one float dtype. Computes x0 = LN(x) (over W), x1 = ReLU(conv1 over
   * rows t−4, t−2, t of [win0; x0], dilation 2, width padding 2), x2 = ReLU(conv2 over [win1; x1]),
   * z = convOut·x2 + bias [H, W], logits = LN(map·[bias, z, bias]) over K (ε `eps`), x0 and x1 rounded to
   * the dtype before they are used. Returns [logits [B, H, 1, K], win0' = [win0 rows 1…3; x0],
   * win1' = [win1 rows 1…3; x1]].
   */
  causalCnnStep(
    x: TensorInfo,
    win0: TensorInfo,
    win1: TensorInfo,
    weights: CausalCnnStepWeights,
    opts: { eps: number },
  ): [TensorInfo, TensorInfo, TensorInfo];
  /**
   * The estimator's encoder on one row per (sequence, head) (docs/algorithm.md §4, row by row): c
   * [B, H, 1, Ec] (C_perf) and v [B, H, 1, Ev] → z = GELU(LN(W_enc·[c ; v] + b_enc)) over the encoder's
   * width N (ε `eps`; GELU with erf), rounded to the dtype, then scales = W_s·z + b_s [B, H, 1, S] (the
   * scaler's outputs before the sigmoid) and x = W_ν·z + b_ν [B, H, 1, X] (ν's row, the CNN's input
   * before the channel split); weights in the nn.Linear layout, all in one float dtype. Returns
   * [scales, x].
   */
  seaEncoderStep(
    c: TensorInfo,
    v: TensorInfo,
    weights: SeaEncoderStepWeights,
    opts: { eps: number },
  ): [TensorInfo, TensorInfo];
  /**
   * The sparse attention of one decoded row (docs/algorithm.md §5–§7, causal, sparse path), from the
   * estimator's logits to the mixed context: logits [B, H, 1, K], q [B, H, 1, D], k [B, H, Tk, D],
   * v [B, H, Tk, E] (the cache, row L_b − 1 holding the new token), scales [B, H, 1, 2] (the scaler's
   * outputs before the sigmoid), vSum float32 [B, H, 1, E] (Σ_{j < L_b − 1} v_j), all floats but vSum in
   * one dtype; `opts.rowLen[b]` = L_b, the row's visible keys (its position + 1, 1 ≤ L_b ≤ Tk), known
   * on the host. Â = softmax(logits) over K rounded to the dtype, (s_prob, s_mix) = σ(scales) rounded;
   * the row selects the n_b = min(max(round½even(H·kcap·K / L_b), 1), H·K) largest Â cells over all
   * heads (flat h·K + m, ties to the lower index); cell m covers keys [⌊m·L/K + ½⌋, ⌊(m+1)·L/K + ½⌋)
   * and a selected cell of width w attends n = min(w, kcap) of them, j_i = end − 1 − ⌊i·w/n⌋.
   * local[b, h] = s_prob · Σ softmax(scale·q·k_j) v_j over head h's keys (0 when it has none), rounded
   * to the dtype; vSum' = vSum + v_{L−1}; out = s_mix·local + (1 − s_mix)·vSum'/L_b rounded once.
   * Returns [out [B, H, 1, E], vSum'].
   */
  seaDecodeAttention(
    logits: TensorInfo,
    q: TensorInfo,
    k: TensorInfo,
    v: TensorInfo,
    scales: TensorInfo,
    vSum: TensorInfo,
    opts: SeaDecodeAttentionOptions,
  ): [TensorInfo, TensorInfo];

  // ---- optional fused kernels (capabilities; the op layer composes primitives when absent) ----
  /**
   * Fused exact attention, softmax(scale·Q·Kᵀ + mask)·V without the T×T scores in memory:
   * q [B, H, Tq, D], k [B, H, Tk, D], v [B, H, Tk, E], keyValid bool [B, Tk] or null → [B, H, Tq, E].
   * Key j is visible to query t when keyValid[b, j] (if given) and, when causal, j ≤ t; a query with
   * no visible key gives zeros. Same dtype throughout (float32/float64). Returns null for a case the
   * backend does not fuse (a head size or dtype its kernel lacks); the op layer then composes primitives.
   */
  attention?(
    q: TensorInfo,
    k: TensorInfo,
    v: TensorInfo,
    keyValid: TensorInfo | null,
    opts: AttentionOptions,
  ): TensorInfo | null;
  /**
   * Fused linear layer, act(x·wᵀ + bias) + residual, in one pass over the output:
   * x [M, K], w [N, K] (the nn.Linear layout), bias [N] or null, residual [M, N] or null → [M, N].
   * Returns null for a case the backend does not fuse; the op layer then composes matmul and adds.
   */
  linear?(
    x: TensorInfo,
    w: TensorInfo,
    bias: TensorInfo | null,
    residual: TensorInfo | null,
    opts: LinearOptions,
  ): TensorInfo | null;
  /**
   * Fused AdamW update of one float32 parameter, element-wise in float32 with each operation rounded
   * as the composed ops round it (no fused multiply-add):
   * g′ = g·gradScale (if ≠ 1); m′ = m·β1 + g′·(1−β1); v′ = v·β2 + (g′·g′)·(1−β2);
   * p′ = (p·decay (if ≠ 1)) − (m′·stepSize) / (√v′ / sqrtBc2 + eps).
   * p, g, m, v same shape, float32; m and v null read as zeros. Returns new buffers [p′, m′, v′], or
   * null for a case the backend does not fuse (the op layer then composes the same operations).
   */
  adamw?(
    p: TensorInfo,
    g: TensorInfo,
    m: TensorInfo | null,
    v: TensorInfo | null,
    c: AdamWConstants,
  ): [TensorInfo, TensorInfo, TensorInfo] | null;
  /**
   * Fused CSR attention, the composition csrSddmm → csrSoftmax → csrSpmm in one kernel without the
   * [B, Z] scores and probabilities in memory: q [B, H, Tq, D], k [B, H, Tk, D], v [B, H, Tk, E],
   * rowScale [B, H, Tq] or null → out[b,h,t] = rowScale[b,h,t] · Σ_{entries z of row t in head h}
   * softmax_z(scale · q[b,h,t]·k[b,h,j_z]) · v[b,h,j_z] ([B, H, Tq, E] float32; a head with no entries
   * in a row gives zeros). A kernel may rely on each row's entries being grouped by head in
   * ascending order, as stretchToCsr writes them. Returns null for a case the backend does not fuse
   * (head sizes its kernel lacks); the op layer then composes the three primitives.
   */
  csrAttention?(
    csr: CsrInfo,
    q: TensorInfo,
    k: TensorInfo,
    v: TensorInfo,
    rowScale: TensorInfo | null,
    opts: CsrAttentionOptions,
  ): TensorInfo | null;
  /**
   * Fused stretch + CSR attention: csrAttention over the CSR mask that stretchToCsr(mask, rowLen,
   * { k, keys: Tk }) writes (the same entries in the same order), without building it: mask bool
   * [B, Tq, H, K], rowLen int32 [B, Tq] (each L_t ≤ Tk), q [B, H, Tq, D], k [B, H, Tk, D],
   * v [B, H, Tk, E], rowScale [B, H, Tq] or null → [B, H, Tq, E] in q's dtype. No host read of the
   * number of entries, so the work queued after it need not wait. Returns null for a case the backend
   * does not fuse; the op layer then stretches and runs csrAttention.
   */
  cellMaskAttention?(
    mask: TensorInfo,
    rowLen: TensorInfo,
    q: TensorInfo,
    k: TensorInfo,
    v: TensorInfo,
    rowScale: TensorInfo | null,
    opts: CellMaskAttentionOptions,
  ): TensorInfo | null;
  /**
   * In-place write: dst[begin + i] = src[i] for every index i of src (same dtype, same rank,
   * begin + src.shape ≤ dst.shape per axis), queued in order with the kernels; `runs` lists the
   * contiguous pieces (element offsets into src and dst, lengths), from {@link sliceRuns}. Returns
   * false for a case the backend does not write in place; the op layer then builds a new tensor.
   * Lets decoding caches (K/V, rolling windows) grow by one row without copying the rest.
   */
  writeSlice?(dst: TensorInfo, src: TensorInfo, runs: readonly SliceRun[]): boolean;
}

/** A contiguous piece of an in-place slice write: `length` elements from src offset `src` to dst offset `dst`. */
export interface SliceRun {
  src: number;
  dst: number;
  length: number;
}

/**
 * The contiguous runs of writing a block of shape `srcShape` into `dstShape` at `begin` (both
 * row-major): trailing axes the block spans fully merge into one run.
 */
export function sliceRuns(
  dstShape: readonly number[],
  srcShape: readonly number[],
  begin: readonly number[],
): SliceRun[] {
  const rank = dstShape.length;
  // the innermost axis that the block does not span fully (runs are contiguous below it)
  let inner = rank - 1;
  while (inner > 0 && srcShape[inner] === dstShape[inner] && begin[inner] === 0) inner--;
  let length = 1;
  for (let a = inner; a < rank; a++) length *= srcShape[a];
  const dstStride = new Array<number>(rank).fill(1);
  for (let a = rank - 2; a >= 0; a--) dstStride[a] = dstStride[a + 1] * dstShape[a + 1];
  const outer = srcShape.slice(0, inner);
  const count = outer.reduce((x, y) => x * y, 1);
  const runs: SliceRun[] = [];
  const idx = new Array<number>(inner).fill(0);
  for (let r = 0; r < count; r++) {
    let dst = begin[inner] * dstStride[inner];
    for (let a = 0; a < inner; a++) dst += (begin[a] + idx[a]) * dstStride[a];
    for (let a = inner + 1; a < rank; a++) dst += begin[a] * dstStride[a];
    runs.push({ src: r * length, dst, length });
    for (let a = inner - 1; a >= 0; a--) {
      if (++idx[a] < outer[a]) break;
      idx[a] = 0;
    }
  }
  return runs;
}

/** Names of every kernel method, for exclusion lists and error messages. */
export const PRIMITIVES = [
  'matmul',
  'unary',
  'binary',
  'where',
  'cast',
  'reduce',
  'softmax',
  'logSoftmax',
  'layerNorm',
  'gather',
  'takeAlong',
  'conv2d',
  'cumsum',
  'resize',
  'transpose',
  'slice',
  'concat',
  'pad',
  'fill',
  'range',
  'performerPrefixSum',
  'runningMeanMix',
  'groupedTopK',
  'stretchToCsr',
  'csrSddmm',
  'csrSoftmax',
  'csrSpmm',
  'performerStep',
  'causalCnnStep',
  'seaEncoderStep',
  'seaDecodeAttention',
] as const satisfies readonly (keyof Backend)[];

export type Primitive = (typeof PRIMITIVES)[number];
