/**
 * The file readers under a seeded mutation fuzzer (bounded for CI; `npm run fuzz` runs longer): IDX (raw and
 * gzipped), CIFAR batches, tar archives, PNG, JPEG and safetensors. Any exception other than DataFormatError
 * (naming the file) is a failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataFormatError } from '../../src/data/index.js';
import { fuzz, mutate, rng, targets, type FuzzTarget } from '../fuzz/mutate.js';

const ITERATIONS = 2000;

test(`${ITERATIONS} mutants of each reader's seed files: each is parsed or rejected with a DataFormatError naming the file`, { timeout: 60_000 }, () => {
  const { findings, rejected } = fuzz(20261201, ITERATIONS);
  assert.deepEqual(findings.map((f) => `${f.target} #${f.iteration}: ${f.error}`), []);
  for (const [target, n] of Object.entries(rejected)) assert.ok(n > ITERATIONS / 4, `${target}: only ${n} of ${ITERATIONS} mutants were rejected; the mutations are too gentle`);
});

test('every seed file parses unmutated (so rejections come from the mutations)', { timeout: 10_000 }, () => {
  for (const t of targets()) for (const s of t.seeds) assert.doesNotThrow(() => t.parse(s), t.name);
});

test('control: the fuzzer reports a reader that throws anything but a DataFormatError', { timeout: 10_000 }, () => {
  // A reader with the classic bug: it trusts a length field and reads past the end of the buffer.
  const careless: FuzzTarget = {
    name: 'careless', seeds: [Uint8Array.from([0, 0, 0, 4, 1, 2, 3, 4])],
    parse(b) {
      if (b.length < 4) throw new DataFormatError('x.bin', 'x.bin: too short');
      const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
      return view.getUint32(4 + view.getUint32(0) - 4); // RangeError when the length field lies
    },
  };
  const { findings } = fuzz(1, 200, [careless]);
  assert.ok(findings.length > 0);
  assert.match(findings[0]!.error, /^RangeError: /);
});

test('mutations are reproducible from the seed and change the input', { timeout: 5_000 }, () => {
  const seed = Uint8Array.from({ length: 64 }, (_, i) => i);
  const a = rng(5), b = rng(5);
  let changed = 0;
  for (let i = 0; i < 100; i++) {
    const x = mutate(seed, a), y = mutate(seed, b);
    assert.deepEqual(x, y);
    if (x.length !== seed.length || x.some((v, j) => v !== seed[j])) changed++;
  }
  assert.ok(changed > 90, `${changed} of 100 mutations changed the input`);
});
