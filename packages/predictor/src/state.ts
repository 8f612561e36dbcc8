/**
 * Incremental (decoding) form of the causal estimator (docs/algorithm.md §3–§4a, §8 "Incremental decoding"): what
 * row t's Â logits and scalers need from the rows before it, and nothing more.
 * - the causal Performer's running sums over [V_I ; V] (@sea/linear-attention);
 * - the CNN's rolling windows: conv1 reads rows t−4, t−2, t of LN(Ẑ) and conv2 the same rows of
 *   ReLU(conv1), so the last 4 rows of each map are kept ([B, 2H, 4, K/4] each; rows before the
 *   sequence start are zero, as the conv's time padding is).
 * Everything else (position code, encoder, scalers, ν, the CNN's head) is row by row.
 */
import {
  CausalPerformerState,
  causalPerformerPrefill,
  causalPerformerStep,
  fusedDecodeSteps,
} from '@sea/linear-attention';
import {
  bytesPerElement,
  causalCnnStep,
  concat,
  conv2d,
  type DType,
  DTypeError,
  fmt,
  gather,
  isFloat,
  layerNorm,
  mul,
  ones,
  pad,
  relu,
  ShapeError,
  seaEncoderStep,
  sigmoid,
  slice,
  type Tensor,
  tensor,
  tidy,
} from '@sea/tensor';
import { causalCnnHead, causalConv, LAYER_NORM_EPS, widthMapIn } from './cnn.js';
import { type PredictorConfig, type PredictorShape, predictorShape } from './config.js';
import { type EstimateOutputs, encode } from './estimate.js';
import { positionCode } from './position.js';
import { checkPredictorWeights, type PredictorWeights } from './weights.js';

/** Rows of each CNN feature map the next row's receptive field reads (taps t−4, t−2). */
export const CNN_WINDOW = 4;

/** Per-step constants of the incremental estimator, built once per state (in the weights' dtype). */
interface StepConstants {
  /** ones [1, H, 1, 1]: broadcasts a position row over the heads. */
  headOnes: Tensor;
  /** The conv1/conv2 taps the causal CNN reads (the top 3×3 of each kernel). */
  taps1: Tensor;
  taps2: Tensor;
  /** The CNN head's width map [K, K/4 + 2]. */
  map: Tensor;
  /** The conv_out bias as the head's two edge columns, [B, H, 1, 1] (built per batch size). */
  edge: Tensor | null;
}

function stepConstants(s: PredictorShape, weights: PredictorWeights, dtype: DType): StepConstants {
  const backend = weights.position.backend;
  const C = 2 * s.H;
  return tidy(() => ({
    headOnes: ones([1, s.H, 1, 1], { backend, dtype }).keep(),
    taps1: slice(weights['cnn.conv1.weight'], [0, 0, 0, 0], [C, C, 3, 3]).keep(),
    taps2: slice(weights['cnn.conv2.weight'], [0, 0, 0, 0], [C, C, 3, 3]).keep(),
    map: tensor(widthMapIn(s.width, s.K, dtype), [s.K, s.width + 2], { backend, dtype }).keep(),
    edge: null,
  }));
}

function disposeConstants(c: StepConstants): void {
  c.headOnes.dispose();
  c.taps1.dispose();
  c.taps2.dispose();
  c.map.dispose();
  c.edge?.dispose();
}

/** Each state's per-step constants (built by the prefill; the edge columns by the first step). */
const CONSTANTS = new WeakMap<PredictorState, StepConstants>();

/** The causal estimator's decoding state for a batch; owns its tensors. */
export class PredictorState {
  constructor(
    readonly performer: CausalPerformerState,
    /** LN(Ẑ) rows t−4 … t−1 [B, 2H, 4, K/4] */
    public window0: Tensor,
    /** ReLU(conv1) rows t−4 … t−1 [B, 2H, 4, K/4] */
    public window1: Tensor,
  ) {}

  /** Bytes held on the backend: the running sums, the windows and the per-step constants. */
  bytes(): number {
    const c = CONSTANTS.get(this);
    const constants = c
      ? [c.headOnes, c.taps1, c.taps2, c.map, c.edge].reduce(
          (n, t) => n + (t ? t.size * bytesPerElement(t.dtype) : 0),
          0,
        )
      : 0;
    return (
      this.performer.bytes() +
      (this.window0.size + this.window1.size) * bytesPerElement(this.window0.dtype) +
      constants
    );
  }

  /** One state from per-sequence states along the batch axis (the inputs are disposed). */
  static concat(states: readonly PredictorState[]): PredictorState {
    if (states.length === 1) return states[0];
    const performer = CausalPerformerState.concat(states.map((s) => s.performer));
    const w0 = concat(
      states.map((s) => s.window0),
      0,
    ).keep();
    const w1 = concat(
      states.map((s) => s.window1),
      0,
    ).keep();
    // the constants do not depend on the sequence (the edge columns, sized by the batch, are rebuilt)
    const constants = CONSTANTS.get(states[0]);
    if (constants) {
      constants.edge?.dispose();
      constants.edge = null;
    }
    for (const [i, s] of states.entries()) {
      s.window0.dispose();
      s.window1.dispose();
      const own = CONSTANTS.get(s);
      if (i > 0 && own) disposeConstants(own);
      CONSTANTS.delete(s);
    }
    const out = new PredictorState(performer, w0, w1);
    if (constants) CONSTANTS.set(out, constants);
    return out;
  }

  dispose(): void {
    this.performer.dispose();
    this.window0.dispose();
    this.window1.dispose();
    const c = CONSTANTS.get(this);
    if (c) disposeConstants(c);
    CONSTANTS.delete(this);
  }
}

function checkCausal(op: string, config: PredictorConfig): PredictorShape {
  const s = predictorShape(config);
  if (!s.causal) throw new RangeError(`${op}: incremental estimation needs the causal predictor`);
  return s;
}

function checkRows(
  op: string,
  s: PredictorShape,
  x: Tensor,
  name: string,
  B: number,
  T: number,
  dtype: DType,
): void {
  if (x.rank !== 4 || x.shape[0] !== B || x.shape[1] !== s.H || x.shape[2] !== T || x.shape[3] !== s.D) {
    throw new ShapeError(`${op}: expected ${name} of shape [${B},${s.H},${T},${s.D}], got ${fmt(x.shape)}`);
  }
  if (!isFloat(x.dtype) || x.dtype !== dtype) {
    throw new DTypeError(`${op}: ${name} must be ${dtype} (the weights' dtype), got ${x.dtype}`);
  }
}

/** The last `n` rows of x [B, C, T, W], zero rows in front where T < n. */
function lastRows(x: Tensor, n: number): Tensor {
  const [B, C, T, W] = x.shape;
  if (T >= n) return slice(x, [0, 0, T - n, 0], [B, C, n, W]);
  return pad(
    x,
    [
      [0, 0],
      [0, 0],
      [n - T, 0],
      [0, 0],
    ],
    0,
  );
}

/**
 * The causal estimator over a whole prompt (no padding): the same outputs as `estimateAttention`
 * and the state after its last row. q, k, v [B, H, T, D] in the weights' float dtype.
 */
export function estimatePrefill(
  config: PredictorConfig,
  weights: PredictorWeights,
  inputs: { q: Tensor; k: Tensor; v: Tensor; projection: Tensor },
): { estimate: EstimateOutputs; state: PredictorState } {
  const s = checkCausal('estimatePrefill', config);
  checkPredictorWeights(config, weights);
  const { q, k, v, projection } = inputs;
  const [B, , T] = q.shape;
  for (const [x, n] of [
    [q, 'q'],
    [k, 'k'],
    [v, 'v'],
  ] as const)
    checkRows('estimatePrefill', s, x, n, B, T, weights.position.dtype);
  return tidy(() => {
    const vI = positionCode(config, weights, { batch: B, T });
    const vCat = concat([vI, v], -1);
    const perf = causalPerformerPrefill(q, k, vCat, projection);
    const { sProb, sMix, zHat } = encode(s, weights, perf.out, v);
    // the whole sequence through the CNN, as estimateAttention runs it
    let y = layerNorm(zHat, weights['cnn.norm_in.weight'], weights['cnn.norm_in.bias'], LAYER_NORM_EPS);
    const y0 = y;
    y = causalConv(s, weights, 'cnn.conv1', y, 4);
    const y1 = y;
    y = causalConv(s, weights, 'cnn.conv2', y, 4);
    const logits = causalCnnHead(s, weights, y);
    const window0 = lastRows(y0, CNN_WINDOW).keep();
    const window1 = lastRows(y1, CNN_WINDOW).keep();
    const state = new PredictorState(perf.state, window0, window1);
    CONSTANTS.set(state, stepConstants(s, weights, q.dtype));
    return { estimate: { logits, sProb, sMix }, state };
  });
}

/** Checks a step's inputs; the state's per-step constants (built on first use). */
function stepSetup(
  op: string,
  config: PredictorConfig,
  weights: PredictorWeights,
  state: PredictorState,
  inputs: { q: Tensor; k: Tensor; v: Tensor; positions: ArrayLike<number> },
): { s: PredictorShape; B: number; c: StepConstants } {
  const s = checkCausal(op, config);
  const { q, k, v, positions } = inputs;
  const B = state.window0.shape[0];
  for (const [x, n] of [
    [q, 'q'],
    [k, 'k'],
    [v, 'v'],
  ] as const)
    checkRows(op, s, x, n, B, 1, weights.position.dtype);
  if (positions.length !== B) throw new ShapeError(`${op}: expected ${B} positions, got ${positions.length}`);
  for (let b = 0; b < B; b++) {
    const p = positions[b];
    if (!Number.isInteger(p) || p < 0 || p >= s.maxPositions) {
      throw new RangeError(
        `${op}: position ${p} of sequence ${b} is outside the position table's ${s.maxPositions} rows (maxPositions)`,
      );
    }
  }
  let c = CONSTANTS.get(state);
  if (!c) {
    c = stepConstants(s, weights, weights.position.dtype);
    CONSTANTS.set(state, c);
  }
  return { s, B, c };
}

/** The position table's row at each position [B, 1, 1, D]. */
function positionRows(s: PredictorShape, table: Tensor, positions: ArrayLike<number>): Tensor {
  const B = positions.length;
  return B === 1
    ? slice(table, [positions[0], 0], [1, s.D]).reshape([1, 1, 1, s.D])
    : gather(
        table,
        tensor(Int32Array.from(positions), [B], { dtype: 'int32', backend: table.backend }),
      ).reshape([B, 1, 1, s.D]);
}

/** V_cat's row [B, H, 1, 2D] = [V_I row ; v]: the position table's row at each position, over the heads. */
function valueRow(
  s: PredictorShape,
  table: Tensor,
  c: StepConstants,
  v: Tensor,
  positions: ArrayLike<number>,
): Tensor {
  const rowsI = positionRows(s, table, positions);
  return concat([mul(rowsI, c.headOnes), v], -1);
}

/**
 * One new row per sequence through the step primitives (`performerStep`, `causalCnnStep`): q1, k1, v1
 * [B, H, 1, D] at absolute positions `positions` → Â logits [B, H, 1, K] and the scaler's outputs
 * before the sigmoid [B, H, 1, 2] (s_prob, s_mix = σ of them), which `seaDecodeAttention` takes; the
 * state moves on by one row.
 */
export function estimateStepLogits(
  config: PredictorConfig,
  weights: PredictorWeights,
  state: PredictorState,
  inputs: { q: Tensor; k: Tensor; v: Tensor; projection: Tensor; positions: ArrayLike<number> },
): { logits: Tensor; scalers: Tensor } {
  const { s, B, c } = stepSetup('estimateStep', config, weights, state, inputs);
  const { q, k, v, projection, positions } = inputs;
  const next = tidy(() => {
    // V_cat = [V_I ; V]: the position table's row, shared by the heads, is the Performer's value prefix
    const cPerf = causalPerformerStep(state.performer, q, k, v, projection, {
      table: weights.position,
      rows: positions,
    });
    // the encoder of docs/algorithm.md §4 on one row, one step primitive: Linear, LN, GELU, the scaler
    // (before its sigmoid) and ν
    const en = seaEncoderStep(
      cPerf,
      v,
      {
        encoder: weights['encoder.linear.weight'],
        encoderBias: weights['encoder.linear.bias'],
        normGamma: weights['encoder.norm.weight'],
        normBeta: weights['encoder.norm.bias'],
        scaler: weights['scaler.weight'],
        scalerBias: weights['scaler.bias'],
        nu: weights['nu.weight'],
        nuBias: weights['nu.bias'],
      },
      LAYER_NORM_EPS,
    );
    const scalers = en.scales;
    const zHat = en.x.reshape([B, s.H * s.ch, 1, s.width]);
    const r = causalCnnStep(
      zHat,
      state.window0,
      state.window1,
      {
        normInGamma: weights['cnn.norm_in.weight'],
        normInBeta: weights['cnn.norm_in.bias'],
        conv1: c.taps1,
        conv1Bias: weights['cnn.conv1.bias'],
        conv2: c.taps2,
        conv2Bias: weights['cnn.conv2.bias'],
        convOut: weights['cnn.conv_out.weight'].reshape([s.H, 2 * s.H]),
        convOutBias: weights['cnn.conv_out.bias'],
        map: c.map,
        normOutGamma: weights['cnn.norm_out.weight'],
        normOutBeta: weights['cnn.norm_out.bias'],
      },
      LAYER_NORM_EPS,
    );
    return { logits: r.logits, scalers, window0: r.win0.keep(), window1: r.win1.keep() };
  });
  state.window0.dispose();
  state.window1.dispose();
  state.window0 = next.window0;
  state.window1 = next.window1;
  return { logits: next.logits, scalers: next.scalers };
}

/**
 * One new row per sequence: q1, k1, v1 [B, H, 1, D] at absolute positions `positions` (one per
 * sequence: the number of rows before it) → Â logits [B, H, 1, K] and the scalers [B, H, 1]; the
 * state moves on by one row. Runs the step primitives (`estimateStepLogits`) unless
 * `setFusedDecodeSteps(false)` selected the composed ops.
 */
export function estimateStep(
  config: PredictorConfig,
  weights: PredictorWeights,
  state: PredictorState,
  inputs: { q: Tensor; k: Tensor; v: Tensor; projection: Tensor; positions: ArrayLike<number> },
): EstimateOutputs {
  if (fusedDecodeSteps()) {
    const { logits, scalers } = estimateStepLogits(config, weights, state, inputs);
    const [B, H] = logits.shape;
    return tidy(() => {
      const sc = sigmoid(scalers);
      scalers.dispose();
      return {
        logits,
        sProb: slice(sc, [0, 0, 0, 0], [B, H, 1, 1]).reshape([B, H, 1]),
        sMix: slice(sc, [0, 0, 0, 1], [B, H, 1, 1]).reshape([B, H, 1]),
      };
    });
  }
  const { s, B, c } = stepSetup('estimateStep', config, weights, state, inputs);
  const { q, k, v, projection, positions } = inputs;
  const table = weights.position;
  if (c.edge?.shape[0] !== B) {
    c.edge?.dispose();
    c.edge = tidy(() =>
      mul(
        ones([B, s.H, 1, 1], { backend: table.backend, dtype: table.dtype }),
        weights['cnn.conv_out.bias'].reshape([1, s.H, 1, 1]),
      ).keep(),
    );
  }
  const edge = c.edge;
  const next = tidy(() => {
    const vCat = valueRow(s, table, c, v, positions);
    const cPerf = causalPerformerStep(state.performer, q, k, vCat, projection);
    const { sProb, sMix, zHat } = encode(s, weights, cPerf, v);
    const x0 = layerNorm(zHat, weights['cnn.norm_in.weight'], weights['cnn.norm_in.bias'], LAYER_NORM_EPS);
    const in0 = concat([state.window0, x0], 2); // rows t−4 … t
    const x1 = relu(conv2d(in0, c.taps1, weights['cnn.conv1.bias'], { dilation: 2, padding: [0, 0, 2, 2] }));
    const in1 = concat([state.window1, x1], 2);
    const x2 = relu(conv2d(in1, c.taps2, weights['cnn.conv2.bias'], { dilation: 2, padding: [0, 0, 2, 2] }));
    const logits = causalCnnHead(s, weights, x2, { edge, map: c.map });
    const shape = [B, 2 * s.H, CNN_WINDOW, s.width];
    const window0 = slice(in0, [0, 0, 1, 0], shape).keep();
    const window1 = slice(in1, [0, 0, 1, 0], shape).keep();
    return { logits, sProb, sMix, window0, window1 };
  });
  state.window0.dispose();
  state.window1.dispose();
  state.window0 = next.window0;
  state.window1 = next.window1;
  return { logits: next.logits, sProb: next.sProb, sMix: next.sMix };
}
