/**
 * The one interface every kernel sits behind. Addresses are element indices into the heap's views:
 * `heap.f[x]` for float tensors and `heap.i[x]` for int32 tensors. All tensors are dense and row-major.
 * Kernels overwrite their outputs unless a parameter says they accumulate.
 *
 * Three implementations exist: `ReferenceBackend` (plain TypeScript, float32 or float64, used by the tests as
 * ground truth), `WasmBackend` (WebAssembly SIMD kernels on a worker-thread pool) and `NativeBackend` (C++ kernels
 * through an optional Node-API addon, delegating what it lacks to a WasmBackend on the same heap).
 */
import type { Heap } from './heap.js';

export interface GemmParams {
  /** C[m×n] = A[m×k]·B[k×n] (+ C when accumulate). transA reads A as stored k×m; transB reads B as n×k. */
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
  a: number;
  lda: number;
  b: number;
  ldb: number;
  c: number;
  ldc: number;
  accumulate: boolean;
  /** Batched GEMM: `batch` products with element strides between consecutive A, B and C (0 broadcasts). */
  batch: number;
  strideA: number;
  strideB: number;
  strideC: number;
}

export interface Conv2dParams {
  n: number; c: number; h: number; w: number;
  oc: number; kh: number; kw: number;
  sh: number; sw: number; ph: number; pw: number; dh: number; dw: number;
  groups: number;
  oh: number; ow: number;
}

export interface Pool2dParams {
  n: number; c: number; h: number; w: number;
  kh: number; kw: number; sh: number; sw: number; ph: number; pw: number;
  oh: number; ow: number;
  /** Average pooling only: divide by the full window (true) or by the in-bounds part (false). */
  countIncludePad: boolean;
}

export interface AdaptivePoolParams { n: number; c: number; h: number; w: number; oh: number; ow: number }

export type UnaryOp =
  | 'relu' | 'leaky_relu' | 'tanh' | 'sigmoid' | 'gelu' | 'silu' | 'hardswish' | 'hardsigmoid'
  | 'exp' | 'log' | 'neg' | 'sqrt' | 'square' | 'abs' | 'pow' | 'add_scalar' | 'mul_scalar' | 'relu6';

export type BinaryOp = 'add' | 'sub' | 'mul' | 'div';

export type BackendName = 'native' | 'wasm' | 'reference';

export interface Backend {
  readonly name: BackendName;
  /** The instruction set the kernels run on, e.g. 'avx512' (native), 'wasm-simd128' or 'typescript'. */
  readonly isa: string;
  readonly heap: Heap;
  readonly threads: number;

  gemm(p: GemmParams): void;

  /** y = conv(x, w) + b; b < 0 means no bias. */
  conv2d(p: Conv2dParams, x: number, w: number, b: number, y: number): void;
  /** dx = conv_transpose(dy, w). */
  conv2dBackwardInput(p: Conv2dParams, dy: number, w: number, dx: number): void;
  /** dw (and db when db >= 0) from x and dy; both overwritten. */
  conv2dBackwardWeight(p: Conv2dParams, x: number, dy: number, dw: number, db: number): void;

  /** idx (int32) receives the flat h*w index of each maximum within its (n, c) plane. */
  maxPool2d(p: Pool2dParams, x: number, y: number, idx: number): void;
  maxPool2dBackward(p: Pool2dParams, dy: number, idx: number, dx: number): void;
  avgPool2d(p: Pool2dParams, x: number, y: number): void;
  avgPool2dBackward(p: Pool2dParams, dy: number, dx: number): void;
  adaptiveAvgPool2d(p: AdaptivePoolParams, x: number, y: number): void;
  adaptiveAvgPool2dBackward(p: AdaptivePoolParams, dy: number, dx: number): void;

  /** y = f(x) elementwise; `alpha` is the op's scalar (slope, exponent, or the scalar operand). */
  unary(op: UnaryOp, x: number, y: number, len: number, alpha: number): void;
  /** dx = dy · f'(x); kernels may read x or y = f(x), whichever is cheaper. */
  unaryBackward(op: UnaryOp, x: number, y: number, dy: number, dx: number, len: number, alpha: number): void;
  /**
   * out = a ∘ b with broadcasting: `shape` is the output shape and `aStrides`/`bStrides` are element strides
   * (0 on broadcast axes). Callers collapse contiguous axes first, so rank is small.
   */
  binary(op: BinaryOp, a: number, aStrides: readonly number[], b: number, bStrides: readonly number[], out: number, shape: readonly number[]): void;
  /** y[o, i] = Σ_r x[o, r, i] for x viewed as [outer, reduce, inner]. */
  reduceSum(x: number, y: number, outer: number, reduce: number, inner: number): void;
  /** y = softmax or log_softmax of each row of x[rows×cols]. */
  softmax(x: number, y: number, rows: number, cols: number, log: boolean): void;
  softmaxBackward(y: number, dy: number, dx: number, rows: number, cols: number, log: boolean): void;

  /** Per-channel mean and 1/sqrt(var + eps) (biased variance) of x viewed as [n, c, hw]. */
  batchNormStats(x: number, n: number, c: number, hw: number, eps: number, mean: number, invstd: number): void;
  /** y = (x − mean)·invstd·gamma + beta per channel; gamma/beta < 0 mean 1 and 0. */
  batchNormApply(x: number, n: number, c: number, hw: number, mean: number, invstd: number, gamma: number, beta: number, y: number): void;
  /**
   * Gradients of batchNormApply. With `training`, mean and invstd are the batch's own statistics and dx includes
   * their dependence on x. dgamma/dbeta < 0 skip those outputs.
   */
  batchNormBackward(
    x: number, dy: number, n: number, c: number, hw: number, mean: number, invstd: number, gamma: number,
    training: boolean, dx: number, dgamma: number, dbeta: number): void;
  /** Normalises each row of x[rows×cols]; saves mean and invstd per row for the backward pass. */
  layerNorm(x: number, rows: number, cols: number, eps: number, gamma: number, beta: number, y: number, mean: number, invstd: number): void;
  layerNormBackward(
    x: number, dy: number, rows: number, cols: number, mean: number, invstd: number, gamma: number,
    dx: number, dgamma: number, dbeta: number): void;

  /** Strided copy of `shape` elements from src to dst (both strided); permute, slice, concat and pad use it. */
  copy(src: number, srcStrides: readonly number[], dst: number, dstStrides: readonly number[], shape: readonly number[]): void;
  fill(dst: number, len: number, value: number): void;
  /** y += alpha·x. */
  axpy(x: number, y: number, len: number, alpha: number): void;

  /** PyTorch's SGD update, in place; `momentumBuf` < 0 when momentum is 0. */
  sgdStep(p: number, g: number, momentumBuf: number, len: number, o: SgdUpdate): void;
  /** PyTorch's Adam/AdamW update, in place. */
  adamStep(p: number, g: number, m: number, v: number, len: number, o: AdamUpdate): void;

  /** Cumulative kernel time per kernel name since the last reset, when profiling is on. */
  profile?: Map<string, { calls: number; ms: number }>;
  dispose?(): void;
}

export interface SgdUpdate {
  lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean;
  /** The first step copies the gradient into the momentum buffer, as PyTorch does. */
  firstStep: boolean;
}

export interface AdamUpdate {
  lr: number; beta1: number; beta2: number; eps: number; weightDecay: number;
  /** AdamW: weight decay is applied to the weights directly instead of being added to the gradient. */
  decoupled: boolean;
  /** 1-based step count, for bias correction. */
  step: number;
}
