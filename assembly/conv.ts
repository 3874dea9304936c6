// 2-D convolution forward, input-gradient and weight-gradient.
//
// Dense/grouped convolutions are GEMMs whose B operand is packed straight from the image (implicit im2col):
//   forward:       Y_img,g [ocg × OH·OW]  = W_g [ocg × cg·KH·KW] · im2col(X_img,g)
//   input grad:    stride 1: a forward convolution of dY with the flipped, transposed weights;
//                  otherwise col = W_gᵀ · dY_img,g into a per-thread buffer, then col2im.
//   weight grad:   dW_g [ocg × cg·KH·KW] = Σ_img dY_img,g · im2col(X_img,g)ᵀ, K running over (image, pixel).
// Each job is a chunk list in two phases: first the threads pack the weights (or dY) into a shared buffer, k-block
// by k-block; then each chunk computes one image and group (or a band of output rows when the batch is smaller
// than the thread count; for the weight gradient, a band of dW columns over the whole batch).
// Depthwise convolutions (one input and one output channel per group) use direct SIMD loops.
import { argf, argi, argp, chunkCount, chunkDone, chunkStart, claim, imax, imin, scratchPtr, sharedPtr, sumRow, waitDone } from './common';
import {
  GEMM_SCRATCH_BYTES, gemmRegion, KC, MR, NR, prepackABlock, setADy, setAFlipped, setAMatrix, setAPacked, setBIm2col, setBIm2colT,
  setBMatrix, setConvGeometry,
} from './sgemm';
import { depthwiseBackwardInput, depthwiseBackwardWeight, depthwiseForward } from './depthwise';

// Geometry (thread-local copies of the argument slots).
let N = 0, C = 0, H = 0, W = 0, OC = 0, KH = 0, KW = 0, SH = 0, SW = 0, PH = 0, PW = 0, DH = 0, DW = 0;
let GROUPS = 0, OH = 0, OW = 0, CG = 0, OCG = 0, CKK = 0;

function readGeometry(): void {
  N = argi(0); C = argi(1); H = argi(2); W = argi(3); OC = argi(4); KH = argi(5); KW = argi(6);
  SH = argi(7); SW = argi(8); PH = argi(9); PW = argi(10); DH = argi(11); DW = argi(12);
  GROUPS = argi(13); OH = argi(14); OW = argi(15);
  CG = C / GROUPS; OCG = OC / GROUPS; CKK = CG * KH * KW;
}

@inline function roundUp(x: i32, m: i32): i32 { return (x + m - 1) / m * m; }

@inline function isDepthwise(): bool { return CG == 1 && OCG == 1; }
@inline function isPointwise(): bool { return KH == 1 && KW == 1 && SH == 1 && SW == 1 && PH == 0 && PW == 0; }
/**
 * Input gradient as a convolution of dY with the flipped weights (stride 1, enough input channels per group to
 * amortise packing im2col(dY)); otherwise col = Wᵀ·dY and col2im.
 */
@inline function flippedInputGrad(): bool { return SH == 1 && SW == 1 && (CG >= 16 || isPointwise()); }

/** Bytes of shared workspace slot `slot` the convolution kernel `kind` (0 fwd, 1 input grad, 2 weight grad) needs on nth threads. */
export function convWorkspace(kind: i32, slot: i32, nth: i32): i32 {
  readGeometry();
  if (isDepthwise()) return 0;
  const ohow = OH * OW;
  if (kind == 0 && isDirect()) return 0;
  if (kind == 0) return slot == 0 ? GROUPS * roundUp(OCG, MR) * CKK * 4 : 0;
  if (kind == 1) {
    if (flippedInputGrad()) return slot == 0 ? GROUPS * roundUp(CG, MR) * OCG * KH * KW * 4 : 0;
    if (slot == 0) return GROUPS * roundUp(CKK, MR) * OCG * 4;
    // One col buffer per thread, indexed by tid: with groups or a batch smaller than the thread count, any thread
    // may take an image chunk.
    if (slot == 1) return nth * roundUp(CKK * ohow, 16) * 4;
    return 0;
  }
  if (isDirectWeightGrad()) return slot == 0 ? directWgChunks() * OC * CKK * 4 : 0;
  // Weight grad: dY packed as the A operand, all images, per group.
  return slot == 0 ? GROUPS * roundUp(OCG, MR) * N * ohow * 4 : 0;
}

/** Row bands per image: 1 when the batch alone gives every thread enough chunks. */
function rowBands(rows: i32, nth: i32): i32 {
  if (nth <= 1 || N >= 2 * nth) return 1;
  return imax(1, imin((rows + MR - 1) / MR, (2 * nth + N - 1) / N));
}

// ---------------------------------------------------------------------------------------------------------------
// Forward.

/** Args: geometry (0–15), x, w, b (< 0: none), y. Shared slot 0: packed weights. */
export function convForwardJob(tid: i32, nth: i32): i32 {
  readGeometry();
  const x = argp(16), w = argp(17), hasBias = argf(18) >= 0, b = hasBias ? argp(18) : 0, y = argp(19);
  if (isDepthwise()) return depthwiseForward(tid, nth, x, w, hasBias, b, y);
  if (isDirect()) return directForward(tid, nth, x, w, hasBias, b, y);
  return prepackedConvGemm(tid, nth, false, w, x, y, hasBias, b);
}

/**
 * The two jobs that multiply prepacked weights by an implicit im2col, Out_img,g [rows × n] = A_g [rows × kk] ·
 * im2col(In_img,g): the forward (A_g = W_g, In = X, Out = Y, plus bias) and the stride-1 input gradient (A_g = the
 * flipped, transposed W_g, In = dY, Out = dX). Phase 1 packs A_g k-block by k-block into shared slot 0; phase 2
 * takes one chunk per (image, group, row band). `flipped` must be a constant: each caller inlines to its own job.
 */
@inline function prepackedConvGemm(tid: i32, nth: i32, flipped: bool, w: usize, src: usize, dst: usize, hasBias: bool, b: usize): i32 {
  const scratch = scratchPtr(tid);
  const ohow = OH * OW, plane = H * W;
  const rows = flipped ? CG : OCG, kk = flipped ? OCG * KH * KW : CKK;
  const srcC = flipped ? OC : C, srcCG = flipped ? OCG : CG, srcPlane = flipped ? ohow : plane;
  const dstC = flipped ? C : OC, dstPlane = flipped ? plane : ohow;
  const mpad = roundUp(rows, MR);
  const wp = sharedPtr(0);
  const gstride = <usize>mpad * kk << 2;
  const kBlocks = (kk + KC - 1) / KC;
  const P = GROUPS * kBlocks, rb = rowBands(rows, nth);
  const total = P + N * GROUPS * rb;
  // The flipped product is a stride-1 convolution of dY (OH×OW) padded to give H×W outputs.
  if (flipped) setConvGeometry(OH, OW, KH, KW, 1, 1, DH * (KH - 1) - PH, DW * (KW - 1) - PW, DH, DW, H, W);
  else setConvGeometry(H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW);
  for (let c = claim(total); c >= 0; c = claim(total)) {
    if (c < P) {
      const g = c / kBlocks, pc = (c - g * kBlocks) * KC;
      const wg = w + (<usize>g * OCG * CKK << 2);
      if (flipped) setAFlipped(wg, CG);
      else setAMatrix(wg, CKK, false);
      prepackABlock(rows, pc, imin(KC, kk - pc), wp + <usize>g * gstride);
    } else {
      waitDone(P);
      const t = c - P;
      const img = t / (GROUPS * rb), r0 = t - img * GROUPS * rb, g = r0 / rb, band = r0 - g * rb;
      const m0 = chunkStart(rows, band, rb, MR), m1 = chunkStart(rows, band + 1, rb, MR);
      if (m1 > m0) {
        setAPacked(wp + <usize>g * gstride, mpad);
        const s = src + (<usize>(img * srcC + g * srcCG) * srcPlane << 2);
        if (isPointwise()) setBMatrix(s, srcPlane, false);
        else setBIm2col(s);
        const d = dst + (<usize>(img * dstC + g * rows) * dstPlane << 2);
        gemmRegion(m0, m1, 0, dstPlane, kk, d, dstPlane, false, scratch);
        if (hasBias) {
          for (let o = m0; o < m1; o++) addConst(d + (<usize>o * dstPlane << 2), dstPlane, load<f32>(b + (<usize>(g * OCG + o) << 2)));
        }
      }
    }
    chunkDone();
  }
  return total;
}

// ---------------------------------------------------------------------------------------------------------------
// Direct forward for few channels (stride 1, no dilation, one group): the GEMM formulation spends most of its time
// packing when K = C·KH·KW and M = OC are small. Each image's channels are copied into a zero-padded buffer of
// row width WP = W + 2·PW; an output position p = oy·WP + ox (columns ox ≥ OW are computed and discarded) reads
// input p + c·CS + ky·WP + kx, so every tap is one contiguous run. Four output channels × eight positions per
// register block, summed over (c, ky, kx) in order.

/** Geometry of a direct job: input channels, plane and padding; output channels and plane (kernel KH×KW). */
let dCi = 0, dH = 0, dW = 0, dCo = 0, dPH = 0, dPW = 0, dOH = 0, dOW = 0;
/** Padded row width, channel stride, and flattened output length (rounded up to 8) of the direct path. */
let DWP = 0, DCS = 0, DL = 0;
function setDirect(ci: i32, h: i32, w: i32, co: i32, ph: i32, pw: i32, oh: i32, ow: i32): void {
  dCi = ci; dH = h; dW = w; dCo = co; dPH = ph; dPW = pw; dOH = oh; dOW = ow;
  DWP = w + 2 * pw;
  DCS = (oh + KH - 1) * DWP + 16;
  DL = roundUp((oh - 1) * DWP + ow, 8);
}
/** Whether the direct job set up by setDirect applies and fits the per-thread scratch. */
function directFits(): bool {
  if (GROUPS != 1 || SH != 1 || SW != 1 || DH != 1 || DW != 1 || isPointwise()) return false;
  const kk = dCi * KH * KW;
  if (!(dCo <= 16 || kk <= 200)) return false;
  if (dPH < 0 || dPW < 0 || dOW + KW - 1 != DWP || dOH + KH - 1 != dH + 2 * dPH) return false;
  return (roundUp(dCo, 4) * kk + dCi * DCS + 4 * (DL + 8) + 16) * 4 <= <i32>GEMM_SCRATCH_BYTES;
}
function isDirect(): bool {
  setDirect(C, H, W, OC, PH, PW, OH, OW);
  return directFits();
}

/** Runs the job set up by setDirect. */
function directForward(tid: i32, nth: i32, x: usize, w: usize, hasBias: bool, b: usize, y: usize): i32 {
  const WP = DWP, CS = DCS, L = DL, LS = DL + 8, CI = dCi, CO = dCo, IH = dH, IW = dW, QH = dPH, QW = dPW, YH = dOH, YW = dOW;
  const kk = CI * KH * KW;
  const ocb = (CO + 3) >> 2, plane = IH * IW, ohow = YH * YW;
  const wpk = (scratchPtr(tid) + 15) & ~(<usize>15);
  const xpad = wpk + (<usize>ocb * 4 * kk << 2);
  const yt = xpad + (<usize>CI * CS << 2);
  const total = chunkCount(N, nth, 1);
  let ready = false;
  for (let cc = claim(total); cc >= 0; cc = claim(total)) {
    if (!ready) {
      // This thread's first chunk: weights as [out block][in·KH·KW][4 out], zero beyond CO; zero padding borders.
      ready = true;
      for (let o = 0; o < ocb * 4; o++) {
        const blk = o >> 2, j = o & 3;
        for (let k = 0; k < kk; k++) {
          const v: f32 = o < CO ? load<f32>(w + (<usize>(o * kk + k) << 2)) : 0;
          store<f32>(wpk + (<usize>((blk * kk + k) * 4 + j) << 2), v);
        }
      }
      memory.fill(xpad, 0, <usize>CI * CS << 2);
    }
    const i0 = chunkStart(N, cc, total, 1), i1 = chunkStart(N, cc + 1, total, 1);
    for (let img = i0; img < i1; img++) {
      // Interior of the padded planes (the border stays zero).
      for (let c = 0; c < CI; c++) {
        const src = x + (<usize>(img * CI + c) * plane << 2);
        const dst = xpad + (<usize>(c * CS + QH * WP + QW) << 2);
        for (let iy = 0; iy < IH; iy++) memory.copy(dst + (<usize>iy * WP << 2), src + (<usize>iy * IW << 2), <usize>IW << 2);
      }
      for (let blk = 0; blk < ocb; blk++) {
        const wb = wpk + (<usize>blk * kk << 4);
        if (CO - blk * 4 <= 2) {
          // Last block of one or two channels: 2 channels × 16 positions.
          for (let p = 0; p < L; p += 16) {
            let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
            let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
            let wq = wb;
            for (let c = 0; c < CI; c++) {
              for (let ky = 0; ky < KH; ky++) {
                let xr = xpad + (<usize>(c * CS + ky * WP + p) << 2);
                for (let kx = 0; kx < KW; kx++) {
                  const x0 = v128.load(xr), x1 = v128.load(xr, 16), x2 = v128.load(xr, 32), x3 = v128.load(xr, 48);
                  let wv = v128.load32_splat(wq);
                  a0 = f32x4.add(a0, f32x4.mul(wv, x0)); a1 = f32x4.add(a1, f32x4.mul(wv, x1));
                  a2 = f32x4.add(a2, f32x4.mul(wv, x2)); a3 = f32x4.add(a3, f32x4.mul(wv, x3));
                  wv = v128.load32_splat(wq, 4);
                  b0 = f32x4.add(b0, f32x4.mul(wv, x0)); b1 = f32x4.add(b1, f32x4.mul(wv, x1));
                  b2 = f32x4.add(b2, f32x4.mul(wv, x2)); b3 = f32x4.add(b3, f32x4.mul(wv, x3));
                  wq += 16; xr += 4;
                }
              }
            }
            const yp = yt + (<usize>p << 2);
            v128.store(yp, a0); v128.store(yp, a1, 16); v128.store(yp, a2, 32); v128.store(yp, a3, 48);
            const yq = yp + (<usize>LS << 2);
            v128.store(yq, b0); v128.store(yq, b1, 16); v128.store(yq, b2, 32); v128.store(yq, b3, 48);
          }
        } else for (let p = 0; p < L; p += 8) {
          let a0 = f32x4.splat(0), a1 = f32x4.splat(0), b0 = f32x4.splat(0), b1 = f32x4.splat(0);
          let c0 = f32x4.splat(0), c1 = f32x4.splat(0), d0 = f32x4.splat(0), d1 = f32x4.splat(0);
          let wq = wb;
          for (let c = 0; c < CI; c++) {
            for (let ky = 0; ky < KH; ky++) {
              let xr = xpad + (<usize>(c * CS + ky * WP + p) << 2);
              for (let kx = 0; kx < KW; kx++) {
                const x0 = v128.load(xr), x1 = v128.load(xr, 16);
                let wv = v128.load32_splat(wq);
                a0 = f32x4.add(a0, f32x4.mul(wv, x0)); a1 = f32x4.add(a1, f32x4.mul(wv, x1));
                wv = v128.load32_splat(wq, 4);
                b0 = f32x4.add(b0, f32x4.mul(wv, x0)); b1 = f32x4.add(b1, f32x4.mul(wv, x1));
                wv = v128.load32_splat(wq, 8);
                c0 = f32x4.add(c0, f32x4.mul(wv, x0)); c1 = f32x4.add(c1, f32x4.mul(wv, x1));
                wv = v128.load32_splat(wq, 12);
                d0 = f32x4.add(d0, f32x4.mul(wv, x0)); d1 = f32x4.add(d1, f32x4.mul(wv, x1));
                wq += 16; xr += 4;
              }
            }
          }
          const yp = yt + (<usize>p << 2);
          v128.store(yp, a0); v128.store(yp, a1, 16);
          v128.store(yp + (<usize>LS << 2), b0); v128.store(yp + (<usize>LS << 2), b1, 16);
          v128.store(yp + (<usize>(2 * LS) << 2), c0); v128.store(yp + (<usize>(2 * LS) << 2), c1, 16);
          v128.store(yp + (<usize>(3 * LS) << 2), d0); v128.store(yp + (<usize>(3 * LS) << 2), d1, 16);
        }
        const oEnd = imin(4, CO - blk * 4);
        for (let j = 0; j < oEnd; j++) {
          const o = blk * 4 + j;
          const bias: f32 = hasBias ? load<f32>(b + (<usize>o << 2)) : 0;
          const bv = f32x4.splat(bias);
          const src = yt + (<usize>(j * LS) << 2), dst = y + (<usize>(img * CO + o) * ohow << 2);
          for (let oy = 0; oy < YH; oy++) {
            const s = src + (<usize>(oy * WP) << 2), d = dst + (<usize>(oy * YW) << 2);
            let ox = 0;
            for (; ox + 4 <= YW; ox += 4) v128.store(d + (<usize>ox << 2), f32x4.add(v128.load(s + (<usize>ox << 2)), bv));
            for (; ox < YW; ox++) store<f32>(d + (<usize>ox << 2), load<f32>(s + (<usize>ox << 2)) + bias);
          }
        }
      }
    }
    chunkDone();
  }
  return total;
}

// Direct weight gradient (same shapes as the direct forward): dW[oc, t] = Σ_img Σ_p dYpad[oc, p] · Xpad[p + off(t)],
// with dY copied into the flattened padded layout (zero in the discarded columns). Register tile: 2 output
// channels × 4 taps, vectorised over p. Images are grouped in fixed chunks of DWG; each chunk sums its images in
// order into its own partial dW, and phase 2 adds the partials in chunk order, so the result does not depend on
// the thread count.

const DWG = 4;
@inline function directWgChunks(): i32 { return (N + DWG - 1) / DWG; }
function isDirectWeightGrad(): bool {
  if (!isDirect()) return false;
  return (C * DCS + roundUp(OC, 2) * DL + roundUp(CKK, 4) + 16) * 4 <= <i32>GEMM_SCRATCH_BYTES;
}

function directBackwardWeight(tid: i32, nth: i32, x: usize, dy: usize, dw: usize, hasDb: bool, db: usize): i32 {
  // isDirectWeightGrad() has set the direct geometry.
  const WP = DWP, CS = DCS, L = DL;
  const plane = H * W, ohow = OH * OW, E = OC * CKK, khw = KH * KW;
  const ocp = roundUp(OC, 2), tg = roundUp(CKK, 4);
  const xpad = (scratchPtr(tid) + 15) & ~(<usize>15);
  const dyp = xpad + (<usize>C * CS << 2);
  const offs = dyp + (<usize>ocp * L << 2);
  const part = sharedPtr(0);
  const nch = directWgChunks();
  const rch = chunkCount(E, nth, 256);
  const dbChunks = hasDb ? chunkCount(OC, nth, 8) : 0;
  const total = nch + rch + dbChunks;
  let ready = false;
  for (let cc = claim(total); cc >= 0; cc = claim(total)) {
    if (cc < nch) {
      if (!ready) {
        ready = true;
        memory.fill(xpad, 0, <usize>C * CS << 2);
        memory.fill(dyp, 0, <usize>ocp * L << 2);
        for (let t = 0; t < tg; t++) {
          let off = 0;
          if (t < CKK) {
            const c = t / khw, r = t - c * khw, ky = r / KW, kx = r - ky * KW;
            off = c * CS + ky * WP + kx;
          }
          store<i32>(offs + (<usize>t << 2), off << 2);
        }
      }
      const pp = part + (<usize>cc * E << 2);
      memory.fill(pp, 0, <usize>E << 2);
      const i1 = imin(N, (cc + 1) * DWG);
      for (let img = cc * DWG; img < i1; img++) {
        for (let c = 0; c < C; c++) {
          const src = x + (<usize>(img * C + c) * plane << 2);
          const dst = xpad + (<usize>(c * CS + PH * WP + PW) << 2);
          for (let iy = 0; iy < H; iy++) memory.copy(dst + (<usize>iy * WP << 2), src + (<usize>iy * W << 2), <usize>W << 2);
        }
        for (let o = 0; o < OC; o++) {
          const src = dy + (<usize>(img * OC + o) * ohow << 2), dst = dyp + (<usize>o * L << 2);
          for (let oy = 0; oy < OH; oy++) memory.copy(dst + (<usize>oy * WP << 2), src + (<usize>oy * OW << 2), <usize>OW << 2);
        }
        const lb = <usize>L << 2;
        for (let o = 0; o < OC; o += 2) {
          const dA = dyp + (<usize>o * L << 2), dB = dA + lb;
          for (let t = 0; t < CKK; t += 4) {
            const x0 = xpad + <usize>load<i32>(offs + (<usize>t << 2)), x1 = xpad + <usize>load<i32>(offs + (<usize>t << 2), 4);
            const x2 = xpad + <usize>load<i32>(offs + (<usize>t << 2), 8), x3 = xpad + <usize>load<i32>(offs + (<usize>t << 2), 12);
            let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
            let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
            for (let q: usize = 0; q < lb; q += 16) {
              const d0 = v128.load(dA + q), d1 = v128.load(dB + q);
              let xv = v128.load(x0 + q);
              a0 = f32x4.add(a0, f32x4.mul(d0, xv)); b0 = f32x4.add(b0, f32x4.mul(d1, xv));
              xv = v128.load(x1 + q);
              a1 = f32x4.add(a1, f32x4.mul(d0, xv)); b1 = f32x4.add(b1, f32x4.mul(d1, xv));
              xv = v128.load(x2 + q);
              a2 = f32x4.add(a2, f32x4.mul(d0, xv)); b2 = f32x4.add(b2, f32x4.mul(d1, xv));
              xv = v128.load(x3 + q);
              a3 = f32x4.add(a3, f32x4.mul(d0, xv)); b3 = f32x4.add(b3, f32x4.mul(d1, xv));
            }
            const nt = imin(4, CKK - t);
            const ra = pp + (<usize>(o * CKK + t) << 2);
            addH(ra, 0, a0); if (nt > 1) addH(ra, 1, a1); if (nt > 2) addH(ra, 2, a2); if (nt > 3) addH(ra, 3, a3);
            if (o + 1 < OC) {
              const rb = ra + (<usize>CKK << 2);
              addH(rb, 0, b0); if (nt > 1) addH(rb, 1, b1); if (nt > 2) addH(rb, 2, b2); if (nt > 3) addH(rb, 3, b3);
            }
          }
        }
      }
    } else if (cc < nch + rch) {
      waitDone(nch);
      const r = cc - nch;
      const e0 = chunkStart(E, r, rch, 4), e1 = chunkStart(E, r + 1, rch, 4);
      for (let e = e0; e < e1; e++) {
        let sum: f64 = 0;
        for (let k = 0; k < nch; k++) sum += <f64>load<f32>(part + (<usize>(k * E + e) << 2));
        store<f32>(dw + (<usize>e << 2), <f32>sum);
      }
    } else {
      const d = cc - nch - rch;
      const o0 = chunkStart(OC, d, dbChunks, 1), o1 = chunkStart(OC, d + 1, dbChunks, 1);
      for (let o = o0; o < o1; o++) {
        let sum: f64 = 0;
        for (let img = 0; img < N; img++) sum += sumRow(dy + (<usize>(img * OC + o) * ohow << 2), ohow);
        store<f32>(db + (<usize>o << 2), <f32>sum);
      }
    }
    chunkDone();
  }
  return total;
}

/** p[i] += the horizontal sum of v. */
@inline function addH(p: usize, i: i32, v: v128): void {
  const s = (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
  const a = p + (<usize>i << 2);
  store<f32>(a, load<f32>(a) + s);
}

@inline function addConst(p: usize, len: i32, v: f32): void {
  const vv = f32x4.splat(v);
  let i = 0;
  for (; i + 4 <= len; i += 4) v128.store(p + (<usize>i << 2), f32x4.add(v128.load(p + (<usize>i << 2)), vv));
  for (; i < len; i++) store<f32>(p + (<usize>i << 2), load<f32>(p + (<usize>i << 2)) + v);
}

// ---------------------------------------------------------------------------------------------------------------
// Input gradient.

/** Args: geometry, dy, w, dx. Shared slots: 0 packed weights, 1 per-thread col buffers (strided path). */
export function convBackwardInputJob(tid: i32, nth: i32): i32 {
  readGeometry();
  const dy = argp(16), w = argp(17), dx = argp(18);
  if (isDepthwise()) return depthwiseBackwardInput(tid, nth, dy, w, dx);
  // Stride 1: dX_img,g [cg × H·W] = flip(W_g)ᵀ [cg × ocg·KH·KW] · im2col'(dY_img,g).
  if (flippedInputGrad()) return prepackedConvGemm(tid, nth, true, w, dy, dx, false, 0);
  const scratch = scratchPtr(tid);
  const ohow = OH * OW, plane = H * W;
  const wp = sharedPtr(0);
  // Strided: col [CKK × OH·OW] = W_gᵀ · dY_img,g, then scatter-add into dX.
  const mpad = roundUp(CKK, MR);
  const gstride = <usize>mpad * OCG << 2;
  const kBlocks = (OCG + KC - 1) / KC;
  const P = GROUPS * kBlocks;
  const total = P + N * GROUPS;
  const col = sharedPtr(1) + (<usize>tid * roundUp(CKK * ohow, 16) << 2);
  for (let c = claim(total); c >= 0; c = claim(total)) {
    if (c < P) {
      const g = c / kBlocks, pc = (c - g * kBlocks) * KC;
      setAMatrix(w + (<usize>g * OCG * CKK << 2), CKK, true);
      prepackABlock(CKK, pc, imin(KC, OCG - pc), wp + <usize>g * gstride);
    } else {
      waitDone(P);
      const t = c - P;
      const img = t / GROUPS, g = t - img * GROUPS;
      const dxg = dx + (<usize>(img * C + g * CG) * plane << 2);
      memory.fill(dxg, 0, <usize>CG * plane << 2);
      setAPacked(wp + <usize>g * gstride, mpad);
      setBMatrix(dy + (<usize>(img * OC + g * OCG) * ohow << 2), ohow, false);
      gemmRegion(0, CKK, 0, ohow, OCG, col, ohow, false, scratch);
      col2im(col, dxg);
    }
    chunkDone();
  }
  return total;
}

/** dX (one image, one group's channels) += col2im(col). */
function col2im(col: usize, dxg: usize): void {
  const plane = H * W, ohow = OH * OW;
  let r = 0;
  for (let ci = 0; ci < CG; ci++) {
    for (let ky = 0; ky < KH; ky++) {
      for (let kx = 0; kx < KW; kx++) {
        const ixOff = kx * DW - PW;
        const oxLo = ixOff < 0 ? (-ixOff + SW - 1) / SW : 0;
        let oxHi = W - ixOff <= 0 ? 0 : (W - ixOff + SW - 1) / SW;
        if (oxHi > OW) oxHi = OW;
        const crow = col + (<usize>r * ohow << 2);
        for (let oy = 0; oy < OH; oy++) {
          const iy = oy * SH - PH + ky * DH;
          if (iy < 0 || iy >= H) continue;
          const drow = dxg + (<usize>(ci * plane + iy * W) << 2);
          const src = crow + (<usize>oy * OW << 2);
          let ox = oxLo;
          if (SW == 1) {
            for (; ox + 4 <= oxHi; ox += 4) {
              const d = drow + (<usize>(ox + ixOff) << 2);
              v128.store(d, f32x4.add(v128.load(d), v128.load(src + (<usize>ox << 2))));
            }
          }
          for (; ox < oxHi; ox++) {
            const d = drow + (<usize>(ox * SW + ixOff) << 2);
            store<f32>(d, load<f32>(d) + load<f32>(src + (<usize>ox << 2)));
          }
        }
        r++;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Weight gradient.

/**
 * Args: geometry, x, dy, dw, db (< 0: none). Shared slot 0: dY packed as A (all images). Phase 1 packs dY and
 * sums db; phase 2 computes bands of dW columns over the whole batch, so each dW element is reduced by one chunk
 * in a fixed order (the result does not depend on the thread count).
 */
export function convBackwardWeightJob(tid: i32, nth: i32): i32 {
  readGeometry();
  const x = argp(16), dy = argp(17), dw = argp(18), hasDb = argf(19) >= 0, db = hasDb ? argp(19) : 0;
  if (isDepthwise()) return depthwiseBackwardWeight(tid, nth, x, dy, dw, hasDb, db);
  if (isDirectWeightGrad()) return directBackwardWeight(tid, nth, x, dy, dw, hasDb, db);
  const scratch = scratchPtr(tid);
  const ohow = OH * OW, plane = H * W;
  const K = N * ohow, mpad = roundUp(OCG, MR);
  const ap = sharedPtr(0);
  const gstride = <usize>mpad * K << 2;
  const kBlocks = (K + KC - 1) / KC;
  const dbChunks = hasDb ? chunkCount(OC, nth, 8) : 0;
  const P = GROUPS * kBlocks + dbChunks;
  const panels = (CKK + NR - 1) / NR;
  const nt = nth <= 1 ? 1 : imax(1, imin(panels, (4 * nth + GROUPS - 1) / GROUPS));
  const total = P + GROUPS * nt;
  setConvGeometry(H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW);
  for (let c = claim(total); c >= 0; c = claim(total)) {
    if (c < GROUPS * kBlocks) {
      const g = c / kBlocks, pc = (c - g * kBlocks) * KC;
      setADy(dy + (<usize>g * OCG * ohow << 2), ohow, OC * ohow, ohow);
      prepackABlock(OCG, pc, imin(KC, K - pc), ap + <usize>g * gstride);
    } else if (c < P) {
      const d = c - GROUPS * kBlocks;
      const o0 = chunkStart(OC, d, dbChunks, 1), o1 = chunkStart(OC, d + 1, dbChunks, 1);
      for (let o = o0; o < o1; o++) {
        let s: f64 = 0;
        for (let img = 0; img < N; img++) s += sumRow(dy + (<usize>(img * OC + o) * ohow << 2), ohow);
        store<f32>(db + (<usize>o << 2), <f32>s);
      }
    } else {
      waitDone(P);
      const t = c - P;
      const g = t / nt, ct = t - g * nt;
      const n0 = chunkStart(CKK, ct, nt, NR), n1 = chunkStart(CKK, ct + 1, nt, NR);
      if (n1 > n0) {
        setAPacked(ap + <usize>g * gstride, mpad);
        setBIm2colT(x + (<usize>g * CG * plane << 2), C * plane);
        gemmRegion(0, OCG, n0, n1, K, dw + (<usize>g * OCG * CKK << 2), CKK, false, scratch);
      }
    }
    chunkDone();
  }
  return total;
}
