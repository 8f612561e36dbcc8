/** A small SVG line chart (axes, ticks, legend) of loss curves, written by hand. */
export interface Series {
  name: string;
  points: readonly (readonly [number, number])[];
}

/** Ten distinct colours (matplotlib's tab10) and ten marker shapes: series i gets colour i and marker i. */
const COLORS = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
  '#7f7f7f',
  '#bcbd22',
];
const MARKERS = [
  'circle',
  'square',
  'triangle',
  'diamond',
  'down',
  'plus',
  'cross',
  'star',
  'pentagon',
  'hexagon',
];

/** SVG element of marker `kind` centred at (x, y). */
function marker(kind: string, x: number, y: number, c: string): string {
  const r = 3.5;
  const poly = (n: number, rot: number, rr = r * 1.15) =>
    Array.from({ length: n }, (_, k) => {
      const a = rot + (2 * Math.PI * k) / n;
      return `${(x + rr * Math.cos(a)).toFixed(1)},${(y + rr * Math.sin(a)).toFixed(1)}`;
    }).join(' ');
  const filled = `fill="${c}" stroke="${c}"`;
  switch (kind) {
    case 'circle':
      return `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${r}" ${filled}/>`;
    case 'square':
      return `<rect x="${(x - r).toFixed(1)}" y="${(y - r).toFixed(1)}" width="${2 * r}" height="${2 * r}" ${filled}/>`;
    case 'triangle':
      return `<polygon points="${poly(3, -Math.PI / 2)}" ${filled}/>`;
    case 'down':
      return `<polygon points="${poly(3, Math.PI / 2)}" ${filled}/>`;
    case 'diamond':
      return `<polygon points="${poly(4, 0)}" ${filled}/>`;
    case 'pentagon':
      return `<polygon points="${poly(5, -Math.PI / 2)}" ${filled}/>`;
    case 'hexagon':
      return `<polygon points="${poly(6, 0)}" ${filled}/>`;
    case 'plus':
      return `<path d="M${x - r},${y}H${x + r}M${x},${y - r}V${y + r}" stroke="${c}" stroke-width="2" fill="none"/>`;
    case 'cross':
      return `<path d="M${x - r},${y - r}L${x + r},${y + r}M${x - r},${y + r}L${x + r},${y - r}" stroke="${c}" stroke-width="2" fill="none"/>`;
    default: {
      const pts = Array.from({ length: 10 }, (_, k) => {
        const a = -Math.PI / 2 + (Math.PI * k) / 5;
        const rr = k % 2 ? r * 0.55 : r * 1.4;
        return `${(x + rr * Math.cos(a)).toFixed(1)},${(y + rr * Math.sin(a)).toFixed(1)}`;
      }).join(' ');
      return `<polygon points="${pts}" ${filled}/>`;
    }
  }
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function ticks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-12 * step; v += step)
    out.push(Number(v.toPrecision(12)));
  return out;
}

/** Line chart of `series` (x = step); `logY` plots log10 of positive values. */
export function lineChartSvg(
  series: readonly Series[],
  opts: { title?: string; logY?: boolean; xLabel?: string; yLabel?: string } = {},
): string {
  const W = 720;
  const H = 420;
  const m = { l: 70, r: 170, t: 36, b: 48 };
  const fy = (y: number) => (opts.logY ? Math.log10(Math.max(y, 1e-30)) : y);
  const pts = series.flatMap((s) => s.points.filter(([, y]) => Number.isFinite(y)));
  const xs = pts.map(([x]) => x);
  const ys = pts.map(([, y]) => fy(y));
  let [x0, x1] = [Math.min(...xs, 0), Math.max(...xs, 1)];
  let [y0, y1] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const pad = (y1 - y0) * 0.05;
  [y0, y1] = [y0 - pad, y1 + pad];
  void x0;
  x0 = Math.min(...xs, 0);
  const px = (x: number) => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const py = (y: number) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  if (opts.title)
    out.push(`<text x="${m.l}" y="20" font-size="14" font-weight="bold">${esc(opts.title)}</text>`);
  out.push(`<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="black"/>`);
  out.push(`<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="black"/>`);
  for (const t of ticks(x0, x1)) {
    out.push(`<line x1="${px(t)}" y1="${H - m.b}" x2="${px(t)}" y2="${H - m.b + 5}" stroke="black"/>`);
    out.push(`<text x="${px(t)}" y="${H - m.b + 18}" text-anchor="middle">${t}</text>`);
  }
  for (const t of ticks(y0, y1)) {
    const label = opts.logY ? `1e${t}` : `${Number(t.toPrecision(4))}`;
    out.push(`<line x1="${m.l - 5}" y1="${py(t)}" x2="${W - m.r}" y2="${py(t)}" stroke="#ddd"/>`);
    out.push(`<text x="${m.l - 8}" y="${py(t) + 4}" text-anchor="end">${label}</text>`);
  }
  out.push(
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 10}" text-anchor="middle">${esc(opts.xLabel ?? 'step')}</text>`,
  );
  out.push(
    `<text transform="translate(16 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel ?? (opts.logY ? 'loss (log scale)' : 'loss'))}</text>`,
  );
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    const mk = MARKERS[i % MARKERS.length];
    const finite = s.points.filter(([, y]) => Number.isFinite(y));
    const d = finite
      .map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${px(x).toFixed(1)},${py(fy(y)).toFixed(1)}`)
      .join(' ');
    if (d) out.push(`<path d="${d}" fill="none" stroke="${c}" stroke-width="1.5"/>`);
    // markers on at most 24 points, offset per series so that overlapping curves stay apart
    const every = Math.max(1, Math.ceil(finite.length / 24));
    finite.forEach(([x, y], j) => {
      if ((j + i) % every === 0 || j === finite.length - 1) out.push(marker(mk, px(x), py(fy(y)), c));
    });
    const ly = m.t + 8 + i * 18;
    out.push(
      `<line x1="${W - m.r + 12}" y1="${ly}" x2="${W - m.r + 36}" y2="${ly}" stroke="${c}" stroke-width="2"/>`,
    );
    out.push(marker(mk, W - m.r + 24, ly, c));
    out.push(`<text x="${W - m.r + 42}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
