/**
 * Every matrix the explorer draws for (model, text, layer, k), computed on any backend; the page
 * and Node (the CLI's attention-map, the tests) both use it.
 *
 * The chosen layer's q, k, v come from @sea/opt's OptForCausalLM on the model's weights with
 * exact (dense) attention in every layer (the teacher's view, which is what SEA is distilled to
 * match), through the transformer skeleton's `onLayer` hook, stopping after that layer.
 * On those q, k, v the module runs:
 *   exact attention softmax(q·kᵀ + causal) (q already × D^-1/2, as in OPT),
 *   the SEA estimator (@sea/predictor: Performer + CNN) → Â [H,T,K], s_prob, s_mix,
 *   Â stretched to T×T (nearest, as in the L_approx target),
 *   grouped top-k̂ (causal-per-batch) and the FlatCSR stretch (@sea/mask) → the sparse mask,
 *   SDDMM, per-head softmax × s_prob, SpMM (@sea/tensor's CSR kernels) → A* and the context.
 * The estimate is cached per (text, layer, K, nbf, seed): changing k re-runs only the last two steps.
 */

import { PROJECTION_WEIGHT } from '@sea/linear-attention';
import { FP_MIN, groupedTopK, rowLengthArray, stretchEstimate, stretchToCsr } from '@sea/mask';
import type { OptForCausalLM } from '@sea/opt';
import { estimateAttention, type PredictorConfig } from '@sea/predictor';
import { estimateProbs, globalContext, mixContext, SeaAttention } from '@sea/sparse-attention';
import {
  type Backend,
  type CsrMatrix,
  csrSddmm,
  csrSoftmax,
  csrSpmm,
  matmul,
  softmax,
  type Tensor,
  tensor,
  tidy,
} from '@sea/tensor';
import { type ExplorerModel, optModelOf, storedSeaShape } from './model.js';

/** SEA estimator settings; used only when the checkpoint has no SEA weights for the layer. */
export interface SeaSettings {
  /** K, the compressed width (a multiple of 4 for causal models). */
  predictorLength: number;
  /** m = ⌊D·ln D / nbf⌋ Performer features. */
  nbFeatureFactor: number;
  /** Fresh SEA weights for layer L use seed + L, as @sea/opt does. */
  seed: number;
}

/** Defaults sized for short texts: K = 64 so cells are a few keys wide, not the paper's 256. */
export const EXPLORER_SEA: SeaSettings = { predictorLength: 64, nbFeatureFactor: 8, seed: 0 };

export interface ExploreRequest {
  /** Token ids (BOS included when wanted). */
  ids: ArrayLike<number>;
  layer: number;
  /** Sparse budget k: keys per query per head on average. */
  k: number;
  sea?: Partial<SeaSettings>;
  /** Also return q, k, v [H,T,D] (tests). */
  returnQkv?: boolean;
}

export interface StepReport {
  step: string;
  /** Wall time of the step's kernels, synchronised (readback for drawing not included). */
  ms: number;
  /** backend.memory().bytes after the step (model weights included). */
  liveBytes: number;
  /** Highest bytes above the step's start while it ran (peakBytes − bytes at the start). */
  peakExtraBytes: number;
  /** Served from the cache this run (numbers are from when it ran). */
  cached: boolean;
}

export interface AttentionMaps {
  backend: string;
  layer: number;
  /** Tokens T, heads H, head dim D, compressed width K, budget k. */
  T: number;
  H: number;
  D: number;
  K: number;
  k: number;
  ids: Int32Array;
  /** Where the SEA weights came from. */
  seaWeights: string;
  /** Exact attention [H,T,T] (0 above the diagonal). */
  exact: Float32Array;
  /** Â [H,T,K]. */
  estimate: Float32Array;
  /** Â stretched to [H,T,T] (each cell's value over its keys; 0 past t). */
  estimateStretched: Float32Array;
  /** Selected compressed cells [H,T,K] (1 = kept). */
  cells: Uint8Array;
  /** The sparse mask [H,T,T] (1 = key attended). */
  mask: Uint8Array;
  /** A* = s_prob · softmax over the mask [H,T,T] (0 off the mask). */
  sparse: Float32Array;
  /** Keys of head h over all keys of row t [T,H]. */
  budgetShare: Float32Array;
  /** Keys per row over all heads [T]. */
  rowKeys: Int32Array;
  /** Exact attention mass inside the mask [H,T]. */
  coverage: Float32Array;
  /** [H,T] */
  sProb: Float32Array;
  /** [H,T] */
  sMix: Float32Array;
  /** SEA's output for the layer, s_mix·A*V + (1−s_mix)·C_avg [T, H·D]. */
  context: Float32Array;
  /** Stored entries of the FlatCSR mask. */
  nnz: number;
  steps: StepReport[];
  qkv?: { q: Float32Array; k: Float32Array; v: Float32Array };
}

interface Stage {
  key: string;
  T: number;
  q: Tensor;
  k: Tensor;
  v: Tensor;
  exact: Float32Array;
  qkvHost?: { q: Float32Array; k: Float32Array; v: Float32Array };
  steps: StepReport[];
}

interface EstimateStage {
  key: string;
  K: number;
  source: string;
  probs: Tensor;
  sProb: Tensor;
  sMix: Tensor;
  cAvg: Tensor;
  estimate: Float32Array;
  stretched: Float32Array;
  sProbHost: Float32Array;
  sMixHost: Float32Array;
  steps: StepReport[];
}

/** Runs the explorer's steps on one model and backend, caching what a change of k does not touch. */
export class AttentionExplorer {
  private opt: Promise<OptForCausalLM> | null = null;
  private readonly seaModules = new Map<string, SeaAttention>();
  private stage: Stage | null = null;
  private est: EstimateStage | null = null;

  constructor(
    readonly model: ExplorerModel,
    readonly backend: Backend,
  ) {}

  get config() {
    return this.model.config;
  }

  async run(req: ExploreRequest): Promise<AttentionMaps> {
    const c = this.config;
    const H = c.numAttentionHeads;
    const D = c.hiddenSize / H;
    const ids = Int32Array.from(req.ids as ArrayLike<number>);
    const T = ids.length;
    if (T < 1) throw new Error('the text has no tokens');
    if (T > c.maxPositionEmbeddings)
      throw new Error(`${T} tokens exceed max_position_embeddings ${c.maxPositionEmbeddings}`);
    for (const id of ids)
      if (!(id >= 0 && id < c.vocabSize))
        throw new Error(`token id ${id} is outside the vocabulary (${c.vocabSize})`);
    if (!(Number.isInteger(req.layer) && req.layer >= 0 && req.layer < c.numHiddenLayers))
      throw new Error(`layer must be an integer in [0, ${c.numHiddenLayers - 1}], got ${req.layer}`);
    if (!(Number.isInteger(req.k) && req.k >= 1))
      throw new Error(`k must be a positive integer, got ${req.k}`);
    const sea = { ...EXPLORER_SEA, ...req.sea };

    const stageKey = `${req.layer}|${ids.join(',')}`;
    let stageCached = true;
    if (this.stage?.key !== stageKey || (req.returnQkv && !this.stage.qkvHost)) {
      this.dropEstimate();
      this.dropStage();
      this.stage = await this.runStage(stageKey, ids, req.layer, !!req.returnQkv);
      stageCached = false;
    }
    const stage = this.stage;
    const estKey = `${stageKey}|${sea.predictorLength}|${sea.nbFeatureFactor}|${sea.seed}`;
    let estCached = stageCached;
    if (this.est?.key !== estKey) {
      this.dropEstimate();
      this.est = await this.runEstimate(estKey, stage, req.layer, sea);
      estCached = false;
    }
    const est = this.est as EstimateStage;
    const sel = await this.runSelection(stage, est, req.k, H);
    const mark = (s: StepReport[], cached: boolean) => s.map((r) => ({ ...r, cached }));
    const maps: AttentionMaps = {
      backend: this.backend.name,
      layer: req.layer,
      T,
      H,
      D,
      K: est.K,
      k: req.k,
      ids,
      seaWeights: est.source,
      exact: stage.exact,
      estimate: est.estimate,
      estimateStretched: est.stretched,
      sProb: est.sProbHost,
      sMix: est.sMixHost,
      ...sel.maps,
      steps: [...mark(stage.steps, stageCached), ...mark(est.steps, estCached), ...sel.steps],
    };
    if (stage.qkvHost) maps.qkv = stage.qkvHost;
    return maps;
  }

  /** Frees every tensor this explorer uploaded or cached. */
  dispose(): void {
    this.dropEstimate();
    this.dropStage();
    for (const m of this.seaModules.values()) m.dispose();
    this.seaModules.clear();
    const opt = this.opt;
    this.opt = null;
    void opt?.then((m) => m.dispose());
  }

  private dropStage(): void {
    if (!this.stage) return;
    for (const t of [this.stage.q, this.stage.k, this.stage.v]) t.dispose();
    this.stage = null;
  }

  private dropEstimate(): void {
    if (!this.est) return;
    for (const t of [this.est.probs, this.est.sProb, this.est.sMix, this.est.cAvg]) t.dispose();
    this.est = null;
  }

  /** The model on the backend with dense attention (built once). */
  private optModel(): Promise<OptForCausalLM> {
    if (!this.opt) this.opt = optModelOf(this.model, this.backend);
    return this.opt;
  }

  private async step<R>(name: string, steps: StepReport[], fn: () => R | Promise<R>): Promise<R> {
    const b = this.backend;
    await b.sync();
    b.resetPeak();
    const start = b.memory().bytes;
    const t0 = performance.now();
    const out = await fn();
    await b.sync();
    const ms = performance.now() - t0;
    const m = b.memory();
    steps.push({
      step: name,
      ms,
      liveBytes: m.bytes,
      peakExtraBytes: Math.max(0, m.peakBytes - start),
      cached: false,
    });
    return out;
  }

  private async runStage(key: string, ids: Int32Array, layer: number, wantQkv: boolean): Promise<Stage> {
    const backend = this.backend;
    const T = ids.length;
    const steps: StepReport[] = [];
    const model = await this.optModel();
    const before =
      layer === 0
        ? 'after the embeddings'
        : `after the embeddings and ${layer === 1 ? 'layer 0' : `layers 0…${layer - 1}`} (exact attention)`;
    const qkv = await this.step(`q, k, v projections (layer ${layer}, ${before})`, steps, async () => {
      let out: { q: Tensor; k: Tensor; v: Tensor } | undefined;
      const run = await model.forwardLayers([Array.from(ids)], {
        stopAfterLayer: layer,
        onLayer: (i, view) => {
          if (i === layer) out = { q: view.q.keep(), k: view.k.keep(), v: view.v.keep() };
        },
      });
      run.hidden.dispose();
      if (!out) throw new Error(`layer ${layer} did not run`);
      return out;
    });
    const causal = new Float32Array(T * T);
    for (let t = 0; t < T; t++) causal.fill(FP_MIN, t * T + t + 1, t * T + T);
    const probs = await this.step('exact attention softmax(q·kᵀ) (T×T)', steps, () =>
      tidy(() => softmax(matmul(qkv.q, qkv.k, { transB: true }), tensor(causal, [1, 1, T, T], { backend }))),
    );
    const exact = (await probs.data()) as Float32Array;
    probs.dispose();
    const stage: Stage = { key, T, q: qkv.q, k: qkv.k, v: qkv.v, exact, steps };
    if (wantQkv) {
      stage.qkvHost = {
        q: (await qkv.q.data()) as Float32Array,
        k: (await qkv.k.data()) as Float32Array,
        v: (await qkv.v.data()) as Float32Array,
      };
    }
    return stage;
  }

  /** The layer's SEA module: its checkpoint weights when the model file has them, else fresh from the seed. */
  private seaModule(layer: number, sea: SeaSettings): { module: SeaAttention; source: string } {
    const c = this.config;
    const H = c.numAttentionHeads;
    const prefix = `model.decoder.layers.${layer}.self_attn.sea.`;
    const names = this.model.weights.names().filter((n) => n.startsWith(prefix));
    const config = {
      causal: true,
      heads: H,
      headDim: c.hiddenSize / H,
      predictorLength: sea.predictorLength,
      k: 1,
      nbFeatureFactor: sea.nbFeatureFactor,
      maxPositions: c.maxPositionEmbeddings,
      scoreScale: 1,
    };
    const key = names.length
      ? `ckpt|${layer}`
      : `${layer}|${sea.predictorLength}|${sea.nbFeatureFactor}|${sea.seed}`;
    let module = this.seaModules.get(key);
    if (!module) {
      if (names.length) {
        const weights: Record<string, Tensor> = {};
        for (const n of names) {
          const ws = this.model.weights;
          weights[n.slice(prefix.length)] = tensor(ws.values(n), ws.shape(n), {
            backend: this.backend,
          }).keep();
        }
        // K, m and the position table follow the stored weights, not the request
        Object.assign(
          config,
          storedSeaShape((n) => weights[n]?.shape, config.headDim),
        );
        if (weights.position) config.maxPositions = weights.position.shape[0];
        module = SeaAttention.fromWeights(config, weights);
      } else {
        module = SeaAttention.create(config, { seed: sea.seed + layer, backend: this.backend });
      }
      this.seaModules.set(key, module);
    }
    return {
      module,
      source: names.length
        ? `trained, from the checkpoint (layer ${layer})`
        : `RANDOM (untrained predictor, seed ${sea.seed + layer}): the estimate shows the mechanics, not a learned pattern`,
    };
  }

  private async runEstimate(
    key: string,
    stage: Stage,
    layer: number,
    sea: SeaSettings,
  ): Promise<EstimateStage> {
    const { module, source } = this.seaModule(layer, sea);
    const cfg = module.config;
    const pc: PredictorConfig = {
      causal: true,
      heads: cfg.heads,
      headDim: cfg.headDim,
      predictorLength: cfg.predictorLength,
      maxPositions: cfg.maxPositions ?? this.config.maxPositionEmbeddings,
    };
    const T = stage.T;
    const steps: StepReport[] = [];
    const est = await this.step('SEA estimate Â (Performer + CNN, T×K)', steps, () => {
      const e = estimateAttention(pc, module.weights, {
        q: stage.q,
        k: stage.k,
        v: stage.v,
        projection: module.weights[PROJECTION_WEIGHT],
      });
      const probs = estimateProbs(e.logits, undefined);
      e.logits.dispose();
      return { probs, sProb: e.sProb, sMix: e.sMix };
    });
    const rowLen = rowLengthArray(1, T, true);
    const stretchedT = await this.step('Â stretched to T×T (for display)', steps, () =>
      stretchEstimate(est.probs, rowLen, { keys: T, fill: 0 }),
    );
    const cAvg = await this.step('global context C_avg (running mean of v)', steps, () =>
      globalContext(stage.v, est.probs, true, undefined),
    );
    const stretched = (await stretchedT.data()) as Float32Array;
    stretchedT.dispose();
    return {
      key,
      K: cfg.predictorLength,
      source,
      probs: est.probs,
      sProb: est.sProb,
      sMix: est.sMix,
      cAvg,
      estimate: (await est.probs.data()) as Float32Array,
      stretched,
      sProbHost: (await est.sProb.data()) as Float32Array,
      sMixHost: (await est.sMix.data()) as Float32Array,
      steps,
    };
  }

  private async runSelection(stage: Stage, est: EstimateStage, k: number, H: number) {
    const T = stage.T;
    const K = est.K;
    const backend = this.backend;
    const steps: StepReport[] = [];
    const rowLen = tensor(rowLengthArray(1, T, true), [1, T], { dtype: 'int32', backend });
    let csr: CsrMatrix | null = null;
    try {
      const selected = await this.step(`grouped top-k̂ + stretch to FlatCSR (k = ${k})`, steps, async () => {
        const cellMask = groupedTopK(est.probs, { mode: 'causal_batch', k, causal: true, layout: 'bthk' });
        try {
          const m = await stretchToCsr(cellMask, rowLen, { k, keys: T, layout: 'bthk' });
          return { cellMask, csr: m };
        } catch (e) {
          cellMask.dispose();
          throw e;
        }
      });
      csr = selected.csr;
      const cellsBthk = (await selected.cellMask.data()) as Uint8Array;
      selected.cellMask.dispose();
      const live = csr;
      const out = await this.step('sparse attention: SDDMM, softmax × s_prob, SpMM', steps, () =>
        tidy(() => {
          const scores = csrSddmm(live, stage.q, stage.k, 1);
          const probs = csrSoftmax(live, scores, est.sProb);
          const local = csrSpmm(live, probs, stage.v);
          return { probs, context: mixContext(local, est.cAvg, est.sMix) };
        }),
      );
      const vals = (await out.probs.data()) as Float32Array;
      const context = (await out.context.data()) as Float32Array;
      out.probs.dispose();
      out.context.dispose();
      const crow = (await csr.crow.data()) as Int32Array;
      const col = (await csr.col.data()) as Int32Array;
      const mask = new Uint8Array(H * T * T);
      const sparse = new Float32Array(H * T * T);
      const budgetShare = new Float32Array(T * H);
      const rowKeys = new Int32Array(T);
      const coverage = new Float32Array(H * T);
      for (let t = 0; t < T; t++) {
        const n = crow[t + 1] - crow[t];
        rowKeys[t] = n;
        for (let z = crow[t]; z < crow[t + 1]; z++) {
          const h = Math.floor(col[z] / T);
          const j = col[z] - h * T;
          const o = (h * T + t) * T + j;
          mask[o] = 1;
          sparse[o] = vals[z];
          budgetShare[t * H + h] += 1 / n;
          coverage[h * T + t] += stage.exact[o];
        }
      }
      const cells = new Uint8Array(H * T * K);
      for (let t = 0; t < T; t++)
        for (let h = 0; h < H; h++)
          for (let m = 0; m < K; m++) cells[(h * T + t) * K + m] = cellsBthk[(t * H + h) * K + m];
      return {
        steps,
        maps: { cells, mask, sparse, budgetShare, rowKeys, coverage, context, nnz: csr.nnz[0] },
      };
    } finally {
      csr?.dispose();
      rowLen.dispose();
    }
  }
}
