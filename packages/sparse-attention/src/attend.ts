/**
 * SEA after the estimator (docs/algorithm.md §5–§7): grouped top-k̂ on Â, stretching, exact softmax attention on
 * the selected keys scaled by s_prob, the global context C_avg, and the s_mix blend.
 */
import {
  FP_MIN,
  groupedTopK,
  roundHalfEven,
  rowLengthArray,
  stretchEstimate,
  stretchToCsr,
  stretchToDense,
  type TopKMode,
} from '@sea/mask';
import * as sea from '@sea/tensor';
import { type CsrMatrix, fmt, ShapeError, type Tensor } from '@sea/tensor';
import { wrap } from '@sea/tensor/backend';
import type { AttentionPath, SeaTrainingOutputs } from './types.js';

export interface AttendOptions {
  causal: boolean;
  /** Sparse budget k. */
  k: number;
  /** k_oversample (default 1): budgets use k·kOversample; the dense path thins rows back (spec §6). */
  kOversample?: number;
  topkMode: TopKMode;
  /** Multiplies Q·Kᵀ (1 for OPT, whose Q is pre-scaled; 1/√D for BERT). */
  scoreScale: number;
  path: AttentionPath;
  /** Valid length L_b per batch element (right padding); default T. */
  lengths?: ArrayLike<number>;
  returnMask?: boolean;
}

export interface EstimateTensors {
  /** Â = softmax over K of the logits [B,H,T,K], padded rows zero. */
  probs: Tensor;
  /** [B,H,T] */
  sProb: Tensor;
  /** [B,H,T] */
  sMix: Tensor;
}

export interface AttendResult {
  /** [B,T,H·D] */
  context: Tensor;
  mask?: CsrMatrix | Tensor;
}

/**
 * The dense path's k_oversample thinning (docs/algorithm.md §6): in a row with L visible keys, with
 * p = max(1, round(L/k_os)) and o = clamp(L, round(k), round(k·k_os))/k, key x stays iff
 * |(x+1)·p/L − round((x+1)·p/L)| ≤ 0.5/o + 1e-4 (round: half to even, as torch). k_os = 1 keeps
 * every key (returns `keep` itself). Takes ownership of `keep` [B,H,T,T].
 */
export function thinOversampled(
  keep: Tensor,
  k: number,
  kOversample: number,
  rowLen: ArrayLike<number>,
): Tensor {
  if (kOversample === 1) return keep;
  const [B, , T] = keep.shape;
  const thin = new Uint8Array(B * T * T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const L = rowLen[b * T + t];
      if (L <= 0) continue;
      const p = Math.max(1, roundHalfEven(L / kOversample));
      const o = Math.min(Math.max(L, roundHalfEven(k)), roundHalfEven(k * kOversample)) / k;
      for (let x = 0; x < L; x++) {
        const y = ((x + 1) * p) / L;
        if (Math.abs(y - roundHalfEven(y)) <= 0.5 / o + 1e-4) thin[(b * T + t) * T + x] = 1;
      }
    }
  }
  const out = sea.tidy(() =>
    sea.logicalAnd(keep, sea.tensor(thin, [B, 1, T, T], { dtype: 'bool', backend: keep.backend })),
  );
  keep.dispose();
  return out;
}

/** Â from the predictor logits: softmax over K with padded query rows zeroed (docs/algorithm.md §5). */
export function estimateProbs(logits: Tensor, lengths: ArrayLike<number> | undefined): Tensor {
  const [B, , T] = logits.shape;
  return sea.tidy(() => {
    const p = sea.softmax(logits);
    const rv = rowValidTensor(B, T, lengths, logits.backend);
    return rv ? sea.where(rv, p, 0) : p;
  });
}

/** bool [B,1,T,1], true for rows t < L_b; null when nothing is padded. */
function rowValidTensor(
  B: number,
  T: number,
  lengths: ArrayLike<number> | undefined,
  backend: sea.Backend,
): Tensor | null {
  if (!lengths || !Array.prototype.some.call(lengths, (L: number) => L < T)) return null;
  const rv = new Uint8Array(B * T);
  for (let b = 0; b < B; b++) rv.fill(1, b * T, b * T + lengths[b]);
  return sea.tensor(rv, [B, 1, T, 1], { dtype: 'bool', backend });
}

/**
 * The global context C_avg (docs/algorithm.md §7.5). Causal: running mean of V over 0..t, pad rows of V zeroed →
 * [B,H,T,D]. Bidirectional: î = (1/T)·Σ_t Â[b,h,t,:] (padded rows are zero in Â), i_j = î[cell(j)] for
 * j < L_b else 0, C_avg = Σ_j i_j v_j (not renormalized) → [B,H,1,D].
 */
export function globalContext(
  v: Tensor,
  probs: Tensor,
  causal: boolean,
  lengths: ArrayLike<number> | undefined,
): Promise<Tensor> {
  const [B, H, T] = v.shape;
  const backend = v.backend;
  return sea.tidyAsync(async () => {
    const rv = rowValidTensor(B, T, lengths, backend);
    const vz = rv ? sea.where(rv, v, 0) : v;
    if (causal) {
      const count = sea.tensor(
        Float32Array.from({ length: T }, (_, t) => t + 1),
        [1, 1, T, 1],
        { backend, dtype: v.dtype },
      );
      return sea.div(sea.cumsum(vz, 2), count);
    }
    const K = probs.shape[3];
    const iHat = sea.div(sea.sum(probs, 2), T).reshape([B, H, 1, K]);
    const rowLen = Int32Array.from({ length: B }, (_, b) => (lengths ? lengths[b] : T));
    return sea.matmul(await stretchEstimate(iHat, rowLen, { keys: T, fill: 0 }), vz);
  });
}

/**
 * The s_mix blend of the local and global contexts (docs/algorithm.md §7.6), heads merged for the output
 * projection: s_mix·local + (1 − s_mix)·C_avg, local [B,H,T,D], C_avg [B,H,T|1,D], s_mix [B,H,T]
 * → [B,T,H·D].
 */
export function mixContext(local: Tensor, cAvg: Tensor, sMix: Tensor, one?: Tensor): Tensor {
  const [B, H, T, D] = local.shape;
  return sea.tidy(() => {
    const s = sMix.reshape([B, H, T, 1]);
    // `one`: a decoder's 1 kept on the backend (no upload per step)
    const mixed = sea.add(sea.mul(s, local), sea.mul(sea.sub(one ?? 1, s), cAvg));
    // one row (decoding): moving the size-1 time axis is a reshape
    if (T === 1) return mixed.reshape([B, 1, H * D]);
    return sea.transpose(mixed, [0, 2, 1, 3]).reshape([B, T, H * D]);
  });
}

/**
 * C_avg and the s_mix blend of `local` (docs/algorithm.md §7.5–§7.6) → [B,T,H·D]. Causal: one
 * `runningMeanMix` (the running mean of V with pad rows zeroed, blended); bidirectional:
 * {@link globalContext} then {@link mixContext}.
 */
async function mixGlobal(
  local: Tensor,
  v: Tensor,
  est: EstimateTensors,
  causal: boolean,
  lengths: ArrayLike<number> | undefined,
): Promise<Tensor> {
  if (!causal) return mixContext(local, await globalContext(v, est.probs, false, lengths), est.sMix);
  const [B, , T] = v.shape;
  return sea.tidy(() => {
    const rv = rowValidTensor(B, T, lengths, v.backend);
    return sea.runningMeanMix(local, rv ? sea.where(rv, v, 0) : v, est.sMix);
  });
}

/**
 * The dense path's local context (docs/algorithm.md §7.3–§7.4): softmax of `scores` [B,H,T,T] over the kept keys
 * (bool `keep`), rows scaled by s_prob [B,H,T], times V.
 */
function keptKeysContext(scores: Tensor, keep: Tensor, sProb: Tensor, v: Tensor): Tensor {
  const [B, H, T] = scores.shape;
  return sea.tidy(() => {
    const additive = sea.where(keep, sea.scalar(0, { dtype: scores.dtype, backend: scores.backend }), FP_MIN);
    // FP_MIN rows softmax to a uniform row; the official path zero-fills them afterwards
    const probs = sea.where(keep, sea.softmax(scores, additive), 0);
    return sea.matmul(sea.mul(probs, sProb.reshape([B, H, T, 1])), v);
  });
}

/**
 * Runs docs/algorithm.md §5–§7 on given estimator outputs. q, k, v [B,H,T,D] float32. Both paths build the same
 * mask (the sparse path caps a cell at k keys, which changes nothing while every cell is at most k
 * keys wide, i.e. ⌈L/K⌉ ≤ k).
 */
export function attendWithEstimate(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  est: EstimateTensors,
  opts: AttendOptions,
): Promise<AttendResult> {
  const [B, , T] = q.shape;
  const backend = q.backend;
  const sparse = opts.path === 'sparse';
  return sea.tidyAsync(async () => {
    const cellMask = groupedTopK(est.probs, {
      mode: opts.topkMode,
      k: opts.k * (opts.kOversample ?? 1),
      causal: opts.causal,
      lengths: opts.lengths,
      layout: sparse ? 'bthk' : 'bhtk',
    });
    const rowLen = sea.tensor(rowLengthArray(B, T, opts.causal, opts.lengths), [B, T], {
      dtype: 'int32',
      backend,
    });
    let local: Tensor;
    let mask: CsrMatrix | Tensor | undefined;
    if (sparse && !opts.returnMask) {
      // stretch + csrAttention as one op: a backend with the fused capability builds no CSR arrays
      // and reads nothing back, so the work queued after it need not wait for the device
      local = await sea.cellMaskAttention(cellMask, rowLen, q, k, v, {
        k: opts.k,
        scale: opts.scoreScale,
        rowScale: est.sProb,
      });
    } else if (sparse) {
      mask = await stretchToCsr(cellMask, rowLen, { k: opts.k, keys: T, layout: 'bthk' });
      // csrSddmm → csrSoftmax (× s_prob) → csrSpmm, fused where the backend can
      local = sea.csrAttention(mask, q, k, v, { scale: opts.scoreScale, rowScale: est.sProb });
    } else {
      mask = thinOversampled(
        await stretchToDense(cellMask, rowLen, { keys: T }),
        opts.k,
        opts.kOversample ?? 1,
        rowLengthArray(B, T, opts.causal, opts.lengths),
      );
      const scores = sea.mul(sea.matmul(q, k, { transB: true }), opts.scoreScale);
      local = keptKeysContext(scores, mask, est.sProb, v);
    }
    const context = await mixGlobal(local, v, est, opts.causal, opts.lengths);
    return opts.returnMask ? { context, mask } : { context };
  });
}

/** Additive mask [B,1,T,T] (0 visible, FP_MIN not): key j < L_b, and j ≤ t when causal. */
function visibleKeysMask(
  B: number,
  T: number,
  causal: boolean,
  lengths: ArrayLike<number> | undefined,
  dtype: sea.DType,
  backend: sea.Backend,
): Tensor {
  const m = new Float64Array(B * T * T);
  for (let b = 0; b < B; b++) {
    const L = lengths ? lengths[b] : T;
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * T;
      for (let j = 0; j < T; j++) if (j >= L || (causal && j > t)) m[row + j] = FP_MIN;
    }
  }
  return sea.tensor(m, [B, 1, T, T], { dtype, backend });
}

/**
 * The dense path with the outputs the per-layer distillation loss needs (docs/algorithm.md §9a): the same
 * selection, sparse softmax, C_avg and mix as {@link attendWithEstimate}'s dense path, plus Â↑
 * (the logits stretched to T×T), S = Q·Kᵀ·scale, the visibility mask and the keep mask. Everything
 * differentiable is @sea/tensor ops; the selection (top-k, stretch of the cell mask) is bool and so
 * never differentiated. `fixedMask` (bool [B,H,T,T]) replaces the selection.
 */
export async function attendTraining(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  est: EstimateTensors & { logits: Tensor },
  opts: Omit<AttendOptions, 'path' | 'returnMask'> & { fixedMask?: Tensor },
): Promise<{ context: Tensor; training: SeaTrainingOutputs }> {
  const [B, H, T] = q.shape;
  const backend = q.backend;
  const dtype = q.dtype;
  const rowLen = rowLengthArray(B, T, opts.causal, opts.lengths);
  const f = opts.fixedMask;
  if (f && (f.dtype !== 'bool' || f.rank !== 4 || f.shape.some((d, i) => d !== [B, H, T, T][i]))) {
    throw new ShapeError(
      `SeaAttention.forward: expected fixedMask bool [${B},${H},${T},${T}], got ${f.dtype} ${fmt(f.shape)}`,
    );
  }
  return sea.tidyAsync(async () => {
    const keep = f
      ? wrap(f.backend, f)
      : thinOversampled(
          await stretchToDense(
            groupedTopK(est.probs, {
              mode: opts.topkMode,
              k: opts.k * (opts.kOversample ?? 1),
              causal: opts.causal,
              lengths: opts.lengths,
              layout: 'bhtk',
            }),
            rowLen,
            { keys: T },
          ),
          opts.k,
          opts.kOversample ?? 1,
          rowLen,
        );
    const stretched = await stretchEstimate(est.logits, rowLen, { keys: T, fill: FP_MIN });
    const logitMask = visibleKeysMask(B, T, opts.causal, opts.lengths, dtype, backend);
    const studentScores = sea.mul(sea.matmul(q, k, { transB: true }), opts.scoreScale);
    const local = keptKeysContext(studentScores, keep, est.sProb, v);
    const context = await mixGlobal(local, v, est, opts.causal, opts.lengths);
    return {
      context,
      training: {
        estimateLogits: est.logits,
        estimateLogitsStretched: stretched,
        studentScores,
        logitMask,
        mask: keep,
        sProb: est.sProb,
        sMix: est.sMix,
      },
    };
  });
}
