export * from './backend.js';
export * from './dtype.js';
export * from './engine.js';
export * from './errors.js';
export * from './ops.js';
export * from './random.js';
export * from './registry.js';
export * from './shape.js';
