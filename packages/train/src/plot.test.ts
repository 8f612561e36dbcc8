// The loss chart: every series gets its own colour and its own marker shape, in the plot and the legend.
import { describe, expect, it } from 'vitest';
import { lineChartSvg } from './plot.js';

describe('lineChartSvg', () => {
  it('draws each of ten series with a distinct colour and marker, and every series appears in the legend', () => {
    const series = Array.from({ length: 10 }, (_, i) => ({
      name: `s${i}`,
      points: Array.from({ length: 50 }, (_, x) => [x + 1, (i + 1) * Math.exp(-x / 20)] as const),
    }));
    const svg = lineChartSvg(series, { logY: true });
    const strokes = [
      ...svg.matchAll(/<path d="M[^"]*" fill="none" stroke="(#[0-9a-f]{6})" stroke-width="1.5"\/>/g),
    ].map((m) => m[1]);
    expect(new Set(strokes).size).toBe(10);
    // marker element kinds per colour: one shape per series
    const shapeOf = new Map<string, Set<string>>();
    for (const m of svg.matchAll(
      /<(circle|rect|polygon|path) ([^>]*?)(?:fill|stroke)="(#[0-9a-f]{6})"[^>]*\/>/g,
    )) {
      if (
        m[1] === 'path' &&
        m[2].startsWith('d="M') &&
        /fill="none" stroke="#[0-9a-f]{6}" stroke-width="1.5"/.test(m[0])
      )
        continue; // the curve itself
      const pts = (/points="([^"]*)"/.exec(m[0])?.[1].split(' ') ?? []).map((p) => p.split(',').map(Number));
      // a polygon's shape: its vertex count and whether its first vertex points up or down
      const meanY = pts.reduce((a, p) => a + p[1], 0) / (pts.length || 1);
      const dir = pts.length
        ? pts[0][1] < meanY - 0.1
          ? 'up'
          : pts[0][1] > meanY + 0.1
            ? 'down'
            : 'side'
        : '';
      const kind = `${m[1]}${pts.length ? `:${pts.length}:${dir}` : ''}${m[1] === 'path' ? (m[0].includes('H') ? ':plus' : ':cross') : ''}`;
      const set = shapeOf.get(m[3]) ?? new Set<string>();
      set.add(kind);
      shapeOf.set(m[3], set);
    }
    const kinds = strokes.map((c) => [...(shapeOf.get(c) ?? [])]);
    for (const k of kinds) expect(k).toHaveLength(1);
    expect(new Set(kinds.map((k) => k[0])).size).toBe(10);
    for (let i = 0; i < 10; i++) expect(svg).toContain(`>s${i}</text>`);
  });
});
