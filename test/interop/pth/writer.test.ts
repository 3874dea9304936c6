/**
 * The .pth writer: what it writes reads back identically (values, shapes, dtypes, key order), a model's state
 * dict round-trips through savePth and loadWeights, the zip has torch.save's layout (archive/data.pkl, one record
 * per storage aligned to 64 bytes, archive/version, correct CRCs), and output is reproducible byte for byte.
 * That torch.load and torchvision's load_state_dict accept it is checked by scripts/fixtures/pth_fixtures.py --check-export.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../../../src/engine/index.js';
import { createModel } from '../../../src/models/index.js';
import { readPth, savePth, writePth } from '../../../src/interop/pth/index.js';
import { ZipReader } from '../../../src/interop/pth/zip.js';
import { crc32, tableCrc32 } from '../../../src/interop/pth/zip-writer.js';
import type { NamedArray } from '../../../src/train/safetensors-format.js';
import { loadWeights } from '../../../src/train/weights.js';
import { tempDir, useReferenceBackend } from '../../train/helpers.js';

useReferenceBackend();
const TIMEOUT = { timeout: 30_000 };
const DIR = tempDir('convlab-pth-writer-');

const TENSORS = new Map<string, NamedArray>([
  ['features.0.weight', { shape: [2, 1, 3, 3], data: Float32Array.from({ length: 18 }, (_, i) => Math.sin(i) * 1e3) }],
  ['features.1.running_var', { shape: [2], data: Float32Array.of(-0, 3.4e38) }],
  ['features.1.num_batches_tracked', { shape: [], data: Int32Array.of(2147483647), int64: true }],
  ['ids', { shape: [1, 3], data: Int32Array.of(-1, 0, 70000) }],
  ['empty', { shape: [0, 4], data: new Float32Array(0) }],
]);

test('writePth then readPth: the same keys in order, shapes, values bit for bit, and dtypes (int64 kept)', TIMEOUT, () => {
  const file = join(DIR, 'round.pth');
  writePth(file, TENSORS);
  const r = readPth(file);
  assert.deepEqual([...r.entries.keys()], [...TENSORS.keys()]);
  for (const [name, t] of TENSORS) {
    const got = r.entries.get(name)!;
    assert.deepEqual(got.shape, t.shape, name);
    assert.equal(got.data.constructor, t.data.constructor, name);
    assert.deepEqual(new Uint8Array(got.data.buffer, got.data.byteOffset, got.data.byteLength), new Uint8Array(t.data.buffer), name);
  }
  assert.deepEqual([...r.dtypes.values()], ['float32', 'float32', 'int64', 'int32', 'float32']);
  assert.equal(r.checkpointKey, undefined);
});

test("torch.save's layout: archive/data.pkl, archive/data/N per tensor, archive/version '3'; data 64-byte aligned, CRCs right", TIMEOUT, () => {
  const file = join(DIR, 'layout.pth');
  writePth(file, TENSORS);
  const bytes = readFileSync(file);
  const zip = new ZipReader(file);
  try {
    assert.deepEqual([...zip.entries.keys()], ['archive/data.pkl', ...[...TENSORS.keys()].map((_, i) => `archive/data/${i}`), 'archive/version']);
    assert.equal(new TextDecoder().decode(zip.read(zip.entries.get('archive/version')!)), '3\n');
    for (const entry of zip.entries.values()) {
      const local = entry.localHeaderOffset;
      const dataStart = local + 30 + bytes.readUInt16LE(local + 26) + bytes.readUInt16LE(local + 28);
      assert.equal(entry.method, 0, entry.name);
      if (entry.name.includes('/data/')) assert.equal(dataStart % 64, 0, `${entry.name} starts at ${dataStart}`);
      assert.equal(bytes.readUInt32LE(local + 14), tableCrc32(zip.read(entry)), `${entry.name}: CRC-32`);
    }
  } finally {
    zip.close();
  }
  writePth(join(DIR, 'again.pth'), TENSORS);
  assert.deepEqual(readFileSync(join(DIR, 'again.pth')), bytes, 'the same tensors give the same bytes');
});

test('every storage record starts on a 64-byte boundary, whatever the sizes before it', TIMEOUT, () => {
  const file = join(DIR, 'aligned.pth');
  writePth(file, new Map(Array.from({ length: 9 }, (_, n) => [`t${n}`, { shape: [n], data: new Float32Array(n).fill(n) }])));
  const bytes = readFileSync(file);
  const zip = new ZipReader(file);
  try {
    const starts = [...zip.entries.values()].filter((e) => e.name.includes('/data/'))
      .map((e) => e.localHeaderOffset + 30 + bytes.readUInt16LE(e.localHeaderOffset + 26) + bytes.readUInt16LE(e.localHeaderOffset + 28));
    assert.deepEqual(starts.map((s) => s % 64), new Array(9).fill(0), `data starts ${starts.join(', ')}`);
  } finally {
    zip.close();
  }
  assert.deepEqual([...readPth(file).entries.get('t5')!.data], [5, 5, 5, 5, 5]);
});

test('crc32: the standard check value, and node:zlib and the table agree', TIMEOUT, () => {
  const check = new TextEncoder().encode('123456789');
  assert.equal(tableCrc32(check), 0xcbf43926);
  assert.equal(crc32(check), 0xcbf43926);
  const data = Uint8Array.from({ length: 4097 }, (_, i) => (i * 2654435761) >>> 24);
  assert.equal(tableCrc32(data), crc32(data));
});

test('savePth then loadWeights: a fresh model gets every tensor bit for bit; a DataParallel module. prefix is dropped', TIMEOUT, () => {
  E.manualSeed(5);
  const a = createModel('lenet5', { numClasses: 3 });
  E.manualSeed(6);
  const b = createModel('lenet5', { numClasses: 3 });
  try {
    const file = join(DIR, 'lenet.pth');
    savePth(a, file);
    assert.equal(loadWeights(b, file, { modelName: 'lenet5' }).loaded, a.stateDict().size);
    for (const [name, t] of a.stateDict()) assert.deepEqual([...b.stateDict().get(name)!.toArray()], [...t.toArray()], name);

    const prefixed = join(DIR, 'data-parallel.pth');
    writePth(prefixed, new Map([...readPth(file).entries].map(([k, v]) => [`module.${k}`, v])));
    const r = loadWeights(b, prefixed, { modelName: 'lenet5' });
    assert.equal(r.source, "keys without their 'module.' prefix");
  } finally {
    a.dispose(); b.dispose();
  }
});
