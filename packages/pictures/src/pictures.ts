/**
 * The pictures of one head: each matrix with its colour scale, as RGBA rasters. The page draws
 * `heatmapImage` into canvases; the CLI writes `figureImage` (title, matrix, colour bar with ticks)
 * as PNG. Both colour a cell the same way (`cellRgb`), so a drawn pixel maps back to its value.
 */
import {
  type ColourScale,
  formatValue,
  HIDDEN_RGB,
  type Rgb,
  ticks,
  toUnit,
  VIRIDIS,
  viridis,
} from './colormap.js';
import type { AttentionMaps } from './pipeline.js';
import {
  blit,
  createImage,
  drawText,
  fillRect,
  type Rgba,
  strokeRect,
  textHeight,
  textWidth,
} from './raster.js';

export type PictureId = 'exact' | 'estimate' | 'cells' | 'estimate-stretched' | 'mask' | 'sparse' | 'budget';

export interface MatrixPicture {
  id: PictureId;
  title: string;
  /** One line on what the picture shows. */
  caption: string;
  rows: number;
  cols: number;
  rowLabel: string;
  colLabel: string;
  /** rows·cols values, row-major. */
  values: Float32Array;
  /** 1 where the cell has a value (the causal triangle); absent = all. */
  visible?: Uint8Array;
  /** 'binary' pictures are 0/1 masks (kept = top of the map). */
  kind: 'continuous' | 'binary';
  scale: ColourScale;
  /** Value at the top of the colour map. */
  max: number;
  /** A column to outline (the chosen head in the budget picture). */
  highlightCol?: number;
}

function headSlice(a: Float32Array | Uint8Array, head: number, rows: number, cols: number): Float32Array {
  return Float32Array.from(a.subarray(head * rows * cols, (head + 1) * rows * cols));
}

function causalVisible(T: number): Uint8Array {
  const v = new Uint8Array(T * T);
  for (let t = 0; t < T; t++) v.fill(1, t * T, t * T + t + 1);
  return v;
}

function maxOf(values: Float32Array, visible?: Uint8Array): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) if ((!visible || visible[i]) && values[i] > m) m = values[i];
  return m;
}

/** The pictures of `head`, in the page's order. */
export function picturesOf(maps: AttentionMaps, head: number): MatrixPicture[] {
  const { T, H, K, k } = maps;
  if (!(Number.isInteger(head) && head >= 0 && head < H))
    throw new Error(`head must be an integer in [0, ${H - 1}], got ${head}`);
  const vis = causalVisible(T);
  const cont = (
    id: PictureId,
    title: string,
    caption: string,
    values: Float32Array,
    cols: number,
    visible: Uint8Array | undefined,
  ): MatrixPicture => ({
    id,
    title,
    caption,
    rows: T,
    cols,
    rowLabel: 'query t',
    colLabel: cols === K && id !== 'budget' ? 'cell m' : 'key j',
    values,
    visible,
    kind: 'continuous',
    scale: 'sqrt',
    max: maxOf(values, visible),
  });
  const exact = headSlice(maps.exact, head, T, T);
  const est = headSlice(maps.estimate, head, T, K);
  const stretched = headSlice(maps.estimateStretched, head, T, T);
  const sparse = headSlice(maps.sparse, head, T, T);
  return [
    cont('exact', 'Exact attention', 'softmax(q·kᵀ) over every key j ≤ t (dense, O(T²))', exact, T, vis),
    cont(
      'estimate',
      'SEA estimate Â (T×K)',
      `Performer + CNN, softmax over K = ${K} compressed cells`,
      est,
      K,
      undefined,
    ),
    {
      id: 'cells',
      title: `Selected cells (k = ${k})`,
      caption: `grouped top-k̂ per query row over all ${H} heads' cells (causal-per-batch)`,
      rows: T,
      cols: K,
      rowLabel: 'query t',
      colLabel: 'cell m',
      values: headSlice(maps.cells, head, T, K),
      kind: 'binary',
      scale: 'linear',
      max: 1,
    },
    cont(
      'estimate-stretched',
      'Â stretched to T×T',
      "each cell's value over its keys: cells tile [0, t] uniformly",
      stretched,
      T,
      vis,
    ),
    {
      id: 'mask',
      title: `Sparse mask (k = ${k})`,
      caption: 'the selected cells stretched to keys (FlatCSR), at most k keys per cell',
      rows: T,
      cols: T,
      rowLabel: 'query t',
      colLabel: 'key j',
      values: headSlice(maps.mask, head, T, T),
      visible: vis,
      kind: 'binary',
      scale: 'linear',
      max: 1,
    },
    cont('sparse', 'Sparse attention A*', 's_prob · softmax(q·kᵀ) over the mask only', sparse, T, vis),
    {
      id: 'budget',
      title: "Per-head share of each row's keys",
      caption: `keys of head h / keys of row t over all heads (about ${H}·k per row); head ${head} outlined`,
      rows: T,
      cols: H,
      rowLabel: 'query t',
      colLabel: 'head h',
      values: Float32Array.from(maps.budgetShare),
      kind: 'continuous',
      scale: 'linear',
      max: 1,
      highlightCol: head,
    },
  ];
}

/** Colour of one cell. */
export function cellRgb(p: MatrixPicture, r: number, c: number): Rgb {
  const i = r * p.cols + c;
  if (p.visible && !p.visible[i]) return HIDDEN_RGB;
  if (p.kind === 'binary') return p.values[i] ? VIRIDIS[255] : VIRIDIS[0];
  return viridis(toUnit(p.values[i], p.max, p.scale));
}

/** The matrix alone, `cell` pixels per cell (cells are exact pixel blocks). */
export function heatmapImage(p: MatrixPicture, cell: number): Rgba {
  const img = createImage(p.cols * cell, p.rows * cell);
  for (let r = 0; r < p.rows; r++)
    for (let c = 0; c < p.cols; c++) fillRect(img, c * cell, r * cell, cell, cell, cellRgb(p, r, c));
  if (p.highlightCol !== undefined)
    strokeRect(img, p.highlightCol * cell, 0, cell, p.rows * cell, [255, 64, 64]);
  return img;
}

/** A vertical colour bar, top = the map's top value. */
export function colourBarImage(p: MatrixPicture, width: number, height: number): Rgba {
  const img = createImage(width, height);
  if (p.kind === 'binary') {
    const half = Math.floor(height / 2);
    fillRect(img, 0, 0, width, half, VIRIDIS[255]);
    fillRect(img, 0, half, width, height - half, VIRIDIS[0]);
  } else {
    for (let y = 0; y < height; y++) fillRect(img, 0, y, width, 1, viridis(1 - y / Math.max(1, height - 1)));
  }
  strokeRect(img, 0, 0, width, height, [80, 80, 80]);
  return img;
}

/** Tick labels of the colour bar: text and position from the top (0..1). */
export function legendTicks(p: MatrixPicture): { label: string; y: number }[] {
  if (p.kind === 'binary') {
    return [
      { label: 'kept', y: 0.25 },
      { label: 'not kept', y: 0.75 },
    ];
  }
  return ticks(p.max, p.scale).map((t) => ({ label: formatValue(t.value), y: 1 - t.u }));
}

/** One line on the scale: "sqrt scale, 0 … 0.52". */
export function scaleNote(p: MatrixPicture): string {
  if (p.kind === 'binary') return 'yellow: kept, purple: not kept, grey: no key (j > t)';
  const hidden = p.visible ? ', grey: no key (j > t)' : '';
  return `${p.scale} colour scale, 0 … ${formatValue(p.max)}${hidden}`;
}

/** Cell size that keeps a picture near `target` pixels on its long side. */
export function cellSizeFor(rows: number, cols: number, target = 512): number {
  return Math.max(1, Math.min(16, Math.floor(target / Math.max(rows, cols))));
}

/** Cell size of a picture: T×T pictures set it; T×H keeps their height rather than growing wide cells. */
export function pictureCell(p: MatrixPicture, target: number): number {
  return cellSizeFor(p.rows, Math.max(p.rows, p.cols), target);
}

/**
 * A whole figure for a PNG file: title, caption, the matrix with its first and last row/column
 * numbers, the colour bar with tick labels, and what the grey cells mean.
 */
export interface Figure {
  image: Rgba;
  /** Where the matrix sits in the image, and its pixels per cell. */
  x: number;
  y: number;
  cell: number;
}

export function figureImage(p: MatrixPicture, opts: { cell?: number; subtitle?: string } = {}): Figure {
  const cell = opts.cell ?? pictureCell(p, 512);
  const heat = heatmapImage(p, cell);
  const pad = 16;
  const axisW = textWidth(String(p.rows - 1)) + 6;
  const barW = 16;
  const tickLabels = legendTicks(p);
  const tickW = Math.max(...tickLabels.map((t) => textWidth(t.label))) + 8;
  const barH = Math.max(120, heat.height);
  const lines: [string, number][] = [
    [p.title, 2],
    [p.caption, 1],
  ];
  if (opts.subtitle) lines.push([opts.subtitle, 1]);
  lines.push([scaleNote(p), 1]);
  const headerH = lines.reduce((h, [, s]) => h + textHeight(s) + 6, 0) + textHeight() + 6;
  const width = Math.max(
    pad + axisW + heat.width + 14 + barW + 4 + tickW + pad,
    pad + Math.max(...lines.map(([t, s]) => textWidth(t, s))) + pad,
  );
  const height = headerH + pad + Math.max(barH, heat.height + textHeight() + 4) + pad;
  const img = createImage(width, height);
  let y = pad;
  for (const [text, s] of lines) {
    drawText(img, text, pad, y, s === 2 ? [0, 0, 0] : [60, 60, 60], s);
    y += textHeight(s) + 6;
  }
  const x0 = pad + axisW;
  // column axis: label and first/last index above the matrix
  drawText(img, `${p.colLabel} →`, x0, y, [60, 60, 60]);
  const last = String(p.cols - 1);
  drawText(img, last, x0 + heat.width - textWidth(last), y, [60, 60, 60]);
  y += textHeight() + 6;
  const y0 = y;
  blit(img, heat, x0, y0);
  strokeRect(img, x0 - 1, y0 - 1, heat.width + 2, heat.height + 2, [80, 80, 80]);
  drawText(img, '0', x0 - textWidth('0') - 4, y0, [60, 60, 60]);
  const lastRow = String(p.rows - 1);
  drawText(img, lastRow, x0 - textWidth(lastRow) - 4, y0 + heat.height - textHeight(), [60, 60, 60]);
  drawText(img, `${p.rowLabel} ↓`, pad, y0 + heat.height + 6, [60, 60, 60]);
  const bx = x0 + heat.width + 14;
  blit(img, colourBarImage(p, barW, barH), bx, y0);
  for (const t of tickLabels) {
    const ty = y0 + Math.round(t.y * (barH - 1));
    fillRect(img, bx + barW, ty, 4, 1, [60, 60, 60]);
    drawText(
      img,
      t.label,
      bx + barW + 6,
      Math.min(y0 + barH - textHeight(), Math.max(y0, ty - 3)),
      [0, 0, 0],
    );
  }
  return { image: img, x: x0, y: y0, cell };
}
