import { attention, tensor } from '@sea/tensor';
import { assertClose } from '../check.js';
import { bools, normal, rngFor } from '../data.js';
import type { SuiteContext } from '../suite.js';

/**
 * softmax(scale·q·kᵀ + mask)·v in float64, row by row: key j is visible to query t when valid[b,j]
 * and (causal) j ≤ t; a row with no visible key is zeros. Also returns Σ p|v| per output (its scale).
 */
function attentionRef(
  q: Float64Array,
  k: Float64Array,
  v: Float64Array,
  valid: Float64Array | null,
  [B, H, Tq, Tk, D, E]: number[],
  scale: number,
  causal: boolean,
): { out: Float64Array; mag: Float64Array } {
  const out = new Float64Array(B * H * Tq * E);
  const mag = new Float64Array(out.length);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const bh = b * H + h;
      for (let t = 0; t < Tq; t++) {
        const s: number[] = [];
        for (let j = 0; j < Tk; j++) {
          if ((causal && j > t) || (valid && !valid[b * Tk + j])) {
            s.push(Number.NEGATIVE_INFINITY);
            continue;
          }
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[(bh * Tq + t) * D + d] * k[(bh * Tk + j) * D + d];
          s.push(dot * scale);
        }
        const m = Math.max(...s);
        if (m === Number.NEGATIVE_INFINITY) continue;
        const p = s.map((x) => Math.exp(x - m));
        const sum = p.reduce((a, x) => a + x, 0);
        for (let e = 0; e < E; e++) {
          let acc = 0;
          let am = 0;
          for (let j = 0; j < Tk; j++) {
            const w = v[(bh * Tk + j) * E + e];
            acc += p[j] * w;
            am += p[j] * Math.abs(w);
          }
          out[(bh * Tq + t) * E + e] = acc / sum;
          mag[(bh * Tq + t) * E + e] = am / sum;
        }
      }
    }
  }
  return { out, mag };
}

/**
 * The `attention` op: a backend's fused kernel where it has the capability, the composition
 * (matmul, masked softmax, matmul) elsewhere; either must match the float64 definition.
 */
export function registerAttention(s: SuiteContext): void {
  s.group('attention', 'attention (fused capability or composition)', (test) => {
    // [B, H, Tq, Tk, D, E], causal, keyValid (fraction of valid keys, 0 = none given), scale
    const cases: [number[], boolean, number, number][] = [
      [[1, 2, 5, 5, 8, 8], true, 0, 0.35],
      [[2, 3, 7, 9, 12, 12], false, 0.6, 0.3],
      [[2, 2, 70, 70, 64, 64], true, 0, 0.125],
      [[2, 2, 70, 70, 64, 64], true, 0.7, 1],
      [[1, 3, 130, 130, 64, 64], false, 0.8, 0.125],
      [[1, 1, 3, 6, 20, 20], true, 0, 0.25],
      [[2, 1, 6, 6, 5, 7], true, 0.5, 0.4],
      [[1, 2, 1, 1, 16, 16], true, 0, 0.25],
      // one query over many keys (decoding), and few query blocks over many keys: backends may split
      // the keys over blocks and merge the partial softmaxes; causal blocks past the diagonal of a
      // split see no key at all
      [[1, 2, 1, 700, 64, 64], false, 0.9, 0.125],
      [[1, 2, 300, 300, 64, 64], true, 0, 0.125],
      [[1, 2, 3, 300, 6, 6], false, 0.5, 0.5],
    ];
    for (const dtype of s.floatDTypes) {
      for (const [dims, causal, pValid, scale] of cases) {
        const [B, H, Tq, Tk, D, E] = dims;
        const title = `${dtype} q[${B},${H},${Tq},${D}] k[..,${Tk},${D}] v[..,${E}]${causal ? ' causal' : ''}${pValid ? ` keyValid ${pValid}` : ''} ×${scale}`;
        test(title, async ({ backend, tol }) => {
          const rng = rngFor(title);
          const qv = normal(rng, [B, H, Tq, D], dtype);
          const kv = normal(rng, [B, H, Tk, D], dtype);
          const vv = normal(rng, [B, H, Tk, E], dtype);
          const valid = pValid ? bools(rng, [B, Tk], pValid) : null;
          if (valid && causal) valid[0] = 0; // row 0 of batch 0 sees no key: zeros
          // a batch element with no valid key at all: zeros
          if (valid && !causal && B > 1) for (let j = 0; j < Tk; j++) valid[(B - 1) * Tk + j] = 0;
          const out = attention(
            tensor(qv, [B, H, Tq, D], { backend, dtype }),
            tensor(kv, [B, H, Tk, D], { backend, dtype }),
            tensor(vv, [B, H, Tk, E], { backend, dtype }),
            {
              scale,
              causal,
              keyValid: valid ? tensor(valid, [B, Tk], { backend, dtype: 'bool' }) : null,
            },
          );
          const want = attentionRef(qv, kv, vv, valid, dims, scale, causal);
          const shape = [B, H, Tq, E];
          if (out.shape.join() !== shape.join()) throw new Error(`${title}: got shape [${out.shape}]`);
          assertClose(await out.data(), want.out, tol(dtype, 'softmax', 10), title, shape, want.mag);
        });
      }
      // layout 'bthd': the same definition, heads after time in the inputs and the output
      for (const [dims, causal, pValid, scale] of [
        cases[1],
        cases[3],
        cases[4],
        cases[6],
        cases[8],
        cases[9],
      ]) {
        const [B, H, Tq, Tk, D, E] = dims;
        const title = `${dtype} bthd q[${B},${Tq},${H},${D}] k[${B},${Tk},${H},${D}] v[..,${E}]${causal ? ' causal' : ''}${pValid ? ` keyValid ${pValid}` : ''} ×${scale}`;
        test(title, async ({ backend, tol }) => {
          const rng = rngFor(title);
          const qv = normal(rng, [B, H, Tq, D], dtype);
          const kv = normal(rng, [B, H, Tk, D], dtype);
          const vv = normal(rng, [B, H, Tk, E], dtype);
          const valid = pValid ? bools(rng, [B, Tk], pValid) : null;
          if (valid && causal) valid[0] = 0;
          const out = attention(
            tensor(swapHT(qv, B, H, Tq, D), [B, Tq, H, D], { backend, dtype }),
            tensor(swapHT(kv, B, H, Tk, D), [B, Tk, H, D], { backend, dtype }),
            tensor(swapHT(vv, B, H, Tk, E), [B, Tk, H, E], { backend, dtype }),
            {
              scale,
              causal,
              layout: 'bthd',
              keyValid: valid ? tensor(valid, [B, Tk], { backend, dtype: 'bool' }) : null,
            },
          );
          const want = attentionRef(qv, kv, vv, valid, dims, scale, causal);
          const shape = [B, Tq, H, E];
          if (out.shape.join() !== shape.join()) throw new Error(`${title}: got shape [${out.shape}]`);
          assertClose(
            await out.data(),
            swapHT(want.out, B, H, Tq, E),
            tol(dtype, 'softmax', 10),
            title,
            shape,
            swapHT(want.mag, B, H, Tq, E),
          );
        });
      }
    }
  });
}

/** [B,H,T,N] → [B,T,H,N]. */
function swapHT(x: Float64Array, B: number, H: number, T: number, N: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let t = 0; t < T; t++)
        for (let n = 0; n < N; n++) out[((b * T + t) * H + h) * N + n] = x[((b * H + h) * T + t) * N + n];
  return out;
}
