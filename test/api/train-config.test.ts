/**
 * trainModel's options become the run's recorded config: explicit choices replace the recipe's, options left
 * undefined keep the recipe's, and the options that only steer trainModel (callbacks, folders, threads) are
 * not written to config.json. Also the shared stripUndefined helper behind that merge.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainModel } from '../../src/api.js';
import { stripUndefined } from '../../src/util/strip-undefined.js';

const TMP = mkdtempSync(join(tmpdir(), 'convlab-api-config-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

test('stripUndefined drops exactly the undefined-valued keys', { timeout: 5_000 }, () => {
  const cases: [string, Record<string, unknown>, Record<string, unknown>][] = [
    ['mixed', { a: 1, b: undefined, c: 'x' }, { a: 1, c: 'x' }],
    ['falsy values stay', { zero: 0, empty: '', no: false, nothing: null }, { zero: 0, empty: '', no: false, nothing: null }],
    ['all undefined', { a: undefined }, {}],
    ['empty', {}, {}],
  ];
  for (const [name, input, expected] of cases) assert.deepEqual(stripUndefined(input), expected, name);
  const nested = { inner: { a: undefined } };
  assert.equal(stripUndefined(nested).inner, nested.inner, 'nested objects are kept as they are');
});

test('trainModel records the recipe merged with explicit options, without its own steering options', { timeout: 120_000 }, async () => {
  const outDir = join(TMP, 'run');
  const logs: string[] = [];
  await trainModel({
    model: 'lenet5', dataset: 'mnist-sample', limit: 64, epochs: 1, batchSize: 32, threads: 1, noReport: true, outDir,
    optimizer: { name: 'sgd', lr: 0.01 }, seed: undefined, monitor: undefined, callbacks: { onLog: (line) => logs.push(line) },
    overwrite: true, interrupt: {},
  });
  const config = JSON.parse(readFileSync(join(outDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  for (const key of ['callbacks', 'dataDir', 'outDir', 'resume', 'threads', 'noReport', 'overwrite', 'interrupt']) assert.ok(!(key in config), `config.json holds ${key}`);
  assert.deepEqual([config.model, config.dataset, config.epochs, config.batchSize, config.limit], ['lenet5', 'mnist-sample', 1, 32, 64]);
  assert.equal(config.seed, 0, 'an undefined seed keeps the recipe\'s');
  assert.equal(config.monitor, 'val.accuracy', 'an undefined monitor keeps the recipe\'s');
  assert.deepEqual(config.optimizer, { name: 'sgd', lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 5e-4 }, 'the explicit lr over the recipe\'s optimizer');
  assert.deepEqual(config.loss, { kind: 'cross-entropy', weighting: 'none' }, 'the recipe\'s loss');
});
