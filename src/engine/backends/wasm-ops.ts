/**
 * How the WASM backend names and weighs the Backend's elementwise ops: their ids in the kernel ABI, and how much
 * work an element of each is when deciding whether a call is worth splitting across threads.
 */
import type { BinaryOp, UnaryOp } from '../backend.js';
import * as abi from './wasm-abi.js';

export const UNARY_ID: Record<UnaryOp, number> = {
  relu: abi.U_RELU, leaky_relu: abi.U_LEAKY_RELU, tanh: abi.U_TANH, sigmoid: abi.U_SIGMOID, gelu: abi.U_GELU,
  silu: abi.U_SILU, hardswish: abi.U_HARDSWISH, hardsigmoid: abi.U_HARDSIGMOID, exp: abi.U_EXP, log: abi.U_LOG,
  neg: abi.U_NEG, sqrt: abi.U_SQRT, square: abi.U_SQUARE, abs: abi.U_ABS, pow: abi.U_POW,
  add_scalar: abi.U_ADD_SCALAR, mul_scalar: abi.U_MUL_SCALAR, relu6: abi.U_RELU6,
};
export const BINARY_ID: Record<BinaryOp, number> = { add: abi.B_ADD, sub: abi.B_SUB, mul: abi.B_MUL, div: abi.B_DIV };

/** Relative cost per element of a unary op (transcendental ops are worth splitting sooner). */
export function unaryCost(op: UnaryOp): number {
  switch (op) {
    case 'tanh': case 'sigmoid': case 'gelu': case 'silu': case 'exp': case 'log': return 8;
    case 'pow': return 32;
    default: return 1;
  }
}
