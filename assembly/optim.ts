// Optimiser updates (SGD with momentum, Adam/AdamW) and axpy, split across threads in 16-element aligned ranges.
import { argb, argf, argi, argp, ld, lf, sf, splitAt, st } from './common';
import { hi64, lo64, pack32, splat } from './unary-ops';

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
