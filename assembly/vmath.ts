// f32x4 transcendental functions, accurate to a few ulp, with IEEE special values (NaN, ±Inf) propagated.
//
// Every vector constant lives in a table of splatted values: V8 rematerialises an inline v128 constant with three
// instructions at each use inside a loop, while a load from the table is one. Polynomials use Estrin's scheme
// (shorter dependency chains) where that does not cost accuracy.

const VK: usize = memory.data<u32>([0x42b1999a, 0x42b1999a, 0x42b1999a, 0x42b1999a, 0xc2d00000, 0xc2d00000, 0xc2d00000, 0xc2d00000, 0x3fb8aa3b, 0x3fb8aa3b, 0x3fb8aa3b, 0x3fb8aa3b, 0x4b400000, 0x4b400000, 0x4b400000, 0x4b400000, 0x3f318000, 0x3f318000, 0x3f318000, 0x3f318000, 0xb95e8083, 0xb95e8083, 0xb95e8083, 0xb95e8083, 0x39506967, 0x39506967, 0x39506967, 0x39506967, 0x3ab743ce, 0x3ab743ce, 0x3ab743ce, 0x3ab743ce, 0x3c088908, 0x3c088908, 0x3c088908, 0x3c088908, 0x3d2aa9c1, 0x3d2aa9c1, 0x3d2aa9c1, 0x3d2aa9c1, 0x3e2aaaaa, 0x3e2aaaaa, 0x3e2aaaaa, 0x3e2aaaaa, 0x3f000000, 0x3f000000, 0x3f000000, 0x3f000000, 0x3f800000, 0x3f800000, 0x3f800000, 0x3f800000, 0x40000000, 0x40000000, 0x40000000, 0x40000000, 0x3f000000, 0x3f000000, 0x3f000000, 0x3f000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0xbf000000, 0xbf000000, 0xbf000000, 0xbf000000, 0x00800000, 0x00800000, 0x00800000, 0x00800000, 0x7f800000, 0x7f800000, 0x7f800000, 0x7f800000, 0x3f3504f3, 0x3f3504f3, 0x3f3504f3, 0x3f3504f3, 0x3d9021bb, 0x3d9021bb, 0x3d9021bb, 0x3d9021bb, 0xbdebd1b8, 0xbdebd1b8, 0xbdebd1b8, 0xbdebd1b8, 0x3def251a, 0x3def251a, 0x3def251a, 0x3def251a, 0xbdfe5d4f, 0xbdfe5d4f, 0xbdfe5d4f, 0xbdfe5d4f, 0x3e11e9bf, 0x3e11e9bf, 0x3e11e9bf, 0x3e11e9bf, 0xbe2aae50, 0xbe2aae50, 0xbe2aae50, 0xbe2aae50, 0x3e4cceac, 0x3e4cceac, 0x3e4cceac, 0x3e4cceac, 0xbe7ffffc, 0xbe7ffffc, 0xbe7ffffc, 0xbe7ffffc, 0x3eaaaaaa, 0x3eaaaaaa, 0x3eaaaaaa, 0x3eaaaaaa, 0xbbbaf0ea, 0xbbbaf0ea, 0xbbbaf0ea, 0xbbbaf0ea, 0x3ca9134e, 0x3ca9134e, 0x3ca9134e, 0x3ca9134e, 0xbd5c1e2d, 0xbd5c1e2d, 0xbd5c1e2d, 0xbd5c1e2d, 0x3e088393, 0x3e088393, 0x3e088393, 0x3e088393, 0xbeaaaa99, 0xbeaaaa99, 0xbeaaaa99, 0xbeaaaa99, 0x3f200000, 0x3f200000, 0x3f200000, 0x3f200000, 0x3e2ef945, 0x3e2ef945, 0x3e2ef945, 0x3e2ef945, 0xbf527892, 0xbf527892, 0xbf527892, 0xbf527892, 0x3fbe87b0, 0x3fbe87b0, 0x3fbe87b0, 0x3fbe87b0, 0xbf914e5d, 0xbf914e5d, 0xbf914e5d, 0xbf914e5d, 0x3e8ec7cc, 0x3e8ec7cc, 0x3e8ec7cc, 0x3e8ec7cc, 0xbe3ec24c, 0xbe3ec24c, 0xbe3ec24c, 0xbe3ec24c, 0x3dc636c9, 0x3dc636c9, 0x3dc636c9, 0x3dc636c9, 0x3ebf88fb, 0x3ebf88fb, 0x3ebf88fb, 0x3ebf88fb, 0x3f8000c7, 0x3f8000c7, 0x3f8000c7, 0x3f8000c7, 0xbfa1fc4e, 0xbfa1fc4e, 0xbfa1fc4e, 0xbfa1fc4e, 0x3ecc422a, 0x3ecc422a, 0x3ecc422a, 0x3ecc422a, 0x4b400000, 0x4b400000, 0x4b400000, 0x4b400000, 0x0000007f, 0x0000007f, 0x0000007f, 0x0000007f, 0x0000007e, 0x0000007e, 0x0000007e, 0x0000007e, 0x007fffff, 0x007fffff, 0x007fffff, 0x007fffff, 0x3f000000, 0x3f000000, 0x3f000000, 0x3f000000, 0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff, 0x80000000, 0x80000000, 0x80000000, 0x80000000], 16);
const EXP_HI: usize = 0;
const EXP_LO: usize = 16;
const LOG2E: usize = 32;
const ROUND_MAGIC: usize = 48;
const LN2_HI: usize = 64;
const LN2_LO: usize = 80;
const EXP_P0: usize = 96;
const EXP_P1: usize = 112;
const EXP_P2: usize = 128;
const EXP_P3: usize = 144;
const EXP_P4: usize = 160;
const EXP_P5: usize = 176;
const ONE: usize = 192;
const TWO: usize = 208;
const HALF: usize = 224;
const ZERO: usize = 240;
const MINUS_HALF: usize = 256;
const MIN_NORMAL: usize = 272;
const INF: usize = 288;
const SQRT_HALF: usize = 304;
const LOG_P0: usize = 320;
const LOG_P1: usize = 336;
const LOG_P2: usize = 352;
const LOG_P3: usize = 368;
const LOG_P4: usize = 384;
const LOG_P5: usize = 400;
const LOG_P6: usize = 416;
const LOG_P7: usize = 432;
const LOG_P8: usize = 448;
const TANH_P0: usize = 464;
const TANH_P1: usize = 480;
const TANH_P2: usize = 496;
const TANH_P3: usize = 512;
const TANH_P4: usize = 528;
const TANH_SMALL: usize = 544;
const ERFC_C9: usize = 560;
const ERFC_C8: usize = 576;
const ERFC_C7: usize = 592;
const ERFC_C6: usize = 608;
const ERFC_C5: usize = 624;
const ERFC_C4: usize = 640;
const ERFC_C3: usize = 656;
const ERFC_C2: usize = 672;
const ERFC_C1: usize = 688;
const ERFC_C0: usize = 704;
const INV_SQRT2PI: usize = 720;
const I_MAGIC: usize = 736;
const I_127: usize = 752;
const I_126: usize = 768;
const I_MANT: usize = 784;
const I_HALF_BITS: usize = 800;
const I_ABS: usize = 816;
const I_SIGN: usize = 832;
@inline function vk(off: usize): v128 { return v128.load(VK + off); }
@inline function fma(a: v128, b: v128, c: v128): v128 { return f32x4.add(f32x4.mul(a, b), c); }

/**
 * e^x. Rounding x·log2(e) with the 1.5·2^23 trick gives both n (in the low mantissa bits) and its float value;
 * scaling by 2^n in two steps keeps subnormal results and overflow to +Inf right.
 */
@inline export function vexp(x: v128): v128 {
  // pmin/pmax with x first keep NaN lanes NaN.
  let xc = f32x4.pmin(x, vk(EXP_HI));
  xc = f32x4.pmax(xc, vk(EXP_LO));
  const t = fma(xc, vk(LOG2E), vk(ROUND_MAGIC));
  const fx = f32x4.sub(t, vk(ROUND_MAGIC));
  let r = f32x4.sub(xc, f32x4.mul(fx, vk(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(fx, vk(LN2_LO)));
  // y = P5 + P4 r + P3 r² + P2 r³ + P1 r⁴ + P0 r⁵ (Estrin), e^r = 1 + r + y r².
  const r2 = f32x4.mul(r, r), r4 = f32x4.mul(r2, r2);
  const a = fma(vk(EXP_P4), r, vk(EXP_P5)), b = fma(vk(EXP_P2), r, vk(EXP_P3)), c = fma(vk(EXP_P0), r, vk(EXP_P1));
  const y = f32x4.add(fma(b, r2, a), f32x4.mul(c, r4));
  const p = f32x4.add(fma(y, r2, r), vk(ONE));
  const n = i32x4.sub(t, vk(I_MAGIC));
  const n1 = i32x4.shr_s(n, 1), n2 = i32x4.sub(n, n1);
  const s1 = i32x4.shl(i32x4.add(n1, vk(I_127)), 23);
  const s2 = i32x4.shl(i32x4.add(n2, vk(I_127)), 23);
  return f32x4.mul(f32x4.mul(p, s1), s2);
}

/** ln x for positive normal finite lanes; any other lane sends the whole vector through the scalar logf. */
@inline export function vlog(x: v128): v128 {
  const ok = v128.and(f32x4.ge(x, vk(MIN_NORMAL)), f32x4.lt(x, vk(INF)));
  if (!i32x4.all_true(ok)) {
    return f32x4(
      Mathf.log(f32x4.extract_lane(x, 0)), Mathf.log(f32x4.extract_lane(x, 1)),
      Mathf.log(f32x4.extract_lane(x, 2)), Mathf.log(f32x4.extract_lane(x, 3)),
    );
  }
  let e = f32x4.convert_i32x4_s(i32x4.sub(i32x4.shr_u(x, 23), vk(I_126)));
  let m = v128.or(v128.and(x, vk(I_MANT)), vk(I_HALF_BITS)); // [0.5, 1)
  const small = f32x4.lt(m, vk(SQRT_HALF));
  // m < √½: e -= 1, m = 2m − 1; else m = m − 1.
  e = f32x4.sub(e, v128.and(small, vk(ONE)));
  m = f32x4.sub(f32x4.add(m, v128.and(small, m)), vk(ONE));
  const z = f32x4.mul(m, m);
  let y = fma(vk(LOG_P0), m, vk(LOG_P1));
  y = fma(y, m, vk(LOG_P2));
  y = fma(y, m, vk(LOG_P3));
  y = fma(y, m, vk(LOG_P4));
  y = fma(y, m, vk(LOG_P5));
  y = fma(y, m, vk(LOG_P6));
  y = fma(y, m, vk(LOG_P7));
  y = fma(y, m, vk(LOG_P8));
  y = f32x4.mul(f32x4.mul(y, m), z);
  y = f32x4.add(y, f32x4.mul(e, vk(LN2_LO)));
  y = f32x4.sub(y, f32x4.mul(z, vk(HALF)));
  return f32x4.add(f32x4.add(m, y), f32x4.mul(e, vk(LN2_HI)));
}

@inline function copysign(mag: v128, sgn: v128): v128 {
  return v128.or(v128.and(mag, vk(I_ABS)), v128.and(sgn, vk(I_SIGN)));
}

/** tanh x: odd polynomial below 0.625, 1 − 2/(e^{2|x|} + 1) above. */
@inline export function vtanh(x: v128): v128 {
  const ax = f32x4.abs(x);
  const z = f32x4.mul(x, x), z2 = f32x4.mul(z, z);
  // x + x·z·(P4 + P3 z + P2 z² + P1 z³ + P0 z⁴)
  const a = fma(vk(TANH_P3), z, vk(TANH_P4)), b = fma(vk(TANH_P1), z, vk(TANH_P2));
  const p = f32x4.add(fma(b, z2, a), f32x4.mul(vk(TANH_P0), f32x4.mul(z2, z2)));
  const small = fma(f32x4.mul(p, z), x, x);
  const smallMask = f32x4.lt(ax, vk(TANH_SMALL));
  if (i32x4.all_true(smallMask)) return small;
  const e = vexp(f32x4.add(ax, ax));
  const large = copysign(f32x4.sub(vk(ONE), f32x4.div(vk(TWO), f32x4.add(e, vk(ONE)))), x);
  return v128.bitselect(small, large, smallMask);
}

/** 1 / (1 + e^−x). */
@inline export function vsigmoid(x: v128): v128 {
  return f32x4.div(vk(ONE), f32x4.add(vk(ONE), vexp(f32x4.neg(x))));
}

/** erfc z for z ≥ 0 (Numerical Recipes' erfcc: fractional error below 1.2e-7). */
@inline function verfcPos(z: v128): v128 {
  const t = f32x4.div(vk(ONE), fma(vk(HALF), z, vk(ONE)));
  // C0 + C1 t + … + C9 t⁹ (Estrin).
  const t2 = f32x4.mul(t, t), t4 = f32x4.mul(t2, t2), t8 = f32x4.mul(t4, t4);
  const q0 = fma(vk(ERFC_C1), t, vk(ERFC_C0)), q1 = fma(vk(ERFC_C3), t, vk(ERFC_C2));
  const q2 = fma(vk(ERFC_C5), t, vk(ERFC_C4)), q3 = fma(vk(ERFC_C7), t, vk(ERFC_C6));
  const q4 = fma(vk(ERFC_C9), t, vk(ERFC_C8));
  const r0 = fma(q1, t2, q0), r1 = fma(q3, t2, q2);
  const p = f32x4.add(fma(r1, t4, r0), f32x4.mul(q4, t8));
  return f32x4.mul(t, vexp(f32x4.sub(p, f32x4.mul(z, z))));
}

/** Φ(x) = ½(1 + erf(x/√2)), computed through erfc so that the lower tail keeps its relative accuracy. */
@inline export function vnormcdf(x: v128): v128 {
  const z = f32x4.mul(f32x4.abs(x), vk(SQRT_HALF));
  const half = f32x4.mul(vk(HALF), verfcPos(z));
  const neg = f32x4.lt(x, vk(ZERO));
  // NaN lanes: the comparison is false, 1 − NaN keeps NaN.
  return v128.bitselect(half, f32x4.sub(vk(ONE), half), neg);
}

/** φ(x) = e^{−x²/2}/√(2π). */
@inline export function vnormpdf(x: v128): v128 {
  return f32x4.mul(vexp(f32x4.mul(f32x4.mul(x, x), vk(MINUS_HALF))), vk(INV_SQRT2PI));
}
