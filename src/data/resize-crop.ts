/**
 * torchvision's evaluation transform for ImageNet weights, on planar CHW bytes: Resize(shorter side) with PIL's
 * antialiased bilinear filter, then CenterCrop. The resampling follows Pillow's Resample.c step by step
 * (triangle filter widened by the downscale factor, coefficients in 22-bit fixed point, a horizontal pass then a
 * vertical one, each rounded to bytes), so the bytes equal PIL's for the same decoded input.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findPackageRoot } from './files.js';

/** ImageNet's channel statistics (RGB), as torchvision normalises for its pretrained weights. */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406];
export const IMAGENET_STD = [0.229, 0.224, 0.225];

/** Pillow's PRECISION_BITS for 8-bit images: 32 − 8 − 2. */
const PRECISION_BITS = 22;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);

interface Taps {
  /** Per output pixel: first source index and tap count. */
  first: Int32Array;
  count: Int32Array;
  /** outSize × ksize fixed-point weights. */
  weights: Int32Array;
  ksize: number;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for the bilinear (triangle, support 1) filter. */
function bilinearTaps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1); // downscaling widens the filter: that is the antialiasing
  const support = filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize), count = new Int32Array(outSize), weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const n = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let total = 0;
    for (let x = 0; x < n; x++) {
      const w = Math.max(0, 1 - Math.abs((x + xmin - center + 0.5) / filterScale));
      k[x] = w;
      total += w;
    }
    for (let x = 0; x < n; x++) {
      const w = total !== 0 ? k[x]! / total : k[x]!;
      weights[o * ksize + x] = Math.trunc(w < 0 ? -0.5 + w * ONE : 0.5 + w * ONE);
    }
    first[o] = xmin;
    count[o] = n;
  }
  return { first, count, weights, ksize };
}

const clip8 = (acc: number): number => (acc <= 0 ? 0 : acc >= ONE * 256 ? 255 : Math.floor(acc / ONE));

/**
 * PIL's Image.resize(size, BILINEAR) of a planar CHW byte image: horizontal pass over the rows the vertical pass
 * reads, then the vertical pass. Returns the input itself when the size is unchanged (PIL copies).
 */
export function resizeAntialiased(src: Uint8Array, channels: number, height: number, width: number, outHeight: number, outWidth: number): Uint8Array {
  if (height === outHeight && width === outWidth) return src;
  let img = src, w = width, h = height;
  const vert = bilinearTaps(height, outHeight);
  // Like Pillow, the horizontal pass only produces the rows that the vertical pass reads.
  let rowFirst = 0;
  if (outWidth !== width) {
    const horiz = bilinearTaps(width, outWidth);
    rowFirst = vert.first[0]!;
    const rows = vert.first[outHeight - 1]! + vert.count[outHeight - 1]! - rowFirst;
    const out = new Uint8Array(channels * rows * outWidth);
    for (let c = 0; c < channels; c++) {
      for (let y = 0; y < rows; y++) {
        const inRow = c * h * w + (y + rowFirst) * w, outRow = (c * rows + y) * outWidth;
        for (let x = 0; x < outWidth; x++) {
          const x0 = horiz.first[x]!, n = horiz.count[x]!, k = x * horiz.ksize;
          let acc = HALF;
          for (let i = 0; i < n; i++) acc += img[inRow + x0 + i]! * horiz.weights[k + i]!;
          out[outRow + x] = clip8(acc);
        }
      }
    }
    img = out; w = outWidth; h = rows;
  }
  if (outHeight === height) return img;
  const out = new Uint8Array(channels * outHeight * w);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < outHeight; y++) {
      const y0 = vert.first[y]! - rowFirst, n = vert.count[y]!, k = y * vert.ksize, outRow = (c * outHeight + y) * w;
      for (let x = 0; x < w; x++) {
        let acc = HALF;
        for (let i = 0; i < n; i++) acc += img[c * h * w + (y0 + i) * w + x]! * vert.weights[k + i]!;
        out[outRow + x] = clip8(acc);
      }
    }
  }
  return out;
}

/** The rectangle [top, top+cropH) × [left, left+cropW) of each plane. */
export function cropPlanar(src: Uint8Array, channels: number, height: number, width: number, top: number, left: number, cropH: number, cropW: number): Uint8Array {
  if (top < 0 || left < 0 || top + cropH > height || left + cropW > width) {
    throw new Error(`crop ${cropW}×${cropH} at (${left}, ${top}) does not fit a ${width}×${height} image`);
  }
  const out = new Uint8Array(channels * cropH * cropW);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < cropH; y++) {
      const from = c * height * width + (top + y) * width + left;
      out.set(src.subarray(from, from + cropW), (c * cropH + y) * cropW);
    }
  }
  return out;
}

/** Python's round(): halves go to the even neighbour (torchvision's CenterCrop offsets use it). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** torchvision's Resize(size) output size: the shorter side becomes `size`, the longer one int(size · long / short). */
export function shorterSideSize(height: number, width: number, size: number): { height: number; width: number } {
  if (width <= height) return { width: size, height: Math.trunc((size * height) / width) };
  return { height: size, width: Math.trunc((size * width) / height) };
}

export interface ResizeCropOptions {
  /** The shorter side after resizing (torchvision's ImageNet weights: 256). */
  resize: number;
  /** The side of the centred square crop (224). */
  crop: number;
}

/** Resize(resize) then CenterCrop(crop), as torchvision's ImageNet evaluation transform, on planar CHW bytes. */
export function resizeShorterSideCenterCrop(src: Uint8Array, channels: number, height: number, width: number, o: ResizeCropOptions): Uint8Array {
  if (!(Number.isInteger(o.crop) && Number.isInteger(o.resize) && o.crop >= 1 && o.crop <= o.resize)) {
    throw new Error(`resize ${o.resize} / crop ${o.crop}: the crop must be a whole number from 1 to the resized shorter side`);
  }
  const size = shorterSideSize(height, width, o.resize);
  const resized = resizeAntialiased(src, channels, height, width, size.height, size.width);
  const top = roundHalfEven((size.height - o.crop) / 2), left = roundHalfEven((size.width - o.crop) / 2);
  return cropPlanar(resized, channels, size.height, size.width, top, left, o.crop, o.crop);
}

/** Bytes (0..255, planar CHW) → floats normalised per channel: (x/255 − mean_c) / std_c. */
export function normalizePlanar(pixels: Uint8Array, channels: number, mean: readonly number[], std: readonly number[]): Float32Array {
  const plane = pixels.length / channels;
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) {
    const c = Math.floor(i / plane);
    out[i] = (pixels[i]! / 255 - mean[c]!) / std[c]!;
  }
  return out;
}

/** torchvision's ratio of resize to crop for ImageNet weights (256 / 224), applied to another crop size. */
export function imagenetResizeFor(crop: number): number {
  return Math.round((crop * 256) / 224);
}

let classNames: string[] | undefined;

/** The 1000 ImageNet class names in the order of torchvision's logits (assets/imagenet-classes.json). */
export function imagenetClasses(): string[] {
  if (!classNames) {
    const file = join(findPackageRoot(), 'assets', 'imagenet-classes.json');
    classNames = (JSON.parse(readFileSync(file, 'utf8')) as { classes: string[] }).classes;
    if (classNames.length !== 1000) throw new Error(`${file}: expected 1000 class names, found ${classNames.length}`);
  }
  return classNames;
}
