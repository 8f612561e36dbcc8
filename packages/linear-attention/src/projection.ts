/**
 * Host-side setup of the Performer: the feature count and the orthogonal random projection
 * (docs/algorithm.md §3, "orthogonal random features"). Plain JS in float64; the result is uploaded once.
 */
import type { Rng } from '@sea/tensor';

/** m = ⌊D·ln(D)/nbf⌋ (docs/algorithm.md §3): D=64 gives 266 (nbf 1) or 33 (nbf 8); D=80, nbf 8 gives 43. */
export function performerFeatureCount(headDim: number, nbFeatureFactor: number): number {
  if (!Number.isInteger(headDim) || headDim < 2) {
    throw new RangeError(`performerFeatureCount: head dim must be an integer ≥ 2, got ${headDim}`);
  }
  if (!(nbFeatureFactor > 0) || !Number.isFinite(nbFeatureFactor)) {
    throw new RangeError(
      `performerFeatureCount: nb feature factor must be a positive number, got ${nbFeatureFactor}`,
    );
  }
  const m = Math.floor((headDim * Math.log(headDim)) / nbFeatureFactor);
  if (m < 1) {
    throw new RangeError(
      `performerFeatureCount: D=${headDim} with nbf=${nbFeatureFactor} gives no features; lower the factor`,
    );
  }
  return m;
}

/**
 * Q factor of a QR decomposition of the n×n matrix `a` (row-major, float64) by Householder
 * reflections, with the signs fixed so that diag(R) > 0 (then Q of a Gaussian matrix is Haar).
 * Returns Q row-major.
 */
export function qrQ(a: Float64Array, n: number): Float64Array {
  const r = Float64Array.from(a);
  const q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  const u = new Float64Array(n);
  for (let c = 0; c < n - 1; c++) {
    let norm = 0;
    for (let i = c; i < n; i++) norm += r[i * n + c] * r[i * n + c];
    norm = Math.sqrt(norm);
    if (norm === 0) continue;
    const alpha = r[c * n + c] > 0 ? -norm : norm;
    let uNorm = 0;
    for (let i = c; i < n; i++) {
      u[i] = r[i * n + c] - (i === c ? alpha : 0);
      uNorm += u[i] * u[i];
    }
    if (uNorm === 0) continue;
    // R ← (I − 2uuᵀ/uᵀu)·R on rows c.., Q ← Q·(I − 2uuᵀ/uᵀu) on columns c..
    for (let j = 0; j < n; j++) {
      let dot = 0;
      for (let i = c; i < n; i++) dot += u[i] * r[i * n + j];
      const f = (2 * dot) / uNorm;
      for (let i = c; i < n; i++) r[i * n + j] -= f * u[i];
    }
    for (let i = 0; i < n; i++) {
      let dot = 0;
      for (let l = c; l < n; l++) dot += q[i * n + l] * u[l];
      const f = (2 * dot) / uNorm;
      for (let l = c; l < n; l++) q[i * n + l] -= f * u[l];
    }
  }
  for (let j = 0; j < n; j++) {
    if (r[j * n + j] < 0) for (let i = 0; i < n; i++) q[i * n + j] = -q[i * n + j];
  }
  return q;
}

/**
 * The Performer projection W [m, D] (row-major float32): ⌊m/D⌋ full blocks and a partial block of
 * the first m mod D rows, each block Qᵀ of the QR of a D×D standard Gaussian matrix; row r is then
 * scaled by the norm of a fresh D-dim standard Gaussian vector (performer-pytorch `scaling=0`).
 * Draws, in order: one D×D Gaussian per block, then m·D Gaussians for the row norms.
 */
export function orthogonalRandomProjection(m: number, headDim: number, rng: Rng): Float32Array {
  const D = headDim;
  if (!Number.isInteger(m) || m < 1)
    throw new RangeError(`orthogonalRandomProjection: m must be a positive integer, got ${m}`);
  if (!Number.isInteger(D) || D < 1) {
    throw new RangeError(`orthogonalRandomProjection: D must be a positive integer, got ${D}`);
  }
  const w = new Float64Array(m * D);
  const blocks = Math.ceil(m / D);
  const g = new Float64Array(D * D);
  for (let blk = 0; blk < blocks; blk++) {
    rng.fillNormal(g);
    const q = qrQ(g, D);
    const rows = Math.min(D, m - blk * D);
    for (let r = 0; r < rows; r++) {
      // row r of Qᵀ is column r of Q
      for (let c = 0; c < D; c++) w[(blk * D + r) * D + c] = q[c * D + r];
    }
  }
  const out = new Float32Array(m * D);
  for (let r = 0; r < m; r++) {
    let s = 0;
    for (let c = 0; c < D; c++) {
      const x = rng.normal();
      s += x * x;
    }
    const scale = Math.sqrt(s);
    for (let c = 0; c < D; c++) out[r * D + c] = w[r * D + c] * scale;
  }
  return out;
}
