/**
 * The predictor's configuration, its derived sizes (docs/algorithm.md §4: c_s/c_h) and the named weights with
 * their shapes and the official checkpoint parameter each corresponds to.
 */

export interface PredictorConfig {
  /** OPT-style causal (learned position table, time-causal CNN) or BERT-style bidirectional. */
  causal: boolean;
  /** H */
  heads: number;
  /** D */
  headDim: number;
  /** K, the compressed width (`attention_predictor_length`). */
  predictorLength: number;
  /** Rows of the causal position table P (default 2048, OPT's max_position_embeddings). */
  maxPositions?: number;
}

export interface PredictorShape {
  causal: boolean;
  H: number;
  D: number;
  K: number;
  /** width reduction c_s: causal 4, bidirectional 2 */
  cs: number;
  /** channel expansion c_h: causal 2, bidirectional 4 */
  ch: number;
  /** CNN input width K/c_s */
  width: number;
  /** position table rows (causal), 0 for bidirectional */
  maxPositions: number;
}

export const DEFAULT_MAX_POSITIONS = 2048;

function positiveInt(what: string, v: unknown): asserts v is number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new RangeError(`predictor config: ${what} must be a positive integer, got ${String(v)}`);
  }
}

/** Validates a config and returns its derived sizes. */
export function predictorShape(config: PredictorConfig): PredictorShape {
  if (typeof config.causal !== 'boolean') {
    throw new TypeError(`predictor config: causal must be a boolean, got ${String(config.causal)}`);
  }
  positiveInt('heads', config.heads);
  positiveInt('headDim', config.headDim);
  positiveInt('predictorLength', config.predictorLength);
  const [cs, ch] = config.causal ? [4, 2] : [2, 4];
  const K = config.predictorLength;
  if (K % cs !== 0) {
    throw new RangeError(
      `predictor config: predictorLength ${K} must be a multiple of ${cs} (the ${config.causal ? 'causal' : 'bidirectional'} CNN works at width K/${cs}); try ${Math.max(cs, Math.round(K / cs) * cs)}`,
    );
  }
  let maxPositions = 0;
  if (config.causal) {
    maxPositions = config.maxPositions ?? DEFAULT_MAX_POSITIONS;
    positiveInt('maxPositions', maxPositions);
  } else if (config.maxPositions !== undefined) {
    throw new RangeError(
      'predictor config: maxPositions applies to the causal predictor only (bidirectional uses V_I)',
    );
  }
  return {
    causal: config.causal,
    H: config.heads,
    D: config.headDim,
    K,
    cs,
    ch,
    width: K / cs,
    maxPositions,
  };
}

export interface WeightSpec {
  /** Our weight name. */
  name: string;
  shape: number[];
  /** The parameter in the official PerlinAttention module (prefix `….perlin_self_attention.attention.`). */
  official: string;
  /** How PyTorch initializes it. */
  init:
    | { kind: 'uniform'; fanIn: number }
    | { kind: 'ones' }
    | { kind: 'zeros' }
    | { kind: 'normal' }
    | {
        kind: 'causalConv';
        fanIn: number;
      };
}

/** Every weight of the predictor, in a fixed order (the order initialization draws them). */
export function predictorWeightSpecs(config: PredictorConfig): WeightSpec[] {
  const s = predictorShape(config);
  const { H, D, K } = s;
  const specs: WeightSpec[] = [];
  const linear = (name: string, official: string, out: number, inp: number) => {
    specs.push({
      name: `${name}.weight`,
      shape: [out, inp],
      official: `${official}.weight`,
      init: { kind: 'uniform', fanIn: inp },
    });
    specs.push({
      name: `${name}.bias`,
      shape: [out],
      official: `${official}.bias`,
      init: { kind: 'uniform', fanIn: inp },
    });
  };
  const norm = (name: string, official: string, n: number) => {
    specs.push({
      name: `${name}.weight`,
      shape: [n],
      official: `${official}.weight`,
      init: { kind: 'ones' },
    });
    specs.push({ name: `${name}.bias`, shape: [n], official: `${official}.bias`, init: { kind: 'zeros' } });
  };
  const conv = (name: string, official: string, out: number, inp: number, kh: number, kw: number) => {
    const fanIn = inp * kh * kw;
    specs.push({
      name: `${name}.weight`,
      shape: [out, inp, kh, kw],
      official: `${official}.weight`,
      init: { kind: 'uniform', fanIn },
    });
    specs.push({
      name: `${name}.bias`,
      shape: [out],
      official: `${official}.bias`,
      init: { kind: 'uniform', fanIn },
    });
  };
  if (s.causal) {
    specs.push({
      name: 'position',
      shape: [s.maxPositions, D],
      official: 'v_eye_learned_causal',
      init: { kind: 'normal' },
    });
  }
  linear('encoder.linear', 'attention_predictor_enc.0', 2 * D, 3 * D);
  norm('encoder.norm', 'attention_predictor_enc.1', 2 * D);
  linear('scaler', 'attention_predictor_dec_scaler.0', 2, 2 * D);
  linear('nu', 'attention_predictor_dec_row.0', (s.ch * K) / s.cs, 2 * D);
  if (s.causal) {
    const C = 2 * H;
    const keep = 'attention_predictor_cnn.1.module.net';
    norm('cnn.norm_in', 'attention_predictor_cnn.0.module', s.width);
    for (const [name, idx] of [
      ['cnn.conv1', 0],
      ['cnn.conv2', 2],
    ] as const) {
      // stored 5×3 as CausalConv2d does; initialized as a 3×3 conv copied into the top three rows
      specs.push({
        name: `${name}.weight`,
        shape: [C, C, 5, 3],
        official: `${keep}.${idx}.module.weight`,
        init: { kind: 'causalConv', fanIn: C * 9 },
      });
      specs.push({
        name: `${name}.bias`,
        shape: [C],
        official: `${keep}.${idx}.module.bias`,
        init: { kind: 'uniform', fanIn: C * 9 },
      });
    }
    conv('cnn.conv_out', `${keep}.5.module`, H, C, 1, 1);
    norm('cnn.norm_out', 'attention_predictor_cnn.2.module', K);
  } else {
    const C = 4 * H;
    const keep = 'attention_predictor_cnn.0.net';
    conv('cnn.conv1', `${keep}.0`, C, C, 3, 3);
    conv('cnn.conv2', `${keep}.2`, C, C, 3, 3);
    conv('cnn.conv_out', `${keep}.5`, H, C, 3, 3);
  }
  return specs;
}

/** Number of stored predictor parameters per layer (docs/algorithm.md §4c: OPT-125m 191,070; BERT-base 105,006). */
export function predictorParameterCount(config: PredictorConfig, opts: { position?: boolean } = {}): number {
  return predictorWeightSpecs(config)
    .filter((w) => opts.position !== false || w.name !== 'position')
    .reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0);
}
