// A tiny peaked OPT teacher and text sampled from it, so that the student starts with a low CE and
// the distillation terms (from swapping in SEA attention) dominate the loss.
import * as sea from '@sea/tensor';
import { denseAttention, type OptConfig, optForward, randomOptWeights, type Weights } from '../index.js';

export const tinyCfg: OptConfig = {
  vocabSize: 64,
  hidden: 32,
  layers: 2,
  heads: 2,
  ffn: 64,
  maxPositions: 64,
  eps: 1e-5,
};

export function tinyTeacher(seed: number): Weights {
  const w = randomOptWeights(tinyCfg, seed);
  const rng = new sea.Rng(seed + 100);
  const scale = (name: string, std: number) => {
    const t = w[name];
    w[name] = sea.tensor(rng.fillNormal(new Float32Array(t.size), 0, std), t.shape).keep();
    t.dispose();
  };
  scale('model.decoder.embed_tokens.weight', 0.6);
  for (let i = 0; i < tinyCfg.layers; i++) {
    for (const n of ['q_proj', 'k_proj']) scale(`model.decoder.layers.${i}.self_attn.${n}.weight`, 0.4);
  }
  return w;
}

/** Sequences of length t sampled from the teacher (exact ancestral sampling, t parallel passes). */
export function sampleTokens(w: Weights, sequences: number, t: number, seed: number): Int32Array {
  const rng = new sea.Rng(seed);
  const u = Float64Array.from({ length: sequences * t }, () => rng.uniform());
  const ids = Int32Array.from({ length: sequences * t }, () => rng.int(tinyCfg.vocabSize));
  const V = tinyCfg.vocabSize;
  for (let pass = 0; pass < t - 1; pass++) {
    const p = sea.tidy(() => {
      const x = sea.tensor(ids, [sequences, t], { dtype: 'int32' });
      return sea.softmax(optForward(tinyCfg, w, x, denseAttention).logits).dataSync() as Float32Array;
    });
    for (let s = 0; s < sequences; s++) {
      for (let i = 0; i < t - 1; i++) {
        const row = (s * t + i) * V;
        let acc = 0;
        let pick = V - 1;
        for (let v = 0; v < V; v++) {
          acc += p[row + v];
          if (u[s * t + i + 1] < acc) {
            pick = v;
            break;
          }
        }
        ids[s * t + i + 1] = pick;
      }
    }
  }
  return ids;
}
