/**
 * Float64 definitions the suite compares against, written from the mathematics (not from any
 * backend's kernels).
 */

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/**
 * erf in float64 to a few ulps. |x| < 3: the series erf(x) = 2/√π·e^(−x²)·Σ 2ⁿx^(2n+1)/(1·3·…·(2n+1)),
 * whose terms are all positive (no cancellation). |x| ≥ 3: 1 − erfc(x), erfc by its continued fraction
 * erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …))))), evaluated bottom-up.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const ax = Math.abs(x);
  if (ax < 3) {
    const x2 = ax * ax;
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= (2 * x2) / (2 * n + 1);
      sum += term;
      if (term < sum * 1e-18) break;
    }
    return Math.sign(x) * TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
  }
  if (ax > 27) return Math.sign(x);
  let f = ax;
  for (let n = 120; n >= 1; n--) f = ax + n / 2 / f;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

/** PyTorch `round`: nearest integer, halves to even. */
export function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

export function geluErf(x: number): number {
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}

export function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
}

/** Cell bounds of docs/algorithm.md §6: a_m = ⌊m·L/K + ½⌋, computed exactly in integers. */
export function cellStart(m: number, rowLen: number, cells: number): number {
  return Math.floor((2 * m * rowLen + cells) / (2 * cells));
}
