// f32x4 transcendental functions, accurate to a few ulp, with IEEE special values (NaN, ±Inf) propagated.

@inline function splat(v: f32): v128 { return f32x4.splat(v); }

/**
 * e^x. Rounding x·log2(e) with the 1.5·2^23 trick gives both n (in the low mantissa bits) and its float value;
 * scaling by 2^n in two steps keeps subnormal results and overflow to +Inf right.
 */
@inline export function vexp(x: v128): v128 {
  // pmin/pmax with x first keep NaN lanes NaN.
  let xc = f32x4.pmin(x, splat(88.8));
  xc = f32x4.pmax(xc, splat(-104.0));
  const t = f32x4.add(f32x4.mul(xc, splat(1.44269504088896341)), splat(12582912.0));
  const fx = f32x4.sub(t, splat(12582912.0));
  let r = f32x4.sub(xc, f32x4.mul(fx, splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(fx, splat(-2.12194440e-4)));
  let p = f32x4.add(f32x4.mul(splat(1.9875691500e-4), r), splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(p, f32x4.mul(r, r)), r), splat(1));
  const n = i32x4.sub(t, i32x4.splat(0x4b400000));
  const n1 = i32x4.shr_s(n, 1), n2 = i32x4.sub(n, n1);
  const s1 = i32x4.shl(i32x4.add(n1, i32x4.splat(127)), 23);
  const s2 = i32x4.shl(i32x4.add(n2, i32x4.splat(127)), 23);
  return f32x4.mul(f32x4.mul(p, s1), s2);
}

/** ln x for positive normal finite lanes; any other lane sends the whole vector through the scalar logf. */
export function vlog(x: v128): v128 {
  const ok = v128.and(f32x4.ge(x, splat(1.17549435e-38)), f32x4.lt(x, splat(Infinity)));
  if (!i32x4.all_true(ok)) {
    return f32x4(
      Mathf.log(f32x4.extract_lane(x, 0)), Mathf.log(f32x4.extract_lane(x, 1)),
      Mathf.log(f32x4.extract_lane(x, 2)), Mathf.log(f32x4.extract_lane(x, 3)),
    );
  }
  let e = f32x4.convert_i32x4_s(i32x4.sub(i32x4.shr_u(x, 23), i32x4.splat(126)));
  let m = v128.or(v128.and(x, i32x4.splat(0x007fffff)), i32x4.splat(0x3f000000)); // [0.5, 1)
  const small = f32x4.lt(m, splat(0.707106781186547524));
  // m < √½: e -= 1, m = 2m − 1; else m = m − 1.
  e = f32x4.sub(e, v128.and(small, splat(1)));
  m = f32x4.sub(f32x4.add(m, v128.and(small, m)), splat(1));
  const z = f32x4.mul(m, m);
  let y = f32x4.add(f32x4.mul(splat(7.0376836292e-2), m), splat(-1.1514610310e-1));
  y = f32x4.add(f32x4.mul(y, m), splat(1.1676998740e-1));
  y = f32x4.add(f32x4.mul(y, m), splat(-1.2420140846e-1));
  y = f32x4.add(f32x4.mul(y, m), splat(1.4249322787e-1));
  y = f32x4.add(f32x4.mul(y, m), splat(-1.6668057665e-1));
  y = f32x4.add(f32x4.mul(y, m), splat(2.0000714765e-1));
  y = f32x4.add(f32x4.mul(y, m), splat(-2.4999993993e-1));
  y = f32x4.add(f32x4.mul(y, m), splat(3.3333331174e-1));
  y = f32x4.mul(f32x4.mul(y, m), z);
  y = f32x4.add(y, f32x4.mul(e, splat(-2.12194440e-4)));
  y = f32x4.sub(y, f32x4.mul(z, splat(0.5)));
  return f32x4.add(f32x4.add(m, y), f32x4.mul(e, splat(0.693359375)));
}

@inline function copysign(mag: v128, sgn: v128): v128 {
  return v128.or(v128.and(mag, i32x4.splat(0x7fffffff)), v128.and(sgn, i32x4.splat(0x80000000)));
}

/** tanh x: odd polynomial below 0.625, 1 − 2/(e^{2|x|} + 1) above. */
@inline export function vtanh(x: v128): v128 {
  const ax = f32x4.abs(x);
  const z = f32x4.mul(x, x);
  let p = f32x4.add(f32x4.mul(splat(-5.70498872745e-3), z), splat(2.06390887954e-2));
  p = f32x4.add(f32x4.mul(p, z), splat(-5.37397155531e-2));
  p = f32x4.add(f32x4.mul(p, z), splat(1.33314422036e-1));
  p = f32x4.add(f32x4.mul(p, z), splat(-3.33332819422e-1));
  const small = f32x4.add(f32x4.mul(f32x4.mul(p, z), x), x);
  const smallMask = f32x4.lt(ax, splat(0.625));
  if (i32x4.all_true(smallMask)) return small;
  const e = vexp(f32x4.add(ax, ax));
  const large = copysign(f32x4.sub(splat(1), f32x4.div(splat(2), f32x4.add(e, splat(1)))), x);
  return v128.bitselect(small, large, smallMask);
}

/** 1 / (1 + e^−x). */
@inline export function vsigmoid(x: v128): v128 {
  return f32x4.div(splat(1), f32x4.add(splat(1), vexp(f32x4.neg(x))));
}

/** erfc z for z ≥ 0 (Numerical Recipes' erfcc: fractional error below 1.2e-7). */
@inline function verfcPos(z: v128): v128 {
  const t = f32x4.div(splat(1), f32x4.add(splat(1), f32x4.mul(splat(0.5), z)));
  let p = f32x4.add(f32x4.mul(t, splat(0.17087277)), splat(-0.82215223));
  p = f32x4.add(f32x4.mul(t, p), splat(1.48851587));
  p = f32x4.add(f32x4.mul(t, p), splat(-1.13520398));
  p = f32x4.add(f32x4.mul(t, p), splat(0.27886807));
  p = f32x4.add(f32x4.mul(t, p), splat(-0.18628806));
  p = f32x4.add(f32x4.mul(t, p), splat(0.09678418));
  p = f32x4.add(f32x4.mul(t, p), splat(0.37409196));
  p = f32x4.add(f32x4.mul(t, p), splat(1.00002368));
  p = f32x4.add(f32x4.mul(t, p), splat(-1.26551223));
  return f32x4.mul(t, vexp(f32x4.sub(p, f32x4.mul(z, z))));
}

/** Φ(x) = ½(1 + erf(x/√2)), computed through erfc so that the lower tail keeps its relative accuracy. */
@inline export function vnormcdf(x: v128): v128 {
  const z = f32x4.mul(f32x4.abs(x), splat(0.70710678118654752));
  const half = f32x4.mul(splat(0.5), verfcPos(z));
  const neg = f32x4.lt(x, splat(0));
  // NaN lanes: the comparison is false, 1 − NaN keeps NaN.
  return v128.bitselect(half, f32x4.sub(splat(1), half), neg);
}

/** φ(x) = e^{−x²/2}/√(2π). */
@inline export function vnormpdf(x: v128): v128 {
  return f32x4.mul(vexp(f32x4.mul(f32x4.mul(x, x), splat(-0.5))), splat(0.398942280401432678));
}
