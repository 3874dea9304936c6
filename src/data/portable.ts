/**
 * The data layer without file access (no Node built-ins): in-memory datasets, the loader, sampling and the IDX
 * format on bytes. The browser build imports this instead of index.ts.
 */
export * from './errors.js';
export * from './dataset.js';
export * from './random.js';
export * from './idx-format.js';
export * from './loader.js';
export * from './imbalance.js';
