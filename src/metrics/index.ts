/** Public entry point of the metrics layer (plain TypeScript over typed arrays). */
export * from './classification.js';
export * from './report.js';
