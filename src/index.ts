/** convlab's library entry point: the high-level API, plus each layer for those who want to go lower. */
export { trainModel, evaluateCheckpoint, predict, loadModel, loadWeights, saveWeights, exportWeights, type TrainOptions, type TrainSummary, type Prediction } from './api.js';
export * as engine from './engine/index.js';
export * as nn from './nn/index.js';
export * as models from './models/index.js';
export * as data from './data/index.js';
export * as metrics from './metrics/index.js';
export * as report from './report/index.js';
export * as pth from './interop/pth/index.js';
export { initEngine } from './engine/index.js';
export { TrainingSession, type SessionOptions, type StepResult } from './train/session.js';
export { startUiServer, type UiServer, type UiServerOptions } from './ui/server.js';
export { exportOnnx, type OnnxExportMeta, type OnnxExportOptions, type OnnxExportResult } from './interop/onnx/index.js';
