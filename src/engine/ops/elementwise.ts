/** Elementwise functions of one tensor: activations and scalar arithmetic, each with its derivative. */
import type { UnaryOp } from '../backend.js';
import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { assertFloat, backendOf, output } from './util.js';

function unaryOp(op: UnaryOp, x: Tensor, alpha = 0): Tensor {
  const backend = backendOf(op, x);
  assertFloat(op, x);
  const y = output(backend, x.shape);
  backend.unary(op, x.at, y.at, x.size, alpha);
  return record(op, [x], y, [x, y], (g, [xs, ys]) => {
    const dx = output(backend, xs!.shape);
    backend.unaryBackward(op, xs!.at, ys!.at, g.at, dx.at, xs!.size, alpha);
    return [dx];
  }, { alpha });
}

export const relu = (x: Tensor): Tensor => unaryOp('relu', x);
export const leakyRelu = (x: Tensor, negativeSlope = 0.01): Tensor => unaryOp('leaky_relu', x, negativeSlope);
export const tanh = (x: Tensor): Tensor => unaryOp('tanh', x);
export const sigmoid = (x: Tensor): Tensor => unaryOp('sigmoid', x);
/** The exact (erf) GELU, PyTorch's default. */
export const gelu = (x: Tensor): Tensor => unaryOp('gelu', x);
export const silu = (x: Tensor): Tensor => unaryOp('silu', x);
export const hardswish = (x: Tensor): Tensor => unaryOp('hardswish', x);
export const hardsigmoid = (x: Tensor): Tensor => unaryOp('hardsigmoid', x);
/** torch.nn.functional.relu6: min(max(x, 0), 6), i.e. hardtanh(x, 0, 6). */
export const relu6 = (x: Tensor): Tensor => unaryOp('relu6', x);
export const exp = (x: Tensor): Tensor => unaryOp('exp', x);
export const log = (x: Tensor): Tensor => unaryOp('log', x);
export const neg = (x: Tensor): Tensor => unaryOp('neg', x);
export const sqrt = (x: Tensor): Tensor => unaryOp('sqrt', x);
export const square = (x: Tensor): Tensor => unaryOp('square', x);
export const abs = (x: Tensor): Tensor => unaryOp('abs', x);
export const pow = (x: Tensor, exponent: number): Tensor => unaryOp('pow', x, exponent);
export const addScalar = (x: Tensor, s: number): Tensor => unaryOp('add_scalar', x, s);
export const mulScalar = (x: Tensor, s: number): Tensor => unaryOp('mul_scalar', x, s);
