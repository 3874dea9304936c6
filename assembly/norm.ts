// Batch norm (x viewed as [n, c, hw]) and layer norm, split across threads by channels or rows; statistics
// accumulate in float64.
import { argb, argf, argi, argp, imin, ld, lf, sf, splitAt, st, sumRow } from './common';
import { hsum } from './reduce';
import { splat } from './unary-ops';

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

