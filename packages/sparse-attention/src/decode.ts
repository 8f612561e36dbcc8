/**
 * Decoding state for the three attention kinds: prefill a prompt, then one new row per step.
 *
 * - Dense: a K/V cache on the backend ({@link KvCache}).
 * - Performer (causal): the running sums S, z (@sea/linear-attention).
 * - SEA (causal): the estimator's state (Performer sums over [V_I ; V], the CNN's 4-row windows;
 *   @sea/predictor), the running sum of V for C_avg, and the K/V cache the sparse attention reads.
 *   A step costs O(m·D + H·K·c + H·k·D + window) per layer plus the cache write: no term grows with
 *   the number of rows before it except the k keys it attends.
 *
 * Every decoded row equals the row of the whole-sequence (sparse-path) forward at the same
 * position: nothing a row computes depends on the rows after it (docs/algorithm.md §5 budgets round(H·k·K/(t+1)),
 * §6 cells tile [0, t+1), §7 C_avg is the mean over 0..t, §4a the CNN is causal in time).
 *
 * Batches with left padding: `lengths[b]` counts the valid tokens of row b, which are its last
 * `lengths[b]` positions. Each sequence is prefilled alone (as if unpadded), and its cache holds its
 * keys at 0..L_b−1; its decoded rows then equal the forward of that sequence alone. Context rows at
 * pad positions are zero.
 */
import {
  CausalPerformerState,
  causalPerformerPrefill,
  causalPerformerStep,
  fusedDecodeSteps,
} from '@sea/linear-attention';
import { causalRowCsr, causalRowTopK } from '@sea/mask';
import {
  estimatePrefill,
  estimateStep,
  estimateStepLogits,
  type PredictorConfig,
  PredictorState,
} from '@sea/predictor';
import * as sea from '@sea/tensor';
import { type CsrMatrix, fmt, ShapeError, type Tensor } from '@sea/tensor';
import { mixContext } from './attend.js';

/** Options of a layer's `prefill`. */
export interface PrefillOptions {
  /**
   * Valid tokens per batch row, which are its last `lengths[b]` positions (left padding); default
   * T for every row.
   */
  lengths?: ArrayLike<number>;
  /** Rows to reserve in the K/V cache (prompt + new tokens); it grows by doubling past that. */
  capacity?: number;
}

/** Options of a layer's `step`. */
export interface StepOptions {
  /** SEA: also return the new row's Â [B,H,1,K]. */
  returnEstimate?: boolean;
  /** SEA: also return the new row's FlatCSR mask (keys over the cache's capacity). */
  returnMask?: boolean;
}

export interface StepOutput {
  /** [B, 1, H·D] */
  context: Tensor;
  estimate?: Tensor;
  mask?: CsrMatrix;
}

/** A layer's decoding state; owns its tensors. */
export interface DecodeState {
  readonly kind: 'dense' | 'performer' | 'sea';
  /** Rows seen so far per sequence (valid tokens; the next row's position). */
  readonly lengths: Int32Array;
  /** Bytes it holds on the backend. */
  bytes(): number;
  dispose(): void;
}

function checkLengths(op: string, lengths: ArrayLike<number> | undefined, B: number, T: number): Int32Array {
  if (!lengths) return new Int32Array(B).fill(T);
  if (lengths.length !== B) throw new ShapeError(`${op}: expected ${B} lengths, got ${lengths.length}`);
  const out = Int32Array.from(lengths);
  for (let b = 0; b < B; b++) {
    if (!Number.isInteger(lengths[b]) || lengths[b] < 1 || lengths[b] > T) {
      throw new ShapeError(`${op}: length ${lengths[b]} of row ${b} must be an integer in [1, ${T}]`);
    }
  }
  return out;
}

/** A growable K/V cache [B, H, capacity, D]; sequence b's keys sit at 0..lengths[b]−1. */
export class KvCache {
  private constructor(
    public k: Tensor,
    public v: Tensor,
    readonly lengths: Int32Array,
  ) {}

  get capacity(): number {
    return this.k.shape[2];
  }

  /** A cache holding k, v [B,H,T,·] of which row b's keys are its last lengths[b] positions. */
  static fromPrompt(k: Tensor, v: Tensor, lengths: Int32Array, capacity = 0): KvCache {
    const [B, H, T, D] = k.shape;
    const E = v.shape[3];
    const cap = Math.max(capacity, T + 1);
    const full = lengths.every((L) => L === T);
    let kc: Tensor;
    let vc: Tensor;
    if (full) {
      const grow: [number, number][] = [
        [0, 0],
        [0, 0],
        [0, cap - T],
        [0, 0],
      ];
      kc = sea.pad(k, grow, 0).keep();
      vc = sea.pad(v, grow, 0).keep();
    } else {
      kc = sea.zeros([B, H, cap, D], { backend: k.backend, dtype: k.dtype }).keep();
      vc = sea.zeros([B, H, cap, E], { backend: v.backend, dtype: v.dtype }).keep();
      for (let b = 0; b < B; b++) {
        const L = lengths[b];
        sea.tidy(() => {
          kc = replace(kc, sea.writeSlice(kc, sea.slice(k, [b, 0, T - L, 0], [1, H, L, D]), [b, 0, 0, 0]));
          vc = replace(vc, sea.writeSlice(vc, sea.slice(v, [b, 0, T - L, 0], [1, H, L, E]), [b, 0, 0, 0]));
        });
      }
    }
    return new KvCache(kc, vc, Int32Array.from(lengths));
  }

  /** Writes one new row per sequence (k1 [B,H,1,D], v1 [B,H,1,E]) at lengths[b] and counts it. */
  append(k1: Tensor, v1: Tensor): void {
    const [B, H, , D] = this.k.shape;
    const E = this.v.shape[3];
    const need = Math.max(...this.lengths) + 1;
    if (need > this.capacity) this.grow(Math.max(need, 2 * this.capacity));
    const same = this.lengths.every((L) => L === this.lengths[0]);
    sea.tidy(() => {
      if (same) {
        // one write for the whole batch when every sequence is at the same row
        this.k = replace(this.k, sea.writeSlice(this.k, k1, [0, 0, this.lengths[0], 0]));
        this.v = replace(this.v, sea.writeSlice(this.v, v1, [0, 0, this.lengths[0], 0]));
        return;
      }
      for (let b = 0; b < B; b++) {
        const kb = B === 1 ? k1 : sea.slice(k1, [b, 0, 0, 0], [1, H, 1, D]);
        const vb = B === 1 ? v1 : sea.slice(v1, [b, 0, 0, 0], [1, H, 1, E]);
        this.k = replace(this.k, sea.writeSlice(this.k, kb, [b, 0, this.lengths[b], 0]));
        this.v = replace(this.v, sea.writeSlice(this.v, vb, [b, 0, this.lengths[b], 0]));
      }
    });
    for (let b = 0; b < B; b++) this.lengths[b]++;
  }

  private grow(capacity: number): void {
    const more: [number, number][] = [
      [0, 0],
      [0, 0],
      [0, capacity - this.capacity],
      [0, 0],
    ];
    this.k = replace(this.k, sea.pad(this.k, more, 0));
    this.v = replace(this.v, sea.pad(this.v, more, 0));
  }

  /** bool [B, capacity]: key j of sequence b is filled (j < lengths[b]). */
  keyValid(): Tensor {
    const B = this.k.shape[0];
    const cap = this.capacity;
    const m = new Uint8Array(B * cap);
    for (let b = 0; b < B; b++) m.fill(1, b * cap, b * cap + this.lengths[b]);
    return sea.tensor(m, [B, cap], { dtype: 'bool', backend: this.k.backend });
  }

  bytes(): number {
    return (this.k.size + this.v.size) * sea.bytesPerElement(this.k.dtype);
  }

  dispose(): void {
    this.k.dispose();
    this.v.dispose();
  }
}

/** `next` replaces `prev` (kept past any scope); prev is disposed unless it is the same tensor. */
function replace(prev: Tensor, next: Tensor): Tensor {
  if (next === prev) return prev;
  next.keep();
  prev.dispose();
  return next;
}

/** Runs `one` on each sequence's valid part (or once on the whole batch when nothing is padded). */
async function perSequence<S>(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  lengths: Int32Array,
  one: (q: Tensor, k: Tensor, v: Tensor) => Promise<{ context: Tensor; state: S }>,
): Promise<{ context: Tensor; states: S[] }> {
  const [B, H, T, D] = q.shape;
  if (lengths.every((L) => L === T)) {
    const r = await one(q, k, v);
    return { context: r.context, states: [r.state] };
  }
  const contexts: Tensor[] = [];
  const states: S[] = [];
  try {
    for (let b = 0; b < B; b++) {
      const L = lengths[b];
      const rows = (x: Tensor) => sea.slice(x, [b, 0, T - L, 0], [1, H, L, x.shape[3]]);
      const [qb, kb, vb] = [rows(q), rows(k), rows(v)];
      const r = await one(qb, kb, vb);
      qb.dispose();
      kb.dispose();
      vb.dispose();
      states.push(r.state);
      contexts.push(
        L === T
          ? r.context
          : sea.tidy(() => {
              const c = sea.concat(
                [sea.zeros([1, T - L, H * D], { backend: q.backend, dtype: r.context.dtype }), r.context],
                1,
              );
              r.context.dispose();
              return c;
            }),
      );
    }
    const context = sea.concat(contexts, 0);
    return { context, states };
  } finally {
    for (const c of contexts) c.dispose();
  }
}

function checkStep(
  op: string,
  state: DecodeState,
  q1: Tensor,
  k1: Tensor,
  v1: Tensor,
  H: number,
  D: number,
): number {
  const B = state.lengths.length;
  for (const [t, n] of [
    [q1, 'q1'],
    [k1, 'k1'],
    [v1, 'v1'],
  ] as const) {
    if (t.rank !== 4 || t.shape[0] !== B || t.shape[1] !== H || t.shape[2] !== 1 || t.shape[3] !== D) {
      throw new ShapeError(
        `${op}: expected ${n} of shape [${B},${H},1,${D}] (one new row per sequence), got ${fmt(t.shape)}`,
      );
    }
  }
  return B;
}

/** [B,H,1,D] → [B,1,H·D]: with one row, moving the row axis past the heads is a reshape. */
function toTokens(x: Tensor): Tensor {
  const [B, H, , D] = x.shape;
  return x.reshape([B, 1, H * D]);
}

// ---- dense ----

export class DenseDecodeState implements DecodeState {
  readonly kind = 'dense' as const;
  constructor(readonly cache: KvCache) {}
  get lengths(): Int32Array {
    return this.cache.lengths;
  }
  bytes(): number {
    return this.cache.bytes();
  }
  dispose(): void {
    this.cache.dispose();
  }
}

export async function densePrefill(
  forward: (q: Tensor, k: Tensor, v: Tensor) => Promise<Tensor>,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: PrefillOptions,
): Promise<{ context: Tensor; state: DenseDecodeState }> {
  const [B, , T] = q.shape;
  const lengths = checkLengths('prefill', opts.lengths, B, T);
  const { context } = await perSequence(q, k, v, lengths, async (qb, kb, vb) => ({
    context: await forward(qb, kb, vb),
    state: null,
  }));
  return { context, state: new DenseDecodeState(KvCache.fromPrompt(k, v, lengths, opts.capacity)) };
}

export function denseStep(
  state: DenseDecodeState,
  q1: Tensor,
  k1: Tensor,
  v1: Tensor,
  scale: number,
): Tensor {
  const [, H, , D] = state.cache.k.shape;
  checkStep('DenseAttention.step', state, q1, k1, v1, H, D);
  state.cache.append(k1, v1);
  return sea.tidy(() => {
    const keyValid = state.cache.keyValid();
    return toTokens(sea.attention(q1, state.cache.k, state.cache.v, { scale, causal: false, keyValid }));
  });
}

// ---- Performer ----

export class PerformerDecodeState implements DecodeState {
  readonly kind = 'performer' as const;
  constructor(
    readonly sums: CausalPerformerState,
    readonly lengths: Int32Array,
  ) {}
  bytes(): number {
    return this.sums.bytes();
  }
  dispose(): void {
    this.sums.dispose();
  }
}

export async function performerPrefill(
  projection: Tensor,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: PrefillOptions,
): Promise<{ context: Tensor; state: PerformerDecodeState }> {
  const [B, , T] = q.shape;
  const lengths = checkLengths('prefill', opts.lengths, B, T);
  const { context, states } = await perSequence(q, k, v, lengths, async (qb, kb, vb) => {
    const r = causalPerformerPrefill(qb, kb, vb, projection);
    const c = sea.tidy(() => {
      const [b, H, t, D] = r.out.shape;
      return sea.transpose(r.out, [0, 2, 1, 3]).reshape([b, t, H * D]);
    });
    r.out.dispose();
    return { context: c, state: r.state };
  });
  return { context, state: new PerformerDecodeState(CausalPerformerState.concat(states), lengths) };
}

export function performerStep(
  state: PerformerDecodeState,
  projection: Tensor,
  q1: Tensor,
  k1: Tensor,
  v1: Tensor,
): Tensor {
  const H = state.sums.sums.shape[1];
  checkStep('PerformerAttention.step', state, q1, k1, v1, H, projection.shape[1]);
  const out = sea.tidy(() => toTokens(causalPerformerStep(state.sums, q1, k1, v1, projection)));
  for (let b = 0; b < state.lengths.length; b++) state.lengths[b]++;
  return out;
}

// ---- SEA ----

export class SeaDecodeState implements DecodeState {
  readonly kind = 'sea' as const;
  /** 1 [1] in the layer's dtype (the s_mix blend's 1 − s_mix). */
  readonly one: Tensor;
  constructor(
    readonly predictor: PredictorState,
    readonly cache: KvCache,
    /** Σ_{j≤t} v_j [B, H, 1, D] float32 (a 16-bit running sum would lose a rounding per row), for C_avg */
    public vSum: Tensor,
  ) {
    this.one = sea.ones([1], { backend: cache.k.backend, dtype: cache.k.dtype }).keep();
  }
  get lengths(): Int32Array {
    return this.cache.lengths;
  }
  /** Everything but the K/V cache: what SEA adds on top of what dense decoding keeps. */
  estimatorBytes(): number {
    return this.predictor.bytes() + this.vSum.size * 4;
  }
  bytes(): number {
    return this.estimatorBytes() + this.cache.bytes();
  }
  dispose(): void {
    this.predictor.dispose();
    this.cache.dispose();
    this.vSum.dispose();
    this.one.dispose();
  }
}

export interface SeaDecodeSettings {
  predictor: PredictorConfig;
  weights: Record<string, Tensor>;
  projection: Tensor;
  /** Sparse budget k. */
  k: number;
  scoreScale: number;
  /** The layer's whole-sequence sparse forward given the estimator's outputs. */
  attend: (
    q: Tensor,
    k: Tensor,
    v: Tensor,
    est: { logits: Tensor; sProb: Tensor; sMix: Tensor },
  ) => Promise<Tensor>;
}

export async function seaPrefill(
  s: SeaDecodeSettings,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: PrefillOptions,
): Promise<{ context: Tensor; state: SeaDecodeState }> {
  const [B, , T] = q.shape;
  const lengths = checkLengths('prefill', opts.lengths, B, T);
  const { context, states } = await perSequence(q, k, v, lengths, async (qb, kb, vb) => {
    const { estimate, state } = estimatePrefill(s.predictor, s.weights, {
      q: qb,
      k: kb,
      v: vb,
      projection: s.projection,
    });
    try {
      const c = await s.attend(qb, kb, vb, estimate);
      const vSum = sea
        .tidy(() => sea.sum(vb.dtype === 'float32' ? vb : sea.cast(vb, 'float32'), 2, true))
        .keep();
      return { context: c, state: { predictor: state, vSum } };
    } finally {
      estimate.logits.dispose();
      estimate.sProb.dispose();
      estimate.sMix.dispose();
    }
  });
  const predictor = PredictorState.concat(states.map((x) => x.predictor));
  const vSum =
    states.length === 1
      ? states[0].vSum
      : sea
          .concat(
            states.map((x) => x.vSum),
            0,
          )
          .keep();
  if (states.length > 1) for (const x of states) x.vSum.dispose();
  const cache = KvCache.fromPrompt(k, v, lengths, opts.capacity);
  return { context, state: new SeaDecodeState(predictor, cache, vSum) };
}

export async function seaStep(
  s: SeaDecodeSettings,
  state: SeaDecodeState,
  q1: Tensor,
  k1: Tensor,
  v1: Tensor,
  opts: StepOptions = {},
): Promise<StepOutput> {
  const H = s.predictor.heads;
  const D = s.predictor.headDim;
  const B = checkStep('SeaAttention.step', state, q1, k1, v1, H, D);
  const positions = Int32Array.from(state.lengths);
  if (fusedDecodeSteps()) return seaStepFused(s, state, q1, k1, v1, positions, opts);
  const est = estimateStep(s.predictor, s.weights, state.predictor, {
    q: q1,
    k: k1,
    v: v1,
    projection: s.projection,
    positions,
  });
  const made: Tensor[] = [est.logits, est.sProb, est.sMix];
  let csr: CsrMatrix | undefined;
  try {
    const probs = sea.softmax(est.logits);
    made.push(probs);
    const rowLen = Int32Array.from(positions, (p) => p + 1);
    const cells = causalRowTopK(probs, rowLen, s.k);
    made.push(cells);
    state.cache.append(k1, v1);
    let local: Tensor;
    if (opts.returnMask || !q1.backend.cellMaskAttention) {
      // every size is known here from the row lengths: nothing is read back
      csr = await causalRowCsr(cells, rowLen, { k: s.k, keys: state.cache.capacity });
      local = sea.csrAttention(csr, q1, state.cache.k, state.cache.v, {
        scale: s.scoreScale,
        rowScale: est.sProb,
      });
    } else {
      // stretch + attention as one kernel (the backend's fused capability): no CSR arrays built
      const rowLenT = sea.tensor(rowLen, [B, 1], { dtype: 'int32', backend: q1.backend });
      try {
        local = await sea.cellMaskAttention(cells, rowLenT, q1, state.cache.k, state.cache.v, {
          k: s.k,
          scale: s.scoreScale,
          rowScale: est.sProb,
        });
      } finally {
        rowLenT.dispose();
      }
    }
    made.push(local);
    const dtype = q1.dtype;
    const next = sea.tidy(() => {
      const wide = (t: Tensor) => (dtype === 'float32' ? t : sea.cast(t, 'float32'));
      const vSum = sea.add(state.vSum, wide(v1)).keep();
      // C_avg = Σv / (t+1) and the s_mix blend in float32, rounded once to the layer's dtype: the
      // arithmetic of the whole-sequence forward's runningMeanMix
      const count = sea.tensor(Float32Array.from(rowLen), [B, 1, 1, 1], { backend: q1.backend });
      const cAvg = sea.div(vSum, count);
      if (dtype === 'float32') return { context: mixContext(local, cAvg, est.sMix, state.one), vSum };
      const mixed = mixContext(wide(local), cAvg, wide(est.sMix));
      return { context: sea.cast(mixed, dtype), vSum };
    });
    state.vSum.dispose();
    state.vSum = next.vSum;
    const out: StepOutput = { context: next.context };
    if (opts.returnEstimate) {
      out.estimate = probs;
      made.splice(made.indexOf(probs), 1);
    }
    if (opts.returnMask) {
      out.mask = csr;
      csr = undefined;
    }
    return out;
  } finally {
    for (const t of made) t.dispose();
    csr?.dispose();
  }
}

/**
 * The SEA step through the step primitives: the estimator's row (`estimateStepLogits`: performerStep,
 * the encoder's GEMMs, causalCnnStep), the cache append, and `seaDecodeAttention` (softmax, the row's
 * top cells, the attention over their keys, C_avg and the mix in one kernel). Â and the CSR mask are
 * built only when asked for.
 */
async function seaStepFused(
  s: SeaDecodeSettings,
  state: SeaDecodeState,
  q1: Tensor,
  k1: Tensor,
  v1: Tensor,
  positions: Int32Array,
  opts: StepOptions,
): Promise<StepOutput> {
  const est = estimateStepLogits(s.predictor, s.weights, state.predictor, {
    q: q1,
    k: k1,
    v: v1,
    projection: s.projection,
    positions,
  });
  const rowLen = Array.from(positions, (p) => p + 1);
  try {
    state.cache.append(k1, v1);
    const r = sea.seaDecodeAttention(est.logits, q1, state.cache.k, state.cache.v, est.scalers, state.vSum, {
      k: s.k,
      scale: s.scoreScale,
      rowLen,
    });
    state.vSum.dispose();
    state.vSum = r.vSum.keep();
    const out: StepOutput = { context: toTokens(r.out) };
    r.out.dispose();
    if (opts.returnEstimate || opts.returnMask) {
      const probs = sea.softmax(est.logits);
      if (opts.returnMask) {
        const cells = causalRowTopK(probs, rowLen, s.k);
        try {
          out.mask = await causalRowCsr(cells, rowLen, { k: s.k, keys: state.cache.capacity });
        } finally {
          cells.dispose();
        }
      }
      if (opts.returnEstimate) out.estimate = probs;
      else probs.dispose();
    }
    return out;
  } finally {
    est.logits.dispose();
    est.scalers.dispose();
  }
}
