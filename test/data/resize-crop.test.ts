/**
 * torchvision's ImageNet evaluation transform (Resize(short side) + CenterCrop) against PIL/torchvision output
 * made by test/fixtures/imagenet/make_fixtures.py. The inputs are PNGs, so both sides decode the same bytes, and
 * the port follows Pillow's fixed-point arithmetic: the tolerance is 0 on every byte. (A float bilinear, or
 * Pillow's algorithm with other rounding, is off by 1 on many pixels; no antialiasing is off by tens.)
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readImageFile, resizeBilinear, rgbaToPlanar } from '../../src/data/folder.js';
import { cropPlanar, normalizePlanar, resizeShorterSideCenterCrop, shorterSideSize, IMAGENET_MEAN, IMAGENET_STD } from '../../src/data/resize-crop.js';
import { REPO_ROOT } from './helpers.js';

const DIR = join(REPO_ROOT, 'test', 'fixtures', 'imagenet');
const TIMEOUT = { timeout: 30_000 };
interface Case { input: string; resize: number; crop: number; expected: string }
const cases = (JSON.parse(readFileSync(join(DIR, 'cases.json'), 'utf8')) as { cases: Case[] }).cases;

function planar(file: string): { pixels: Uint8Array; height: number; width: number } {
  const img = readImageFile(join(DIR, file));
  return { pixels: rgbaToPlanar(img.rgba, img.width, img.height, 3), height: img.height, width: img.width };
}

/** How many bytes differ, and the largest difference. */
function diff(a: Uint8Array, b: Uint8Array): { count: number; max: number } {
  assert.equal(a.length, b.length);
  let count = 0, max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (d) { count++; max = Math.max(max, d); }
  }
  return { count, max };
}

describe('resize shorter side + centre crop (torchvision ImageNet transform)', () => {
  for (const c of cases) {
    test(`${c.input}: Resize(${c.resize}) + CenterCrop(${c.crop}) equals PIL byte for byte`, TIMEOUT, () => {
      const src = planar(c.input), want = planar(c.expected);
      assert.equal(want.height, c.crop);
      const got = resizeShorterSideCenterCrop(src.pixels, 3, src.height, src.width, c);
      assert.deepEqual(diff(got, want.pixels), { count: 0, max: 0 });
    });
  }

  test('the fixture tells antialiased from plain bilinear resizing (the test would catch a missing antialias)', TIMEOUT, () => {
    const c = cases.find((k) => k.resize === 33)!;
    const src = planar(c.input), want = planar(c.expected);
    const size = shorterSideSize(src.height, src.width, c.resize);
    const plain = resizeBilinear(src.pixels, 3, src.height, src.width, size.height, size.width);
    const top = Math.round((size.height - c.crop) / 2), left = Math.round((size.width - c.crop) / 2);
    assert.ok(diff(cropPlanar(plain, 3, size.height, size.width, top, left, c.crop, c.crop), want.pixels).max > 20);
  });

  test('output size and crop offsets: int(size·long/short), Python round (halves to even)', TIMEOUT, () => {
    assert.deepEqual(shorterSideSize(200, 300, 256), { height: 256, width: 384 });
    assert.deepEqual(shorterSideSize(97, 61, 40), { height: 63, width: 40 });
    // 150×225 cropped to 149: the row offset is round(0.5) = 0, as Python rounds; the fixture case r150-c149 checks it on pixels.
    const src = Uint8Array.from({ length: 3 * 3 }, (_, i) => i);
    assert.deepEqual(Array.from(resizeShorterSideCenterCrop(src, 1, 3, 3, { resize: 3, crop: 2 })), [0, 1, 3, 4]);
    assert.throws(() => resizeShorterSideCenterCrop(src, 1, 3, 3, { resize: 3, crop: 4 }), /resize 3 \/ crop 4: the crop must be a whole number from 1 to the resized shorter side/);
  });

  test('normalizePlanar: (x/255 − mean)/std per channel', TIMEOUT, () => {
    const x = normalizePlanar(Uint8Array.from([0, 255, 128, 128, 255, 0]), 3, IMAGENET_MEAN, IMAGENET_STD);
    const want = [0, 255, 128, 128, 255, 0].map((v, i) => (v / 255 - IMAGENET_MEAN[Math.floor(i / 2)]!) / IMAGENET_STD[Math.floor(i / 2)]!);
    for (let i = 0; i < 6; i++) assert.ok(Math.abs(x[i]! - want[i]!) < 1e-6);
  });
});
