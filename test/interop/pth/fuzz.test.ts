/**
 * Mutated .pth files (the shared reader fuzzer's mutations of torch-written fixtures and of a writer-made file)
 * end either in a state dict or in a DataFormatError: never another exception, a hang or a crash.
 * CONVLAB_PTH_FUZZ=N runs N mutants per seed instead of the default few hundred.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataFormatError } from '../../../src/data/index.js';
import { readPth } from '../../../src/interop/pth/index.js';
import { mutate, rng } from '../../fuzz/mutate.js';
import { tempDir } from '../../train/helpers.js';
import { pthFixture } from './helpers.js';

const ITERATIONS = Number(process.env.CONVLAB_PTH_FUZZ ?? 300);
const DIR = tempDir('convlab-pth-fuzz-');

for (const seedFile of ['views.pth', 'dtypes.pth', 'dtypes-deflate.pth', 'checkpoint-model.pth']) {
  test(`fuzz: ${ITERATIONS} mutants of ${seedFile} parse or fail with DataFormatError`, { timeout: 120_000 }, () => {
    const seed = readFileSync(pthFixture(seedFile));
    const random = rng(7);
    const file = join(DIR, seedFile);
    const others: string[] = [];
    let rejected = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      writeFileSync(file, mutate(seed, random));
      try {
        readPth(file);
      } catch (err) {
        if (err instanceof DataFormatError && err.message.startsWith(`${file}: `) && !err.message.includes('\n')) rejected++;
        else others.push(`mutant ${i}: ${err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err)}`);
      }
    }
    assert.deepEqual(others.slice(0, 5), []);
    assert.ok(rejected > 0, 'some mutants are rejected');
  });
}
