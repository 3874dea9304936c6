/** Public entry point of the data layer (plain TypeScript over typed arrays; no engine imports). */
export * from './errors.js';
export * from './dataset.js';
export * from './random.js';
export * from './files.js';
export * from './idx.js';
export * from './tar.js';
export * from './cifar.js';
export * from './folder.js';
export * from './resize-crop.js';
export * from './registry.js';
export * from './loader.js';
export * from './imbalance.js';
export * from './airbench-batches.js';
