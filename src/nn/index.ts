export * from './module.js';
export * from './layers.js';
export * from './stochastic-depth.js';
export * from './attention.js';
export * from './trace.js';
