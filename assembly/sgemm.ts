// The single-threaded SGEMM kernel: packed A/B panels, a 4×8 f32x4 register block, KC/MC/NC cache blocking.
// (gemm-job.ts splits a GEMM over threads; conv.ts drives this kernel for convolutions.)
//
// The driver, gemmRegion, computes C[m0:m1, n0:n1] (+)= A[m0:m1, :] · B[:, n0:n1] on the calling thread. Where A
// and B come from is described by the thread-local source descriptors below (each worker has its own module
// instance, so module globals are per thread): a plain strided matrix (optionally transposed), a fully pre-packed
// A, or the implicit matrices of a convolution (im2col of an image, its transpose, dY viewed across images). Packing
// straight from the image means convolutions never materialise an im2col buffer.
import { GEMM_KC, GEMM_MC, GEMM_MR, GEMM_NC, GEMM_NR } from '../src/engine/backends/wasm-abi';
import { imin } from './common';

export const MR: i32 = GEMM_MR;
export const NR: i32 = GEMM_NR;
export const KC: i32 = GEMM_KC;
export const MC: i32 = GEMM_MC;
export const NC: i32 = GEMM_NC;

// ---------------------------------------------------------------------------------------------------------------
// Source descriptors (thread-local).

export const A_MATRIX: i32 = 0; // element (i, p) at aPtr + (aTrans ? p*aLd + i : i*aLd + p)
export const A_PACKED: i32 = 1; // aPtr holds the whole A pre-packed by prepackA with aMpad rows
export const A_DY: i32 = 2; // conv weight-grad: p = img*aPix + pix, element at aPtr + img*aImgStride + i*aLd + pix
export const A_FLIPW: i32 = 3; // conv input-grad (stride 1): element (ci, (o,ky,kx)) = W[o][ci][KH-1-ky][KW-1-kx]

export const B_MATRIX: i32 = 0; // element (p, j) at bPtr + (bTrans ? j*bLd + p : p*bLd + j)
export const B_IM2COL: i32 = 1; // p = (ci, ky, kx), j = output pixel; bPtr = channel 0 of one image
export const B_IM2COL_T: i32 = 2; // p = img*OH*OW + pixel, j = (ci, ky, kx); images bImgStride floats apart

export let aMode: i32 = A_MATRIX;
export let aPtr: usize = 0;
export let aLd: i32 = 0;
export let aTrans: bool = false;
export let aMpad: i32 = 0;
export let aImgStride: i32 = 0;
export let aPix: i32 = 0;
/** A_FLIPW: channels per group of the weight's input dimension. */
export let aCg: i32 = 0;

export let bMode: i32 = B_MATRIX;
export let bPtr: usize = 0;
export let bLd: i32 = 0;
export let bTrans: bool = false;
export let bImgStride: i32 = 0;

// Convolution geometry for the implicit B sources (and A_FLIPW's kernel size).
export let cvH: i32 = 0;
export let cvW: i32 = 0;
export let cvKH: i32 = 1;
export let cvKW: i32 = 1;
export let cvSH: i32 = 1;
export let cvSW: i32 = 1;
export let cvPH: i32 = 0;
export let cvPW: i32 = 0;
export let cvDH: i32 = 1;
export let cvDW: i32 = 1;
export let cvOH: i32 = 0;
export let cvOW: i32 = 0;

export function setAMatrix(ptr: usize, ld: i32, trans: bool): void {
  aMode = A_MATRIX; aPtr = ptr; aLd = ld; aTrans = trans;
}
export function setAPacked(ptr: usize, mpad: i32): void {
  aMode = A_PACKED; aPtr = ptr; aMpad = mpad;
}
export function setBMatrix(ptr: usize, ld: i32, trans: bool): void {
  bMode = B_MATRIX; bPtr = ptr; bLd = ld; bTrans = trans;
}
export function setAFlipped(ptr: usize, cg: i32): void {
  aMode = A_FLIPW; aPtr = ptr; aCg = cg;
}
export function setADy(ptr: usize, ld: i32, imgStride: i32, pix: i32): void {
  aMode = A_DY; aPtr = ptr; aLd = ld; aImgStride = imgStride; aPix = pix;
}
export function setBIm2col(ptr: usize): void {
  bMode = B_IM2COL; bPtr = ptr;
}
export function setBIm2colT(ptr: usize, imgStride: i32): void {
  bMode = B_IM2COL_T; bPtr = ptr; bImgStride = imgStride;
}
export function setConvGeometry(
  h: i32, w: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, oh: i32, ow: i32,
): void {
  cvH = h; cvW = w; cvKH = kh; cvKW = kw; cvSH = sh; cvSW = sw; cvPH = ph; cvPW = pw; cvDH = dh; cvDW = dw;
  cvOH = oh; cvOW = ow;
}

// ---------------------------------------------------------------------------------------------------------------
// Micro-kernel: C[4×8] (+)= Apanel[kc×4]ᵀ · Bpanel[kc×8].

@inline function kernel4x8(kc: i32, a: usize, b: usize, c: usize, ldc: usize, acc: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  const aEnd = a + (<usize>kc << 4);
  while (a < aEnd) {
    const b0 = v128.load(b), b1 = v128.load(b, 16);
    let av = v128.load32_splat(a);
    c00 = f32x4.add(c00, f32x4.mul(av, b0)); c01 = f32x4.add(c01, f32x4.mul(av, b1));
    av = v128.load32_splat(a, 4);
    c10 = f32x4.add(c10, f32x4.mul(av, b0)); c11 = f32x4.add(c11, f32x4.mul(av, b1));
    av = v128.load32_splat(a, 8);
    c20 = f32x4.add(c20, f32x4.mul(av, b0)); c21 = f32x4.add(c21, f32x4.mul(av, b1));
    av = v128.load32_splat(a, 12);
    c30 = f32x4.add(c30, f32x4.mul(av, b0)); c31 = f32x4.add(c31, f32x4.mul(av, b1));
    a += 16; b += 32;
  }
  if (acc) {
    c00 = f32x4.add(c00, v128.load(c)); c01 = f32x4.add(c01, v128.load(c, 16));
    c10 = f32x4.add(c10, v128.load(c + ldc)); c11 = f32x4.add(c11, v128.load(c + ldc, 16));
    c20 = f32x4.add(c20, v128.load(c + 2 * ldc)); c21 = f32x4.add(c21, v128.load(c + 2 * ldc, 16));
    c30 = f32x4.add(c30, v128.load(c + 3 * ldc)); c31 = f32x4.add(c31, v128.load(c + 3 * ldc, 16));
  }
  v128.store(c, c00); v128.store(c, c01, 16); c += ldc;
  v128.store(c, c10); v128.store(c, c11, 16); c += ldc;
  v128.store(c, c20); v128.store(c, c21, 16); c += ldc;
  v128.store(c, c30); v128.store(c, c31, 16);
}

/** Multiplies packed blocks: C[mc×nc] (+)= Ap · Bp. `tile` is 4×8 floats of thread scratch for edge tiles. */
export function macroKernel(ap: usize, bp: usize, mc: i32, nc: i32, kc: i32, c: usize, ldc: i32, acc: bool, tile: usize): void {
  const ldcb = <usize>ldc << 2;
  const apanel = <usize>(kc * MR) << 2, bpanel = <usize>(kc * NR) << 2;
  for (let jr = 0; jr < nc; jr += NR) {
    const nr = imin(NR, nc - jr);
    const bpp = bp + <usize>(jr / NR) * bpanel;
    let app = ap;
    for (let ir = 0; ir < mc; ir += MR) {
      const mr = imin(MR, mc - ir);
      const cp = c + ((<usize>ir * ldc + jr) << 2);
      if (mr == MR && nr == NR) {
        if (acc) kernel4x8(kc, app, bpp, cp, ldcb, true);
        else kernel4x8(kc, app, bpp, cp, ldcb, false);
      } else {
        kernel4x8(kc, app, bpp, tile, 32, false);
        for (let r = 0; r < mr; r++) {
          const crow = cp + <usize>r * ldcb, trow = tile + (<usize>r << 5);
          if (acc) {
            for (let j = 0; j < nr; j++) store<f32>(crow + (<usize>j << 2), load<f32>(crow + (<usize>j << 2)) + load<f32>(trow + (<usize>j << 2)));
          } else {
            for (let j = 0; j < nr; j++) store<f32>(crow + (<usize>j << 2), load<f32>(trow + (<usize>j << 2)));
          }
        }
      }
      app += apanel;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Packing A into MR-row panels: panel r holds kc steps of MR values, element (i, p) at (p*MR + i%MR).

/** Where storeTransposed4x4 puts its four columns: consecutive 16-byte rows (an A panel) or one half of each 32-byte row (a B panel). */
const A_PANEL_ROWS: i32 = 0, B_PANEL_LOW_HALF: i32 = 1, B_PANEL_HIGH_HALF: i32 = 2;

/**
 * Transposes four rows of four floats (x0..x3) and stores column k as panel row k: the 4×4 step of every
 * vectorised packing loop. `layout` must be a constant (store offsets are immediates), so each call inlines to
 * one branch.
 */
@inline function storeTransposed4x4(d: usize, x0: v128, x1: v128, x2: v128, x3: v128, layout: i32): void {
  const t0 = v128.shuffle<i32>(x0, x1, 0, 4, 1, 5), t1 = v128.shuffle<i32>(x0, x1, 2, 6, 3, 7);
  const t2 = v128.shuffle<i32>(x2, x3, 0, 4, 1, 5), t3 = v128.shuffle<i32>(x2, x3, 2, 6, 3, 7);
  const c0 = v128.shuffle<i32>(t0, t2, 0, 1, 4, 5), c1 = v128.shuffle<i32>(t0, t2, 2, 3, 6, 7);
  const c2 = v128.shuffle<i32>(t1, t3, 0, 1, 4, 5), c3 = v128.shuffle<i32>(t1, t3, 2, 3, 6, 7);
  if (layout == A_PANEL_ROWS) {
    v128.store(d, c0); v128.store(d, c1, 16); v128.store(d, c2, 32); v128.store(d, c3, 48);
  } else if (layout == B_PANEL_LOW_HALF) {
    v128.store(d, c0); v128.store(d, c1, 32); v128.store(d, c2, 64); v128.store(d, c3, 96);
  } else {
    v128.store(d, c0, 16); v128.store(d, c1, 48); v128.store(d, c2, 80); v128.store(d, c3, 112);
  }
}

/**
 * Packs rows [ic, ic+mc) × columns [0, plen) of a row-major source (element (i, p) at src + i*lda + p) into panels
 * whose k-stride is kcStride, starting at column pOff inside each panel.
 */
function packARows(src: usize, lda: i32, ic: i32, mc: i32, plen: i32, dst: usize, kcStride: i32, pOff: i32): void {
  const ldab = <usize>lda << 2;
  for (let ir = 0; ir < mc; ir += MR) {
    const rows = imin(MR, mc - ir);
    let d = dst + ((<usize>ir * kcStride + <usize>pOff * MR) << 2);
    const r0 = src + <usize>(ic + ir) * ldab;
    if (rows == MR) {
      const r1 = r0 + ldab, r2 = r1 + ldab, r3 = r2 + ldab;
      let p = 0;
      for (; p + 4 <= plen; p += 4) {
        const o = <usize>p << 2;
        storeTransposed4x4(d, v128.load(r0 + o), v128.load(r1 + o), v128.load(r2 + o), v128.load(r3 + o), A_PANEL_ROWS);
        d += 64;
      }
      for (; p < plen; p++) {
        const o = <usize>p << 2;
        store<f32>(d, load<f32>(r0 + o)); store<f32>(d, load<f32>(r1 + o), 4);
        store<f32>(d, load<f32>(r2 + o), 8); store<f32>(d, load<f32>(r3 + o), 12);
        d += 16;
      }
    } else {
      for (let p = 0; p < plen; p++) {
        const o = <usize>p << 2;
        for (let r = 0; r < MR; r++) {
          store<f32>(d + (<usize>r << 2), r < rows ? load<f32>(r0 + <usize>r * ldab + o) : 0);
        }
        d += 16;
      }
    }
  }
}

/** Packs a column-major-ish source (element (i, p) at src + p*lda + i) rows [ic, ic+mc), columns [0, kc). */
function packACols(src: usize, lda: i32, ic: i32, mc: i32, kc: i32, dst: usize): void {
  const ldab = <usize>lda << 2;
  for (let ir = 0; ir < mc; ir += MR) {
    const rows = imin(MR, mc - ir);
    let d = dst + ((<usize>ir * kc) << 2);
    let s = src + (<usize>(ic + ir) << 2);
    if (rows == MR) {
      for (let p = 0; p < kc; p++) { v128.store(d, v128.load(s)); d += 16; s += ldab; }
    } else {
      for (let p = 0; p < kc; p++) {
        for (let r = 0; r < MR; r++) store<f32>(d + (<usize>r << 2), r < rows ? load<f32>(s + (<usize>r << 2)) : 0);
        d += 16; s += ldab;
      }
    }
  }
}

/** A_FLIPW: element (ci, k = (o*KH + ky)*KW + kx) = W[((o*cg + ci)*KH + KH-1-ky)*KW + KW-1-kx]. Scalar; used once per call. */
function packAFlip(ic: i32, mc: i32, pc: i32, kc: i32, dst: usize): void {
  const khw = cvKH * cvKW;
  for (let ir = 0; ir < mc; ir += MR) {
    const rows = imin(MR, mc - ir);
    const d = dst + ((<usize>ir * kc) << 2);
    for (let p = 0; p < kc; p++) {
      const k = pc + p;
      const o = k / khw, rem = k - o * khw;
      const ky = rem / cvKW, kx = rem - ky * cvKW;
      const tap = (cvKH - 1 - ky) * cvKW + (cvKW - 1 - kx);
      for (let r = 0; r < MR; r++) {
        let v: f32 = 0;
        if (r < rows) v = load<f32>(aPtr + (<usize>((o * aCg + ic + ir + r) * khw + tap) << 2));
        store<f32>(d + ((<usize>(p * MR + r)) << 2), v);
      }
    }
  }
}

/** Packs A rows [ic, ic+mc) × k-range [pc, pc+kc) from the current A source into dst. */
export function packA(ic: i32, mc: i32, pc: i32, kc: i32, dst: usize): void {
  if (aMode == A_MATRIX) {
    if (aTrans) packACols(aPtr + ((<usize>pc * aLd) << 2), aLd, ic, mc, kc, dst);
    else packARows(aPtr + (<usize>pc << 2), aLd, ic, mc, kc, dst, kc, 0);
  } else if (aMode == A_DY) {
    // k runs over (image, pixel): pack each image's contiguous run of pixels separately.
    let p = pc;
    const end = pc + kc;
    while (p < end) {
      const img = p / aPix, pix = p - img * aPix;
      const len = imin(aPix - pix, end - p);
      packARows(aPtr + ((<usize>img * aImgStride + pix) << 2), aLd, ic, mc, len, dst, kc, p - pc);
      p += len;
    }
  } else if (aMode == A_FLIPW) {
    packAFlip(ic, mc, pc, kc, dst);
  }
}

/** Packs all rows of k-block [pc, pc+kc) of an m-row A (current source) into a buffer in the A_PACKED layout. */
export function prepackABlock(m: i32, pc: i32, kc: i32, dst: usize): void {
  const mpad = (m + MR - 1) / MR * MR;
  packA(0, m, pc, kc, dst + ((<usize>pc * mpad) << 2));
}

// ---------------------------------------------------------------------------------------------------------------
// Packing B into NR-column panels: panel q holds kc steps of NR values, element (p, j) at (p*NR + j%NR).

function packBMatrix(pc: i32, kc: i32, jc: i32, nc: i32, dst: usize): void {
  const ldb = bLd, ldbb = <usize>ldb << 2;
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = imin(NR, nc - jr);
    let d = dst + ((<usize>jr * kc) << 2);
    if (!bTrans) {
      let s = bPtr + ((<usize>pc * ldb + jc + jr) << 2);
      if (cols == NR) {
        for (let p = 0; p < kc; p++) {
          v128.store(d, v128.load(s)); v128.store(d, v128.load(s, 16), 16);
          d += 32; s += ldbb;
        }
      } else {
        for (let p = 0; p < kc; p++) {
          for (let j = 0; j < NR; j++) store<f32>(d + (<usize>j << 2), j < cols ? load<f32>(s + (<usize>j << 2)) : 0);
          d += 32; s += ldbb;
        }
      }
    } else {
      // element (p, j) at bPtr + (jc+jr+j)*ldb + pc + p: eight rows, contiguous in p.
      const s0 = bPtr + ((<usize>(jc + jr) * ldb + pc) << 2);
      if (cols == NR) {
        const s1 = s0 + ldbb, s2 = s1 + ldbb, s3 = s2 + ldbb, s4 = s3 + ldbb, s5 = s4 + ldbb, s6 = s5 + ldbb, s7 = s6 + ldbb;
        let p = 0;
        for (; p + 4 <= kc; p += 4) {
          const o = <usize>p << 2;
          // Columns 0-3 go to the low half of each 8-float panel row, columns 4-7 to the high half.
          storeTransposed4x4(d, v128.load(s0 + o), v128.load(s1 + o), v128.load(s2 + o), v128.load(s3 + o), B_PANEL_LOW_HALF);
          storeTransposed4x4(d, v128.load(s4 + o), v128.load(s5 + o), v128.load(s6 + o), v128.load(s7 + o), B_PANEL_HIGH_HALF);
          d += 128;
        }
        for (; p < kc; p++) {
          const o = <usize>p << 2;
          for (let j = 0; j < NR; j++) store<f32>(d + (<usize>j << 2), load<f32>(s0 + <usize>j * ldbb + o));
          d += 32;
        }
      } else {
        for (let p = 0; p < kc; p++) {
          const o = <usize>p << 2;
          for (let j = 0; j < NR; j++) store<f32>(d + (<usize>j << 2), j < cols ? load<f32>(s0 + <usize>j * ldbb + o) : 0);
          d += 32;
        }
      }
    }
  }
}

/** i8x16.swizzle masks: SHIFT_MASKS + 16k moves lanes up by k (zeros below); + 64 + 16k moves them down by k. */
const SHIFT_MASKS: usize = memory.data<u8>([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 255, 255, 255, 255, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 255, 255, 255, 255, 255, 255, 255, 255, 0, 1, 2, 3, 4, 5, 6, 7, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 255, 255, 255, 255, 8, 9, 10, 11, 12, 13, 14, 15, 255, 255, 255, 255, 255, 255, 255, 255, 12, 13, 14, 15, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255], 16);

/**
 * Four consecutive input columns ix0 .. ix0+3 of a row of width cvW, zeros outside [0, cvW); never reads outside
 * the row. Stride 1 only.
 */
@inline function rowQuad(row: usize, ix0: i32): v128 {
  if (ix0 >= 0 && ix0 + 4 <= cvW) return v128.load(row + (<usize>ix0 << 2));
  if (ix0 + 4 <= 0 || ix0 >= cvW) return f32x4.splat(0);
  if (cvW >= 4) {
    if (ix0 < 0) return i8x16.swizzle(v128.load(row), v128.load(SHIFT_MASKS + (<usize>(-ix0) << 4)));
    return i8x16.swizzle(v128.load(row + (<usize>(cvW - 4) << 2)), v128.load(SHIFT_MASKS + 64 + (<usize>(ix0 - cvW + 4) << 4)));
  }
  let v = f32x4.splat(0);
  if (ix0 >= 0 && ix0 < cvW) v = f32x4.replace_lane(v, 0, load<f32>(row + (<usize>ix0 << 2)));
  if (ix0 + 1 >= 0 && ix0 + 1 < cvW) v = f32x4.replace_lane(v, 1, load<f32>(row + (<usize>(ix0 + 1) << 2)));
  if (ix0 + 2 >= 0 && ix0 + 2 < cvW) v = f32x4.replace_lane(v, 2, load<f32>(row + (<usize>(ix0 + 2) << 2)));
  if (ix0 + 3 >= 0 && ix0 + 3 < cvW) v = f32x4.replace_lane(v, 3, load<f32>(row + (<usize>(ix0 + 3) << 2)));
  return v;
}

/** Four consecutive output pixels (same row) of tap (iy, ix0 + q*SW); zeros outside the image. */
@inline function im2colQuad(row: usize, ix0: i32): v128 {
  if (cvSW == 1) return rowQuad(row, ix0);
  let v = f32x4.splat(0);
  let ix = ix0;
  if (ix >= 0 && ix < cvW) v = f32x4.replace_lane(v, 0, load<f32>(row + (<usize>ix << 2)));
  ix += cvSW;
  if (ix >= 0 && ix < cvW) v = f32x4.replace_lane(v, 1, load<f32>(row + (<usize>ix << 2)));
  ix += cvSW;
  if (ix >= 0 && ix < cvW) v = f32x4.replace_lane(v, 2, load<f32>(row + (<usize>ix << 2)));
  ix += cvSW;
  if (ix >= 0 && ix < cvW) v = f32x4.replace_lane(v, 3, load<f32>(row + (<usize>ix << 2)));
  return v;
}

/** B_IM2COL: rows p = (ci, ky, kx) of the im2col matrix, columns j = output pixels of one image. */
function packBIm2col(pc: i32, kc: i32, jc: i32, nc: i32, dst: usize, tmp: usize): void {
  const khw = cvKH * cvKW, plane = cvH * cvW, ohow = cvOH * cvOW;
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = imin(NR, nc - jr);
    const j0 = jc + jr;
    const oy0 = j0 / cvOW, ox0 = j0 - oy0 * cvOW;
    let d = dst + ((<usize>jr * kc) << 2);
    let ci = pc / khw;
    let rem = pc - ci * khw;
    let ky = rem / cvKW, kx = rem - ky * cvKW;
    if (cols == NR && ox0 + NR <= cvOW) {
      // All eight pixels on one output row.
      const iyb = oy0 * cvSH - cvPH, ixb = ox0 * cvSW - cvPW;
      for (let p = 0; p < kc; p++) {
        const iy = iyb + ky * cvDH;
        if (iy < 0 || iy >= cvH) {
          v128.store(d, f32x4.splat(0)); v128.store(d, f32x4.splat(0), 16);
        } else {
          const row = bPtr + ((<usize>ci * plane + <usize>iy * cvW) << 2);
          const ix0 = ixb + kx * cvDW;
          if (cvSW == 1 && ix0 >= 0 && ix0 + 8 <= cvW) {
            const s = row + (<usize>ix0 << 2);
            v128.store(d, v128.load(s)); v128.store(d, v128.load(s, 16), 16);
          } else {
            v128.store(d, im2colQuad(row, ix0));
            v128.store(d, im2colQuad(row, ix0 + 4 * cvSW), 16);
          }
        }
        d += 32;
        if (++kx == cvKW) { kx = 0; if (++ky == cvKH) { ky = 0; ci++; } }
      }
    } else {
      // Pixels straddle output rows (or the panel is partial): precompute each pixel's input origin.
      for (let q = 0; q < NR; q++) {
        const j = j0 + q;
        let iyq = -0x40000000, ixq = -0x40000000;
        if (q < cols && j < ohow) {
          const oy = j / cvOW, ox = j - oy * cvOW;
          iyq = oy * cvSH - cvPH; ixq = ox * cvSW - cvPW;
        }
        store<i32>(tmp + (<usize>q << 3), iyq);
        store<i32>(tmp + (<usize>q << 3), ixq, 4);
      }
      for (let p = 0; p < kc; p++) {
        const cbase = bPtr + ((<usize>ci * plane) << 2);
        const dy = ky * cvDH, dx = kx * cvDW;
        for (let q = 0; q < NR; q++) {
          const iy = load<i32>(tmp + (<usize>q << 3)) + dy, ix = load<i32>(tmp + (<usize>q << 3), 4) + dx;
          let v: f32 = 0;
          if (iy >= 0 && iy < cvH && ix >= 0 && ix < cvW) v = load<f32>(cbase + ((<usize>iy * cvW + ix) << 2));
          store<f32>(d + (<usize>q << 2), v);
        }
        d += 32;
        if (++kx == cvKW) { kx = 0; if (++ky == cvKH) { ky = 0; ci++; } }
      }
    }
  }
}

/** B_IM2COL_T: rows p = (image, output pixel), columns j = (ci, ky, kx). */
function packBIm2colT(pc: i32, kc: i32, jc: i32, nc: i32, dst: usize, tmp: usize): void {
  const full = nc / NR * NR;
  if (cvSW != 1 || full == 0) { packBIm2colTScalar(pc, kc, jc, 0, nc, dst); return; }
  const khw = cvKH * cvKW, plane = cvH * cvW, ohow = cvOH * cvOW;
  const img0 = pc / ohow, pix0 = pc - img0 * ohow;
  const oyStart = pix0 / cvOW, oxStart = pix0 - oyStart * cvOW;
  for (let jr = 0; jr < full; jr += NR) {
    // Per column q of the panel: channel offset (floats), row offset of the tap, column offset of the tap.
    for (let q = 0; q < NR; q++) {
      const j = jc + jr + q;
      const ci = j / khw, rem = j - ci * khw;
      const ky = rem / cvKW, kx = rem - ky * cvKW;
      store<i32>(tmp + (<usize>q * 12), ci * plane);
      store<i32>(tmp + (<usize>q * 12), ky * cvDH - cvPH, 4);
      store<i32>(tmp + (<usize>q * 12), kx * cvDW - cvPW, 8);
    }
    let d = dst + ((<usize>jr * kc) << 2);
    let img = img0, oy = oyStart, ox = oxStart;
    let p = 0;
    while (p < kc) {
      const run = imin(cvOW - ox, kc - p);
      const end = ox + run;
      const ib = bPtr + (<usize>img * bImgStride << 2);
      const oyS = oy * cvSH;
      let o = ox;
      for (; o + 4 <= end; o += 4) {
        // Eight columns × four pixels, transposed into four panel rows.
        const v0 = tapQuad(ib, tmp, 0, oyS, o), v1 = tapQuad(ib, tmp, 1, oyS, o);
        const v2 = tapQuad(ib, tmp, 2, oyS, o), v3 = tapQuad(ib, tmp, 3, oyS, o);
        const v4 = tapQuad(ib, tmp, 4, oyS, o), v5 = tapQuad(ib, tmp, 5, oyS, o);
        const v6 = tapQuad(ib, tmp, 6, oyS, o), v7 = tapQuad(ib, tmp, 7, oyS, o);
        storeTransposed4x4(d, v0, v1, v2, v3, B_PANEL_LOW_HALF);
        storeTransposed4x4(d, v4, v5, v6, v7, B_PANEL_HIGH_HALF);
        d += 128;
      }
      for (; o < end; o++) {
        for (let q = 0; q < NR; q++) {
          const iy = oyS + load<i32>(tmp + (<usize>q * 12), 4), ix = o + load<i32>(tmp + (<usize>q * 12), 8);
          let v: f32 = 0;
          if (iy >= 0 && iy < cvH && ix >= 0 && ix < cvW) v = load<f32>(ib + (<usize>(load<i32>(tmp + (<usize>q * 12)) + iy * cvW + ix) << 2));
          store<f32>(d + (<usize>q << 2), v);
        }
        d += 32;
      }
      p += run;
      ox = 0;
      if (++oy == cvOH) { oy = 0; img++; }
    }
  }
  if (full < nc) packBIm2colTScalar(pc, kc, jc, full, nc, dst);
}

/** Column q's values at output pixels (oy, o .. o+3), stride 1. */
@inline function tapQuad(ib: usize, tmp: usize, q: i32, oyS: i32, o: i32): v128 {
  const e = tmp + (<usize>q * 12);
  const iy = oyS + load<i32>(e, 4);
  if (iy < 0 || iy >= cvH) return f32x4.splat(0);
  return rowQuad(ib + (<usize>(load<i32>(e) + iy * cvW) << 2), o + load<i32>(e, 8));
}

/** B_IM2COL_T, one element at a time: panels starting at jr0 .. jr1 (exclusive bound on columns). */
function packBIm2colTScalar(pc: i32, kc: i32, jc: i32, jr0: i32, jr1: i32, dst: usize): void {
  const khw = cvKH * cvKW, plane = cvH * cvW, ohow = cvOH * cvOW;
  const img0 = pc / ohow, pix0 = pc - img0 * ohow;
  const oyStart = pix0 / cvOW, oxStart = pix0 - oyStart * cvOW;
  const nc = jr1;
  for (let jr = jr0; jr < jr1; jr += NR) {
    const cols = imin(NR, nc - jr);
    const dpanel = dst + ((<usize>jr * kc) << 2);
    for (let q = 0; q < NR; q++) {
      let d = dpanel + (<usize>q << 2);
      if (q >= cols) {
        for (let p = 0; p < kc; p++) { store<f32>(d, 0); d += 32; }
        continue;
      }
      const j = jc + jr + q;
      const ci = j / khw, rem = j - ci * khw;
      const ky = rem / cvKW, kx = rem - ky * cvKW;
      const ixOff = kx * cvDW - cvPW;
      // Output columns ox whose input column ox*SW + ixOff lies inside [0, W).
      let oxLo = 0;
      if (ixOff < 0) oxLo = (-ixOff + cvSW - 1) / cvSW;
      let oxHi = cvW - ixOff <= 0 ? 0 : (cvW - ixOff + cvSW - 1) / cvSW;
      if (oxHi > cvOW) oxHi = cvOW;
      let img = img0, oy = oyStart, ox = oxStart;
      let p = 0;
      while (p < kc) {
        // One run along an output row: ox .. min(OW, ox + kc - p).
        const run = imin(cvOW - ox, kc - p);
        const end = ox + run;
        const iy = oy * cvSH - cvPH + ky * cvDH;
        if (iy < 0 || iy >= cvH) {
          for (let t = 0; t < run; t++) { store<f32>(d, 0); d += 32; }
        } else {
          const row = bPtr + ((<usize>img * bImgStride + <usize>ci * plane + <usize>iy * cvW) << 2);
          let o = ox;
          const lo = imin(imax0(oxLo, o), end), hi = oxHi < end ? oxHi : end;
          for (; o < lo; o++) { store<f32>(d, 0); d += 32; }
          if (hi > o) {
            let s = row + (<usize>(o * cvSW + ixOff) << 2);
            const sstep = <usize>cvSW << 2;
            for (; o < hi; o++) { store<f32>(d, load<f32>(s)); s += sstep; d += 32; }
          }
          for (; o < end; o++) { store<f32>(d, 0); d += 32; }
        }
        p += run;
        ox = 0;
        if (++oy == cvOH) { oy = 0; img++; }
      }
    }
  }
}

@inline function imax0(a: i32, b: i32): i32 { return a > b ? a : b; }

export function packB(pc: i32, kc: i32, jc: i32, nc: i32, dst: usize, tmp: usize): void {
  if (bMode == B_MATRIX) packBMatrix(pc, kc, jc, nc, dst);
  else if (bMode == B_IM2COL) packBIm2col(pc, kc, jc, nc, dst, tmp);
  else packBIm2colT(pc, kc, jc, nc, dst, tmp);
}

// ---------------------------------------------------------------------------------------------------------------
// Driver.

/** Bytes of per-thread scratch the driver needs: packed A block, packed B block, an edge tile and a small table. */
export const GEMM_SCRATCH_BYTES: usize = <usize>(MC * KC + KC * NC + 64 + 64) << 2;

/**
 * C[m0:m1, n0:n1] (+)= A[m0:m1, 0:k] · B[0:k, n0:n1] using this thread's scratch. m0 must be a multiple of MR
 * when A is pre-packed.
 */
export function gemmRegion(m0: i32, m1: i32, n0: i32, n1: i32, k: i32, c: usize, ldc: i32, acc: bool, scratch: usize): void {
  if (m1 <= m0 || n1 <= n0) return;
  if (k <= 0) {
    if (!acc) {
      for (let i = m0; i < m1; i++) memory.fill(c + ((<usize>i * ldc + n0) << 2), 0, <usize>(n1 - n0) << 2);
    }
    return;
  }
  const ap = scratch, bp = ap + (<usize>(MC * KC) << 2), tile = bp + (<usize>(KC * NC) << 2), tmp = tile + 128;
  for (let jc = n0; jc < n1; jc += NC) {
    const nc = imin(NC, n1 - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = imin(KC, k - pc);
      packB(pc, kc, jc, nc, bp, tmp);
      const accum = acc || pc > 0;
      for (let ic = m0; ic < m1; ic += MC) {
        const mc = imin(MC, m1 - ic);
        let apk = ap;
        if (aMode == A_PACKED) apk = aPtr + ((<usize>pc * aMpad + <usize>ic * kc) << 2);
        else packA(ic, mc, pc, kc, ap);
        macroKernel(apk, bp, mc, nc, kc, c + ((<usize>ic * ldc + jc) << 2), ldc, accum, tile);
      }
    }
  }
}
