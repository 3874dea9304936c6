import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAtomicWriter, writeFileAtomic } from '../../src/util/atomic-file.js';

const fresh = (): string => mkdtempSync(join(tmpdir(), 'convlab-atomic-'));

test('an atomic writer shows nothing until commit, then the whole file', { timeout: 10_000 }, () => {
  const dir = fresh(), path = join(dir, 'data.bin');
  writeFileSync(path, 'old');
  const w = createAtomicWriter(path);
  w.write(Uint8Array.from([1, 2]));
  w.write(Uint8Array.from([3]));
  assert.equal(readFileSync(path, 'utf8'), 'old', 'the target is untouched before commit');
  w.commit();
  assert.deepEqual([...readFileSync(path)], [1, 2, 3]);
  assert.deepEqual(readdirSync(dir), ['data.bin'], 'no temp file is left');
  assert.throws(() => w.write(Uint8Array.from([4])), /data\.bin: write after commit or abort/);
});

test('abort keeps the old file and removes the temp file, even twice', { timeout: 10_000 }, () => {
  const dir = fresh(), path = join(dir, 'data.bin');
  writeFileSync(path, 'old');
  const w = createAtomicWriter(path);
  w.write(Uint8Array.from([9]));
  w.abort();
  w.abort();
  assert.equal(readFileSync(path, 'utf8'), 'old');
  assert.deepEqual(readdirSync(dir), ['data.bin']);
});

test('a failed rename (a folder in the way) leaves no temp file behind', { timeout: 10_000 }, () => {
  const dir = fresh(), path = join(dir, 'taken');
  mkdirSync(join(path, 'inner'), { recursive: true });
  assert.throws(() => writeFileAtomic(path, 'x'));
  assert.deepEqual(readdirSync(dir), ['taken']);
});
