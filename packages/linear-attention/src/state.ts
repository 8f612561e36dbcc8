/**
 * Incremental (decoding) form of the causal Performer (docs/algorithm.md §3, causal): the running sums
 * S_t = Σ_{j≤t} φ(k_j) v_jᵀ [m × E] and z_t = Σ_{j≤t} φ(k_j) [m], so a new row costs O(m·E)
 * whatever t is: out_t = φ(q_t)ᵀ S_t / (φ(q_t)ᵀ (z_t + 1e-6·1)), the same formula as the prefix sums.
 *
 * The features φ are computed in the inputs' dtype, as the whole-sequence forward computes them; the
 * sums are kept in float32 whatever that dtype is, as the prefix-sum kernel carries them (a float16 or
 * bfloat16 running sum would lose a 16-bit rounding per row), and the row's output is rounded once to
 * the inputs' dtype. S and z + eps live in one float32 tensor [B, H, m, E+1] (z + eps is its last
 * column), so one product gives a row's numerator and denominator together.
 */
import {
  add,
  bytesPerElement,
  cast,
  concat,
  type DType,
  DTypeError,
  div,
  fmt,
  full,
  gather,
  linear,
  matmul,
  mul,
  ones,
  pad,
  performerStep,
  ShapeError,
  slice,
  type Tensor,
  tensor,
  tidy,
} from '@sea/tensor';
import { CAUSAL_EPS, performerAttention, RELU_KERNEL_EPS, reluFeatures } from './performer.js';

function toFloat32(x: Tensor): Tensor {
  return x.dtype === 'float32' ? x : cast(x, 'float32');
}

/** Σ_t kfᵀ·[v, 1]: kf [B,H,T,m] and v [B,H,T,E] float32 → [B,H,m,E+1] ([S | z] over those rows). */
function sumsOf(kf32: Tensor, v32: Tensor): Tensor {
  const vx = pad(
    v32,
    [
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 1],
    ],
    1,
  );
  return matmul(kf32, vx, { transA: true });
}

let fusedSteps = true;

/**
 * Whether decoding steps run the fused step primitives (`performerStep`, `causalCnnStep`, one kernel
 * each) or the composition of the general ops they replace (default: fused). The composed path stays
 * selectable so that a backend's fused kernel can be switched off without other changes.
 */
export function setFusedDecodeSteps(on: boolean): void {
  fusedSteps = on;
}

/** See {@link setFusedDecodeSteps}. */
export function fusedDecodeSteps(): boolean {
  return fusedSteps;
}

/** The causal Performer's running sums and the per-step constants; owns its tensors. */
export class CausalPerformerState {
  constructor(
    /** [S | z + eps] float32 [B, H, m, E+1] */
    public sums: Tensor,
    /** The projection × D^(-1/4) [m, D], in the inputs' dtype (what `reluFeatures` multiplies by). */
    readonly features: Tensor,
    /** RELU_KERNEL_EPS [1] in the inputs' dtype. */
    readonly kernelEps: Tensor,
    /** The inputs' (and outputs') dtype. */
    readonly dtype: DType,
  ) {}

  /** Bytes held on the backend: the float32 sums, the scaled projection and the eps. */
  bytes(): number {
    const e = bytesPerElement(this.dtype);
    return this.sums.size * 4 + (this.features.size + this.kernelEps.size) * e;
  }

  /** One state from per-sequence states along the batch axis (the inputs are disposed). */
  static concat(states: readonly CausalPerformerState[]): CausalPerformerState {
    if (states.length === 1) return states[0];
    const sums = concat(
      states.map((x) => x.sums),
      0,
    ).keep();
    const [first, ...rest] = states;
    for (const x of rest) x.dispose();
    first.sums.dispose();
    return new CausalPerformerState(sums, first.features, first.kernelEps, first.dtype);
  }

  dispose(): void {
    this.sums.dispose();
    this.features.dispose();
    this.kernelEps.dispose();
  }
}

/**
 * The causal Performer over a whole prompt: q, k [B,H,T,D], v [B,H,T,E] → the output of
 * `performerAttention` (causal) and the running sums after row T−1.
 */
export function causalPerformerPrefill(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  projection: Tensor,
): { out: Tensor; state: CausalPerformerState } {
  const out = performerAttention(q, k, v, { causal: true, projection });
  const state = tidy(() => {
    const D = k.shape[3];
    const kf = reluFeatures(k, projection);
    const E = v.shape[3];
    // z + eps in the last column, as the prefix sums add eps to z
    const epsColumn = pad(
      full([1, 1, 1, 1], CAUSAL_EPS, { backend: k.backend }),
      [
        [0, 0],
        [0, 0],
        [0, 0],
        [E, 0],
      ],
      0,
    );
    return {
      sums: add(sumsOf(toFloat32(kf), toFloat32(v)), epsColumn).keep(),
      features: mul(projection, D ** -0.25).keep(),
      kernelEps: full([1], RELU_KERNEL_EPS, { backend: k.backend, dtype: k.dtype }).keep(),
    };
  });
  return { out, state: new CausalPerformerState(state.sums, state.features, state.kernelEps, k.dtype) };
}

/**
 * One new row per sequence: q1, k1 [B,H,1,D], v1 [B,H,1,E] → out [B,H,1,E]; adds φ(k1)·[v1, 1]ᵀ to
 * the running sums (the state's tensor is replaced). With `prefix` (a table [N, P] and one row index
 * per sequence) sequence b's value row is [table[rows[b]] ; v1] in every head (v1 then [B,H,1,E−P]).
 */
export function causalPerformerStep(
  state: CausalPerformerState,
  q1: Tensor,
  k1: Tensor,
  v1: Tensor,
  projection: Tensor,
  prefix?: { table: Tensor; rows: ArrayLike<number> },
): Tensor {
  const [B, H, m, E1] = state.sums.shape;
  const P = prefix ? prefix.table.shape[1] : 0;
  if (prefix && (prefix.table.rank !== 2 || prefix.rows.length !== B))
    throw new ShapeError(
      `causalPerformerStep: expected a prefix table [N,P] and ${B} rows, got ${fmt(prefix.table.shape)} and ${prefix.rows.length} rows`,
    );
  for (const [t, n, w] of [
    [q1, 'q1', projection.shape[1]],
    [k1, 'k1', projection.shape[1]],
    [v1, 'v1', E1 - 1 - P],
  ] as const) {
    if (t.rank !== 4 || t.shape[0] !== B || t.shape[1] !== H || t.shape[2] !== 1 || t.shape[3] !== w) {
      throw new ShapeError(
        `causalPerformerStep: expected ${n} of shape [${B},${H},1,${w}] (one new row), got ${fmt(t.shape)}`,
      );
    }
    if (t.dtype !== state.dtype)
      throw new DTypeError(
        `causalPerformerStep: ${n} is ${t.dtype}, the state was prefilled in ${state.dtype}`,
      );
  }
  if (projection.shape[0] !== m)
    throw new ShapeError(`causalPerformerStep: projection has ${projection.shape[0]} features, state ${m}`);
  if (fusedSteps) {
    const r = performerStep(state.sums, q1, k1, v1, state.features, RELU_KERNEL_EPS, prefix);
    state.sums.dispose();
    state.sums = r.sums.keep();
    return r.out;
  }
  if (prefix) {
    const { table } = prefix;
    const row = tidy(() => {
      const rowsT = tensor(Int32Array.from(prefix.rows), [B], { dtype: 'int32', backend: table.backend });
      const lead = gather(table, rowsT).reshape([B, 1, 1, P]);
      return concat([mul(lead, ones([1, H, 1, 1], { backend: table.backend, dtype: table.dtype })), v1], -1);
    });
    try {
      return causalPerformerStep(state, q1, k1, row, projection);
    } finally {
      row.dispose();
    }
  }
  const next = tidy(() => {
    // φ = ReLU(x·(W·D^(-1/4))ᵀ) + 0.001, as reluFeatures computes it, with the scaled W kept
    const phi = (x: Tensor) =>
      toFloat32(add(linear(x, state.features, null, { activation: 'relu' }), state.kernelEps));
    const sums = add(state.sums, sumsOf(phi(k1), toFloat32(v1))).keep();
    const nd = matmul(phi(q1), sums); // [B,H,1,E+1]: φq·S and φq·(z + eps)
    const E = E1 - 1;
    const out = div(slice(nd, [0, 0, 0, 0], [B, H, 1, E]), slice(nd, [0, 0, 0, E], [B, H, 1, 1]));
    return { sums, out: out.dtype === state.dtype ? out : cast(out, state.dtype) };
  });
  state.sums.dispose();
  state.sums = next.sums;
  return next.out;
}
