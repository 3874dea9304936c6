import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { encodeIdx, loadIdxDataset, parseIdx, readIdxFile, readIdxImages, readIdxLabels } from '../../src/data/idx.js';
import { escapeRe, re, tempDir } from './helpers.js';

const dir = tempDir();

function write(name: string, bytes: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

/** An IDX header for the given magic and dims, followed by `payload` bytes. */
function idxBytes(magic: number, dims: number[], payload: number): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + payload);
  const v = new DataView(out.buffer);
  v.setUint32(0, magic);
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d));
  return out;
}

describe('IDX reader', () => {
  test('round-trips raw and gzipped images and labels', () => {
    const pixels = Uint8Array.from({ length: 3 * 2 * 2 }, (_, i) => i * 20);
    const labels = Uint8Array.from([2, 0, 1]);
    const raw = write('imgs-idx3-ubyte', encodeIdx([3, 2, 2], pixels));
    const gz = write('imgs-idx3-ubyte.gz', gzipSync(encodeIdx([3, 2, 2], pixels)));
    const lab = write('labs-idx1-ubyte.gz', gzipSync(encodeIdx([3], labels)));
    for (const p of [raw, gz]) {
      const img = readIdxImages(p);
      assert.deepEqual([img.count, img.rows, img.cols], [3, 2, 2]);
      assert.deepEqual(Array.from(img.data), Array.from(pixels));
    }
    assert.deepEqual(Array.from(readIdxLabels(lab)), [2, 0, 1]);
    const ds = loadIdxDataset(gz, lab, { name: 'tiny' });
    assert.equal(ds.length, 3);
    assert.equal(ds.channels, 1);
    assert.deepEqual(Array.from(ds.labels), [2, 0, 1]);
    assert.equal(ds.classes.length, 10);
    assert.deepEqual(Array.from(ds.images.subarray(4, 8)), [80, 100, 120, 140]);
  });

  const cases: { name: string; file: string; bytes: () => Uint8Array; read: (p: string) => unknown; error: (p: string) => RegExp }[] = [
    {
      name: 'truncated image file (example from the spec)',
      file: 'train-images-idx3-ubyte.gz',
      bytes: () => gzipSync(idxBytes(2051, [60000, 28, 28], 1000 - 16)),
      read: readIdxImages,
      error: (p) => re(`${p}: truncated IDX file: header says 60000×28×28 = 47040016 bytes, file has 1000 bytes`),
    },
    {
      name: 'truncated label file',
      file: 'train-labels-idx1-ubyte',
      bytes: () => idxBytes(2049, [60000], 10),
      read: readIdxLabels,
      error: (p) => re(`${p}: truncated IDX file: header says 60000 = 60008 bytes, file has 18 bytes`),
    },
    {
      name: 'file longer than its header says',
      file: 'long-labels-idx1-ubyte',
      bytes: () => idxBytes(2049, [5], 7),
      read: readIdxLabels,
      error: (p) => re(`${p}: IDX file too long: header says 5 = 13 bytes, file has 15 bytes`),
    },
    {
      name: 'too short for a magic number',
      file: 'tiny-idx',
      bytes: () => Uint8Array.from([0, 0]),
      read: readIdxLabels,
      error: (p) => re(`${p}: truncated IDX file: 2 bytes is too short for the 4-byte magic number`),
    },
    {
      name: 'header cut short',
      file: 'cut-header-idx3-ubyte',
      bytes: () => idxBytes(2051, [5, 28], 0),
      read: readIdxImages,
      error: (p) => re(`${p}: truncated IDX file: header needs 16 bytes for 3 dimensions, file has 12 bytes`),
    },
    {
      name: 'labels file where images are expected (wrong magic)',
      file: 'swapped-labels-idx1-ubyte',
      bytes: () => idxBytes(2049, [3], 3),
      read: readIdxImages,
      error: (p) =>
        re(`${p}: bad magic number 2049 (0x00000801, IDX unsigned byte data with 1 dimension), expected 2051 (IDX unsigned-byte images)`),
    },
    {
      name: 'not an IDX file at all (wrong magic)',
      file: 'picture.idx',
      bytes: () => Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]),
      read: readIdxLabels,
      error: (p) => re(`${p}: bad magic number 2303741511 (0x89504e47, not IDX), expected 2049 (IDX unsigned-byte labels)`),
    },
    {
      name: 'unsupported element type',
      file: 'floats-idx',
      bytes: () => idxBytes(0x0d01, [1], 4),
      read: (p: string) => readIdxFile(p),
      error: (p) => re(`${p}: unsupported IDX element type float32 (only unsigned byte is supported)`),
    },
    {
      name: 'corrupt gzip (flipped bytes in the deflate stream)',
      file: 'corrupt-images-idx3-ubyte.gz',
      bytes: () => {
        const gz = gzipSync(encodeIdx([2, 8, 8], Uint8Array.from({ length: 128 }, (_, i) => (i * 37) & 255)));
        for (let i = 12; i < gz.length - 8; i++) gz[i]! ^= 0x5a;
        return gz;
      },
      read: readIdxImages,
      error: (p) => new RegExp(`^Error: ${escapeRe(p)}: corrupt gzip file: .+$`),
    },
    {
      name: 'truncated gzip',
      file: 'cut-images-idx3-ubyte.gz',
      bytes: () => {
        const gz = gzipSync(encodeIdx([2, 8, 8], Uint8Array.from({ length: 128 }, (_, i) => (i * 37) & 255)));
        return gz.subarray(0, gz.length - 20);
      },
      read: readIdxImages,
      error: (p) => re(`${p}: corrupt gzip file: unexpected end of file`),
    },
    {
      name: '.gz name without gzip data',
      file: 'plain-labels-idx1-ubyte.gz',
      bytes: () => encodeIdx([3], Uint8Array.from([1, 2, 3])),
      read: readIdxLabels,
      error: (p) => re(`${p}: corrupt gzip file: does not start with the gzip magic bytes 1f 8b`),
    },
  ];
  for (const c of cases) {
    test(`error: ${c.name}`, () => {
      const p = write(c.file, c.bytes());
      assert.throws(() => c.read(p), c.error(p));
    });
  }

  test('error: missing file', () => {
    const p = join(dir, 'nope-idx1-ubyte.gz');
    assert.throws(() => readIdxLabels(p), re(`${p}: file not found`));
  });

  test('error: label and image counts differ', () => {
    const img = write('a-images', encodeIdx([3, 1, 1], Uint8Array.from([1, 2, 3])));
    const lab = write('a-labels', encodeIdx([2], Uint8Array.from([1, 2])));
    assert.throws(() => loadIdxDataset(img, lab), re(`${lab}: has 2 labels but a-images has 3 images`));
  });

  test('error: label outside the given classes', () => {
    const img = write('b-images', encodeIdx([2, 1, 1], Uint8Array.from([1, 2])));
    const lab = write('b-labels', encodeIdx([2], Uint8Array.from([1, 3])));
    assert.throws(() => loadIdxDataset(img, lab, { classes: ['a', 'b', 'c'] }), re(`${lab}: label 3 of image 1 is outside 0..2 (3 classes)`));
  });

  test('parseIdx returns a view of the payload', () => {
    const a = parseIdx(encodeIdx([2, 2], Uint8Array.from([9, 8, 7, 6])), 'mem');
    assert.equal(a.magic, 0x0802);
    assert.deepEqual(a.dims, [2, 2]);
    assert.deepEqual(Array.from(a.data), [9, 8, 7, 6]);
  });
});
