/**
 * The index sets the reference kernels loop over, written once for forward and backward: every (input,
 * weight, output) tap of a convolution, every pooling window with its divisor, and the element pairs of two
 * strided views of one shape.
 */
import type { AdaptivePoolParams, Conv2dParams, Pool2dParams } from '../backend.js';

/** Visits every (input, weight, output) index triple that contributes to a convolution. */
export function forEachConvTap(p: Conv2dParams, visit: (xi: number, wi: number, yi: number) => void): void {
  const cg = p.c / p.groups, ocg = p.oc / p.groups;
  for (let n = 0; n < p.n; n++) {
    for (let o = 0; o < p.oc; o++) {
      const g = Math.floor(o / ocg);
      for (let oy = 0; oy < p.oh; oy++) {
        for (let ox = 0; ox < p.ow; ox++) {
          const yi = ((n * p.oc + o) * p.oh + oy) * p.ow + ox;
          for (let ci = 0; ci < cg; ci++) {
            for (let ky = 0; ky < p.kh; ky++) {
              const iy = oy * p.sh - p.ph + ky * p.dh;
              if (iy < 0 || iy >= p.h) continue;
              for (let kx = 0; kx < p.kw; kx++) {
                const ix = ox * p.sw - p.pw + kx * p.dw;
                if (ix < 0 || ix >= p.w) continue;
                visit(((n * p.c + g * cg + ci) * p.h + iy) * p.w + ix, ((o * cg + ci) * p.kh + ky) * p.kw + kx, yi);
              }
            }
          }
        }
      }
    }
  }
}

/** PyTorch's divisor rule: the window clipped to the padded input, or to the real input without count_include_pad. */
export function forEachAvgWindow(p: Pool2dParams, visit: (plane: number, o: number, taps: number[], divisor: number) => void): void {
  for (let plane = 0; plane < p.n * p.c; plane++) {
    for (let oy = 0; oy < p.oh; oy++) {
      for (let ox = 0; ox < p.ow; ox++) {
        let y0 = oy * p.sh - p.ph, x0 = ox * p.sw - p.pw;
        let y1 = Math.min(y0 + p.kh, p.h + p.ph), x1 = Math.min(x0 + p.kw, p.w + p.pw);
        const padded = (y1 - y0) * (x1 - x0);
        y0 = Math.max(y0, 0); x0 = Math.max(x0, 0); y1 = Math.min(y1, p.h); x1 = Math.min(x1, p.w);
        const taps: number[] = [];
        for (let iy = y0; iy < y1; iy++) for (let jx = x0; jx < x1; jx++) taps.push(iy * p.w + jx);
        visit(plane, oy * p.ow + ox, taps, p.countIncludePad ? padded : taps.length);
      }
    }
  }
}

/** Adaptive pooling's windows: rows floor(i·h/oh) to ceil((i+1)·h/oh), as PyTorch computes them. */
export function forEachAdaptiveWindow(p: AdaptivePoolParams, visit: (plane: number, o: number, taps: number[]) => void): void {
  for (let plane = 0; plane < p.n * p.c; plane++) {
    for (let oy = 0; oy < p.oh; oy++) {
      const y0 = Math.floor((oy * p.h) / p.oh), y1 = Math.ceil(((oy + 1) * p.h) / p.oh);
      for (let ox = 0; ox < p.ow; ox++) {
        const x0 = Math.floor((ox * p.w) / p.ow), x1 = Math.ceil(((ox + 1) * p.w) / p.ow);
        const taps: number[] = [];
        for (let iy = y0; iy < y1; iy++) for (let jx = x0; jx < x1; jx++) taps.push(iy * p.w + jx);
        visit(plane, oy * p.ow + ox, taps);
      }
    }
  }
}

/**
 * Visits, in row-major order of `shape`, the element index pairs of two strided views (an odometer over the
 * shape that moves both cursors by their strides).
 */
export function forEachStridedPair(
  shape: readonly number[], a: number, aStrides: readonly number[], b: number, bStrides: readonly number[],
  visit: (ai: number, bi: number) => void,
): void {
  const rank = shape.length;
  const total = shape.reduce((s, d) => s * d, 1);
  if (total === 0) return;
  const index = new Array<number>(rank).fill(0);
  let ai = a, bi = b;
  for (let o = 0; o < total; o++) {
    visit(ai, bi);
    for (let d = rank - 1; d >= 0; d--) {
      index[d]!++;
      ai += aStrides[d]!; bi += bStrides[d]!;
      if (index[d]! < shape[d]!) break;
      ai -= aStrides[d]! * shape[d]!; bi -= bStrides[d]! * shape[d]!;
      index[d] = 0;
    }
  }
}
