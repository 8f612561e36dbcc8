/**
 * Colour maps shared by the page and the CLI's PNG writer: viridis (perceptually uniform, readable
 * in grey, monotone in lightness, so a colour maps back to one value) and the value → [0,1] scales.
 */

export type Rgb = readonly [number, number, number];

/** How a value becomes a position on the colour map. */
export type ColourScale = 'linear' | 'sqrt';

/** Cells outside the causal triangle (key j > query t): no value exists there. */
export const HIDDEN_RGB: Rgb = [230, 230, 230];

// Polynomial fit of matplotlib's viridis (6th degree per channel); within 4/255 of the table.
const C: readonly Rgb[] = [
  [0.2777273272234177, 0.005407344544966578, 0.3340998053353061],
  [0.1050930431085774, 1.404613529898575, 1.384590162594685],
  [-0.3308618287255563, 0.214847559468213, 0.09509516302823659],
  [-4.634230498983486, -5.799100973351585, -19.33244095627987],
  [6.228269936347081, 14.17993336680509, 56.69055260068105],
  [4.776384997670288, -13.74514537774601, -65.35303263337234],
  [-5.435455855934631, 4.645852612178535, 26.3124352495832],
];

function viridisExact(u: number): Rgb {
  const out = [0, 0, 0];
  for (let ch = 0; ch < 3; ch++) {
    let v = C[6][ch];
    for (let i = 5; i >= 0; i--) v = C[i][ch] + u * v;
    out[ch] = Math.round(Math.min(1, Math.max(0, v)) * 255);
  }
  return out as unknown as Rgb;
}

/** 256 entries; entry i is the colour of u = i/255. */
export const VIRIDIS: readonly Rgb[] = Array.from({ length: 256 }, (_, i) => viridisExact(i / 255));

/** Colour of u ∈ [0,1] (clamped; NaN → 0). */
export function viridis(u: number): Rgb {
  const x = Number.isFinite(u) ? Math.min(1, Math.max(0, u)) : 0;
  return VIRIDIS[Math.round(x * 255)];
}

/** Position of `value` on the map: linear v/max or sqrt(v/max) (spreads small attention weights). */
export function toUnit(value: number, max: number, scale: ColourScale): number {
  if (!(max > 0)) return 0;
  const u = Math.min(1, Math.max(0, value / max));
  return scale === 'sqrt' ? Math.sqrt(u) : u;
}

/** Inverse of toUnit. */
export function fromUnit(u: number, max: number, scale: ColourScale): number {
  return (scale === 'sqrt' ? u * u : u) * max;
}

/** The map position whose colour is nearest to `rgb` (squared distance over the 256 entries). */
export function invertViridis(rgb: ArrayLike<number>): { u: number; distance: number } {
  let best = 0;
  let bestD = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 256; i++) {
    const c = VIRIDIS[i];
    const d = (c[0] - rgb[0]) ** 2 + (c[1] - rgb[1]) ** 2 + (c[2] - rgb[2]) ** 2;
    if (d < bestD) {
      bestD = d;
      best = i;
    }
  }
  return { u: best / 255, distance: Math.sqrt(bestD) };
}

/** Up to `count` round tick values in [0, max], with their positions on the map. */
export function ticks(max: number, scale: ColourScale, count = 5): { value: number; u: number }[] {
  if (!(max > 0)) return [{ value: 0, u: 0 }];
  const raw = max / Math.max(1, count - 1);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: { value: number; u: number }[] = [];
  for (let v = 0; v <= max * (1 + 1e-9); v += step) out.push({ value: v, u: toUnit(v, max, scale) });
  if (scale === 'sqrt' && out.length < count) {
    // sqrt squeezes the top ticks together; add a small one where the scale is stretched
    const small = max / 16;
    out.splice(1, 0, { value: small, u: toUnit(small, max, scale) });
  }
  return out;
}

/** Short tick label: 0, 0.25, 0.012, 3.1e-4. */
export function formatValue(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1000 || a < 0.001) return v.toExponential(1).replace('e', 'e');
  return String(Number(v.toPrecision(3)));
}
