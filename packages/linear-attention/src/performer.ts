/**
 * The Performer estimator (docs/algorithm.md §3) over the @sea/tensor op API: FAVOR+ positive softmax features
 * with bidirectional linear attention, and ReLU ("generalized attention") features with causal
 * prefix sums. Inputs [B, H, T, D] float32; the projection W is [m, D].
 */
import {
  add,
  DTypeError,
  div,
  exp,
  fmt,
  isFloat,
  linear,
  matmul,
  max,
  mul,
  performerPrefixSum,
  ShapeError,
  square,
  sub,
  sum,
  type Tensor,
  tensor,
  tidy,
} from '@sea/tensor';

/** Added inside the softmax-kernel features (performer-pytorch `softmax_kernel` eps). */
export const FAVOR_EPS = 1e-4;
/** Added to the ReLU features (performer-pytorch `generalized_kernel` kernel_epsilon). */
export const RELU_KERNEL_EPS = 1e-3;
/** Added to every element of the running key sum z in the causal form. */
export const CAUSAL_EPS = 1e-6;

/**
 * The `performerPrefixSum` contract with dense ops: out_t = Σ_{j≤t} (φq_t·φk_j) v_j /
 * (Σ_{j≤t} φq_t·φk_j + eps·Σ_m φq_tm). Used for float64 inputs, which the kernel does not take.
 */
function prefixSumDense(qf: Tensor, kf: Tensor, v: Tensor, eps: number): Tensor {
  const T = qf.shape[2];
  const tri = new Float64Array(T * T);
  for (let i = 0; i < T; i++) for (let j = 0; j <= i; j++) tri[i * T + j] = 1;
  const causal = tensor(tri, [T, T], { backend: qf.backend, dtype: qf.dtype });
  const scores = mul(matmul(qf, kf, { transB: true }), causal);
  const den = add(sum(scores, -1, true), mul(sum(qf, -1, true), eps));
  return div(matmul(scores, v), den);
}

function checkProjection(op: string, x: Tensor, projection: Tensor): void {
  if (projection.rank !== 2 || projection.shape[1] !== x.shape[3]) {
    throw new ShapeError(
      `${op}: expected projection of shape [m,${x.shape[3]}] for input ${fmt(x.shape)}, got ${fmt(projection.shape)}`,
    );
  }
  if (projection.dtype !== x.dtype) {
    throw new DTypeError(`${op}: projection is ${projection.dtype}, input is ${x.dtype}`);
  }
}

function checkBHTD(op: string, x: Tensor, name: string, layout = '[B,H,T,D]'): void {
  if (x.rank !== 4) throw new ShapeError(`${op}: expected ${name} of shape ${layout}, got ${fmt(x.shape)}`);
  // float64 is accepted for gradient checks (training); inference runs in fp32
  if (!isFloat(x.dtype))
    throw new DTypeError(`${op}: ${name} must be float32 (the Performer runs in fp32), got ${x.dtype}`);
}

/**
 * FAVOR+ positive softmax features: x' = x·D^(-1/4), proj = x'Wᵀ, diag = ‖x'‖²/2,
 * φ = m^(-1/2)·(exp(proj − diag − max) + 1e-4), where the max is over the row's m features for
 * queries and over all tokens and features of the (b, h) slice for keys.
 */
export function softmaxFeatures(x: Tensor, projection: Tensor, isQuery: boolean): Tensor {
  checkBHTD('softmaxFeatures', x, 'x');
  checkProjection('softmaxFeatures', x, projection);
  return tidy(() => {
    const D = x.shape[3];
    const m = projection.shape[0];
    const xs = mul(x, D ** -0.25);
    const proj = matmul(xs, projection, { transB: true });
    const diag = mul(sum(square(xs), -1, true), 0.5);
    const peak = isQuery ? max(proj, -1, true) : max(proj, [2, 3], true);
    return mul(add(exp(sub(sub(proj, diag), peak)), FAVOR_EPS), m ** -0.5);
  });
}

/** ReLU random features: φ = ReLU((x·D^(-1/4))·Wᵀ) + 0.001. */
export function reluFeatures(x: Tensor, projection: Tensor): Tensor {
  checkBHTD('reluFeatures', x, 'x');
  checkProjection('reluFeatures', x, projection);
  return tidy(() => reluFeaturesScaled(x, mul(projection, x.shape[3] ** -0.25)));
}

/**
 * reluFeatures with the projection already × D^(-1/4) (the D^(-1/4) scale goes on the m×D projection
 * rather than on every row of x, once for both q and k): one GEMM with the ReLU in its epilogue where
 * the backend fuses linear layers, then + 0.001.
 */
function reluFeaturesScaled(x: Tensor, scaled: Tensor): Tensor {
  return tidy(() => add(linear(x, scaled, null, { activation: 'relu' }), RELU_KERNEL_EPS));
}

/**
 * Non-causal linear attention: out_t = φq_t·(Σ_j φk_j v_jᵀ) / (φq_t·Σ_j φk_j). No eps in the
 * denominator (the features are strictly positive).
 */
export function bidirectionalLinearAttention(qf: Tensor, kf: Tensor, v: Tensor): Tensor {
  return tidy(() => {
    const context = matmul(kf, v, { transA: true }); // [B,H,m,E]
    const kSum = sum(kf, 2, true); // [B,H,1,m]
    const num = matmul(qf, context); // [B,H,Tq,E]
    const den = matmul(qf, kSum, { transB: true }); // [B,H,Tq,1]
    return div(num, den);
  });
}

export interface PerformerOptions {
  /** Causal (OPT: ReLU features + prefix sums) or bidirectional (BERT: FAVOR+ softmax features). */
  causal: boolean;
  /** The random projection W [m, D] (see `orthogonalRandomProjection`). */
  projection: Tensor;
}

/**
 * Performer(Q, K, V): q [B,H,Tq,D], k [B,H,Tk,D], v [B,H,Tk,E] → [B,H,Tq,E] (E may differ from D;
 * SEA passes V_cat of width 2D). Causal needs Tq = Tk. Keys are not masked here: a caller that
 * pads zeroes V at pad positions (docs/algorithm.md §3 quirk: pad keys still count in the denominator).
 */
export function performerAttention(q: Tensor, k: Tensor, v: Tensor, opts: PerformerOptions): Tensor {
  const op = 'performerAttention';
  checkBHTD(op, q, 'q');
  checkBHTD(op, k, 'k');
  checkBHTD(op, v, 'v', '[B,H,T,E]');
  const [B, H, Tq, D] = q.shape;
  if (k.shape[0] !== B || k.shape[1] !== H || k.shape[3] !== D) {
    throw new ShapeError(
      `${op}: expected k of shape [${B},${H},T,${D}] to match q ${fmt(q.shape)}, got ${fmt(k.shape)}`,
    );
  }
  if (v.shape[0] !== B || v.shape[1] !== H || v.shape[2] !== k.shape[2]) {
    throw new ShapeError(
      `${op}: expected v of shape [${B},${H},${k.shape[2]},E] to match k ${fmt(k.shape)}, got ${fmt(v.shape)}`,
    );
  }
  if (opts.causal && Tq !== k.shape[2]) {
    throw new ShapeError(
      `${op}: causal attention needs as many queries as keys, got q ${fmt(q.shape)} and k ${fmt(k.shape)}`,
    );
  }
  checkProjection(op, q, opts.projection);
  return tidy(() => {
    if (opts.causal) {
      const scaled = mul(opts.projection, D ** -0.25);
      const qf = reluFeaturesScaled(q, scaled);
      const kf = reluFeaturesScaled(k, scaled);
      // float64 (gradient checks): the same contract written with dense ops, O(T²)
      return qf.dtype === 'float64'
        ? prefixSumDense(qf, kf, v, CAUSAL_EPS)
        : performerPrefixSum(qf, kf, v, CAUSAL_EPS);
    }
    const qf = softmaxFeatures(q, opts.projection, true);
    const kf = softmaxFeatures(k, opts.projection, false);
    return bidirectionalLinearAttention(qf, kf, v);
  });
}
