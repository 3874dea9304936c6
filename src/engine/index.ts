/** The engine: tensors on one heap, reverse-mode autograd, and the kernels behind one backend interface. */
export * from './ops/index.js';
export * as init from './init.js';
export { Tensor, empty, zeroGrad, shapeSize, contiguousStrides, fmtShape, type Shape, type DType } from './tensor.js';
export { backward, noGrad, isGradEnabled, observeOps, type OpObserver, type OpAttrs } from './autograd.js';
export { tidy, tidyAsync } from './scope.js';
export { Rng, rng, manualSeed } from './random.js';
export { getBackend, setBackend, withBackend, liveBuffers, initEngine, describeEngine, type InitOptions } from './engine.js';
export { Heap, HeapExhausted } from './heap.js';
export { ReferenceBackend } from './backends/reference.js';
export type { Backend, BackendName } from './backend.js';
export { countMacs } from './macs.js';
export { WasmBackend, type WasmBackendOptions } from './backends/wasm.js';
export { setKernelsLocation } from './backends/wasm-platform.js';
export { SpatialSizeError } from './ops/util.js';
export { symmetricEigen, type SymmetricEigen } from './symmetric-eigen.js';
