/**
 * `@sea/pictures`: the matrices of one layer and head (exact attention, the SEA estimate, the
 * selected cells, the sparse mask and attention, each head's share of the row budget) and their
 * pictures as RGBA images with titles, colour bars and scales; the explorer page draws them in a
 * browser, `sea attention-map` writes them as PNG files. Nothing here reads files or touches the DOM.
 *
 * @module @sea/pictures
 */
export * from './colormap.js';
export * from './model.js';
export * from './pictures.js';
export * from './pipeline.js';
export * from './raster.js';
