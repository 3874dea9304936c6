import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  CIFAR_RECORD_BYTES,
  extractCifarArchive,
  findCifarSource,
  loadCifar10,
  parseCifarBatch,
  parseCifarMeta,
  readCifarBatchFile,
} from '../../src/data/cifar.js';
import { readTar } from '../../src/data/tar.js';
import { re, tempDir } from './helpers.js';

/** A fake batch: record i has label labels[i] and pixel k = (i + k) & 255. */
function fakeBatch(labels: number[]): Uint8Array {
  const out = new Uint8Array(labels.length * CIFAR_RECORD_BYTES);
  labels.forEach((l, i) => {
    const o = i * CIFAR_RECORD_BYTES;
    out[o] = l;
    for (let k = 0; k < 3072; k++) out[o + 1 + k] = (i + k) & 255;
  });
  return out;
}

const META = 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n';

/** Write data_batch_1..5 (+ test_batch) and the meta file into dir; batch b has labels [b, b+1]. */
function writeFakeCifar(dir: string, gz: boolean): void {
  mkdirSync(dir, { recursive: true });
  for (let b = 1; b <= 5; b++) {
    const bytes = fakeBatch([b, (b + 1) % 10]);
    writeFileSync(join(dir, `data_batch_${b}.bin${gz ? '.gz' : ''}`), gz ? gzipSync(bytes) : bytes);
  }
  const t = fakeBatch([9, 8, 7]);
  writeFileSync(join(dir, `test_batch.bin${gz ? '.gz' : ''}`), gz ? gzipSync(t) : t);
  writeFileSync(join(dir, 'batches.meta.txt'), `${META.replace(/\n/g, '   \n')}\n\n`);
}

const hasTar = spawnSync('tar', ['--version']).status === 0;

describe('CIFAR-10 reader', () => {
  test('parses records: label byte then 3072 planar pixel bytes', () => {
    const b = parseCifarBatch(fakeBatch([6, 9, 9]), 'mem');
    assert.equal(b.count, 3);
    assert.deepEqual(Array.from(b.labels), [6, 9, 9]);
    assert.equal(b.images.length, 3 * 3072);
    assert.equal(b.images[3072 + 0], 1); // record 1, pixel 0
    assert.equal(b.images[2 * 3072 + 1023], (2 + 1023) & 255);
  });

  const errors: { name: string; bytes: () => Uint8Array; opts?: Parameters<typeof parseCifarBatch>[2]; error: (f: string) => RegExp }[] = [
    {
      name: 'truncated batch (not a whole number of records)',
      bytes: () => fakeBatch([1, 2]).subarray(0, 2 * 3073 - 100),
      error: (f) =>
        re(
          `${f}: truncated CIFAR-10 batch: file has 6046 bytes, not a whole number of 3073-byte records ` +
            '(1 label + 3072 pixels; a full batch is 10000 records = 30730000 bytes)',
        ),
    },
    {
      name: 'empty batch',
      bytes: () => new Uint8Array(0),
      error: (f) => re(`${f}: file is empty (0 bytes), expected a CIFAR-10 batch of 3073-byte records`),
    },
    {
      name: 'wrong record count when one is required',
      bytes: () => fakeBatch([1, 2]),
      opts: { expectedRecords: 10000 },
      error: (f) => re(`${f}: wrong CIFAR-10 batch size: expected 10000 records = 30730000 bytes, file has 2 records = 6146 bytes`),
    },
    {
      name: 'label out of range',
      bytes: () => fakeBatch([1, 12]),
      error: (f) => re(`${f}: record 1 has label 12, expected 0..9`),
    },
  ];
  const dir = tempDir();
  for (const c of errors) {
    test(`error: ${c.name}`, () => {
      const f = join(dir, `${c.name.replace(/\W+/g, '_')}.bin.gz`);
      writeFileSync(f, gzipSync(c.bytes()));
      assert.throws(() => readCifarBatchFile(f, c.opts), c.error(f));
    });
  }

  test('batches.meta.txt: names trimmed, blank lines ignored', () => {
    assert.deepEqual(parseCifarMeta('airplane  \r\nautomobile\n\n  bird\n\n'), ['airplane', 'automobile', 'bird']);
  });

  for (const gz of [false, true]) {
    test(`loads a folder of ${gz ? '.bin.gz' : '.bin'} batches`, () => {
      const d = join(tempDir(), 'cifar');
      writeFakeCifar(d, gz);
      const train = loadCifar10(d, 'train');
      assert.equal(train.length, 10);
      assert.deepEqual(Array.from(train.labels), [1, 2, 2, 3, 3, 4, 4, 5, 5, 6]);
      assert.deepEqual([train.channels, train.height, train.width], [3, 32, 32]);
      assert.equal(train.classes[9], 'truck');
      const test_ = loadCifar10(d, 'test');
      assert.deepEqual(Array.from(test_.labels), [9, 8, 7]);
      const only2 = loadCifar10(d, 'train', { batches: [2] });
      assert.deepEqual(Array.from(only2.labels), [2, 3]);
    });
  }

  test('finds the cifar-10-batches-bin sub-folder', () => {
    const root = tempDir();
    writeFakeCifar(join(root, 'cifar-10-batches-bin'), true);
    const src = findCifarSource(root, 'train');
    assert.equal(src?.kind, 'dir');
    assert.equal(loadCifar10(root, 'test').length, 3);
  });

  test('error: folder without CIFAR-10 files', () => {
    const d = tempDir();
    assert.throws(
      () => loadCifar10(d, 'test'),
      re(`${d}: no CIFAR-10 test data: expected test_batch.bin (optionally .gz) and batches.meta.txt, or cifar-10-binary.tar.gz`),
    );
  });

  test('reads and extracts the official archive layout (tar.gz made by system tar)', { skip: !hasTar && 'tar command not found' }, () => {
    const root = tempDir();
    writeFakeCifar(join(root, 'cifar-10-batches-bin'), false);
    writeFileSync(join(root, 'cifar-10-batches-bin', 'readme.html'), '<html></html>');
    const archive = join(root, 'cifar-10-binary.tar.gz');
    const r = spawnSync('tar', ['-czf', archive, '-C', root, 'cifar-10-batches-bin']);
    assert.equal(r.status, 0, String(r.stderr));
    const elsewhere = tempDir();
    spawnSync('mv', [archive, elsewhere]);
    const moved = join(elsewhere, 'cifar-10-binary.tar.gz');
    assert.equal(findCifarSource(elsewhere, 'train')?.kind, 'archive');
    const train = loadCifar10(moved, 'train');
    assert.deepEqual(Array.from(train.labels), [1, 2, 2, 3, 3, 4, 4, 5, 5, 6]);
    assert.deepEqual(Array.from(loadCifar10(elsewhere, 'test').labels), [9, 8, 7]);
    const out = join(elsewhere, 'extracted');
    extractCifarArchive(moved, out);
    assert.deepEqual(readdirSync(out).sort(), [
      'batches.meta.txt',
      'data_batch_1.bin',
      'data_batch_2.bin',
      'data_batch_3.bin',
      'data_batch_4.bin',
      'data_batch_5.bin',
      'test_batch.bin',
    ]);
    assert.deepEqual(Array.from(loadCifar10(out, 'train').labels), Array.from(train.labels));
  });
});

describe('tar reader', () => {
  for (const format of ['gnu', 'pax', 'ustar'] as const) {
    test(`reads ${format} archives, including long names`, { skip: !hasTar && 'tar command not found' }, () => {
      const root = tempDir();
      const longDir = `${'d'.repeat(60)}/${'e'.repeat(60)}`;
      const longName = format === 'ustar' ? `${longDir}/short.txt` : `${longDir}/${'f'.repeat(120)}.txt`;
      mkdirSync(join(root, longDir), { recursive: true });
      writeFileSync(join(root, longName), 'hello tar');
      writeFileSync(join(root, 'empty.bin'), '');
      const big = Buffer.alloc(1500, 7);
      writeFileSync(join(root, 'big.bin'), big);
      const archive = join(tempDir(), 'a.tar');
      const r = spawnSync('tar', [`--format=${format}`, '-cf', archive, '-C', root, 'empty.bin', 'big.bin', longName]);
      assert.equal(r.status, 0, String(r.stderr));
      const buf = new Uint8Array(readFileSync(archive));
      const files = readTar(buf, archive).filter((e) => e.type === '0');
      assert.deepEqual(
        files.map((e) => [e.name, e.size]),
        [
          ['empty.bin', 0],
          ['big.bin', 1500],
          [longName, 9],
        ],
      );
      assert.equal(new TextDecoder().decode(files[2]!.data), 'hello tar');
      assert.ok(files[1]!.data.every((b) => b === 7));
    });
  }

  test('error: corrupt header checksum and truncated archive', () => {
    const header = new Uint8Array(512);
    const enc = new TextEncoder();
    header.set(enc.encode('x.bin'), 0);
    header.set(enc.encode('0000644\0'), 100);
    header.set(enc.encode('00000002000\0'), 124); // 1024 bytes
    header[156] = 0x30;
    header.set(enc.encode('        '), 148);
    let sum = 0;
    for (const b of header) sum += b;
    header.set(enc.encode(`${sum.toString(8).padStart(6, '0')}\0 `), 148);
    const truncated = new Uint8Array(512 + 100);
    truncated.set(header);
    assert.throws(() => readTar(truncated, 'x.tar'), re('x.tar: truncated tar archive: entry "x.bin" needs 1024 bytes, only 100 remain'));
    const bad = truncated.slice();
    bad[0] = 0x79; // 'y' instead of 'x'
    assert.throws(() => readTar(bad, 'x.tar'), re('x.tar: corrupt tar archive: header checksum mismatch at byte 0'));
  });
});

