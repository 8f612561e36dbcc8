/**
 * Distillation losses (docs/algorithm.md §9): the per-layer SEA loss and the model-level OPT/BERT losses, written
 * with @sea/tensor ops so they differentiate through the tape. Masks are additive (0 / FP_MIN);
 * P(x) = softmax(x + mask) over keys.
 */

import type { Tensor } from '@sea/tensor';
import * as sea from '@sea/tensor';

/** Half the most negative finite float32, the masking value of the dense path (spec notation). */
export const FP_MIN = -3.4028234663852886e38 / 2;

export function mse(a: Tensor, b: Tensor): Tensor {
  return sea.mean(sea.square(sea.sub(a, b)));
}

/**
 * Σ p̃·(log(p̃ + 1e-12) − log p) over the last axis, per row: p̃ = softmax(teacher + mask),
 * log p = logSoftmax(student + mask). Returns the per-row values (shape without the last axis).
 */
export function klRows(teacherLogits: Tensor, studentLogits: Tensor, mask?: Tensor | null): Tensor {
  return klRowsOf(teacherTerms(teacherLogits, mask), studentLogits, mask);
}

/** p̃ = softmax(teacher + mask) and log(p̃ + 1e-12): what every KL against one teacher reuses. */
interface TeacherTerms {
  pt: Tensor;
  logpt: Tensor;
}

function teacherTerms(teacherLogits: Tensor, mask?: Tensor | null): TeacherTerms {
  const pt = sea.softmax(teacherLogits, mask ?? null);
  return { pt, logpt: sea.log(sea.add(pt, 1e-12)) };
}

function klRowsOf(t: TeacherTerms, studentLogits: Tensor, mask?: Tensor | null): Tensor {
  const logp = sea.logSoftmax(mask ? sea.add(studentLogits, mask) : studentLogits);
  return sea.sum(sea.mul(t.pt, sea.sub(t.logpt, logp)), -1);
}

/** PyTorch `kl_div(log p, p̃, reduction='batchmean')` over rows of the last axis: Σ / (number of rows). */
export function klBatchmean(teacherLogits: Tensor, studentLogits: Tensor, mask?: Tensor | null): Tensor {
  const rows = klRows(teacherLogits, studentLogits, mask);
  return sea.div(sea.sum(rows), rows.size);
}

/**
 * Bidirectional KL_row (docs/algorithm.md §9a): Σ over b, h, valid rows of the row KL, divided by the number of
 * valid tokens in the batch (so summed over heads, averaged over rows). validRows [B, T] is 1/0.
 */
export function klValidTokens(
  teacherLogits: Tensor,
  studentLogits: Tensor,
  mask: Tensor,
  validRows: Tensor,
): Tensor {
  const rows = klRows(teacherLogits, studentLogits, mask); // [B, H, T]
  const [B, , T] = rows.shape;
  const w = validRows.reshape([B, 1, T]);
  return sea.div(sea.sum(sea.mul(rows, w)), sea.sum(validRows));
}

export interface LayerLossInput {
  /** Ã: teacher logits (masked, scaled) [B, H, T, T]. */
  teacherLogits: Tensor;
  /** Â↑: the estimate's logits stretched to T×T [B, H, T, T]. */
  approxLogits: Tensor;
  /** S: the student's dense scores Q·Kᵀ (OPT: Q pre-scaled; BERT: pass S/√D) [B, H, T, T]. */
  studentScores: Tensor;
  /** Additive mask (0 / FP_MIN) broadcastable to [B, H, T, T]. */
  mask: Tensor;
  /** C̃ and C_sea [B, T, H·D]. */
  teacherContext: Tensor;
  context: Tensor;
  causal: boolean;
  /** Bidirectional only: [B, T] 1 for valid tokens. */
  validRows?: Tensor;
}

export interface LayerLoss {
  approx: Tensor;
  prob: Tensor;
  context: Tensor;
  total: Tensor;
}

/**
 * L_layer = L_approx + L_prob + L_context (docs/algorithm.md §9a):
 * L_approx = 0.1·KL(P(Ã) ‖ P(Â↑)) + MSE(P(Â↑), P(Ã)), L_prob the same with S, L_context = MSE(C̃, C_sea).
 * Causal: KL batchmean over the B·H·T rows; bidirectional: summed over heads, averaged over valid tokens.
 */
export function seaLayerLoss(x: LayerLossInput): LayerLoss {
  // the teacher's softmax and its log once for both terms (the same ops as klBatchmean's)
  const t = teacherTerms(x.teacherLogits, x.mask);
  const pTeacher = t.pt;
  const kl = (student: Tensor) => {
    const rows = klRowsOf(t, student, x.mask);
    if (x.causal) return sea.div(sea.sum(rows), rows.size);
    if (!x.validRows) throw new Error('seaLayerLoss: bidirectional layers need validRows [B, T]');
    const [B, , T] = rows.shape;
    return sea.div(sea.sum(sea.mul(rows, x.validRows.reshape([B, 1, T]))), sea.sum(x.validRows));
  };
  const term = (student: Tensor) =>
    sea.add(sea.mul(kl(student), 0.1), mse(sea.softmax(student, x.mask), pTeacher));
  const approx = term(x.approxLogits);
  const prob = term(x.studentScores);
  const context = mse(x.teacherContext, x.context);
  return { approx, prob, context, total: sea.add(sea.add(approx, prob), context) };
}

/** Mean cross-entropy of logits [..., V] against int32 labels [...]. */
export function crossEntropy(logits: Tensor, labels: Tensor): Tensor {
  const logp = sea.logSoftmax(logits);
  const picked = sea.takeAlong(logp, labels.reshape([...labels.shape, 1]));
  return sea.neg(sea.mean(picked));
}

/** Next-token cross-entropy of a causal LM: logits[:, :-1] against ids[:, 1:]. */
export function causalLmLoss(logits: Tensor, ids: Tensor): Tensor {
  const [B, T, V] = logits.shape;
  const l = sea.slice(logits, [0, 0, 0], [B, T - 1, V]);
  const y = sea.slice(ids, [0, 1], [B, T - 1]);
  return crossEntropy(l, y);
}

export interface ModelLossParts {
  ce: Tensor;
  /** Teacher and student hidden states (OPT: L+1, BERT: L+1), each [B, T, C]. */
  teacherHidden: readonly Tensor[];
  studentHidden: readonly Tensor[];
  teacherLogits: Tensor;
  studentLogits: Tensor;
  layers: readonly LayerLoss[];
}

export interface ModelLoss {
  total: Tensor;
  ce: Tensor;
  hidden: Tensor;
  logitsKl: Tensor;
  layer: Tensor;
  approx: Tensor;
  prob: Tensor;
  context: Tensor;
}

/** Weights of the model-level loss (docs/algorithm.md §9b). */
export const LOSS_WEIGHTS = {
  opt: { ce: 0.1, hidden: 5, kl: 0.2 },
  bert: { ce: 0.1, hidden: 10, kl: 0.1 },
} as const;

function meanOf(ts: readonly Tensor[]): Tensor {
  let s = ts[0];
  for (let i = 1; i < ts.length; i++) s = sea.add(s, ts[i]);
  return sea.div(s, ts.length);
}

/**
 * OPT: 0.1·CE + 5·mean_i MSE(h̃_i, h_i) + 0.2·KL(logits, batchmean over B·T rows) + mean_layers L_layer.
 * BERT: 0.1·CE + 10·mean_i MSE + 0.1·KL(logits, batchmean over B) + mean_layers L_layer.
 */
export function distillationLoss(kind: 'opt' | 'bert', p: ModelLossParts): ModelLoss {
  const w = LOSS_WEIGHTS[kind];
  const hidden = meanOf(p.teacherHidden.map((t, i) => mse(t, p.studentHidden[i])));
  const logitsKl = klBatchmean(p.teacherLogits, p.studentLogits);
  const zero = sea.mul(p.ce, 0);
  const layer = p.layers.length > 0 ? meanOf(p.layers.map((l) => l.total)) : zero;
  const approx = p.layers.length > 0 ? meanOf(p.layers.map((l) => l.approx)) : zero;
  const prob = p.layers.length > 0 ? meanOf(p.layers.map((l) => l.prob)) : zero;
  const context = p.layers.length > 0 ? meanOf(p.layers.map((l) => l.context)) : zero;
  const total = sea.add(
    sea.add(sea.mul(p.ce, w.ce), sea.mul(hidden, w.hidden)),
    sea.add(sea.mul(logitsKl, w.kl), layer),
  );
  return { total, ce: p.ce, hidden, logitsKl, layer, approx, prob, context };
}
