/** A minimal RGBA raster: rectangles, text in the bitmap font, copies. Used for the PNG figures. */
import type { Rgb } from './colormap.js';
import { ADVANCE, fontText, GLYPH_HEIGHT, GLYPH_WIDTH, glyph } from './font.js';

export interface Rgba {
  width: number;
  height: number;
  /** width·height·4 bytes, row-major, straight alpha. */
  data: Uint8ClampedArray;
}

export function createImage(width: number, height: number, bg: Rgb = [255, 255, 255]): Rgba {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    data[i * 4] = bg[0];
    data[i * 4 + 1] = bg[1];
    data[i * 4 + 2] = bg[2];
    data[i * 4 + 3] = 255;
  }
  return { width, height, data };
}

export function fillRect(img: Rgba, x: number, y: number, w: number, h: number, rgb: Rgb): void {
  const x0 = Math.max(0, Math.floor(x));
  const y0 = Math.max(0, Math.floor(y));
  const x1 = Math.min(img.width, Math.floor(x + w));
  const y1 = Math.min(img.height, Math.floor(y + h));
  for (let yy = y0; yy < y1; yy++) {
    for (let xx = x0; xx < x1; xx++) {
      const o = (yy * img.width + xx) * 4;
      img.data[o] = rgb[0];
      img.data[o + 1] = rgb[1];
      img.data[o + 2] = rgb[2];
      img.data[o + 3] = 255;
    }
  }
}

/** A one-pixel rectangle outline. */
export function strokeRect(img: Rgba, x: number, y: number, w: number, h: number, rgb: Rgb): void {
  fillRect(img, x, y, w, 1, rgb);
  fillRect(img, x, y + h - 1, w, 1, rgb);
  fillRect(img, x, y, 1, h, rgb);
  fillRect(img, x + w - 1, y, 1, h, rgb);
}

export function textWidth(text: string, scale = 1): number {
  const n = [...fontText(text)].length;
  return n ? (n * ADVANCE - (ADVANCE - GLYPH_WIDTH)) * scale : 0;
}

export const textHeight = (scale = 1): number => GLYPH_HEIGHT * scale;

/** Draws `text` with its top-left corner at (x, y). */
export function drawText(
  img: Rgba,
  text: string,
  x: number,
  y: number,
  rgb: Rgb = [0, 0, 0],
  scale = 1,
): void {
  let cx = x;
  for (const ch of fontText(text)) {
    const rows = glyph(ch);
    for (let r = 0; r < GLYPH_HEIGHT; r++) {
      for (let c = 0; c < GLYPH_WIDTH; c++) {
        if (rows[r] & (1 << (GLYPH_WIDTH - 1 - c)))
          fillRect(img, cx + c * scale, y + r * scale, scale, scale, rgb);
      }
    }
    cx += ADVANCE * scale;
  }
}

/** Copies `src` into `dst` with its top-left corner at (x, y). */
export function blit(dst: Rgba, src: Rgba, x: number, y: number): void {
  for (let yy = 0; yy < src.height; yy++) {
    const ty = y + yy;
    if (ty < 0 || ty >= dst.height) continue;
    for (let xx = 0; xx < src.width; xx++) {
      const tx = x + xx;
      if (tx < 0 || tx >= dst.width) continue;
      const s = (yy * src.width + xx) * 4;
      const d = (ty * dst.width + tx) * 4;
      dst.data[d] = src.data[s];
      dst.data[d + 1] = src.data[s + 1];
      dst.data[d + 2] = src.data[s + 2];
      dst.data[d + 3] = src.data[s + 3];
    }
  }
}
