// Elementwise kernels: unary ops, binary ops with broadcasting, strided copy and fill. Each job splits its index
// space across the threads (contiguous, 16-element aligned ranges for flat kernels; rows otherwise).
import * as K from '../src/engine/backends/wasm-abi';
import { argf, argi, argp, imin, ld, lf, sf, splitAt, st } from './common';
import {
  Abs, AddScalar, Exp, Gelu, Hardsigmoid, Hardswish, LeakyRelu, Log, MulScalar, Neg, Pow, Relu, Relu6, Sigmoid, Silu,
  Sqrt, Square, Tanh, splat,
} from './unary-ops';

// ---------------------------------------------------------------------------------------------------------------
// Unary ops: one forward and one backward loop, instantiated per op class (unary-ops.ts). The two loops share one
// signature so that one table of ops serves both; the forward loop does not read dy and dx.

/** y = f(x): two vectors per iteration (for instruction-level parallelism), then one, then a partial vector. */
@final class ForwardLoop {
  @inline run<Op>(x: usize, y: usize, dy: usize, dx: usize, i0: i32, i1: i32, a: f32, ad: f64): void {
    const f = changetype<Op>(0);
    let i = i0;
    for (; i + 8 <= i1; i += 8) { st(y, i, f.forward(ld(x, i), a, ad)); st(y, i + 4, f.forward(ld(x, i + 4), a, ad)); }
    for (; i + 4 <= i1; i += 4) st(y, i, f.forward(ld(x, i), a, ad));
    if (i < i1) { const v = tailLoad(x, i, i1 - i); tailStore(y, i, i1 - i, f.forward(v, a, ad)); }
  }
}

/** dx = dy · f'(x), with f' from x or y = f(x) as the reference does. */
@final class BackwardLoop {
  @inline run<Op>(x: usize, y: usize, dy: usize, dx: usize, i0: i32, i1: i32, a: f32, ad: f64): void {
    const f = changetype<Op>(0);
    let i = i0;
    for (; i + 4 <= i1; i += 4) st(dx, i, f32x4.mul(ld(dy, i), f.derivative(ld(x, i), ld(y, i), a)));
    if (i < i1) {
      const n = i1 - i;
      tailStore(dx, i, n, f32x4.mul(tailLoad(dy, i, n), f.derivative(tailLoad(x, i, n), tailLoad(y, i, n), a)));
    }
  }
}

/** Runs Loop over [i0, i1) for the op with wasm-abi id `op`: one loop per op, each with its op inlined. */
@inline function runUnary<Loop>(
  op: i32, x: usize, y: usize, dy: usize, dx: usize, i0: i32, i1: i32, a: f32, ad: f64,
): void {
  const loop = changetype<Loop>(0);
  switch (op) {
    case K.U_RELU: loop.run<Relu>(x, y, dy, dx, i0, i1, a, ad); break;
    case K.U_LEAKY_RELU: loop.run<LeakyRelu>(x, y, dy, dx, i0, i1, a, ad); break;
    case K.U_TANH: loop.run<Tanh>(x, y, dy, dx, i0, i1, a, ad); break;
    case K.U_SIGMOID: loop.run<Sigmoid>(x, y, dy, dx, i0, i1, a, ad); break;
    case K.U_GELU: loop.run<Gelu>(x, y, dy, dx, i0, i1, a, ad); break;
    case K.U_SILU: loop.run<Silu>(x, y, dy, dx, i0, i1, a, ad); break;
    case K.U_HARDSWISH: loop.run<Hardswish>(x, y, dy, dx, i0, i1, a, ad); break;
    case K.U_HARDSIGMOID: loop.run<Hardsigmoid>(x, y, dy, dx, i0, i1, a, ad); break;
    case K.U_EXP: loop.run<Exp>(x, y, dy, dx, i0, i1, a, ad); break;
    case K.U_LOG: loop.run<Log>(x, y, dy, dx, i0, i1, a, ad); break;
    case K.U_NEG: loop.run<Neg>(x, y, dy, dx, i0, i1, a, ad); break;
    case K.U_SQRT: loop.run<Sqrt>(x, y, dy, dx, i0, i1, a, ad); break;
    case K.U_SQUARE: loop.run<Square>(x, y, dy, dx, i0, i1, a, ad); break;
    case K.U_ABS: loop.run<Abs>(x, y, dy, dx, i0, i1, a, ad); break;
    case K.U_ADD_SCALAR: loop.run<AddScalar>(x, y, dy, dx, i0, i1, a, ad); break;
    case K.U_MUL_SCALAR: loop.run<MulScalar>(x, y, dy, dx, i0, i1, a, ad); break;
    case K.U_RELU6: loop.run<Relu6>(x, y, dy, dx, i0, i1, a, ad); break;
    default: loop.run<Pow>(x, y, dy, dx, i0, i1, a, ad); break; // K.U_POW
  }
}

/** Args: op, x, y, len, alpha. */
export function unaryJob(tid: i32, nth: i32): void {
  let op = argi(0);
  const x = argp(1), y = argp(2), len = argi(3);
  let ad = argf(4), a = <f32>ad;
  const i0 = splitAt(len, tid, nth, 16), i1 = splitAt(len, tid + 1, nth, 16);
  if (op == K.U_POW && a == 2) op = K.U_SQUARE;
  else if (op == K.U_POW && a == 1) { op = K.U_MUL_SCALAR; ad = 1; }
  runUnary<ForwardLoop>(op, x, y, 0, 0, i0, i1, a, ad);
}

/** Args: op, x, y, dy, dx, len, alpha. */
export function unaryBackwardJob(tid: i32, nth: i32): void {
  const op = argi(0), x = argp(1), y = argp(2), dy = argp(3), dx = argp(4), len = argi(5), ad = argf(6);
  const i0 = splitAt(len, tid, nth, 16), i1 = splitAt(len, tid + 1, nth, 16);
  runUnary<BackwardLoop>(op, x, y, dy, dx, i0, i1, <f32>ad, ad);
}

/** Loads n < 4 floats into a zero-padded vector. */
@inline function tailLoad(p: usize, i: i32, n: i32): v128 {
  let v = f32x4.replace_lane(splat(0), 0, lf(p, i));
  if (n > 1) v = f32x4.replace_lane(v, 1, lf(p, i + 1));
  if (n > 2) v = f32x4.replace_lane(v, 2, lf(p, i + 2));
  return v;
}
@inline function tailStore(p: usize, i: i32, n: i32, v: v128): void {
  sf(p, i, f32x4.extract_lane(v, 0));
  if (n > 1) sf(p, i + 1, f32x4.extract_lane(v, 1));
  if (n > 2) sf(p, i + 2, f32x4.extract_lane(v, 2));
}

// ---------------------------------------------------------------------------------------------------------------
// Binary with broadcasting.

@inline function binVec(op: i32, a: v128, b: v128): v128 {
  switch (op) {
    case K.B_ADD: return f32x4.add(a, b);
    case K.B_SUB: return f32x4.sub(a, b);
    case K.B_MUL: return f32x4.mul(a, b);
    default: return f32x4.div(a, b);
  }
}
@inline function binScalar(op: i32, a: f32, b: f32): f32 {
  switch (op) {
    case K.B_ADD: return a + b;
    case K.B_SUB: return a - b;
    case K.B_MUL: return a * b;
    default: return a / b;
  }
}

/** Rows of a strided layout whose shape[rank] starts at argument slot `at`: the product of all axes but the last. */
@inline function rowCount(at: i32, rank: i32): i32 {
  let rows = 1;
  for (let d = 0; d < rank - 1; d++) rows *= argi(at + d);
  return rows;
}

/** The second operand's offset from the last rowOffsets call (a second return value). */
let rowOffsetB: i32 = 0;
/**
 * Element offsets of row r in two operands whose layout starts at argument slot `at`: shape[rank], then the first
 * operand's strides[rank], then the second's. Returns the first offset and leaves the second in rowOffsetB.
 */
@inline function rowOffsets(at: i32, rank: i32, r: i32): i32 {
  let rem = r, oa = 0, ob = 0;
  for (let axis = at + rank - 2; axis >= at; axis--) {
    const n = argi(axis);
    const q = rem / n, idx = rem - q * n;
    oa += idx * argi(axis + rank); ob += idx * argi(axis + 2 * rank);
    rem = q;
  }
  rowOffsetB = ob;
  return oa;
}

/** One innermost row: out[i] = a[i*sa] ∘ b[i*sb]. */
function binaryRow(op: i32, a: usize, sa: i32, b: usize, sb: i32, out: usize, n: i32): void {
  let i = 0;
  if (sa == 1 && sb == 1) {
    for (; i + 4 <= n; i += 4) st(out, i, binVec(op, ld(a, i), ld(b, i)));
  } else if (sa == 1 && sb == 0) {
    const bv = v128.load32_splat(b);
    for (; i + 4 <= n; i += 4) st(out, i, binVec(op, ld(a, i), bv));
  } else if (sa == 0 && sb == 1) {
    const av = v128.load32_splat(a);
    for (; i + 4 <= n; i += 4) st(out, i, binVec(op, av, ld(b, i)));
  }
  for (; i < n; i++) sf(out, i, binScalar(op, lf(a, i * sa), lf(b, i * sb)));
}

/**
 * Args: op, a, b, out, rank, then shape[rank], aStrides[rank], bStrides[rank]. Threads split the rows (all axes
 * but the last), or the last axis when it is the only one.
 */
export function binaryJob(tid: i32, nth: i32): void {
  const op = argi(0), a = argp(1), b = argp(2), out = argp(3), rank = argi(4);
  if (rank == 0) {
    if (tid == 0) sf(out, 0, binScalar(op, lf(a, 0), lf(b, 0)));
    return;
  }
  const inner = argi(5 + rank - 1), sa = argi(5 + 2 * rank - 1), sb = argi(5 + 3 * rank - 1);
  const rows = rowCount(5, rank);
  if (rows == 1) {
    const i0 = splitAt(inner, tid, nth, 16), i1 = splitAt(inner, tid + 1, nth, 16);
    if (i1 > i0) binaryRow(op, a + (<usize>(i0 * sa) << 2), sa, b + (<usize>(i0 * sb) << 2), sb, out + (<usize>i0 << 2), i1 - i0);
    return;
  }
  const r0 = splitAt(rows, tid, nth, 1), r1 = splitAt(rows, tid + 1, nth, 1);
  for (let r = r0; r < r1; r++) {
    const ao = rowOffsets(5, rank, r), bo = rowOffsetB;
    binaryRow(op, a + (<usize>ao << 2), sa, b + (<usize>bo << 2), sb, out + (<usize>(r * inner) << 2), inner);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Copy and fill.

/** Args: src, dst, rank, shape[rank], srcStrides[rank], dstStrides[rank]. */
export function copyJob(tid: i32, nth: i32): void {
  const src = argp(0), dst = argp(1), rank = argi(2);
  if (rank == 0) { if (tid == 0) sf(dst, 0, lf(src, 0)); return; }
  const inner = argi(3 + rank - 1), ss = argi(3 + 2 * rank - 1), ds = argi(3 + 3 * rank - 1);
  const rows = rowCount(3, rank);
  let r0 = 0, r1 = rows, c0 = 0, c1 = inner;
  if (rows == 1) { c0 = splitAt(inner, tid, nth, 16); c1 = splitAt(inner, tid + 1, nth, 16); }
  else { r0 = splitAt(rows, tid, nth, 1); r1 = splitAt(rows, tid + 1, nth, 1); }
  if (c0 >= c1) return;
  for (let r = r0; r < r1; r++) {
    const so = rowOffsets(3, rank, r), dso = rowOffsetB;
    const s = src + (<usize>(so + c0 * ss) << 2), d = dst + (<usize>(dso + c0 * ds) << 2);
    const n = c1 - c0;
    if (ss == 1 && ds == 1) memory.copy(d, s, <usize>n << 2);
    else if (ss == 0) {
      const v = lf(s, 0);
      for (let i = 0; i < n; i++) sf(d, i * ds, v);
    } else {
      for (let i = 0; i < n; i++) sf(d, i * ds, lf(s, i * ss));
    }
  }
}

/** Args: dst, len, value. */
export function fillJob(tid: i32, nth: i32): void {
  const dst = argp(0), len = argi(1), v = <f32>argf(2);
  const i0 = splitAt(len, tid, nth, 16), i1 = splitAt(len, tid + 1, nth, 16);
  const vv = splat(v);
  let i = i0;
  for (; i + 4 <= i1; i += 4) st(dst, i, vv);
  for (; i < i1; i++) sf(dst, i, v);
}

