/** Shared helpers for the data-layer tests (not a test file itself). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pngjs from 'pngjs';
import type { ImageDataset } from '../../src/data/dataset.js';
import { findPackageRoot } from '../../src/data/files.js';

/** The repo root (the folder holding package.json), found from this compiled file. */
export const REPO_ROOT = findPackageRoot();
/** ../shared/data relative to the repo root. */
export const SHARED_DATA = resolve(REPO_ROOT, '..', 'shared', 'data');
export const SHARED_MNIST = join(SHARED_DATA, 'mnist');
export const SHARED_CIFAR = join(SHARED_DATA, 'cifar-10-batches-bin');

/** A fresh temp folder under os.tmpdir(), removed when the process exits. */
export function tempDir(prefix = 'convlab-data-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (tempDirs.length === 0) {
    process.on('exit', () => {
      for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
    });
  }
  tempDirs.push(dir);
  return dir;
}
const tempDirs: string[] = [];

/** Escape a string for use inside a RegExp. */
export function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A RegExp matching exactly `Error: <message>` — what assert.throws tests a RegExp
 * against (the error's toString()).
 */
export function re(message: string): RegExp {
  return new RegExp(`^Error: ${escapeRe(message)}$`);
}

/**
 * A synthetic dataset: `counts[c]` images of class c, each C×H×W, where pixel k of image i
 * is (i * 7 + k * 3) & 255, so every image is distinguishable.
 */
export function fakeDataset(counts: number[], shape: [number, number, number] = [1, 4, 4], interleave = true): ImageDataset {
  const [C, H, W] = shape;
  const labels: number[] = [];
  if (interleave) {
    const left = counts.slice();
    while (left.some((n) => n > 0)) {
      left.forEach((n, c) => {
        if (n > 0) {
          labels.push(c);
          left[c] = n - 1;
        }
      });
    }
  } else {
    counts.forEach((n, c) => {
      for (let i = 0; i < n; i++) labels.push(c);
    });
  }
  const size = C * H * W;
  const images = new Uint8Array(labels.length * size);
  for (let i = 0; i < labels.length; i++) for (let k = 0; k < size; k++) images[i * size + k] = (i * 7 + k * 3) & 255;
  return {
    name: 'fake',
    classes: counts.map((_, c) => `class${c}`),
    channels: C,
    height: H,
    width: W,
    length: labels.length,
    images,
    labels: Int32Array.from(labels),
  };
}

/** Writes an opaque RGB PNG of width×height whose pixel (x, y) is rgb(x, y). */
export function writeRgbPng(path: string, width: number, height: number, rgb: (x: number, y: number) => [number, number, number]): void {
  const img = new pngjs.PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      [img.data[i], img.data[i + 1], img.data[i + 2]] = rgb(x, y);
      img.data[i + 3] = 255;
    }
  }
  writeFileSync(path, pngjs.PNG.sync.write(img));
}
