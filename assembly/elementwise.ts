// Elementwise, reduction, normalisation, copy and optimiser kernels. Each job splits its index space across the
// threads (contiguous, 16-element aligned ranges for flat kernels; rows or channels otherwise).
import * as K from '../src/engine/backends/wasm-abi';
import { argb, argf, argi, argp, imin, splitAt } from './common';
import { sumRow } from './conv';
import { vexp, vlog, vnormcdf, vnormpdf, vsigmoid, vtanh } from './vmath';

@inline function ld(p: usize, i: i32): v128 { return v128.load(p + (<usize>i << 2)); }
@inline function st(p: usize, i: i32, v: v128): void { v128.store(p + (<usize>i << 2), v); }
@inline function lf(p: usize, i: i32): f32 { return load<f32>(p + (<usize>i << 2)); }
@inline function sf(p: usize, i: i32, v: f32): void { store<f32>(p + (<usize>i << 2), v); }
@inline function splat(v: f32): v128 { return f32x4.splat(v); }
@inline function lo64(v: v128): v128 { return f64x2.promote_low_f32x4(v); }
@inline function hi64(v: v128): v128 { return f64x2.promote_low_f32x4(v128.shuffle<i32>(v, v, 2, 3, 2, 3)); }
@inline function pack32(lo: v128, hi: v128): v128 {
  return v128.shuffle<i32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}

/** A vector from four scalars computed by f. */
@inline function lanes4(v: v128, a: f32, op: i32, fwd: bool): v128 {
  return f32x4(
    scalarOp(op, f32x4.extract_lane(v, 0), a, fwd), scalarOp(op, f32x4.extract_lane(v, 1), a, fwd),
    scalarOp(op, f32x4.extract_lane(v, 2), a, fwd), scalarOp(op, f32x4.extract_lane(v, 3), a, fwd),
  );
}

/** Scalar pow (forward) and its derivative factor, in float64 as the reference does. */
function scalarOp(op: i32, x: f32, a: f32, fwd: bool): f32 {
  const xd = <f64>x, ad = <f64>a;
  if (fwd) return <f32>Math.pow(xd, ad);
  return <f32>(ad * Math.pow(xd, ad - 1));
}

// ---------------------------------------------------------------------------------------------------------------
// Unary forward.

// Per-op vector functions (x → f(x)), each inlined into its own instance of unaryLoop.
@inline function fRelu(x: v128, a: f32, ad: f64): v128 { return v128.andnot(x, f32x4.le(x, splat(0))); }
@inline function fLeaky(x: v128, a: f32, ad: f64): v128 { return v128.bitselect(x, f32x4.mul(x, splat(a)), f32x4.gt(x, splat(0))); }
@inline function fTanh(x: v128, a: f32, ad: f64): v128 { return vtanh(x); }
@inline function fSigmoid(x: v128, a: f32, ad: f64): v128 { return vsigmoid(x); }
@inline function fGelu(x: v128, a: f32, ad: f64): v128 { return f32x4.mul(x, vnormcdf(x)); }
@inline function fSilu(x: v128, a: f32, ad: f64): v128 { return f32x4.mul(x, vsigmoid(x)); }
@inline function fHardswish(x: v128, a: f32, ad: f64): v128 {
  const r = f32x4.pmin(f32x4.pmax(f32x4.add(x, splat(3)), splat(0)), splat(6));
  return f32x4.div(f32x4.mul(x, r), splat(6));
}
@inline function fHardsigmoid(x: v128, a: f32, ad: f64): v128 {
  return f32x4.div(f32x4.pmin(f32x4.pmax(f32x4.add(x, splat(3)), splat(0)), splat(6)), splat(6));
}
@inline function fExp(x: v128, a: f32, ad: f64): v128 { return vexp(x); }
@inline function fLog(x: v128, a: f32, ad: f64): v128 { return vlog(x); }
@inline function fNeg(x: v128, a: f32, ad: f64): v128 { return f32x4.neg(x); }
@inline function fSqrt(x: v128, a: f32, ad: f64): v128 { return f32x4.sqrt(x); }
@inline function fSquare(x: v128, a: f32, ad: f64): v128 { return f32x4.mul(x, x); }
@inline function fAbs(x: v128, a: f32, ad: f64): v128 { return f32x4.abs(x); }
/** x + a and x·a in float64, rounded once, as the reference computes them. */
@inline function fAddScalar(x: v128, a: f32, ad: f64): v128 {
  const s = f64x2.splat(ad);
  return pack32(f64x2.add(lo64(x), s), f64x2.add(hi64(x), s));
}
@inline function fMulScalar(x: v128, a: f32, ad: f64): v128 {
  const s = f64x2.splat(ad);
  return pack32(f64x2.mul(lo64(x), s), f64x2.mul(hi64(x), s));
}
@inline function fPow(x: v128, a: f32, ad: f64): v128 { return lanes4(x, a, 0, true); }

/** Args: op, x, y, len, alpha. */
export function unaryJob(tid: i32, nth: i32): void {
  let op = argi(0);
  const x = argp(1), y = argp(2), len = argi(3);
  let ad = argf(4), a = <f32>ad;
  const i0 = splitAt(len, tid, nth, 16), i1 = splitAt(len, tid + 1, nth, 16);
  if (op == K.U_POW && a == 2) op = K.U_SQUARE;
  else if (op == K.U_POW && a == 1) { op = K.U_MUL_SCALAR; ad = 1; }
  // One loop per op, each instantiated from unaryLoop so that the op inlines into straight code.
  switch (op) {
    case K.U_RELU: unaryLoop<OpRelu>(x, y, i0, i1, a, ad); break;
    case K.U_LEAKY_RELU: unaryLoop<OpLeaky>(x, y, i0, i1, a, ad); break;
    case K.U_TANH: unaryLoop<OpTanh>(x, y, i0, i1, a, ad); break;
    case K.U_SIGMOID: unaryLoop<OpSigmoid>(x, y, i0, i1, a, ad); break;
    case K.U_GELU: unaryLoop<OpGelu>(x, y, i0, i1, a, ad); break;
    case K.U_SILU: unaryLoop<OpSilu>(x, y, i0, i1, a, ad); break;
    case K.U_HARDSWISH: unaryLoop<OpHardswish>(x, y, i0, i1, a, ad); break;
    case K.U_HARDSIGMOID: unaryLoop<OpHardsigmoid>(x, y, i0, i1, a, ad); break;
    case K.U_EXP: unaryLoop<OpExp>(x, y, i0, i1, a, ad); break;
    case K.U_LOG: unaryLoop<OpLog>(x, y, i0, i1, a, ad); break;
    case K.U_NEG: unaryLoop<OpNeg>(x, y, i0, i1, a, ad); break;
    case K.U_SQRT: unaryLoop<OpSqrt>(x, y, i0, i1, a, ad); break;
    case K.U_SQUARE: unaryLoop<OpSquare>(x, y, i0, i1, a, ad); break;
    case K.U_ABS: unaryLoop<OpAbs>(x, y, i0, i1, a, ad); break;
    case K.U_ADD_SCALAR: unaryLoop<OpAddScalar>(x, y, i0, i1, a, ad); break;
    case K.U_MUL_SCALAR: unaryLoop<OpMulScalar>(x, y, i0, i1, a, ad); break;
    default: unaryLoop<OpPow>(x, y, i0, i1, a, ad); break;
  }
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
// Unary backward: dx = dy · f'(x) (f' from x or y = f(x), as the reference does).

@inline function signOf(x: v128): v128 {
  const one = v128.or(v128.and(x, i32x4.splat(0x80000000)), splat(1));
  const nz = v128.and(f32x4.ne(x, splat(0)), f32x4.eq(x, x));
  return v128.bitselect(one, x, nz);
}

// Per-op derivative factors f'(x), from x or y = f(x).
@inline function dRelu(x: v128, y: v128, a: f32): v128 { return v128.and(f32x4.gt(x, splat(0)), splat(1)); }
@inline function dLeaky(x: v128, y: v128, a: f32): v128 { return v128.bitselect(splat(1), splat(a), f32x4.gt(x, splat(0))); }
@inline function dTanh(x: v128, y: v128, a: f32): v128 { return f32x4.sub(splat(1), f32x4.mul(y, y)); }
@inline function dSigmoid(x: v128, y: v128, a: f32): v128 { return f32x4.mul(y, f32x4.sub(splat(1), y)); }
@inline function dGelu(x: v128, y: v128, a: f32): v128 { return f32x4.add(vnormcdf(x), f32x4.mul(x, vnormpdf(x))); }
@inline function dSilu(x: v128, y: v128, a: f32): v128 {
  const s = vsigmoid(x);
  return f32x4.mul(s, f32x4.add(splat(1), f32x4.mul(x, f32x4.sub(splat(1), s))));
}
@inline function dHardswish(x: v128, y: v128, a: f32): v128 {
  const mid = f32x4.add(f32x4.div(x, splat(3)), splat(0.5));
  const r = v128.bitselect(mid, splat(1), f32x4.le(x, splat(3)));
  return v128.bitselect(splat(0), r, f32x4.lt(x, splat(-3)));
}
@inline function dHardsigmoid(x: v128, y: v128, a: f32): v128 {
  return v128.and(v128.and(f32x4.gt(x, splat(-3)), f32x4.lt(x, splat(3))), splat(<f32>(1.0 / 6.0)));
}
@inline function dExp(x: v128, y: v128, a: f32): v128 { return y; }
@inline function dLog(x: v128, y: v128, a: f32): v128 { return f32x4.div(splat(1), x); }
@inline function dNeg(x: v128, y: v128, a: f32): v128 { return splat(-1); }
@inline function dSqrt(x: v128, y: v128, a: f32): v128 { return f32x4.div(splat(0.5), y); }
@inline function dSquare(x: v128, y: v128, a: f32): v128 { return f32x4.add(x, x); }
@inline function dAbs(x: v128, y: v128, a: f32): v128 { return signOf(x); }
@inline function dAddScalar(x: v128, y: v128, a: f32): v128 { return splat(1); }
@inline function dMulScalar(x: v128, y: v128, a: f32): v128 { return splat(a); }
@inline function dPow(x: v128, y: v128, a: f32): v128 { return lanes4(x, a, 0, false); }

// The ops as types. AssemblyScript compiles a generic function once per type argument, so each op gets its own
// copy of the loop with its f (forward) or d (derivative factor) inlined: the code of one hand-written loop per op.
class OpRelu {
  @inline f(x: v128, a: f32, ad: f64): v128 { return fRelu(x, a, ad); }
  @inline d(x: v128, y: v128, a: f32): v128 { return dRelu(x, y, a); }
}
class OpLeaky {
  @inline f(x: v128, a: f32, ad: f64): v128 { return fLeaky(x, a, ad); }
  @inline d(x: v128, y: v128, a: f32): v128 { return dLeaky(x, y, a); }
}
class OpTanh {
  @inline f(x: v128, a: f32, ad: f64): v128 { return fTanh(x, a, ad); }
  @inline d(x: v128, y: v128, a: f32): v128 { return dTanh(x, y, a); }
}
class OpSigmoid {
  @inline f(x: v128, a: f32, ad: f64): v128 { return fSigmoid(x, a, ad); }
  @inline d(x: v128, y: v128, a: f32): v128 { return dSigmoid(x, y, a); }
}
class OpGelu {
  @inline f(x: v128, a: f32, ad: f64): v128 { return fGelu(x, a, ad); }
  @inline d(x: v128, y: v128, a: f32): v128 { return dGelu(x, y, a); }
}
class OpSilu {
  @inline f(x: v128, a: f32, ad: f64): v128 { return fSilu(x, a, ad); }
  @inline d(x: v128, y: v128, a: f32): v128 { return dSilu(x, y, a); }
}
class OpHardswish {
  @inline f(x: v128, a: f32, ad: f64): v128 { return fHardswish(x, a, ad); }
  @inline d(x: v128, y: v128, a: f32): v128 { return dHardswish(x, y, a); }
}
class OpHardsigmoid {
  @inline f(x: v128, a: f32, ad: f64): v128 { return fHardsigmoid(x, a, ad); }
  @inline d(x: v128, y: v128, a: f32): v128 { return dHardsigmoid(x, y, a); }
}
class OpExp {
  @inline f(x: v128, a: f32, ad: f64): v128 { return fExp(x, a, ad); }
  @inline d(x: v128, y: v128, a: f32): v128 { return dExp(x, y, a); }
}
class OpLog {
  @inline f(x: v128, a: f32, ad: f64): v128 { return fLog(x, a, ad); }
  @inline d(x: v128, y: v128, a: f32): v128 { return dLog(x, y, a); }
}
class OpNeg {
  @inline f(x: v128, a: f32, ad: f64): v128 { return fNeg(x, a, ad); }
  @inline d(x: v128, y: v128, a: f32): v128 { return dNeg(x, y, a); }
}
class OpSqrt {
  @inline f(x: v128, a: f32, ad: f64): v128 { return fSqrt(x, a, ad); }
  @inline d(x: v128, y: v128, a: f32): v128 { return dSqrt(x, y, a); }
}
class OpSquare {
  @inline f(x: v128, a: f32, ad: f64): v128 { return fSquare(x, a, ad); }
  @inline d(x: v128, y: v128, a: f32): v128 { return dSquare(x, y, a); }
}
class OpAbs {
  @inline f(x: v128, a: f32, ad: f64): v128 { return fAbs(x, a, ad); }
  @inline d(x: v128, y: v128, a: f32): v128 { return dAbs(x, y, a); }
}
class OpAddScalar {
  @inline f(x: v128, a: f32, ad: f64): v128 { return fAddScalar(x, a, ad); }
  @inline d(x: v128, y: v128, a: f32): v128 { return dAddScalar(x, y, a); }
}
class OpMulScalar {
  @inline f(x: v128, a: f32, ad: f64): v128 { return fMulScalar(x, a, ad); }
  @inline d(x: v128, y: v128, a: f32): v128 { return dMulScalar(x, y, a); }
}
class OpPow {
  @inline f(x: v128, a: f32, ad: f64): v128 { return fPow(x, a, ad); }
  @inline d(x: v128, y: v128, a: f32): v128 { return dPow(x, y, a); }
}

/** The forward loop of one op: two vectors per iteration (instruction-level parallelism), then the tail. */
@inline function unaryLoop<Op>(x: usize, y: usize, i0: i32, i1: i32, a: f32, ad: f64): void {
  const op = changetype<Op>(0); // the op classes hold no state: the reference only selects whose f is inlined
  let i = i0;
  for (; i + 8 <= i1; i += 8) { st(y, i, op.f(ld(x, i), a, ad)); st(y, i + 4, op.f(ld(x, i + 4), a, ad)); }
  for (; i + 4 <= i1; i += 4) st(y, i, op.f(ld(x, i), a, ad));
  if (i < i1) { const v = tailLoad(x, i, i1 - i); tailStore(y, i, i1 - i, op.f(v, a, ad)); }
}

/** The backward loop of one op: dx = dy · f'(x). */
@inline function unaryBackwardLoop<Op>(x: usize, y: usize, dy: usize, dx: usize, i0: i32, i1: i32, a: f32): void {
  const op = changetype<Op>(0);
  let i = i0;
  for (; i + 4 <= i1; i += 4) st(dx, i, f32x4.mul(ld(dy, i), op.d(ld(x, i), ld(y, i), a)));
  if (i < i1) { const n = i1 - i; tailStore(dx, i, n, f32x4.mul(tailLoad(dy, i, n), op.d(tailLoad(x, i, n), tailLoad(y, i, n), a))); }
}

/** Args: op, x, y, dy, dx, len, alpha. */
export function unaryBackwardJob(tid: i32, nth: i32): void {
  const op = argi(0), x = argp(1), y = argp(2), dy = argp(3), dx = argp(4), len = argi(5), a = <f32>argf(6);
  const i0 = splitAt(len, tid, nth, 16), i1 = splitAt(len, tid + 1, nth, 16);
  switch (op) {
    case K.U_RELU: unaryBackwardLoop<OpRelu>(x, y, dy, dx, i0, i1, a); break;
    case K.U_LEAKY_RELU: unaryBackwardLoop<OpLeaky>(x, y, dy, dx, i0, i1, a); break;
    case K.U_TANH: unaryBackwardLoop<OpTanh>(x, y, dy, dx, i0, i1, a); break;
    case K.U_SIGMOID: unaryBackwardLoop<OpSigmoid>(x, y, dy, dx, i0, i1, a); break;
    case K.U_GELU: unaryBackwardLoop<OpGelu>(x, y, dy, dx, i0, i1, a); break;
    case K.U_SILU: unaryBackwardLoop<OpSilu>(x, y, dy, dx, i0, i1, a); break;
    case K.U_HARDSWISH: unaryBackwardLoop<OpHardswish>(x, y, dy, dx, i0, i1, a); break;
    case K.U_HARDSIGMOID: unaryBackwardLoop<OpHardsigmoid>(x, y, dy, dx, i0, i1, a); break;
    case K.U_EXP: unaryBackwardLoop<OpExp>(x, y, dy, dx, i0, i1, a); break;
    case K.U_LOG: unaryBackwardLoop<OpLog>(x, y, dy, dx, i0, i1, a); break;
    case K.U_NEG: unaryBackwardLoop<OpNeg>(x, y, dy, dx, i0, i1, a); break;
    case K.U_SQRT: unaryBackwardLoop<OpSqrt>(x, y, dy, dx, i0, i1, a); break;
    case K.U_SQUARE: unaryBackwardLoop<OpSquare>(x, y, dy, dx, i0, i1, a); break;
    case K.U_ABS: unaryBackwardLoop<OpAbs>(x, y, dy, dx, i0, i1, a); break;
    case K.U_ADD_SCALAR: unaryBackwardLoop<OpAddScalar>(x, y, dy, dx, i0, i1, a); break;
    case K.U_MUL_SCALAR: unaryBackwardLoop<OpMulScalar>(x, y, dy, dx, i0, i1, a); break;
    default: unaryBackwardLoop<OpPow>(x, y, dy, dx, i0, i1, a); break;
  }
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
  let rows = 1;
  for (let d = 0; d < rank - 1; d++) rows *= argi(5 + d);
  if (rows == 1) {
    const i0 = splitAt(inner, tid, nth, 16), i1 = splitAt(inner, tid + 1, nth, 16);
    if (i1 > i0) binaryRow(op, a + (<usize>(i0 * sa) << 2), sa, b + (<usize>(i0 * sb) << 2), sb, out + (<usize>i0 << 2), i1 - i0);
    return;
  }
  const r0 = splitAt(rows, tid, nth, 1), r1 = splitAt(rows, tid + 1, nth, 1);
  for (let r = r0; r < r1; r++) {
    // Offsets of row r: decompose over the outer axes.
    let rem = r, ao = 0, bo = 0;
    for (let d = rank - 2; d >= 0; d--) {
      const n = argi(5 + d);
      const q = rem / n, idx = rem - q * n;
      ao += idx * argi(5 + rank + d); bo += idx * argi(5 + 2 * rank + d);
      rem = q;
    }
    binaryRow(op, a + (<usize>ao << 2), sa, b + (<usize>bo << 2), sb, out + (<usize>(r * inner) << 2), inner);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Reductions and softmax.

/** Args: x, y, outer, reduce, inner. y[o, i] = Σ_r x[o, r, i], accumulated in float64. */
export function reduceSumJob(tid: i32, nth: i32): void {
  const x = argp(0), y = argp(1), outer = argi(2), reduce = argi(3), inner = argi(4);
  if (inner == 1) {
    const o0 = splitAt(outer, tid, nth, 1), o1 = splitAt(outer, tid + 1, nth, 1);
    for (let o = o0; o < o1; o++) sf(y, o, <f32>sumRow(x + (<usize>o * reduce << 2), reduce));
    return;
  }
  // Threads split the (outer × inner) outputs in chunks of up to 256 inner columns.
  const chunks = (inner + 255) >> 8;
  const total = outer * chunks;
  const t0 = splitAt(total, tid, nth, 1), t1 = splitAt(total, tid + 1, nth, 1);
  for (let t = t0; t < t1; t++) {
    const o = t / chunks, ch = t - o * chunks;
    const i0 = ch << 8, i1 = imin(inner, i0 + 256);
    const xo = x + (<usize>o * reduce * inner << 2), yo = y + (<usize>o * inner << 2);
    let i = i0;
    for (; i + 4 <= i1; i += 4) {
      let lo = f64x2.splat(0), hi = f64x2.splat(0);
      let p = xo + (<usize>i << 2);
      const step = <usize>inner << 2;
      for (let r = 0; r < reduce; r++) {
        const v = v128.load(p);
        lo = f64x2.add(lo, f64x2.promote_low_f32x4(v));
        hi = f64x2.add(hi, f64x2.promote_low_f32x4(v128.shuffle<i32>(v, v, 2, 3, 2, 3)));
        p += step;
      }
      st(yo, i, v128.shuffle<i32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5));
    }
    for (; i < i1; i++) {
      let s: f64 = 0;
      for (let r = 0; r < reduce; r++) s += <f64>lf(xo, r * inner + i);
      sf(yo, i, <f32>s);
    }
  }
}

@inline function hmax(v: v128): f32 {
  const m = f32x4.max(v, v128.shuffle<i32>(v, v, 2, 3, 0, 1));
  return max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1));
}
@inline function hsum(v: v128): f64 {
  return <f64>f32x4.extract_lane(v, 0) + <f64>f32x4.extract_lane(v, 1) + <f64>f32x4.extract_lane(v, 2)
    + <f64>f32x4.extract_lane(v, 3);
}

function rowMax(x: usize, n: i32): f32 {
  let m = splat(-Infinity);
  let i = 0;
  for (; i + 4 <= n; i += 4) m = f32x4.max(m, ld(x, i));
  let s = hmax(m);
  for (; i < n; i++) s = max(s, lf(x, i));
  return s;
}

/** Σ exp(x_i − mx), also writing the exponentials to y when `write`. */
function expSum(x: usize, y: usize, n: i32, mx: f32, write: bool): f64 {
  const mv = splat(mx);
  let total: f64 = 0;
  let i = 0;
  while (i + 4 <= n) {
    const end = imin(n, i + 256) & ~3;
    let acc = splat(0);
    for (; i < end; i += 4) {
      const e = vexp(f32x4.sub(ld(x, i), mv));
      if (write) st(y, i, e);
      acc = f32x4.add(acc, e);
    }
    total += hsum(acc);
  }
  for (; i < n; i++) {
    const e = f32x4.extract_lane(vexp(splat(lf(x, i) - mx)), 0);
    if (write) sf(y, i, e);
    total += <f64>e;
  }
  return total;
}

/** Args: x, y, rows, cols, log. */
export function softmaxJob(tid: i32, nth: i32): void {
  const x = argp(0), y = argp(1), rows = argi(2), cols = argi(3), log = argb(4);
  const r0 = splitAt(rows, tid, nth, 1), r1 = splitAt(rows, tid + 1, nth, 1);
  for (let r = r0; r < r1; r++) {
    const xr = x + (<usize>r * cols << 2), yr = y + (<usize>r * cols << 2);
    const mx = rowMax(xr, cols);
    if (log) {
      const lse = <f32>Math.log(expSum(xr, yr, cols, mx, false));
      const sub = splat(mx + lse);
      // x − max − logΣ: the reference subtracts max then logΣ; fold as one offset in float32.
      const mv = splat(mx), lv = splat(lse);
      let i = 0;
      for (; i + 4 <= cols; i += 4) st(yr, i, f32x4.sub(f32x4.sub(ld(xr, i), mv), lv));
      for (; i < cols; i++) sf(yr, i, lf(xr, i) - mx - lse);
      void sub;
    } else {
      const sum = expSum(xr, yr, cols, mx, true);
      const inv = splat(<f32>(1 / sum));
      let i = 0;
      for (; i + 4 <= cols; i += 4) st(yr, i, f32x4.mul(ld(yr, i), inv));
      for (; i < cols; i++) sf(yr, i, <f32>(<f64>lf(yr, i) / sum));
    }
  }
}

/** Args: y, dy, dx, rows, cols, log. */
export function softmaxBackwardJob(tid: i32, nth: i32): void {
  const y = argp(0), dy = argp(1), dx = argp(2), rows = argi(3), cols = argi(4), log = argb(5);
  const r0 = splitAt(rows, tid, nth, 1), r1 = splitAt(rows, tid + 1, nth, 1);
  for (let r = r0; r < r1; r++) {
    const o = <usize>r * cols << 2;
    const yr = y + o, dyr = dy + o, dxr = dx + o;
    let dot: f64 = 0;
    let i = 0;
    if (log) dot = sumRow(dyr, cols);
    else {
      while (i + 4 <= cols) {
        const end = imin(cols, i + 256) & ~3;
        let acc = splat(0);
        for (; i < end; i += 4) acc = f32x4.add(acc, f32x4.mul(ld(dyr, i), ld(yr, i)));
        dot += hsum(acc);
      }
      for (; i < cols; i++) dot += <f64>(lf(dyr, i) * lf(yr, i));
    }
    const dv = splat(<f32>dot), df = <f32>dot;
    i = 0;
    if (log) {
      for (; i + 4 <= cols; i += 4) st(dxr, i, f32x4.sub(ld(dyr, i), f32x4.mul(vexp(ld(yr, i)), dv)));
      for (; i < cols; i++) sf(dxr, i, lf(dyr, i) - f32x4.extract_lane(vexp(splat(lf(yr, i))), 0) * df);
    } else {
      for (; i + 4 <= cols; i += 4) st(dxr, i, f32x4.mul(ld(yr, i), f32x4.sub(ld(dyr, i), dv)));
      for (; i < cols; i++) sf(dxr, i, lf(yr, i) * (lf(dyr, i) - df));
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Batch norm (x viewed as [n, c, hw]) and layer norm.

/** Σ (x_i − mu)² in float64 over blocks of float32 partial sums. */
function sqDevSum(p: usize, len: i32, mu: f32): f64 {
  const mv = splat(mu);
  let total: f64 = 0;
  let i = 0;
  while (i < len) {
    const end = imin(len, i + 256);
    let acc = splat(0);
    for (; i + 4 <= end; i += 4) { const d = f32x4.sub(ld(p, i), mv); acc = f32x4.add(acc, f32x4.mul(d, d)); }
    let s: f32 = 0;
    for (; i < end; i++) { const d = lf(p, i) - mu; s += d * d; }
    total += hsum(acc) + <f64>s;
  }
  return total;
}

/** Args: x, n, c, hw, eps, mean, invstd. */
export function bnStatsJob(tid: i32, nth: i32): void {
  const x = argp(0), n = argi(1), c = argi(2), hw = argi(3), eps = argf(4), mean = argp(5), invstd = argp(6);
  const c0 = splitAt(c, tid, nth, 1), c1 = splitAt(c, tid + 1, nth, 1);
  const count = <f64>n * hw;
  for (let ch = c0; ch < c1; ch++) {
    let s: f64 = 0;
    for (let b = 0; b < n; b++) s += sumRow(x + (<usize>(b * c + ch) * hw << 2), hw);
    const mu = s / count;
    // Deviations from the float64 mean rounded to float32, as x − mu is formed in float32 here.
    let sq: f64 = 0;
    const muf = <f32>mu;
    const corr = mu - <f64>muf;
    for (let b = 0; b < n; b++) sq += sqDevSum(x + (<usize>(b * c + ch) * hw << 2), hw, muf);
    // Σ(x − mu)² = Σ(x − muf)² − 2·corr·Σ(x − muf) + count·corr², with Σ(x − muf) = count·corr.
    sq -= count * corr * corr;
    sf(mean, ch, muf);
    sf(invstd, ch, <f32>(1 / Math.sqrt(sq / count + eps)));
  }
}

/** Args: x, n, c, hw, mean, invstd, gamma (< 0: 1), beta (< 0: 0), y. */
export function bnApplyJob(tid: i32, nth: i32): void {
  const x = argp(0), n = argi(1), c = argi(2), hw = argi(3), mean = argp(4), invstd = argp(5);
  const hasG = argf(6) >= 0, hasB = argf(7) >= 0, gamma = hasG ? argp(6) : 0, beta = hasB ? argp(7) : 0, y = argp(8);
  const planes = n * c;
  const p0 = splitAt(planes, tid, nth, 1), p1 = splitAt(planes, tid + 1, nth, 1);
  for (let pl = p0; pl < p1; pl++) {
    const ch = pl % c;
    const scale = <f64>lf(invstd, ch) * (hasG ? <f64>lf(gamma, ch) : 1);
    const shift = (hasB ? <f64>lf(beta, ch) : 0) - <f64>lf(mean, ch) * scale;
    const sv = splat(<f32>scale), hv = splat(<f32>shift), sc = <f32>scale, sh = <f32>shift;
    const xp = x + (<usize>pl * hw << 2), yp = y + (<usize>pl * hw << 2);
    let i = 0;
    for (; i + 4 <= hw; i += 4) st(yp, i, f32x4.add(f32x4.mul(ld(xp, i), sv), hv));
    for (; i < hw; i++) sf(yp, i, lf(xp, i) * sc + sh);
  }
}

/** Args: x, dy, n, c, hw, mean, invstd, gamma, training, dx, dgamma, dbeta (pointers < 0: skip / 1). */
export function bnBackwardJob(tid: i32, nth: i32): void {
  const x = argp(0), dy = argp(1), n = argi(2), c = argi(3), hw = argi(4), mean = argp(5), invstd = argp(6);
  const hasG = argf(7) >= 0, gamma = hasG ? argp(7) : 0, training = argb(8);
  const hasDx = argf(9) >= 0, dx = hasDx ? argp(9) : 0;
  const hasDg = argf(10) >= 0, dgamma = hasDg ? argp(10) : 0;
  const hasDb = argf(11) >= 0, dbeta = hasDb ? argp(11) : 0;
  const c0 = splitAt(c, tid, nth, 1), c1 = splitAt(c, tid + 1, nth, 1);
  const count = <f64>n * hw;
  for (let ch = c0; ch < c1; ch++) {
    const mu = lf(mean, ch), is = lf(invstd, ch), g: f32 = hasG ? lf(gamma, ch) : 1;
    let sumDy: f64 = 0, sumDyXmu: f64 = 0;
    const mv = splat(mu);
    for (let b = 0; b < n; b++) {
      const o = <usize>(b * c + ch) * hw << 2;
      const xp = x + o, dp = dy + o;
      let i = 0;
      while (i < hw) {
        const end = imin(hw, i + 256);
        let a0 = splat(0), a1 = splat(0);
        for (; i + 4 <= end; i += 4) {
          const d = ld(dp, i);
          a0 = f32x4.add(a0, d);
          a1 = f32x4.add(a1, f32x4.mul(d, f32x4.sub(ld(xp, i), mv)));
        }
        let s0: f32 = 0, s1: f32 = 0;
        for (; i < end; i++) { const d = lf(dp, i); s0 += d; s1 += d * (lf(xp, i) - mu); }
        sumDy += hsum(a0) + <f64>s0;
        sumDyXmu += hsum(a1) + <f64>s1;
      }
    }
    const sumDyXhat = sumDyXmu * <f64>is;
    if (hasDg) sf(dgamma, ch, <f32>sumDyXhat);
    if (hasDb) sf(dbeta, ch, <f32>sumDy);
    if (!hasDx) continue;
    // training: dx = (g·is/count)·(count·dy − ΣdY − (x − mu)·is·ΣdY·x̂) = k1·dy + k2·(x − mu) + k3
    let k1: f32, k2: f32, k3: f32;
    if (training) {
      const gis = <f64>g * <f64>is;
      k1 = <f32>gis;
      k2 = <f32>(-gis / count * <f64>is * sumDyXhat);
      k3 = <f32>(-gis / count * sumDy);
    } else {
      k1 = <f32>(<f64>g * <f64>is); k2 = 0; k3 = 0;
    }
    const v1 = splat(k1), v2 = splat(k2), v3 = splat(k3);
    for (let b = 0; b < n; b++) {
      const o = <usize>(b * c + ch) * hw << 2;
      const xp = x + o, dp = dy + o, dxp = dx + o;
      let i = 0;
      for (; i + 4 <= hw; i += 4) {
        st(dxp, i, f32x4.add(f32x4.add(f32x4.mul(ld(dp, i), v1), f32x4.mul(f32x4.sub(ld(xp, i), mv), v2)), v3));
      }
      for (; i < hw; i++) sf(dxp, i, lf(dp, i) * k1 + (lf(xp, i) - mu) * k2 + k3);
    }
  }
}

/** Args: x, rows, cols, eps, gamma, beta, y, mean, invstd. */
export function layerNormJob(tid: i32, nth: i32): void {
  const x = argp(0), rows = argi(1), cols = argi(2), eps = argf(3);
  const hasG = argf(4) >= 0, hasB = argf(5) >= 0, gamma = hasG ? argp(4) : 0, beta = hasB ? argp(5) : 0;
  const y = argp(6), mean = argp(7), invstd = argp(8);
  const r0 = splitAt(rows, tid, nth, 1), r1 = splitAt(rows, tid + 1, nth, 1);
  for (let r = r0; r < r1; r++) {
    const xr = x + (<usize>r * cols << 2), yr = y + (<usize>r * cols << 2);
    const mu = sumRow(xr, cols) / cols;
    const muf = <f32>mu, corr = mu - <f64>muf;
    const sq = sqDevSum(xr, cols, muf) - <f64>cols * corr * corr;
    const is = <f32>(1 / Math.sqrt(sq / cols + eps));
    sf(mean, r, muf); sf(invstd, r, is);
    const mv = splat(muf), iv = splat(is);
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      let v = f32x4.mul(f32x4.sub(ld(xr, j), mv), iv);
      if (hasG) v = f32x4.mul(v, ld(gamma, j));
      if (hasB) v = f32x4.add(v, ld(beta, j));
      st(yr, j, v);
    }
    for (; j < cols; j++) {
      let v = (lf(xr, j) - muf) * is;
      if (hasG) v *= lf(gamma, j);
      if (hasB) v += lf(beta, j);
      sf(yr, j, v);
    }
  }
}

/** Args: x, dy, rows, cols, mean, invstd, gamma, dx, dgamma, dbeta. */
export function layerNormBackwardJob(tid: i32, nth: i32): void {
  const x = argp(0), dy = argp(1), rows = argi(2), cols = argi(3), mean = argp(4), invstd = argp(5);
  const hasG = argf(6) >= 0, gamma = hasG ? argp(6) : 0;
  const hasDx = argf(7) >= 0, dx = hasDx ? argp(7) : 0;
  const hasDg = argf(8) >= 0, dgamma = hasDg ? argp(8) : 0;
  const hasDb = argf(9) >= 0, dbeta = hasDb ? argp(9) : 0;
  if (hasDx) {
    const r0 = splitAt(rows, tid, nth, 1), r1 = splitAt(rows, tid + 1, nth, 1);
    for (let r = r0; r < r1; r++) {
      const o = <usize>r * cols << 2;
      const xr = x + o, dyr = dy + o, dxr = dx + o;
      const mu = lf(mean, r), is = lf(invstd, r);
      const mv = splat(mu), iv = splat(is);
      let sumG: f64 = 0, sumGX: f64 = 0;
      let j = 0;
      while (j < cols) {
        const end = imin(cols, j + 1024);
        let a0 = splat(0), a1 = splat(0);
        for (; j + 4 <= end; j += 4) {
          let g = ld(dyr, j);
          if (hasG) g = f32x4.mul(g, ld(gamma, j));
          a0 = f32x4.add(a0, g);
          a1 = f32x4.add(a1, f32x4.mul(g, f32x4.mul(f32x4.sub(ld(xr, j), mv), iv)));
        }
        let s0: f32 = 0, s1: f32 = 0;
        for (; j < end; j++) {
          let g = lf(dyr, j);
          if (hasG) g *= lf(gamma, j);
          s0 += g; s1 += g * ((lf(xr, j) - mu) * is);
        }
        sumG += hsum(a0) + <f64>s0; sumGX += hsum(a1) + <f64>s1;
      }
      // dx = (is/cols)·(cols·g − ΣG − x̂·ΣGx̂)
      const k = <f64>is / cols;
      const k1 = <f32>(k * cols), k0 = <f32>(-k * sumG), kx = <f32>(-k * sumGX);
      const v1 = splat(k1), v0 = splat(k0), vx = splat(kx);
      j = 0;
      for (; j + 4 <= cols; j += 4) {
        let g = ld(dyr, j);
        if (hasG) g = f32x4.mul(g, ld(gamma, j));
        const xh = f32x4.mul(f32x4.sub(ld(xr, j), mv), iv);
        st(dxr, j, f32x4.add(f32x4.add(f32x4.mul(g, v1), v0), f32x4.mul(xh, vx)));
      }
      for (; j < cols; j++) {
        let g = lf(dyr, j);
        if (hasG) g *= lf(gamma, j);
        sf(dxr, j, g * k1 + k0 + (lf(xr, j) - mu) * is * kx);
      }
    }
  }
  if (hasDg || hasDb) {
    // Column sums over the rows; threads split the columns.
    const j0 = splitAt(cols, tid, nth, 16), j1 = splitAt(cols, tid + 1, nth, 16);
    for (let j = j0; j < j1; j++) {
      let sg: f64 = 0, sb: f64 = 0;
      for (let r = 0; r < rows; r++) {
        const d = lf(dy, r * cols + j);
        sb += <f64>d;
        sg += <f64>d * <f64>((lf(x, r * cols + j) - lf(mean, r)) * lf(invstd, r));
      }
      if (hasDg) sf(dgamma, j, <f32>sg);
      if (hasDb) sf(dbeta, j, <f32>sb);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Copy, fill, axpy, optimisers.

/** Args: src, dst, rank, shape[rank], srcStrides[rank], dstStrides[rank]. */
export function copyJob(tid: i32, nth: i32): void {
  const src = argp(0), dst = argp(1), rank = argi(2);
  if (rank == 0) { if (tid == 0) sf(dst, 0, lf(src, 0)); return; }
  const inner = argi(3 + rank - 1), ss = argi(3 + 2 * rank - 1), ds = argi(3 + 3 * rank - 1);
  let rows = 1;
  for (let d = 0; d < rank - 1; d++) rows *= argi(3 + d);
  let r0 = 0, r1 = rows, c0 = 0, c1 = inner;
  if (rows == 1) { c0 = splitAt(inner, tid, nth, 16); c1 = splitAt(inner, tid + 1, nth, 16); }
  else { r0 = splitAt(rows, tid, nth, 1); r1 = splitAt(rows, tid + 1, nth, 1); }
  if (c0 >= c1) return;
  for (let r = r0; r < r1; r++) {
    let rem = r, so = 0, dso = 0;
    for (let d = rank - 2; d >= 0; d--) {
      const n = argi(3 + d);
      const q = rem / n, idx = rem - q * n;
      so += idx * argi(3 + rank + d); dso += idx * argi(3 + 2 * rank + d);
      rem = q;
    }
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

// The update kernels compute in float64 lanes and round once on store, exactly as the reference does; they are
// memory-bound, so the wider arithmetic costs little.
@inline function dsplat(v: f64): v128 { return f64x2.splat(v); }

/** Args: x, y, len, alpha. y += alpha·x. */
export function axpyJob(tid: i32, nth: i32): void {
  const x = argp(0), y = argp(1), len = argi(2), a = argf(3);
  const i0 = splitAt(len, tid, nth, 16), i1 = splitAt(len, tid + 1, nth, 16);
  const av = dsplat(a);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const xv = ld(x, i), yv = ld(y, i);
    st(y, i, pack32(f64x2.add(lo64(yv), f64x2.mul(av, lo64(xv))), f64x2.add(hi64(yv), f64x2.mul(av, hi64(xv)))));
  }
  for (; i < i1; i++) sf(y, i, <f32>(<f64>lf(y, i) + a * <f64>lf(x, i)));
}

/** Two float64 lanes of the SGD update; returns the new weights, stores the momentum lanes in mOut. */
let sgdM: v128 = f64x2.splat(0);
@inline function sgd2(w: v128, g: v128, buf: v128, lr: v128, mom: v128, damp: v128, wd: v128, useMom: bool, nesterov: bool, first: bool): v128 {
  let d = f64x2.add(g, f64x2.mul(wd, w));
  if (useMom) {
    const m = first ? d : f64x2.add(f64x2.mul(mom, buf), f64x2.mul(damp, d));
    sgdM = m;
    d = nesterov ? f64x2.add(d, f64x2.mul(mom, m)) : m;
  }
  return f64x2.sub(w, f64x2.mul(lr, d));
}

/** Args: p, g, buf (< 0: none), len, lr, momentum, dampening, weightDecay, nesterov, firstStep. */
export function sgdJob(tid: i32, nth: i32): void {
  const p = argp(0), g = argp(1), hasBuf = argf(2) >= 0, buf = hasBuf ? argp(2) : 0, len = argi(3);
  const lr = argf(4), mom = argf(5), damp = 1 - argf(6), wd = argf(7);
  const nesterov = argb(8), first = argb(9);
  const useMom = mom != 0 && hasBuf;
  const i0 = splitAt(len, tid, nth, 16), i1 = splitAt(len, tid + 1, nth, 16);
  const lrv = dsplat(lr), mv = dsplat(mom), dv = dsplat(damp), wv = dsplat(wd);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const w = ld(p, i), gr = ld(g, i);
    const b = useMom ? ld(buf, i) : splat(0);
    const plo = sgd2(lo64(w), lo64(gr), lo64(b), lrv, mv, dv, wv, useMom, nesterov, first);
    const mlo = sgdM;
    const phi = sgd2(hi64(w), hi64(gr), hi64(b), lrv, mv, dv, wv, useMom, nesterov, first);
    if (useMom) st(buf, i, pack32(mlo, sgdM));
    st(p, i, pack32(plo, phi));
  }
  for (; i < i1; i++) {
    const w = <f64>lf(p, i);
    let d = <f64>lf(g, i) + wd * w;
    if (useMom) {
      const m = first ? d : mom * <f64>lf(buf, i) + damp * d;
      sf(buf, i, <f32>m);
      d = nesterov ? d + mom * m : m;
    }
    sf(p, i, <f32>(w - lr * d));
  }
}

let adamM: v128 = f64x2.splat(0), adamV: v128 = f64x2.splat(0);
@inline function adam2(
  w: v128, gr: v128, m: v128, v: v128, b1: v128, b2: v128, o1: v128, o2: v128, eps: v128, step: v128, sq: v128,
  decay: v128, wd: v128, decoupled: bool,
): v128 {
  if (decoupled) w = f64x2.mul(w, decay);
  else gr = f64x2.add(gr, f64x2.mul(wd, w));
  const mi = f64x2.add(f64x2.mul(b1, m), f64x2.mul(o1, gr));
  const vi = f64x2.add(f64x2.mul(b2, v), f64x2.mul(f64x2.mul(o2, gr), gr));
  adamM = mi; adamV = vi;
  return f64x2.sub(w, f64x2.div(f64x2.mul(step, mi), f64x2.add(f64x2.div(f64x2.sqrt(vi), sq), eps)));
}

/** Args: p, g, m, v, len, lr, beta1, beta2, eps, weightDecay, decoupled, stepSize, sqrtBc2. */
export function adamJob(tid: i32, nth: i32): void {
  const p = argp(0), g = argp(1), m = argp(2), v = argp(3), len = argi(4);
  const lr = argf(5), b1 = argf(6), b2 = argf(7), eps = argf(8), wd = argf(9);
  const decoupled = argb(10), stepSize = argf(11), sqrtBc2 = argf(12);
  const decay = 1 - lr * wd, ob1 = 1 - b1, ob2 = 1 - b2;
  const i0 = splitAt(len, tid, nth, 16), i1 = splitAt(len, tid + 1, nth, 16);
  const b1v = dsplat(b1), b2v = dsplat(b2), o1v = dsplat(ob1), o2v = dsplat(ob2), ev = dsplat(eps);
  const sv = dsplat(stepSize), qv = dsplat(sqrtBc2), dv = dsplat(decay), wv = dsplat(wd);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const w = ld(p, i), gr = ld(g, i), mm = ld(m, i), vv = ld(v, i);
    const plo = adam2(lo64(w), lo64(gr), lo64(mm), lo64(vv), b1v, b2v, o1v, o2v, ev, sv, qv, dv, wv, decoupled);
    const mlo = adamM, vlo = adamV;
    const phi = adam2(hi64(w), hi64(gr), hi64(mm), hi64(vv), b1v, b2v, o1v, o2v, ev, sv, qv, dv, wv, decoupled);
    st(m, i, pack32(mlo, adamM)); st(v, i, pack32(vlo, adamV)); st(p, i, pack32(plo, phi));
  }
  for (; i < i1; i++) {
    let gr = <f64>lf(g, i), w = <f64>lf(p, i);
    if (decoupled) w *= decay;
    else gr += wd * w;
    const mi = b1 * <f64>lf(m, i) + ob1 * gr;
    const vi = b2 * <f64>lf(v, i) + ob2 * gr * gr;
    sf(m, i, <f32>mi); sf(v, i, <f32>vi);
    sf(p, i, <f32>(w - (stepSize * mi) / (Math.sqrt(vi) / sqrtBc2 + eps)));
  }
}
