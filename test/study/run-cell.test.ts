/** The cell runner: a cell trains into its run directory once; a finished cell is read back, not retrained. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCellRunner } from '../../src/study/run-cell.js';
import type { StudyCell } from '../../src/study/cell.js';

test('a cell trains once, reports its run, and a finished cell is read back without training', { timeout: 120_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'convlab-cell-'));
  try {
    const cell: StudyCell = {
      id: 'lenet5@mnist-sample#s3', study: 'test', model: 'lenet5', dataset: 'mnist-sample', seed: 3, epochs: 1,
      options: { limit: 64, batchSize: 16, valSplit: 0 },
    };
    const runDir = join(root, cell.id);
    const fractions: number[] = [];
    const run = makeCellRunner({ threads: 1 });
    const first = await run(cell, runDir, (p) => fractions.push(p.fraction));
    assert.equal(first.id, cell.id);
    assert.equal(first.runDir, runDir);
    assert.equal(first.config['model'], 'lenet5');
    assert.equal(first.config['seed'], 3);
    assert.equal(first.metrics.length, 1);
    assert.ok(typeof first.evaluation['accuracy'] === 'number');
    assert.deepEqual(fractions, [0.25, 0.5, 0.75, 1], 'four batches of 16, one epoch');
    const written = statSync(join(runDir, 'metrics.jsonl')).mtimeMs;
    const again = await run(cell, runDir, () => assert.fail('a finished cell must not train again'));
    assert.equal(statSync(join(runDir, 'metrics.jsonl')).mtimeMs, written);
    assert.deepEqual(again.evaluation, JSON.parse(readFileSync(join(runDir, 'eval.json'), 'utf8')));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
