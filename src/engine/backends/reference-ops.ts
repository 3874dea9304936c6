/**
 * The reference backend's scalar functions: each unary op with its derivative, and the binary ops. Float64
 * formulas, with PyTorch's conventions at the boundaries (NaN through relu, the kink of abs and hardswish).
 */
import type { BinaryOp, UnaryOp } from '../backend.js';
import { erf } from '../math.js';

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

export const UNARY: Record<UnaryOp, (x: number, a: number) => number> = {
  relu: (x) => (x > 0 ? x : x === x ? 0 : x), // keeps NaN as NaN
  leaky_relu: (x, a) => (x > 0 ? x : a * x),
  tanh: (x) => Math.tanh(x),
  sigmoid,
  gelu: (x) => 0.5 * x * (1 + erf(x * SQRT1_2)),
  silu: (x) => x * sigmoid(x),
  hardswish: (x) => (x * Math.min(Math.max(x + 3, 0), 6)) / 6,
  hardsigmoid: (x) => Math.min(Math.max(x + 3, 0), 6) / 6,
  exp: (x) => Math.exp(x),
  log: (x) => Math.log(x),
  neg: (x) => -x,
  sqrt: (x) => Math.sqrt(x),
  square: (x) => x * x,
  abs: (x) => Math.abs(x),
  pow: (x, a) => x ** a,
  add_scalar: (x, a) => x + a,
  mul_scalar: (x, a) => x * a,
  relu6: (x) => (x <= 0 ? 0 : x >= 6 ? 6 : x), // hardtanh(0, 6); NaN falls through as NaN
};

/** f'(x), given x and y = f(x). Boundary conventions follow PyTorch's backward kernels. */
export const UNARY_DERIVATIVE: Record<UnaryOp, (x: number, y: number, a: number) => number> = {
  relu: (x) => (x > 0 ? 1 : 0),
  leaky_relu: (x, _y, a) => (x > 0 ? 1 : a),
  tanh: (_x, y) => 1 - y * y,
  sigmoid: (_x, y) => y * (1 - y),
  gelu: (x) => 0.5 * (1 + erf(x * SQRT1_2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x),
  silu: (x) => { const s = sigmoid(x); return s * (1 + x * (1 - s)); },
  hardswish: (x) => (x < -3 ? 0 : x <= 3 ? x / 3 + 0.5 : 1),
  hardsigmoid: (x) => (x > -3 && x < 3 ? 1 / 6 : 0),
  exp: (_x, y) => y,
  log: (x) => 1 / x,
  neg: () => -1,
  sqrt: (_x, y) => 0.5 / y,
  square: (x) => 2 * x,
  abs: (x) => Math.sign(x),
  pow: (x, _y, a) => a * x ** (a - 1),
  add_scalar: () => 1,
  mul_scalar: (_x, _y, a) => a,
  relu6: (x) => (x > 0 && x < 6 ? 1 : 0), // hardtanh_backward: zero at and beyond both kinks
};

export const BINARY: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
};
