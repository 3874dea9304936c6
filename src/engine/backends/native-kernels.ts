/** Kernel ids of the native addon: the KernelId enum of native/src/call.h, number for number. */
import type { BinaryOp, UnaryOp } from '../backend.js';

export const GEMM = 1;
export const CONV_FWD = 2;
export const CONV_BWD_INPUT = 3;
export const CONV_BWD_WEIGHT = 4;
export const MAXPOOL = 5;
export const MAXPOOL_BWD = 6;
export const AVGPOOL = 7;
export const AVGPOOL_BWD = 8;
export const UNARY = 9;
export const UNARY_BWD = 10;
export const BINARY = 11;
export const REDUCE_SUM = 12;
export const SOFTMAX = 13;
export const SOFTMAX_BWD = 14;
export const BN_STATS = 15;
export const BN_APPLY = 16;
export const BN_BWD = 17;
export const FILL = 18;
export const AXPY = 19;
export const SGD = 20;
export const ADAM = 21;
export const COPY = 22;
export const LAYER_NORM = 23;
export const LAYER_NORM_BWD = 24;
export const ADAPTIVE_AVGPOOL = 25;
export const ADAPTIVE_AVGPOOL_BWD = 26;

/** Unary and binary op ids: the UnaryId and BinaryId enums of native/src/call.h, in order. */
/** The addon's unary op ids (native/src/call.h UnaryId); a Record, so a new UnaryOp without an id fails to compile. */
export const UNARY_ID: Record<UnaryOp, number> = {
  relu: 0, leaky_relu: 1, tanh: 2, sigmoid: 3, gelu: 4, silu: 5, hardswish: 6, hardsigmoid: 7, exp: 8, log: 9, neg: 10,
  sqrt: 11, square: 12, abs: 13, pow: 14, add_scalar: 15, mul_scalar: 16, relu6: 17,
};
export const BINARY_OPS: readonly BinaryOp[] = ['add', 'sub', 'mul', 'div'];
/** Most axes the strided kernels (binary, copy) take. */
export const MAX_RANK = 8;
