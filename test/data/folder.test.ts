import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import {
  decodeImageFile,
  listImageFolder,
  loadImageFolder,
  resizeBilinear,
  rgbaToPlanar,
} from '../../src/data/folder.js';
import { loadDataset } from '../../src/data/registry.js';
import { escapeRe, re, tempDir } from './helpers.js';

/** Encode an RGBA image as PNG bytes. */
function png(width: number, height: number, pixel: (x: number, y: number) => [number, number, number, number]): Buffer {
  const img = new pngjs.PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b, a] = pixel(x, y);
      const o = 4 * (y * width + x);
      img.data[o] = r;
      img.data[o + 1] = g;
      img.data[o + 2] = b;
      img.data[o + 3] = a;
    }
  }
  return pngjs.PNG.sync.write(img);
}

function jpg(width: number, height: number, rgb: [number, number, number]): Buffer {
  const data = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set([...rgb, 255], 4 * i);
  return jpeg.encode({ width, height, data }, 95).data;
}

const grey = (v: (x: number, y: number) => number) => (x: number, y: number): [number, number, number, number] => {
  const g = v(x, y);
  return [g, g, g, 255];
};

describe('image folder', () => {
  test('rgbaToPlanar: luma like PIL convert("L"), RGB planes', () => {
    const rgba = Uint8Array.from([255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 0, 10, 20, 30, 255]);
    // PIL: L = R*299/1000 + G*587/1000 + B*114/1000 (rounded) → 76, 150, 29, 18
    assert.deepEqual(Array.from(rgbaToPlanar(rgba, 4, 1, 1)), [76, 150, 29, 18]);
    assert.deepEqual(Array.from(rgbaToPlanar(rgba, 2, 2, 3)), [255, 0, 0, 10, 0, 255, 0, 20, 0, 0, 255, 30]);
  });

  test('resizeBilinear: hand-computed 2×2 → 4×4 and 4×1 → 2×1 (half-pixel centres)', () => {
    // Output x=0 maps to source 0.5*0.5-0.5 = -0.25 → clamped 0; x=1 → 0.25; x=2 → 0.75; x=3 → 1.25 → clamped 1.
    const up = resizeBilinear(Uint8Array.from([0, 100, 200, 40]), 1, 2, 2, 4, 4);
    const row = (a: number, b: number) => [a, a + 0.25 * (b - a), a + 0.75 * (b - a), b];
    const top = row(0, 100);
    const bot = row(200, 40);
    const want = [0, 0.25, 0.75, 1].flatMap((wy) => top.map((t, i) => Math.round(t + (bot[i]! - t) * wy)));
    assert.deepEqual(Array.from(up), want);
    // Downscale 4 → 2: source positions 0.5 and 2.5 → means of neighbours.
    assert.deepEqual(Array.from(resizeBilinear(Uint8Array.from([10, 20, 30, 41]), 1, 1, 4, 1, 2)), [15, 36]);
    // Same size → copy
    const same = Uint8Array.from([1, 2, 3]);
    const c = resizeBilinear(same, 3, 1, 1, 1, 1);
    assert.deepEqual(Array.from(c), [1, 2, 3]);
    assert.notEqual(c, same);
  });

  test('loads root/<class>/*.png|jpg: sorted classes, default size and channels', () => {
    const root = tempDir();
    for (const cls of ['zebra', 'ant', 'cat']) mkdirSync(join(root, cls));
    writeFileSync(join(root, 'ant', 'b.png'), png(6, 4, grey((x) => x * 40)));
    writeFileSync(join(root, 'ant', 'a.PNG'), png(6, 4, grey((_, y) => y * 50)));
    writeFileSync(join(root, 'cat', 'x.jpg'), jpg(8, 8, [128, 128, 128]));
    writeFileSync(join(root, 'zebra', 'z.jpeg'), jpg(3, 3, [200, 200, 200]));
    writeFileSync(join(root, 'zebra', 'notes.txt'), 'ignored');
    writeFileSync(join(root, 'zebra', '.hidden.png'), 'ignored');
    writeFileSync(join(root, 'README'), 'ignored');
    const listing = listImageFolder(root);
    assert.deepEqual(listing.classes, ['ant', 'cat', 'zebra']);
    assert.deepEqual(listing.files.map((f) => f.path.slice(root.length + 1)), ['ant/a.PNG', 'ant/b.png', 'cat/x.jpg', 'zebra/z.jpeg']);
    const ds = loadImageFolder(root);
    assert.deepEqual([ds.channels, ds.height, ds.width, ds.length], [1, 4, 6, 4]); // first image: 6×4 grey
    assert.deepEqual(Array.from(ds.labels), [0, 0, 1, 2]);
    assert.deepEqual(Array.from(ds.images.subarray(0, 6)), [0, 0, 0, 0, 0, 0]); // a.PNG row 0
    assert.deepEqual(Array.from(ds.images.subarray(24, 30)), [0, 40, 80, 120, 160, 200]); // b.png row 0
    // JPEG of a flat colour decodes to (about) that colour after resizing.
    for (const v of ds.images.subarray(48, 72)) assert.ok(Math.abs(v - 128) <= 2, `jpeg pixel ${v}`);
    const rgb = loadImageFolder(root, { channels: 3, height: 2, width: 2 });
    assert.deepEqual([rgb.channels, rgb.height, rgb.width], [3, 2, 2]);
    assert.equal(rgb.images.length, 4 * 12);
  });

  test('default channels: 3 when the first image has colour; decodeImageFile', () => {
    const root = tempDir();
    mkdirSync(join(root, 'red'));
    const f = join(root, 'red', 'r.png');
    writeFileSync(f, png(2, 2, () => [250, 10, 20, 255]));
    const ds = loadImageFolder(root);
    assert.equal(ds.channels, 3);
    assert.deepEqual(Array.from(ds.images), [250, 250, 250, 250, 10, 10, 10, 10, 20, 20, 20, 20]);
    assert.deepEqual(Array.from(decodeImageFile(f, { channels: 3, height: 1, width: 1 })), [250, 10, 20]);
    // luma 250*.299 + 10*.587 + 20*.114 = 82.9
    assert.deepEqual(Array.from(decodeImageFile(f, { channels: 1, height: 1, width: 3 })), [83, 83, 83]);
  });

  test('folder:<path> through the registry, with train/ and test/ splits', async () => {
    const root = tempDir();
    for (const split of ['train', 'test']) {
      for (const cls of ['no', 'yes']) {
        mkdirSync(join(root, split, cls), { recursive: true });
        writeFileSync(join(root, split, cls, `${split}.png`), png(5, 5, grey(() => (split === 'train' ? 10 : 20))));
      }
    }
    const train = await loadDataset(`folder:${root}`, { split: 'train', folder: { height: 3, width: 3 } });
    const test_ = await loadDataset(`folder:${root}`, { split: 'test' });
    assert.deepEqual([train.length, train.height, train.images[0]], [2, 3, 10]);
    assert.deepEqual([test_.length, test_.height, test_.images[0]], [2, 5, 20]);
    assert.deepEqual(train.classes, ['no', 'yes']);
    await assert.rejects(loadDataset('folder:'), re('folder: dataset needs a path, e.g. folder:./my-images'));
  });

  const unreadable: { name: string; bytes: () => Uint8Array | string; error: (p: string) => RegExp }[] = [
    { name: 'text.png', bytes: () => 'this is not an image', error: (p) => re(`${p}: unreadable image: not a PNG or JPEG file`) },
    { name: 'empty.jpg', bytes: () => new Uint8Array(0), error: (p) => re(`${p}: file is empty (0 bytes), expected a PNG or JPEG image`) },
    {
      name: 'cut.png',
      bytes: () => png(8, 8, grey(() => 1)).subarray(0, 40),
      error: (p) => new RegExp(`^Error: ${escapeRe(p)}: unreadable image: corrupt PNG data \\(.+\\)$`),
    },
    {
      name: 'cut.jpg',
      bytes: () => jpg(16, 16, [1, 2, 3]).subarray(0, 30),
      error: (p) => new RegExp(`^Error: ${escapeRe(p)}: unreadable image: corrupt JPEG data \\(.+\\)$`),
    },
  ];
  for (const u of unreadable) {
    test(`error: unreadable image ${u.name}`, () => {
      const root = tempDir();
      mkdirSync(join(root, 'c'));
      const p = join(root, 'c', u.name);
      writeFileSync(p, u.bytes());
      assert.throws(() => decodeImageFile(p, { channels: 1, height: 4, width: 4 }), u.error(p));
      assert.throws(() => loadImageFolder(root), u.error(p));
    });
  }

  test('error: missing file, missing folder, folder without images', () => {
    const root = tempDir();
    const p = join(root, 'nope.png');
    assert.throws(() => decodeImageFile(p, { channels: 1, height: 1, width: 1 }), re(`${p}: file not found`));
    const missing = join(root, 'missing');
    assert.throws(() => loadImageFolder(missing), re(`${missing}: image folder not found (expected ${missing}/<class>/*.png|jpg|jpeg)`));
    mkdirSync(join(root, 'empty', 'cls'), { recursive: true });
    const empty = join(root, 'empty');
    assert.throws(() => loadImageFolder(empty), re(`${empty}: no images found (expected ${empty}/<class>/*.png|jpg|jpeg)`));
  });
});
