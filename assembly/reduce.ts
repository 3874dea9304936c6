// Reductions and softmax, split across threads by rows; sums accumulate in float64.
import { argb, argi, argp, imin, ld, lf, sf, splitAt, st, sumRow } from './common';
import { splat } from './unary-ops';
import { vexp } from './vmath';

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
@inline export function hsum(v: v128): f64 {
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

