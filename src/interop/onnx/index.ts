/** ONNX export: a model's eval-mode forward pass, traced at the engine op level, as an .onnx file. */
export { exportOnnx, MIN_OPSET, MAX_OPSET, type OnnxExportMeta, type OnnxExportOptions, type OnnxExportResult } from './export.js';
export { onnxOps } from './ops.js';
