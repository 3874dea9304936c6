// Depthwise convolution (one input and one output channel per group): forward, input gradient and weight gradient.
//
// Stride-1 layers (all of MobileNet's and EfficientNet's but the few downsampling ones) copy each input plane into a
// zero-padded plane in the thread's scratch, so that every tap is a plain unaligned vector load with no bounds
// checks. Each output vector then accumulates all KH×KW taps in registers and is stored once; the 3×3 case keeps
// its nine weights in registers. The input gradient of a stride-1 layer is the same correlation, of dY padded by
// (K−1)·D − P with the flipped filter. Strided layers, and planes too large for the scratch, take the general
// row-by-row loops at the end of this file.
import { argf, argi, argp, chunkCount, chunkDone, chunkStart, claim, scratchPtr, sumRow } from './common';
import { GEMM_SCRATCH_BYTES } from './sgemm';

let N = 0, C = 0, H = 0, W = 0, KH = 0, KW = 0, SH = 0, SW = 0, PH = 0, PW = 0, DH = 0, DW = 0, OH = 0, OW = 0;

function readGeometry(): void {
  N = argi(0); C = argi(1); H = argi(2); W = argi(3); KH = argi(5); KW = argi(6);
  SH = argi(7); SW = argi(8); PH = argi(9); PW = argi(10); DH = argi(11); DW = argi(12);
  OH = argi(14); OW = argi(15);
}

@inline function roundUp(x: i32, m: i32): i32 { return (x + m - 1) / m * m; }

/** Floats of scratch a padded plane needs: the plane (rows × width) plus one vector-padded row for dY. */
@inline function paddedFloats(rows: i32, outW: i32): i32 { return rows * (roundUp(outW, 4) + (KW - 1) * DW) + roundUp(outW, 4) + 8; }

/** Whether the padded stride-1 path applies: forward (and weight gradient) always fit a padding ≤ the kernel's reach. */
@inline function paddedForward(): bool {
  return SH == 1 && SW == 1 && paddedFloats(OH + (KH - 1) * DH, OW) * 4 <= <i32>GEMM_SCRATCH_BYTES;
}
/** The input gradient as a correlation of dY needs a non-negative padding (K−1)·D − P. */
@inline function paddedBackwardInput(): bool {
  return SH == 1 && SW == 1 && PH <= (KH - 1) * DH && PW <= (KW - 1) * DW
    && paddedFloats(H + (KH - 1) * DH, W) * 4 <= <i32>GEMM_SCRATCH_BYTES;
}

@inline function alignedScratch(tid: i32): usize { return (scratchPtr(tid) + 15) & ~(<usize>15); }

/** Copies an inH×inW plane into a zeroed (padH + inH + …)-row plane of width `pw` at column padW. */
function padPlane(src: usize, inH: i32, inW: i32, padH: i32, padW: i32, dst: usize, rows: i32, pw: i32): void {
  memory.fill(dst, 0, <usize>(rows * pw) << 2);
  for (let r = 0; r < inH; r++) {
    memory.copy(dst + (<usize>((padH + r) * pw + padW) << 2), src + (<usize>(r * inW) << 2), <usize>inW << 2);
  }
}

/**
 * out[oy][ox] = bias + Σ w[ky][kx] · pad[oy + ky·DH][ox + kx·DW] over a padded plane of width pw, with the filter
 * flipped for the input gradient. Rows are computed 8 then 4 outputs at a time into `row` when outW is not a
 * multiple of 4, straight into `out` otherwise.
 */
function correlatePlane(pad: usize, pw: i32, w: usize, flip: bool, bias: f32, out: usize, outH: i32, outW: i32, row: usize): void {
  const wide = roundUp(outW, 4), direct = wide == outW, khw = KH * KW;
  const is3x3 = KH == 3 && KW == 3;
  // The nine taps of a 3×3 filter, in registers (unused otherwise).
  const w0 = f32x4.splat(tap(w, 0, flip, khw)), w1 = f32x4.splat(tap(w, 1, flip, khw)), w2 = f32x4.splat(tap(w, 2, flip, khw));
  const w3 = f32x4.splat(tap(w, 3, flip, khw)), w4 = f32x4.splat(tap(w, 4, flip, khw)), w5 = f32x4.splat(tap(w, 5, flip, khw));
  const w6 = f32x4.splat(tap(w, 6, flip, khw)), w7 = f32x4.splat(tap(w, 7, flip, khw)), w8 = f32x4.splat(tap(w, 8, flip, khw));
  const b = f32x4.splat(bias);
  const d1 = <usize>DW << 2, d2 = <usize>(2 * DW) << 2, rowStep = <usize>(DH * pw) << 2;
  for (let oy = 0; oy < outH; oy++) {
    const dst = direct ? out + (<usize>(oy * outW) << 2) : row;
    const r0 = pad + (<usize>(oy * pw) << 2);
    if (is3x3) {
      const r1 = r0 + rowStep, r2 = r1 + rowStep;
      for (let ox = 0; ox < wide; ox += 4) {
        const o = <usize>ox << 2;
        let a = f32x4.add(b, f32x4.mul(w0, v128.load(r0 + o)));
        let c = f32x4.mul(w1, v128.load(r0 + o + d1));
        a = f32x4.add(a, f32x4.mul(w2, v128.load(r0 + o + d2)));
        c = f32x4.add(c, f32x4.mul(w3, v128.load(r1 + o)));
        a = f32x4.add(a, f32x4.mul(w4, v128.load(r1 + o + d1)));
        c = f32x4.add(c, f32x4.mul(w5, v128.load(r1 + o + d2)));
        a = f32x4.add(a, f32x4.mul(w6, v128.load(r2 + o)));
        c = f32x4.add(c, f32x4.mul(w7, v128.load(r2 + o + d1)));
        a = f32x4.add(a, f32x4.mul(w8, v128.load(r2 + o + d2)));
        v128.store(dst + o, f32x4.add(a, c));
      }
    } else {
      for (let ox = 0; ox < wide; ox += 4) {
        const o = <usize>ox << 2;
        let a = b;
        for (let ky = 0; ky < KH; ky++) {
          const r = r0 + <usize>ky * rowStep + o;
          for (let kx = 0; kx < KW; kx++) {
            a = f32x4.add(a, f32x4.mul(f32x4.splat(tap(w, ky * KW + kx, flip, khw)), v128.load(r + (<usize>(kx * DW) << 2))));
          }
        }
        v128.store(dst + o, a);
      }
    }
    if (!direct) memory.copy(out + (<usize>(oy * outW) << 2), row, <usize>outW << 2);
  }
}

@inline function tap(w: usize, t: i32, flip: bool, khw: i32): f32 {
  if (t >= khw) return 0;
  return load<f32>(w + (<usize>(flip ? khw - 1 - t : t) << 2));
}

/** Args: geometry, x, w, b (< 0: none), y. */
export function depthwiseForward(tid: i32, nth: i32, x: usize, w: usize, hasBias: bool, b: usize, y: usize): i32 {
  readGeometry();
  if (!paddedForward()) return depthwisePlanes(false, nth, x, w, hasBias, b, y);
  const planes = N * C, pw = roundUp(OW, 4) + (KW - 1) * DW, rows = OH + (KH - 1) * DH;
  const pad = alignedScratch(tid), row = pad + (<usize>(rows * pw) << 2);
  const total = chunkCount(planes, nth, 1);
  for (let c = claim(total); c >= 0; c = claim(total)) {
    const p1 = chunkStart(planes, c + 1, total, 1);
    for (let pl = chunkStart(planes, c, total, 1); pl < p1; pl++) {
      const ch = pl % C;
      padPlane(x + (<usize>(pl * H * W) << 2), H, W, PH, PW, pad, rows, pw);
      correlatePlane(pad, pw, w + (<usize>(ch * KH * KW) << 2), false, hasBias ? load<f32>(b + (<usize>ch << 2)) : 0,
        y + (<usize>(pl * OH * OW) << 2), OH, OW, row);
    }
    chunkDone();
  }
  return total;
}

/** Args: geometry, dy, w, dx. */
export function depthwiseBackwardInput(tid: i32, nth: i32, dy: usize, w: usize, dx: usize): i32 {
  readGeometry();
  if (!paddedBackwardInput()) return depthwisePlanes(true, nth, dx, w, false, 0, dy);
  const planes = N * C, padH = (KH - 1) * DH - PH, padW = (KW - 1) * DW - PW;
  const pw = roundUp(W, 4) + (KW - 1) * DW, rows = H + (KH - 1) * DH;
  const pad = alignedScratch(tid), row = pad + (<usize>(rows * pw) << 2);
  const total = chunkCount(planes, nth, 1);
  for (let c = claim(total); c >= 0; c = claim(total)) {
    const p1 = chunkStart(planes, c + 1, total, 1);
    for (let pl = chunkStart(planes, c, total, 1); pl < p1; pl++) {
      padPlane(dy + (<usize>(pl * OH * OW) << 2), OH, OW, padH, padW, pad, rows, pw);
      correlatePlane(pad, pw, w + (<usize>((pl % C) * KH * KW) << 2), true, 0, dx + (<usize>(pl * H * W) << 2), H, W, row);
    }
    chunkDone();
  }
  return total;
}

/**
 * Args: geometry, x, dy, dw, db (< 0: none). One chunk per band of channels, each over the whole batch, so the
 * sums never cross threads and the result does not depend on the thread count.
 */
export function depthwiseBackwardWeight(tid: i32, nth: i32, x: usize, dy: usize, dw: usize, hasDb: bool, db: usize): i32 {
  readGeometry();
  if (!paddedForward() || KH * KW > 9) return depthwiseWeightGradRows(nth, x, dy, dw, hasDb, db);
  const pw = roundUp(OW, 4) + (KW - 1) * DW, rows = OH + (KH - 1) * DH, wide = roundUp(OW, 4), khw = KH * KW;
  const pad = alignedScratch(tid), row = pad + (<usize>(rows * pw) << 2);
  const rowStep = <usize>(DH * pw) << 2;
  const total = chunkCount(C, nth, 1);
  for (let cc = claim(total); cc >= 0; cc = claim(total)) {
    const c1 = chunkStart(C, cc + 1, total, 1);
    for (let ch = chunkStart(C, cc, total, 1); ch < c1; ch++) {
      // Per-tap sums over the batch in float64; each image's sum in float32 vectors.
      let s0: f64 = 0, s1: f64 = 0, s2: f64 = 0, s3: f64 = 0, s4: f64 = 0, s5: f64 = 0, s6: f64 = 0, s7: f64 = 0, s8: f64 = 0;
      let bsum: f64 = 0;
      memory.fill(row, 0, <usize>wide << 2);
      for (let img = 0; img < N; img++) {
        const pl = img * C + ch, dyp = dy + (<usize>(pl * OH * OW) << 2);
        padPlane(x + (<usize>(pl * H * W) << 2), H, W, PH, PW, pad, rows, pw);
        let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0;
        for (let oy = 0; oy < OH; oy++) {
          // dY's row, zero-padded to whole vectors when OW is not a multiple of 4.
          let g = dyp + (<usize>(oy * OW) << 2);
          if (wide != OW) { memory.copy(row, g, <usize>OW << 2); g = row; }
          const r0 = pad + (<usize>(oy * pw) << 2);
          for (let ox = 0; ox < wide; ox += 4) {
            const o = <usize>ox << 2, gv = v128.load(g + o);
            a0 = f32x4.add(a0, f32x4.mul(gv, v128.load(tapAt(r0, rowStep, 0, o))));
            if (khw > 1) a1 = f32x4.add(a1, f32x4.mul(gv, v128.load(tapAt(r0, rowStep, 1, o))));
            if (khw > 2) a2 = f32x4.add(a2, f32x4.mul(gv, v128.load(tapAt(r0, rowStep, 2, o))));
            if (khw > 3) a3 = f32x4.add(a3, f32x4.mul(gv, v128.load(tapAt(r0, rowStep, 3, o))));
            if (khw > 4) a4 = f32x4.add(a4, f32x4.mul(gv, v128.load(tapAt(r0, rowStep, 4, o))));
            if (khw > 5) a5 = f32x4.add(a5, f32x4.mul(gv, v128.load(tapAt(r0, rowStep, 5, o))));
            if (khw > 6) a6 = f32x4.add(a6, f32x4.mul(gv, v128.load(tapAt(r0, rowStep, 6, o))));
            if (khw > 7) a7 = f32x4.add(a7, f32x4.mul(gv, v128.load(tapAt(r0, rowStep, 7, o))));
            if (khw > 8) a8 = f32x4.add(a8, f32x4.mul(gv, v128.load(tapAt(r0, rowStep, 8, o))));
          }
        }
        s0 += lanes(a0); s1 += lanes(a1); s2 += lanes(a2); s3 += lanes(a3); s4 += lanes(a4);
        s5 += lanes(a5); s6 += lanes(a6); s7 += lanes(a7); s8 += lanes(a8);
        if (hasDb) bsum += sumRow(dyp, OH * OW);
      }
      const out = dw + (<usize>(ch * khw) << 2);
      store<f32>(out, <f32>s0);
      if (khw > 1) store<f32>(out + 4, <f32>s1);
      if (khw > 2) store<f32>(out + 8, <f32>s2);
      if (khw > 3) store<f32>(out + 12, <f32>s3);
      if (khw > 4) store<f32>(out + 16, <f32>s4);
      if (khw > 5) store<f32>(out + 20, <f32>s5);
      if (khw > 6) store<f32>(out + 24, <f32>s6);
      if (khw > 7) store<f32>(out + 28, <f32>s7);
      if (khw > 8) store<f32>(out + 32, <f32>s8);
      if (hasDb) store<f32>(db + (<usize>ch << 2), <f32>bsum);
    }
    chunkDone();
  }
  return total;
}

/** Address of tap t's input vector for the output vector at byte offset o of the padded row r0. */
@inline function tapAt(r0: usize, rowStep: usize, t: i32, o: usize): usize {
  const ky = t / KW, kx = t - ky * KW;
  return r0 + <usize>ky * rowStep + o + (<usize>(kx * DW) << 2);
}

@inline function lanes(v: v128): f64 {
  return <f64>f32x4.extract_lane(v, 0) + <f64>f32x4.extract_lane(v, 1) + <f64>f32x4.extract_lane(v, 2) + <f64>f32x4.extract_lane(v, 3);
}

// ---------------------------------------------------------------------------------------------------------------
// The general loops: any stride, padding and plane size.

/** Output columns whose input column ox*SW + off lies in [0, W): [lo, hi). */
@inline function oxRangeLo(off: i32): i32 { return off < 0 ? (-off + SW - 1) / SW : 0; }
@inline function oxRangeHi(off: i32): i32 {
  const hi = W - off <= 0 ? 0 : (W - off + SW - 1) / SW;
  return hi < OW ? hi : OW;
}

/**
 * The forward pass (y += w ⊛ x, from the bias) or input gradient (dx += w ⊛ᵀ dy, from zero), one (image, channel)
 * plane per step: `inp` holds the input-side planes (x, or dx), `outp` the output-side ones (y, or dy). Both walk
 * the same output rows, taps and column ranges; only the direction of the update differs.
 */
@inline function depthwisePlanes(backward: bool, nth: i32, inp: usize, w: usize, hasBias: bool, b: usize, outp: usize): i32 {
  const planes = N * C, plane = H * W, ohow = OH * OW, khw = KH * KW;
  const total = chunkCount(planes, nth, 1);
  for (let c = claim(total); c >= 0; c = claim(total)) {
    const p0 = chunkStart(planes, c, total, 1), p1 = chunkStart(planes, c + 1, total, 1);
    for (let pl = p0; pl < p1; pl++) {
      const ch = pl % C;
      const ip = inp + (<usize>pl * plane << 2), op = outp + (<usize>pl * ohow << 2), wp = w + (<usize>ch * khw << 2);
      const bias: f32 = hasBias ? load<f32>(b + (<usize>ch << 2)) : 0;
      if (backward) memory.fill(ip, 0, <usize>plane << 2);
      for (let oy = 0; oy < OH; oy++) {
        const orow = op + (<usize>oy * OW << 2);
        if (!backward) fillRow(orow, OW, bias);
        for (let ky = 0; ky < KH; ky++) {
          const iy = oy * SH - PH + ky * DH;
          if (iy < 0 || iy >= H) continue;
          const irow = ip + (<usize>iy * W << 2);
          for (let kx = 0; kx < KW; kx++) depthwiseTap(backward, orow, irow, load<f32>(wp + (<usize>(ky * KW + kx) << 2)), kx * DW - PW);
        }
      }
    }
    chunkDone();
  }
  return total;
}

/** One tap along an output row: orow[ox] += wv·irow[ox·SW + off] (forward), or irow[…] += wv·orow[ox] (backward). */
@inline function depthwiseTap(backward: bool, orow: usize, irow: usize, wv: f32, off: i32): void {
  const lo = oxRangeLo(off), hi = oxRangeHi(off);
  let ox = lo;
  if (SW == 1) {
    const wvv = f32x4.splat(wv);
    for (; ox + 4 <= hi; ox += 4) {
      const o = orow + (<usize>ox << 2), i = irow + (<usize>(ox + off) << 2);
      if (backward) v128.store(i, f32x4.add(v128.load(i), f32x4.mul(wvv, v128.load(o))));
      else v128.store(o, f32x4.add(v128.load(o), f32x4.mul(wvv, v128.load(i))));
    }
  }
  for (; ox < hi; ox++) {
    const o = orow + (<usize>ox << 2), i = irow + (<usize>(ox * SW + off) << 2);
    if (backward) store<f32>(i, load<f32>(i) + wv * load<f32>(o));
    else store<f32>(o, load<f32>(o) + wv * load<f32>(i));
  }
}

function depthwiseWeightGradRows(nth: i32, x: usize, dy: usize, dw: usize, hasDb: bool, db: usize): i32 {
  const plane = H * W, ohow = OH * OW, khw = KH * KW;
  const total = chunkCount(C, nth, 1);
  for (let cc = claim(total); cc >= 0; cc = claim(total)) {
    const c0 = chunkStart(C, cc, total, 1), c1 = chunkStart(C, cc + 1, total, 1);
    for (let ch = c0; ch < c1; ch++) {
      let bsum: f64 = 0;
      for (let t = 0; t < khw; t++) {
        const ky = t / KW, kx = t - ky * KW;
        const off = kx * DW - PW;
        const lo = oxRangeLo(off), hi = oxRangeHi(off);
        let s: f64 = 0;
        for (let img = 0; img < N; img++) {
          const pl = img * C + ch;
          const xp = x + (<usize>pl * plane << 2), dyp = dy + (<usize>pl * ohow << 2);
          let acc = f32x4.splat(0);
          let sacc: f32 = 0;
          for (let oy = 0; oy < OH; oy++) {
            const iy = oy * SH - PH + ky * DH;
            if (iy < 0 || iy >= H) continue;
            const xr = xp + (<usize>iy * W << 2), dyr = dyp + (<usize>oy * OW << 2);
            let ox = lo;
            if (SW == 1) {
              for (; ox + 4 <= hi; ox += 4) {
                acc = f32x4.add(acc, f32x4.mul(v128.load(dyr + (<usize>ox << 2)), v128.load(xr + (<usize>(ox + off) << 2))));
              }
            }
            for (; ox < hi; ox++) sacc += load<f32>(dyr + (<usize>ox << 2)) * load<f32>(xr + (<usize>(ox * SW + off) << 2));
          }
          s += lanes(acc) + <f64>sacc;
        }
        store<f32>(dw + (<usize>(ch * khw + t) << 2), <f32>s);
      }
      if (hasDb) {
        for (let img = 0; img < N; img++) bsum += sumRow(dy + (<usize>(img * C + ch) * ohow << 2), ohow);
        store<f32>(db + (<usize>ch << 2), <f32>bsum);
      }
    }
    chunkDone();
  }
  return total;
}

@inline function fillRow(p: usize, len: i32, v: f32): void {
  const vv = f32x4.splat(v);
  let i = 0;
  for (; i + 4 <= len; i += 4) v128.store(p + (<usize>i << 2), vv);
  for (; i < len; i++) store<f32>(p + (<usize>i << 2), v);
}
