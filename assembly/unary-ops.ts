// The unary ops of unaryJob and unaryBackwardJob (elementwise.ts), one class each: `forward` is f on four lanes,
// `derivative` the factor f'(x), from x or from y = f(x) as the reference computes it.
//
// The loops in elementwise.ts take an op class as a type parameter and call its methods on a null instance
// (AssemblyScript cannot call a static method of a type parameter). The classes have no fields and no base class
// and their methods are @inline, so every instantiation of a loop gets its op as straight SIMD code: no call, no
// per-element branch.
import { vexp, vlog, vnormcdf, vnormpdf, vsigmoid, vtanh } from './vmath';

@inline export function splat(v: f32): v128 { return f32x4.splat(v); }
/** Lanes 0–1 and 2–3 of a float32 vector as float64 vectors, and two float64 vectors back to one float32. */
@inline export function lo64(v: v128): v128 { return f64x2.promote_low_f32x4(v); }
@inline export function hi64(v: v128): v128 { return f64x2.promote_low_f32x4(v128.shuffle<i32>(v, v, 2, 3, 2, 3)); }
@inline export function pack32(lo: v128, hi: v128): v128 {
  return v128.shuffle<i32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}

/** One lane of pow (forward) or of its derivative factor, in float64 as the reference does. */
function powLane(x: f32, a: f32, forward: bool): f32 {
  const xd = <f64>x, ad = <f64>a;
  if (forward) return <f32>Math.pow(xd, ad);
  return <f32>(ad * Math.pow(xd, ad - 1));
}
@inline function powLanes(v: v128, a: f32, forward: bool): v128 {
  return f32x4(
    powLane(f32x4.extract_lane(v, 0), a, forward), powLane(f32x4.extract_lane(v, 1), a, forward),
    powLane(f32x4.extract_lane(v, 2), a, forward), powLane(f32x4.extract_lane(v, 3), a, forward),
  );
}

/** sign(x): ±1 by the sign bit, with ±0 and NaN passed through. */
@inline function signOf(x: v128): v128 {
  const one = v128.or(v128.and(x, i32x4.splat(0x80000000)), splat(1));
  const nz = v128.and(f32x4.ne(x, splat(0)), f32x4.eq(x, x));
  return v128.bitselect(one, x, nz);
}

@final export class Relu {
  @inline forward(x: v128, a: f32, ad: f64): v128 { return v128.andnot(x, f32x4.le(x, splat(0))); }
  @inline derivative(x: v128, y: v128, a: f32): v128 { return v128.and(f32x4.gt(x, splat(0)), splat(1)); }
}

@final export class LeakyRelu {
  @inline forward(x: v128, a: f32, ad: f64): v128 {
    return v128.bitselect(x, f32x4.mul(x, splat(a)), f32x4.gt(x, splat(0)));
  }
  @inline derivative(x: v128, y: v128, a: f32): v128 {
    return v128.bitselect(splat(1), splat(a), f32x4.gt(x, splat(0)));
  }
}

@final export class Tanh {
  @inline forward(x: v128, a: f32, ad: f64): v128 { return vtanh(x); }
  @inline derivative(x: v128, y: v128, a: f32): v128 { return f32x4.sub(splat(1), f32x4.mul(y, y)); }
}

@final export class Sigmoid {
  @inline forward(x: v128, a: f32, ad: f64): v128 { return vsigmoid(x); }
  @inline derivative(x: v128, y: v128, a: f32): v128 { return f32x4.mul(y, f32x4.sub(splat(1), y)); }
}

@final export class Gelu {
  @inline forward(x: v128, a: f32, ad: f64): v128 { return f32x4.mul(x, vnormcdf(x)); }
  @inline derivative(x: v128, y: v128, a: f32): v128 { return f32x4.add(vnormcdf(x), f32x4.mul(x, vnormpdf(x))); }
}

@final export class Silu {
  @inline forward(x: v128, a: f32, ad: f64): v128 { return f32x4.mul(x, vsigmoid(x)); }
  @inline derivative(x: v128, y: v128, a: f32): v128 {
    const s = vsigmoid(x);
    return f32x4.mul(s, f32x4.add(splat(1), f32x4.mul(x, f32x4.sub(splat(1), s))));
  }
}

@final export class Hardswish {
  @inline forward(x: v128, a: f32, ad: f64): v128 {
    const r = f32x4.pmin(f32x4.pmax(f32x4.add(x, splat(3)), splat(0)), splat(6));
    return f32x4.div(f32x4.mul(x, r), splat(6));
  }
  @inline derivative(x: v128, y: v128, a: f32): v128 {
    const mid = f32x4.add(f32x4.div(x, splat(3)), splat(0.5));
    const r = v128.bitselect(mid, splat(1), f32x4.le(x, splat(3)));
    return v128.bitselect(splat(0), r, f32x4.lt(x, splat(-3)));
  }
}

@final export class Hardsigmoid {
  @inline forward(x: v128, a: f32, ad: f64): v128 {
    return f32x4.div(f32x4.pmin(f32x4.pmax(f32x4.add(x, splat(3)), splat(0)), splat(6)), splat(6));
  }
  @inline derivative(x: v128, y: v128, a: f32): v128 {
    return v128.and(v128.and(f32x4.gt(x, splat(-3)), f32x4.lt(x, splat(3))), splat(<f32>(1.0 / 6.0)));
  }
}

/** hardtanh(x, 0, 6): the compares are false for NaN, which passes through as in PyTorch's clamp. */
@final export class Relu6 {
  @inline forward(x: v128, a: f32, ad: f64): v128 {
    const low = v128.bitselect(splat(0), x, f32x4.le(x, splat(0)));
    return v128.bitselect(splat(6), low, f32x4.ge(x, splat(6)));
  }
  @inline derivative(x: v128, y: v128, a: f32): v128 {
    return v128.and(v128.and(f32x4.gt(x, splat(0)), f32x4.lt(x, splat(6))), splat(1));
  }
}

@final export class Exp {
  @inline forward(x: v128, a: f32, ad: f64): v128 { return vexp(x); }
  @inline derivative(x: v128, y: v128, a: f32): v128 { return y; }
}

@final export class Log {
  @inline forward(x: v128, a: f32, ad: f64): v128 { return vlog(x); }
  @inline derivative(x: v128, y: v128, a: f32): v128 { return f32x4.div(splat(1), x); }
}

@final export class Neg {
  @inline forward(x: v128, a: f32, ad: f64): v128 { return f32x4.neg(x); }
  @inline derivative(x: v128, y: v128, a: f32): v128 { return splat(-1); }
}

@final export class Sqrt {
  @inline forward(x: v128, a: f32, ad: f64): v128 { return f32x4.sqrt(x); }
  @inline derivative(x: v128, y: v128, a: f32): v128 { return f32x4.div(splat(0.5), y); }
}

@final export class Square {
  @inline forward(x: v128, a: f32, ad: f64): v128 { return f32x4.mul(x, x); }
  @inline derivative(x: v128, y: v128, a: f32): v128 { return f32x4.add(x, x); }
}

@final export class Abs {
  @inline forward(x: v128, a: f32, ad: f64): v128 { return f32x4.abs(x); }
  @inline derivative(x: v128, y: v128, a: f32): v128 { return signOf(x); }
}

/** x^a lane by lane (no SIMD pow); unaryJob sends a = 2 to Square and a = 1 to MulScalar. */
@final export class Pow {
  @inline forward(x: v128, a: f32, ad: f64): v128 { return powLanes(x, a, true); }
  @inline derivative(x: v128, y: v128, a: f32): v128 { return powLanes(x, a, false); }
}

/** x + a in float64, rounded once, as the reference computes it. */
@final export class AddScalar {
  @inline forward(x: v128, a: f32, ad: f64): v128 {
    const s = f64x2.splat(ad);
    return pack32(f64x2.add(lo64(x), s), f64x2.add(hi64(x), s));
  }
  @inline derivative(x: v128, y: v128, a: f32): v128 { return splat(1); }
}

/** x·a in float64, rounded once, as the reference computes it. */
@final export class MulScalar {
  @inline forward(x: v128, a: f32, ad: f64): v128 {
    const s = f64x2.splat(ad);
    return pack32(f64x2.mul(lo64(x), s), f64x2.mul(hi64(x), s));
  }
  @inline derivative(x: v128, y: v128, a: f32): v128 { return splat(a); }
}
