/**
 * The reference backend's pooling kernels (max, average with PyTorch's divisor rule, adaptive average), written
 * for clarity: the ground truth the WASM pooling kernels are tested against.
 */
import type { AdaptivePoolParams, Pool2dParams } from '../backend.js';
import type { Heap } from '../heap.js';

export function maxPool2d(heap: Heap, p: Pool2dParams, x: number, y: number, idx: number): void {
  const f = heap.f, ix = heap.i;
  for (let plane = 0; plane < p.n * p.c; plane++) {
    const xp = x + plane * p.h * p.w;
    for (let oy = 0; oy < p.oh; oy++) {
      for (let ox = 0; ox < p.ow; ox++) {
        let best = -Infinity, bestAt = -1;
        for (let ky = 0; ky < p.kh; ky++) {
          const iy = oy * p.sh - p.ph + ky;
          if (iy < 0 || iy >= p.h) continue;
          for (let kx = 0; kx < p.kw; kx++) {
            const jx = ox * p.sw - p.pw + kx;
            if (jx < 0 || jx >= p.w) continue;
            const v = f[xp + iy * p.w + jx]!;
            // NaN wins, as in PyTorch, so that a NaN is never silently hidden by pooling.
            if (v > best || Number.isNaN(v) || bestAt < 0) { best = v; bestAt = iy * p.w + jx; if (Number.isNaN(v)) break; }
          }
        }
        const o = (plane * p.oh + oy) * p.ow + ox;
        f[y + o] = best;
        ix[idx + o] = bestAt;
      }
    }
  }
}

export function maxPool2dBackward(heap: Heap, p: Pool2dParams, dy: number, idx: number, dx: number): void {
  const f = heap.f, ix = heap.i;
  const inPlane = p.h * p.w, outPlane = p.oh * p.ow;
  f.fill(0, dx, dx + p.n * p.c * inPlane);
  for (let plane = 0; plane < p.n * p.c; plane++) {
    for (let o = 0; o < outPlane; o++) {
      const at = dx + plane * inPlane + ix[idx + plane * outPlane + o]!;
      f[at] = f[at]! + f[dy + plane * outPlane + o]!;
    }
  }
}

export function avgPool2d(heap: Heap, p: Pool2dParams, x: number, y: number): void {
  const f = heap.f;
  forEachAvgWindow(p, (plane, o, taps, divisor) => {
    let acc = 0;
    for (const t of taps) acc += f[x + plane * p.h * p.w + t]!;
    f[y + plane * p.oh * p.ow + o] = acc / divisor;
  });
}

export function avgPool2dBackward(heap: Heap, p: Pool2dParams, dy: number, dx: number): void {
  const f = heap.f;
  f.fill(0, dx, dx + p.n * p.c * p.h * p.w);
  forEachAvgWindow(p, (plane, o, taps, divisor) => {
    const g = f[dy + plane * p.oh * p.ow + o]! / divisor;
    for (const t of taps) f[dx + plane * p.h * p.w + t] = f[dx + plane * p.h * p.w + t]! + g;
  });
}

/** PyTorch's divisor rule: the window clipped to the padded input, or to the real input without count_include_pad. */
function forEachAvgWindow(p: Pool2dParams, visit: (plane: number, o: number, taps: number[], divisor: number) => void): void {
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

export function adaptiveAvgPool2d(heap: Heap, p: AdaptivePoolParams, x: number, y: number): void {
  const f = heap.f;
  forEachAdaptiveWindow(p, (plane, o, taps) => {
    let acc = 0;
    for (const t of taps) acc += f[x + plane * p.h * p.w + t]!;
    f[y + plane * p.oh * p.ow + o] = acc / taps.length;
  });
}

export function adaptiveAvgPool2dBackward(heap: Heap, p: AdaptivePoolParams, dy: number, dx: number): void {
  const f = heap.f;
  f.fill(0, dx, dx + p.n * p.c * p.h * p.w);
  forEachAdaptiveWindow(p, (plane, o, taps) => {
    const g = f[dy + plane * p.oh * p.ow + o]! / taps.length;
    for (const t of taps) f[dx + plane * p.h * p.w + t] = f[dx + plane * p.h * p.w + t]! + g;
  });
}

function forEachAdaptiveWindow(p: AdaptivePoolParams, visit: (plane: number, o: number, taps: number[]) => void): void {
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
