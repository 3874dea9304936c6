// Max / average / adaptive-average pooling, forward and backward. Threads split the (n, c) planes; each
// backward pass only scatters inside its own planes, so no two threads touch the same dx element.
import { argb, argi, argp, imax, imin, splitAt } from './common';

@inline function lf(p: usize, i: i32): f32 { return load<f32>(p + (<usize>i << 2)); }
@inline function sf(p: usize, i: i32, v: f32): void { store<f32>(p + (<usize>i << 2), v); }

let N = 0, C = 0, H = 0, W = 0, KH = 0, KW = 0, SH = 0, SW = 0, PH = 0, PW = 0, OH = 0, OW = 0;
let INCLUDE_PAD = false;

function readPool(): void {
  N = argi(0); C = argi(1); H = argi(2); W = argi(3); KH = argi(4); KW = argi(5); SH = argi(6); SW = argi(7);
  PH = argi(8); PW = argi(9); OH = argi(10); OW = argi(11); INCLUDE_PAD = argb(12);
}

/** Max of one output's window, scalar, exactly as the reference scans it; returns the flat index, sets wBest. */
let wBest: f32 = 0;
@inline function maxWindow(xp: usize, y0: i32, x0: i32): i32 {
  const ky0 = imax(0, -y0), ky1 = imin(KH, H - y0);
  const kx0 = imax(0, -x0), kx1 = imin(KW, W - x0);
  let best: f32 = -Infinity;
  let bestAt = -1;
  for (let ky = ky0; ky < ky1; ky++) {
    const row = (y0 + ky) * W;
    for (let kx = kx0; kx < kx1; kx++) {
      const at = row + x0 + kx;
      const v = lf(xp, at);
      if (v > best || v != v || bestAt < 0) {
        best = v; bestAt = at;
        if (v != v) break;
      }
    }
  }
  wBest = best;
  return bestAt;
}

/** Four windows' candidates at tap (iy, ix0 + l·SW), l = 0..3. */
@inline function tapQuad(row: usize, ix0: i32): v128 {
  if (SW == 1) return v128.load(row + (<usize>ix0 << 2));
  if (SW == 2) {
    // Columns ix0, +2 | +4, +6: the second load starts at ix0 + 3 so that nothing past ix0 + 6 is read.
    const a = v128.load(row + (<usize>ix0 << 2)), b = v128.load(row + (<usize>ix0 << 2), 12);
    return v128.shuffle<i32>(a, b, 0, 2, 5, 7);
  }
  return f32x4(
    load<f32>(row + (<usize>ix0 << 2)), load<f32>(row + (<usize>(ix0 + SW) << 2)),
    load<f32>(row + (<usize>(ix0 + 2 * SW) << 2)), load<f32>(row + (<usize>(ix0 + 3 * SW) << 2)),
  );
}

/**
 * Args: pool params (0–12), x, y, idx. NaN wins; within a window row the first NaN ends the row, and a later row's
 * NaN replaces it (the reference's scan order, reproduced exactly). Interior windows go four at a time with SIMD
 * compare-and-select; windows touching the padding take the scalar path.
 */
export function maxPoolJob(tid: i32, nth: i32): void {
  readPool();
  const x = argp(13), y = argp(14), idx = argp(15);
  const planes = N * C, plane = H * W, oplane = OH * OW;
  const p0 = splitAt(planes, tid, nth, 1), p1 = splitAt(planes, tid + 1, nth, 1);
  // Interior output columns: the whole window inside [0, W); SW == 2 reads 8 floats per tap quad.
  const oxLo = (PW + SW - 1) / SW;
  let oxHi = W - KW + PW < 0 ? 0 : (W - KW + PW) / SW + 1;
  if (oxHi > OW) oxHi = OW;
  const lane = i32x4(0, SW, 2 * SW, 3 * SW);
  const k22 = KH == 2 && KW == 2 && SH == 2 && SW == 2 && PH == 0 && PW == 0;
  for (let pl = p0; pl < p1; pl++) {
    const xp = x + (<usize>pl * plane << 2), yp = y + (<usize>pl * oplane << 2), ip = idx + (<usize>pl * oplane << 2);
    for (let oy = 0; oy < OH; oy++) {
      const y0 = oy * SH - PH;
      const rowInside = y0 >= 0 && y0 + KH <= H;
      let ox = 0;
      if (rowInside) {
        for (; ox < oxLo && ox < OW; ox++) {
          const at = maxWindow(xp, y0, ox * SW - PW);
          sf(yp, oy * OW + ox, wBest); store<i32>(ip + (<usize>(oy * OW + ox) << 2), at);
        }
        if (k22) {
          // 2×2 stride 2, no padding: two rows of 8 floats give four windows; even/odd columns by shuffles.
          const r0 = xp + (<usize>(y0 * W) << 2), r1 = r0 + (<usize>W << 2);
          const base0 = i32x4.add(lane, i32x4.splat(y0 * W)), base1 = i32x4.add(lane, i32x4.splat(y0 * W + W));
          const one = i32x4.splat(1);
          for (; ox + 4 <= oxHi; ox += 4) {
            const off = <usize>(ox << 1) << 2;
            const a = v128.load(r0 + off), a2 = v128.load(r0 + off, 16);
            const b = v128.load(r1 + off), b2 = v128.load(r1 + off, 16);
            const e0 = v128.shuffle<i32>(a, a2, 0, 2, 4, 6), o0 = v128.shuffle<i32>(a, a2, 1, 3, 5, 7);
            const e1 = v128.shuffle<i32>(b, b2, 0, 2, 4, 6), o1 = v128.shuffle<i32>(b, b2, 1, 3, 5, 7);
            const ox2 = i32x4.splat(ox << 1);
            const at0 = i32x4.add(base0, ox2), at1 = i32x4.add(base1, ox2);
            let best = e0, bi = at0;
            const n0 = f32x4.ne(e0, e0);
            let upd = v128.andnot(v128.or(f32x4.gt(o0, best), f32x4.ne(o0, o0)), n0);
            best = v128.bitselect(o0, best, upd); bi = v128.bitselect(i32x4.add(at0, one), bi, upd);
            const n1 = f32x4.ne(e1, e1);
            upd = v128.or(f32x4.gt(e1, best), n1);
            best = v128.bitselect(e1, best, upd); bi = v128.bitselect(at1, bi, upd);
            upd = v128.andnot(v128.or(f32x4.gt(o1, best), f32x4.ne(o1, o1)), n1);
            best = v128.bitselect(o1, best, upd); bi = v128.bitselect(i32x4.add(at1, one), bi, upd);
            const o = oy * OW + ox;
            v128.store(yp + (<usize>o << 2), best);
            v128.store(ip + (<usize>o << 2), bi);
          }
        }
        for (; ox + 4 <= oxHi; ox += 4) {
          const x0 = ox * SW - PW;
          let best = f32x4.splat(0), bi = i32x4.splat(0);
          for (let ky = 0; ky < KH; ky++) {
            const rowOff = (y0 + ky) * W;
            const row = xp + (<usize>rowOff << 2);
            let rowNan = i32x4.splat(0);
            for (let kx = 0; kx < KW; kx++) {
              const v = tapQuad(row, x0 + kx);
              const at = i32x4.add(lane, i32x4.splat(rowOff + x0 + kx));
              const nan = f32x4.ne(v, v);
              if (ky == 0 && kx == 0) {
                best = v; bi = at; rowNan = nan;
              } else {
                const upd = v128.andnot(v128.or(f32x4.gt(v, best), nan), rowNan);
                best = v128.bitselect(v, best, upd);
                bi = v128.bitselect(at, bi, upd);
                rowNan = v128.or(rowNan, v128.and(upd, nan));
              }
            }
          }
          const o = oy * OW + ox;
          v128.store(yp + (<usize>o << 2), best);
          v128.store(ip + (<usize>o << 2), bi);
        }
      }
      for (; ox < OW; ox++) {
        const at = maxWindow(xp, y0, ox * SW - PW);
        sf(yp, oy * OW + ox, wBest); store<i32>(ip + (<usize>(oy * OW + ox) << 2), at);
      }
    }
  }
}

/** Args: pool params, dy, idx, dx. */
export function maxPoolBackwardJob(tid: i32, nth: i32): void {
  readPool();
  const dy = argp(13), idx = argp(14), dx = argp(15);
  const planes = N * C, plane = H * W, oplane = OH * OW;
  const p0 = splitAt(planes, tid, nth, 1), p1 = splitAt(planes, tid + 1, nth, 1);
  for (let pl = p0; pl < p1; pl++) {
    const dxp = dx + (<usize>pl * plane << 2), dyp = dy + (<usize>pl * oplane << 2), ip = idx + (<usize>pl * oplane << 2);
    memory.fill(dxp, 0, <usize>plane << 2);
    for (let o = 0; o < oplane; o++) {
      const at = load<i32>(ip + (<usize>o << 2));
      if (at >= 0) sf(dxp, at, lf(dxp, at) + lf(dyp, o));
    }
  }
}

/** Window of output (oy, ox) clipped to the input, and PyTorch's divisor. Returns the divisor; sets the bounds. */
let wy0 = 0, wy1 = 0, wx0 = 0, wx1 = 0;
@inline function avgWindow(oy: i32, ox: i32): i32 {
  let y0 = oy * SH - PH, x0 = ox * SW - PW;
  let y1 = imin(y0 + KH, H + PH), x1 = imin(x0 + KW, W + PW);
  const padded = (y1 - y0) * (x1 - x0);
  y0 = imax(y0, 0); x0 = imax(x0, 0); y1 = imin(y1, H); x1 = imin(x1, W);
  wy0 = y0; wy1 = y1; wx0 = x0; wx1 = x1;
  return INCLUDE_PAD ? padded : imax(0, y1 - y0) * imax(0, x1 - x0);
}

/** Args: pool params, x, y. */
export function avgPoolJob(tid: i32, nth: i32): void {
  readPool();
  averagePoolPlanes(tid, nth, false, false, N * C, H, W, OH, OW, argp(13), argp(14));
}

/** Args: pool params, dy, dx. */
export function avgPoolBackwardJob(tid: i32, nth: i32): void {
  readPool();
  averagePoolPlanes(tid, nth, true, false, N * C, H, W, OH, OW, argp(13), argp(14));
}

/** Args: n, c, h, w, oh, ow, x, y. Window [⌊i·h/oh⌋, ⌈(i+1)·h/oh⌉). */
export function adaptiveAvgPoolJob(tid: i32, nth: i32): void {
  averagePoolPlanes(tid, nth, false, true, argi(0) * argi(1), argi(2), argi(3), argi(4), argi(5), argp(6), argp(7));
}

/** Args: n, c, h, w, oh, ow, dy, dx. */
export function adaptiveAvgPoolBackwardJob(tid: i32, nth: i32): void {
  averagePoolPlanes(tid, nth, true, true, argi(0) * argi(1), argi(2), argi(3), argi(4), argi(5), argp(6), argp(7));
}

/**
 * This thread's planes of an average pool: forward, out[o] = mean of `inp` over output o's window (summed in
 * f64, row by row); backward, each element of o's window in `out` (zeroed first) gets inp[o] / divisor. Windows
 * are avgWindow's (kernel, stride, padding) or, when adaptive, [⌊i·h/oh⌋, ⌈(i+1)·h/oh⌉) per axis. `backward`
 * and `adaptive` must be constants: each job inlines to its own loop.
 */
@inline function averagePoolPlanes(
  tid: i32, nth: i32, backward: bool, adaptive: bool, planes: i32, h: i32, w: i32, oh: i32, ow: i32, inp: usize, out: usize,
): void {
  const plane = h * w, oplane = oh * ow;
  const inPlane = backward ? oplane : plane, outPlane = backward ? plane : oplane;
  const p0 = splitAt(planes, tid, nth, 1), p1 = splitAt(planes, tid + 1, nth, 1);
  for (let pl = p0; pl < p1; pl++) {
    const ip = inp + (<usize>pl * inPlane << 2), op = out + (<usize>pl * outPlane << 2);
    if (backward) memory.fill(op, 0, <usize>plane << 2);
    for (let oy = 0; oy < oh; oy++) {
      // Adaptive windows' rows depend on oy alone.
      const ay0 = adaptive ? oy * h / oh : 0, ay1 = adaptive ? ((oy + 1) * h + oh - 1) / oh : 0;
      for (let ox = 0; ox < ow; ox++) {
        let y0 = ay0, y1 = ay1, x0 = 0, x1 = 0, div = 0;
        if (adaptive) {
          x0 = ox * w / ow; x1 = ((ox + 1) * w + ow - 1) / ow;
          div = (y1 - y0) * (x1 - x0);
        } else {
          div = avgWindow(oy, ox);
          y0 = wy0; y1 = wy1; x0 = wx0; x1 = wx1;
        }
        const o = oy * ow + ox;
        if (backward) {
          const g = <f32>(<f64>lf(ip, o) / <f64>div);
          for (let iy = y0; iy < y1; iy++) {
            for (let ix = x0; ix < x1; ix++) { const at = iy * w + ix; sf(op, at, lf(op, at) + g); }
          }
        } else {
          let acc: f64 = 0;
          for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) acc += <f64>lf(ip, iy * w + ix);
          sf(op, o, <f32>(acc / <f64>div));
        }
      }
    }
  }
}
