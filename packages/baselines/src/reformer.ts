/**
 * Reformer's LSH attention (Kitaev et al. 2020) as the SEA paper's baseline runs it: the official
 * repository's OPT and BERT adapters call reformer_pytorch's `LSHAttention` with shared query-key
 * (keys are the queries, L2-normalised), `bucket_size` = the SEA k, `n_hashes` = 8, causal for OPT, no
 * dropout, the sequence padded to a multiple of 2·bucket_size (padded keys masked). Per hash round
 * the queries are hashed by a random rotation (argmax over [xR, −xR]), sorted by (bucket, position),
 * cut into chunks of bucket_size, and each chunk attends to itself and the chunk before it
 * (look-one-back); masked scores are −finfo.max, a query's own key −5e4 (used only when nothing else
 * is visible); the rounds are combined by a softmax over their log-normalisers. Scores are
 * (q·k̂)·D^-½ on the q the model passes (OPT's q is already scaled by D^-½, as in the official run).
 *
 * The hashing and sorting run on the host (indices are not differentiated, like SEA's mask); the
 * differentiable part is gathers of host-known rows (`gatherRows`), matmuls and softmax arithmetic
 * over @sea/tensor ops. The rotations
 * are drawn from (seed, number of buckets), so a forward is deterministic (activation checkpointing
 * recomputes it exactly); reformer_pytorch redraws them every call.
 */

import type { AttentionForwardOptions, AttentionModule, AttentionOutput } from '@sea/sparse-attention';
import type { Tensor } from '@sea/tensor';
import * as sea from '@sea/tensor';
import { wrap } from '@sea/tensor/backend';
import { isRecording, recordOp, setTape } from '@sea/tensor/internal';

/**
 * sea.gather(table, rows) with the rows known on the host. Under a tape it is one recorded
 * 'gatherRows' op carrying the rows, whose gradient (@sea/train) adds dy's rows per table row by
 * occurrence (a few gathers: each row is read once per hash round, or twice with look-one-back)
 * instead of gather's one-hot product over every table row.
 */
function gatherRows(table: Tensor, rows: Int32Array): Tensor {
  const backend = table.backend;
  const gather = () =>
    sea.tidy(() => sea.gather(table, sea.tensor(rows, [rows.length], { dtype: 'int32', backend })));
  if (!isRecording()) return gather();
  const prev = setTape(null);
  let out: Tensor;
  try {
    out = gather();
  } finally {
    setTape(prev);
  }
  return recordOp('gatherRows', [table], out, { rows });
}

export interface ReformerConfig {
  causal: boolean;
  heads: number;
  headDim: number;
  /** Keys per chunk (the official runs: the SEA k). */
  bucketSize: number;
  /** Hash rounds (official: 8). */
  nHashes: number;
}

/** reformer_pytorch's TOKEN_SELF_ATTN_VALUE: the score of a query's own key. */
export const TOKEN_SELF_ATTN_VALUE = -5e4;
/** −finfo(float32).max, the masked score. */
const MASKED = -3.4028234663852886e38;

function positiveInt(name: string, v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 1) {
    throw new RangeError(`ReformerAttention: ${name} must be a positive integer, got ${String(v)}`);
  }
  return v as number;
}

/** The host-side plan of one forward: sort order, chunk gathers, masks. */
interface LshPlan {
  /** Rows of the flattened [BH·TP, D] input each sorted position reads, [BH·nh·TP]. */
  sortedRows: Int32Array;
  /** Rows each chunk's keys read (the chunk, then the one before it), [BH·C·2bs]. */
  keyRows: Int32Array;
  /** Where each (bh, round, token) landed in the sorted order, [BH·nh·TP] (rows of [BH·C·bs]). */
  undo: Int32Array;
  /** The token of each sorted position, [BH·nh·TP] (the chunk masks are made from it on the device). */
  tokens: Int32Array;
}

export class ReformerAttention implements AttentionModule {
  readonly kind = 'reformer' as const;
  readonly weights: Record<string, Tensor> = {};

  constructor(
    readonly config: ReformerConfig,
    readonly seed = 0,
  ) {
    positiveInt('heads', config.heads);
    positiveInt('headDim', config.headDim);
    positiveInt('bucketSize', config.bucketSize);
    positiveInt('nHashes', config.nHashes);
  }

  parameterCount(): number {
    return 0;
  }

  /** Random rotations [D, nHashes, nBuckets/2] for `nBuckets` buckets, from (seed, nBuckets). */
  rotations(nBuckets: number): Float64Array {
    const { headDim: D, nHashes } = this.config;
    const rng = new sea.Rng((Math.imul(this.seed + 1, 0x9e3779b1) ^ Math.imul(nBuckets, 0x85ebca6b)) >>> 0);
    const r = new Float64Array(D * nHashes * (nBuckets / 2));
    rng.fillNormal(r, 0, 1);
    return r;
  }

  /**
   * Hashes, sorts and chunks (reformer_pytorch's LSHAttention order), on the host. `buckets`: each
   * (bh, t, round)'s bucket within its round, [BH·TP·nHashes], when the device hashed already (then
   * `q` is not read).
   */
  plan(
    q: Float32Array | Float64Array | null,
    BH: number,
    T: number,
    TP: number,
    buckets?: Int32Array,
  ): LshPlan {
    const { headDim: D, nHashes: nh, bucketSize: bs } = this.config;
    const nb = TP / bs;
    const C = nh * nb;
    const half = nb / 2;
    const R = buckets ? null : this.rotations(nb);
    const sortedRows = new Int32Array(BH * nh * TP);
    const keyRows = new Int32Array(BH * C * 2 * bs);
    const undo = new Int32Array(BH * nh * TP);
    const tokens = new Int32Array(BH * nh * TP);
    const keys = new Float64Array(nh * TP);
    const order = new Int32Array(nh * TP);
    const st = new Int32Array(nh * TP);
    const rot = new Float64Array(half);
    for (let bh = 0; bh < BH; bh++) {
      for (let t = 0; t < TP; t++) {
        if (buckets) {
          for (let h = 0; h < nh; h++) keys[h * TP + t] = TP * (buckets[(bh * TP + t) * nh + h] + h * nb) + t;
          continue;
        }
        const x = t < T && q ? q.subarray((bh * T + t) * D, (bh * T + t + 1) * D) : null;
        for (let h = 0; h < nh; h++) {
          for (let i = 0; i < half; i++) {
            let s = 0;
            if (x && R) for (let f = 0; f < D; f++) s += x[f] * R[(f * nh + h) * half + i];
            rot[i] = s;
          }
          // argmax over [xR, −xR]: the first maximum wins, as torch.argmax
          let best = 0;
          let bestV = Number.NEGATIVE_INFINITY;
          for (let i = 0; i < half; i++) {
            if (rot[i] > bestV) {
              bestV = rot[i];
              best = i;
            }
          }
          for (let i = 0; i < half; i++) {
            if (-rot[i] > bestV) {
              bestV = -rot[i];
              best = half + i;
            }
          }
          const bucket = best + h * nb;
          // sort key TP·bucket + t (ties impossible: t differs within a round)
          keys[h * TP + t] = TP * bucket + t;
        }
      }
      for (let i = 0; i < nh * TP; i++) order[i] = i;
      order.sort((a, c) => keys[a] - keys[c]);
      for (let i = 0; i < nh * TP; i++) {
        st[i] = order[i] % TP;
        sortedRows[bh * nh * TP + i] = bh * TP + st[i];
        tokens[bh * nh * TP + i] = st[i];
        // sorted position i of (bh) holds (round, token) order[i]
        undo[bh * nh * TP + order[i]] = bh * C * bs + i;
      }
      for (let c = 0; c < C; c++) {
        const prev = (c + C - 1) % C;
        for (let j = 0; j < 2 * bs; j++) {
          const pos = j < bs ? c * bs + j : prev * bs + (j - bs);
          keyRows[(bh * C + c) * 2 * bs + j] = bh * TP + st[pos];
        }
      }
    }
    return { sortedRows, keyRows, undo, tokens };
  }

  async forward(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    opts: AttentionForwardOptions = {},
  ): Promise<AttentionOutput> {
    void k; // shared query-key attention: the keys are the (normalised) queries
    const { heads: H, headDim: D, bucketSize: bs, nHashes: nh } = this.config;
    if (q.rank !== 4 || q.shape[1] !== H || q.shape[3] !== D) {
      throw new RangeError(`ReformerAttention: q must be [B, ${H}, T, ${D}], got [${q.shape}]`);
    }
    if (v.rank !== 4 || v.shape.some((d, i) => d !== q.shape[i])) {
      throw new RangeError(`ReformerAttention: v [${v.shape}] must match q [${q.shape}]`);
    }
    if (opts.layout === 'bthd') throw new RangeError("ReformerAttention: takes layout 'bhtd' only");
    const [B, , T] = q.shape;
    const BH = B * H;
    const unit = 2 * bs;
    const TP = Math.ceil(T / unit) * unit;
    let valid: Uint8Array | null = null;
    if (opts.keyValid) {
      if (opts.keyValid.rank !== 2 || opts.keyValid.shape[0] !== B || opts.keyValid.shape[1] !== T) {
        throw new RangeError(
          `ReformerAttention: keyValid must be [${B}, ${T}], got [${opts.keyValid.shape}]`,
        );
      }
      valid = Uint8Array.from((await opts.keyValid.data()) as ArrayLike<number>, (x) => (x ? 1 : 0));
    }
    // the hashing on the device: rotations as one GEMM (float32 or float64 sums), argmax over
    // [xR, −xR] (the first maximum, as torch.argmax); only the buckets come back to the host
    const nb = TP / bs;
    const bucketsT = sea.tidy(() => {
      const dt = q.dtype === 'float64' ? 'float64' : 'float32';
      const x0 = q.dtype === dt ? q : sea.cast(q, dt);
      const x = (
        TP === T
          ? x0
          : sea.pad(x0, [
              [0, 0],
              [0, 0],
              [0, TP - T],
              [0, 0],
            ])
      ).reshape([BH * TP, D]);
      const R = this.rotations(nb);
      const rot = sea
        .matmul(
          x,
          sea.tensor(dt === 'float64' ? R : Float32Array.from(R), [D, nh * (nb / 2)], {
            dtype: dt,
            backend: q.backend,
          }),
        )
        .reshape([BH * TP, nh, nb / 2]);
      return sea.argmax(sea.concat([rot, sea.neg(rot)], 2), -1);
    });
    const buckets = Int32Array.from((await bucketsT.data()) as Int32Array);
    bucketsT.dispose();
    const p = this.plan(null, BH, T, TP, buckets);
    const C = nh * (TP / bs);
    const backend = q.backend;
    const { causal } = this.config;
    const NT = nh * TP;
    // each chunk's keys: its own bs positions, then the previous chunk's (cyclically)
    const keyPos = new Int32Array(C * 2 * bs);
    for (let c = 0; c < C; c++) {
      const prev = (c + C - 1) % C;
      for (let j = 0; j < 2 * bs; j++) keyPos[c * 2 * bs + j] = j < bs ? c * bs + j : prev * bs + (j - bs);
    }
    // key validity per (bh, padded token): 1 for a real, valid key
    const validBH = new Int32Array(BH * TP);
    for (let bh = 0; bh < BH; bh++) {
      const b = Math.floor(bh / H);
      for (let t = 0; t < T; t++) validBH[bh * TP + t] = valid === null || valid[b * T + t] ? 1 : 0;
    }
    const context = sea.tidy(() => {
      const padT = (x: Tensor) =>
        TP === T
          ? x
          : sea.pad(x, [
              [0, 0],
              [0, 0],
              [0, TP - T],
              [0, 0],
            ]);
      const qf = padT(q).reshape([BH * TP, D]);
      const vf = padT(v).reshape([BH * TP, D]);
      const norm = sea.maximum(sea.sqrt(sea.sum(sea.square(qf), -1, true)), 1e-12);
      const kf = sea.div(qf, norm);
      const bq = gatherRows(qf, p.sortedRows).reshape([BH, C, bs, D]);
      const bk = gatherRows(kf, p.keyRows).reshape([BH, C, 2 * bs, D]);
      const bv = gatherRows(vf, p.keyRows).reshape([BH, C, 2 * bs, D]);
      let dots = sea.mul(sea.matmul(bq, bk, { transB: true }), D ** -0.5);
      // the chunk masks from the sorted tokens, on the device: a query's own key is −5e4; a padded
      // query, a padded or invalid key, or (causal) a later key is masked
      const i32 = (a: Int32Array, shape: number[]) => sea.tensor(a, shape, { dtype: 'int32', backend });
      const tok = i32(p.tokens, [BH, NT]);
      const spread = sea.add(i32(keyPos, [1, C * 2 * bs]), sea.zeros([BH, 1], { dtype: 'int32', backend }));
      const tkFlat = sea.takeAlong(tok, spread); // [BH, C·2bs]
      const tq = tok.reshape([BH, C, bs, 1]);
      const tk = tkFlat.reshape([BH, C, 1, 2 * bs]);
      const keyOk = sea.takeAlong(i32(validBH, [BH, TP]), tkFlat).reshape([BH, C, 1, 2 * bs]);
      let hidden = sea.logicalOr(sea.greaterEqual(tq, T), sea.equal(keyOk, 0));
      if (causal) hidden = sea.logicalOr(hidden, sea.less(tq, tk));
      const self = sea.equal(tq, tk);
      dots = sea.where(sea.logicalAnd(hidden, sea.logicalNot(self)), MASKED, dots);
      dots = sea.where(self, TOKEN_SELF_ATTN_VALUE, dots);
      // log-sum-exp over the chunk's keys, shifted by the (constant) row maximum
      const m = wrap(backend, sea.max(dots, -1, true));
      const lse = sea.add(sea.log(sea.sum(sea.exp(sea.sub(dots, m)), -1, true)), m);
      const probs = sea.exp(sea.sub(dots, lse));
      const bo = sea.matmul(probs, bv).reshape([BH * C * bs, D]);
      const o = gatherRows(bo, p.undo).reshape([BH, nh, TP, D]);
      const logits = gatherRows(lse.reshape([BH * C * bs, 1]), p.undo).reshape([BH, nh, TP]);
      // the rounds weighted by softmax over their log-normalisers
      const w = sea
        .transpose(sea.softmax(sea.transpose(logits, [0, 2, 1])), [0, 2, 1])
        .reshape([BH, nh, TP, 1]);
      let out = sea.sum(sea.mul(o, w), 1); // [BH, TP, D]
      if (TP !== T) out = sea.slice(out, [0, 0, 0], [BH, T, D]);
      return sea.transpose(out.reshape([B, H, T, D]), [0, 2, 1, 3]).reshape([B, T, H * D]);
    });
    return { context };
  }

  dispose(): void {}
}
