/**
 * Incremental (decoding) form of the causal Performer (docs/algorithm.md §3, causal): the running sums
 * S_t = Σ_{j≤t} φ(k_j) v_jᵀ [m × E] and z_t = Σ_{j≤t} φ(k_j) [m], so a new row costs O(m·E)
 * whatever t is: out_t = φ(q_t)ᵀ S_t / (φ(q_t)ᵀ (z_t + 1e-6·1)), the same formula as the prefix sums.
 */
import { add, concat, div, fmt, matmul, ShapeError, sum, type Tensor, tidy } from '@sea/tensor';
import { CAUSAL_EPS, performerAttention, reluFeatures } from './performer.js';

/** The causal Performer's running sums; owns its tensors. */
export class CausalPerformerState {
  constructor(
    /** S [B, H, m, E] */
    public s: Tensor,
    /** z [B, H, 1, m] */
    public z: Tensor,
  ) {}

  /** Bytes held on the backend. */
  bytes(): number {
    return (this.s.size + this.z.size) * 4;
  }

  /** One state from per-sequence states along the batch axis (the inputs are disposed). */
  static concat(states: readonly CausalPerformerState[]): CausalPerformerState {
    if (states.length === 1) return states[0];
    const s = concat(
      states.map((x) => x.s),
      0,
    ).keep();
    const z = concat(
      states.map((x) => x.z),
      0,
    ).keep();
    for (const x of states) x.dispose();
    return new CausalPerformerState(s, z);
  }

  dispose(): void {
    this.s.dispose();
    this.z.dispose();
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
    const kf = reluFeatures(k, projection);
    return { s: matmul(kf, v, { transA: true }).keep(), z: sum(kf, 2, true).keep() };
  });
  return { out, state: new CausalPerformerState(state.s, state.z) };
}

/**
 * One new row per sequence: q1, k1 [B,H,1,D], v1 [B,H,1,E] → out [B,H,1,E]; adds φ(k1)·v1ᵀ and φ(k1)
 * to the running sums (the state's tensors are replaced).
 */
export function causalPerformerStep(
  state: CausalPerformerState,
  q1: Tensor,
  k1: Tensor,
  v1: Tensor,
  projection: Tensor,
): Tensor {
  const [B, H, , m] = state.z.shape;
  for (const [t, n] of [
    [q1, 'q1'],
    [k1, 'k1'],
    [v1, 'v1'],
  ] as const) {
    if (t.rank !== 4 || t.shape[0] !== B || t.shape[1] !== H || t.shape[2] !== 1) {
      throw new ShapeError(
        `causalPerformerStep: expected ${n} of shape [${B},${H},1,·] (one new row), got ${fmt(t.shape)}`,
      );
    }
  }
  if (projection.shape[0] !== m)
    throw new ShapeError(`causalPerformerStep: projection has ${projection.shape[0]} features, state ${m}`);
  const next = tidy(() => {
    const kf = reluFeatures(k1, projection); // [B,H,1,m]
    const s = add(state.s, matmul(kf, v1, { transA: true })).keep();
    const z = add(state.z, kf).keep();
    const qf = reluFeatures(q1, projection);
    const num = matmul(qf, s); // [B,H,1,E]
    const den = matmul(qf, add(z, CAUSAL_EPS), { transB: true }); // [B,H,1,1]
    return { s, z, out: div(num, den) };
  });
  state.s.dispose();
  state.z.dispose();
  state.s = next.s;
  state.z = next.z;
  return next.out;
}
