/**
 * @sea/explorer: the attention explorer's model code and pictures, for the page and for Node
 * (the CLI's `sea attention-map`). Nothing here reads files or touches the DOM.
 */
export * from './colormap.js';
export * from './model.js';
export * from './pictures.js';
export * from './pipeline.js';
export * from './raster.js';
