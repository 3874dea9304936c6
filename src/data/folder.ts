/**
 * Image-folder datasets: root/<class>/*.png|jpg|jpeg, like torchvision's ImageFolder.
 *
 * - Classes are the sub-folder names, sorted (so labels are stable across runs);
 *   files inside a class are sorted by name. Hidden files/folders are ignored.
 * - Images are decoded with pngjs / jpeg-js, converted to grayscale (ITU-R 601-2 luma,
 *   as PIL's convert('L')) or RGB (alpha is dropped, as PIL's convert('RGB')),
 *   and resized with bilinear interpolation (half-pixel centres, no antialiasing)
 *   to the requested size.
 * - Defaults: size = the first image's size; channels = 1 when the first image is
 *   grey (R = G = B everywhere), else 3.
 */
import { readdirSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { validateDataset, type ImageDataset } from './dataset.js';
import { DataFormatError, emptyFileError } from './errors.js';
import { isDirectory, readBytes } from './files.js';
import { resizeShorterSideCenterCrop, type ResizeCropOptions } from './resize-crop.js';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'];

export interface DecodedImage {
  width: number;
  height: number;
  /** width × height × 4 bytes, interleaved RGBA. */
  rgba: Uint8Array;
}

export interface ImageShape {
  channels: number;
  height: number;
  width: number;
}

function fail(fileName: string, why: string): never {
  throw new DataFormatError(fileName, `${fileName}: unreadable image: ${why}`);
}

/**
 * The most pixels an image may have (PIL's decompression-bomb limit is about 89 million). A tiny PNG can claim
 * 20000×20000 pixels and take gigabytes to decode, so the size is checked before decoding.
 */
export const MAX_IMAGE_PIXELS = 50_000_000;

function checkPixelCount(fileName: string, width: number, height: number): void {
  if (width * height > MAX_IMAGE_PIXELS) {
    fail(fileName, `${width}×${height} = ${width * height} pixels is above the limit of ${MAX_IMAGE_PIXELS}`);
  }
}

/** Decode PNG or JPEG bytes (detected by their magic bytes) to RGBA. */
export function decodeImage(buf: Uint8Array, fileName: string): DecodedImage {
  if (buf.length === 0) throw emptyFileError(fileName, 'a PNG or JPEG image');
  const isPng = buf.length >= 8 && buf[0] === 0x89 && buf[1] === 0x50 && buf[2] === 0x4e && buf[3] === 0x47;
  const isJpeg = buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff;
  if (!isPng && !isJpeg) fail(fileName, 'not a PNG or JPEG file');
  // The PNG header (IHDR, the first chunk) gives the size at bytes 16–23.
  if (isPng && buf.length >= 24) {
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    checkPixelCount(fileName, view.getUint32(16, false), view.getUint32(20, false));
  }
  let out: DecodedImage;
  try {
    if (isPng) {
      const png = pngjs.PNG.sync.read(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
      out = { width: png.width, height: png.height, rgba: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
    } else {
      const img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6, maxMemoryUsageInMB: 1024 });
      out = { width: img.width, height: img.height, rgba: img.data };
    }
  } catch (err) {
    fail(fileName, `corrupt ${isPng ? 'PNG' : 'JPEG'} data (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!(out.width > 0 && out.height > 0) || out.rgba.length < out.width * out.height * 4) {
    fail(fileName, `corrupt ${isPng ? 'PNG' : 'JPEG'} data (decoded to ${out.width}×${out.height})`);
  }
  return out;
}

/** Read and decode an image file to RGBA. Errors are one line naming the file. */
export function readImageFile(path: string): DecodedImage {
  return decodeImage(readBytes(path), path);
}

/** True when R = G = B for every pixel. */
export function isGrey(img: DecodedImage): boolean {
  const p = img.rgba;
  for (let i = 0; i < img.width * img.height * 4; i += 4) {
    if (p[i] !== p[i + 1] || p[i] !== p[i + 2]) return false;
  }
  return true;
}

/** RGBA interleaved → planar CHW with 1 (luma) or 3 (RGB) channels. */
export function rgbaToPlanar(rgba: Uint8Array, width: number, height: number, channels: number): Uint8Array {
  const n = width * height;
  const out = new Uint8Array(channels * n);
  if (channels === 1) {
    for (let i = 0; i < n; i++) {
      const r = rgba[4 * i]!;
      const g = rgba[4 * i + 1]!;
      const b = rgba[4 * i + 2]!;
      out[i] = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
    }
  } else if (channels === 3) {
    for (let i = 0; i < n; i++) {
      out[i] = rgba[4 * i]!;
      out[n + i] = rgba[4 * i + 1]!;
      out[2 * n + i] = rgba[4 * i + 2]!;
    }
  } else {
    throw new Error(`channels must be 1 or 3, got ${channels}`);
  }
  return out;
}

/**
 * Bilinear resize of a planar CHW byte image (half-pixel centres, edges clamped,
 * results rounded to nearest). Returns a new array; returns a copy when the size is unchanged.
 */
export function resizeBilinear(
  src: Uint8Array,
  channels: number,
  height: number,
  width: number,
  outHeight: number,
  outWidth: number,
): Uint8Array {
  if (height === outHeight && width === outWidth) return src.slice();
  const out = new Uint8Array(channels * outHeight * outWidth);
  const sy = height / outHeight;
  const sx = width / outWidth;
  // Precompute the horizontal taps once.
  const x0s = new Int32Array(outWidth);
  const x1s = new Int32Array(outWidth);
  const fxs = new Float32Array(outWidth);
  for (let x = 0; x < outWidth; x++) {
    let fx = (x + 0.5) * sx - 0.5;
    if (fx < 0) fx = 0;
    if (fx > width - 1) fx = width - 1;
    const x0 = Math.floor(fx);
    x0s[x] = x0;
    x1s[x] = Math.min(x0 + 1, width - 1);
    fxs[x] = fx - x0;
  }
  for (let c = 0; c < channels; c++) {
    const plane = c * height * width;
    const oplane = c * outHeight * outWidth;
    for (let y = 0; y < outHeight; y++) {
      let fy = (y + 0.5) * sy - 0.5;
      if (fy < 0) fy = 0;
      if (fy > height - 1) fy = height - 1;
      const y0 = Math.floor(fy);
      const y1 = Math.min(y0 + 1, height - 1);
      const wy = fy - y0;
      const r0 = plane + y0 * width;
      const r1 = plane + y1 * width;
      for (let x = 0; x < outWidth; x++) {
        const x0 = x0s[x]!;
        const x1 = x1s[x]!;
        const wx = fxs[x]!;
        const top = src[r0 + x0]! + (src[r0 + x1]! - src[r0 + x0]!) * wx;
        const bot = src[r1 + x0]! + (src[r1 + x1]! - src[r1 + x0]!) * wx;
        out[oplane + y * outWidth + x] = Math.round(top + (bot - top) * wy);
      }
    }
  }
  return out;
}

/** Decoded RGBA → planar bytes of the requested shape. */
export function toShape(img: DecodedImage, shape: ImageShape): Uint8Array {
  const planar = rgbaToPlanar(img.rgba, img.width, img.height, shape.channels);
  return resizeBilinear(planar, shape.channels, img.height, img.width, shape.height, shape.width);
}

/**
 * Decode one image file to planar CHW bytes of the given shape (e.g. for `predict`).
 * Errors are one line naming the file. `note` hears of every change made to fit the shape (colour, size).
 */
export function decodeImageFile(path: string, shape: ImageShape, note: (line: string) => void = () => {}): Uint8Array {
  const img = readImageFile(path);
  if (shape.channels === 1 && !isGrey(img)) note(`${path}: colour image converted to grey-scale for a 1-channel model`);
  if (img.width !== shape.width || img.height !== shape.height) {
    const stretched = img.width * shape.height !== img.height * shape.width ? ', changing its aspect ratio' : '';
    note(`${path}: resized from ${img.width}×${img.height} to ${shape.width}×${shape.height}${stretched}`);
  }
  return toShape(img, shape);
}

/**
 * An image file as torchvision evaluates ImageNet models: decoded, converted to RGB (grey images get three equal
 * channels, as PIL's convert('RGB')), shorter side resized, centre-cropped: planar 3×crop×crop bytes.
 */
export function loadImageCentreCrop(path: string, o: ResizeCropOptions): Uint8Array {
  const img = readImageFile(path);
  return resizeShorterSideCenterCrop(rgbaToPlanar(img.rgba, img.width, img.height, 3), 3, img.height, img.width, o);
}

export interface FolderListing {
  classes: string[];
  files: { path: string; label: number }[];
}

function visible(name: string): boolean {
  return !name.startsWith('.');
}

/** List root/<class>/<image> (classes and files sorted by name). */
export function listImageFolder(root: string): FolderListing {
  if (!isDirectory(root)) throw new DataFormatError(root, `${root}: image folder not found (expected ${root}/<class>/*.png|jpg|jpeg)`);
  const classes = readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && visible(d.name))
    .map((d) => d.name)
    .sort();
  const files: { path: string; label: number }[] = [];
  const empty: string[] = [];
  classes.forEach((cls, label) => {
    const names = readdirSync(join(root, cls), { withFileTypes: true })
      .filter((d) => d.isFile() && visible(d.name) && IMAGE_EXTENSIONS.includes(extname(d.name).toLowerCase()))
      .map((d) => d.name)
      .sort();
    if (names.length === 0) empty.push(cls);
    for (const n of names) files.push({ path: join(root, cls, n), label });
  });
  // A class without images would still get an output the model can learn to predict for everything.
  if (empty.length > 0 && files.length > 0) {
    throw new DataFormatError(join(root, empty[0]!), `${join(root, empty[0]!)}: class folder has no images (*.png|jpg|jpeg)${empty.length > 1 ? `; also empty: ${empty.slice(1).join(', ')}` : ''}; add images or remove the folder`);
  }
  if (files.length === 0) {
    throw new DataFormatError(root, `${root}: no images found (expected ${root}/<class>/*.png|jpg|jpeg)`);
  }
  return { classes, files };
}

export interface FolderOptions {
  /** 1 (grayscale) or 3 (RGB); default: 1 if the first image is grey, else 3. */
  channels?: number;
  /** Output size; default: the first image's size. */
  height?: number;
  width?: number;
  name?: string;
  /**
   * How images of another size are fitted: 'stretch' (default) resizes to height × width with plain bilinear;
   * 'crop' (square sizes) resizes the shorter side with antialiasing and centre-crops, as torchvision's
   * Resize + CenterCrop, keeping the aspect ratio.
   */
  fit?: 'stretch' | 'crop';
}

/** Load an image folder into memory. */
export function loadImageFolder(root: string, opts: FolderOptions = {}): ImageDataset {
  const { classes, files } = listImageFolder(root);
  const first = readImageFile(files[0]!.path);
  const channels = opts.channels ?? (isGrey(first) ? 1 : 3);
  if (channels !== 1 && channels !== 3) throw new Error(`${root}: channels must be 1 or 3, got ${channels}`);
  const height = opts.height ?? first.height;
  const width = opts.width ?? first.width;
  const shape = { channels, height, width };
  const size = channels * height * width;
  const images = new Uint8Array(files.length * size);
  const labels = new Int32Array(files.length);
  if (opts.fit === 'crop' && height !== width) throw new Error(`${root}: fit 'crop' makes square images, got ${width}×${height}`);
  const fitted = (img: DecodedImage): Uint8Array => (opts.fit === 'crop'
    ? resizeShorterSideCenterCrop(rgbaToPlanar(img.rgba, img.width, img.height, channels), channels, img.height, img.width, { resize: height, crop: height })
    : toShape(img, shape));
  files.forEach((f, i) => {
    const img = i === 0 ? first : readImageFile(f.path);
    images.set(fitted(img), i * size);
    labels[i] = f.label;
  });
  return validateDataset({
    name: opts.name ?? `folder:${basename(resolve(root))}`,
    classes,
    channels,
    height,
    width,
    length: files.length,
    images,
    labels,
  });
}
