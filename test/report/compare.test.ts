import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareRuns } from '../../src/report/index.js';
import { sampleMetrics, writeSampleRun } from './sample-run.js';

describe('compareRuns', () => {
  const base = mkdtempSync(join(tmpdir(), 'convlab-compare-'));
  after(() => rmSync(base, { recursive: true, force: true }));

  it('summarises each run in order and renders a self-contained table', async () => {
    const a = writeSampleRun('a', { model: 'lenet5', skill: -0.05, speed: 3 }, base);
    const b = writeSampleRun('b', { model: 'resnet-mini', skill: 0.02 }, base);
    const c = writeSampleRun('c', { model: 'resnet-mini', epochs: 4 }, base);
    unlinkSync(join(c, 'eval.json')); // an unfinished run: no test evaluation yet

    const { rows, html } = await compareRuns([a, b, c]);
    assert.deepEqual(
      rows.map((r) => r.label),
      ['lenet5', 'resnet-mini (b)', 'resnet-mini (c)'],
    );
    assert.equal(rows[0]!.epochs, 12);
    assert.ok(rows[0]!.testAcc! < rows[1]!.testAcc!);
    assert.ok(rows[0]!.imagesPerSec! > rows[1]!.imagesPerSec!);
    assert.equal(rows[2]!.testAcc, null);
    // Without eval.json, macro recall falls back to the last epoch's val_macro_recall.
    assert.equal(rows[2]!.macroRecall, sampleMetrics(4)[3]!.val_macro_recall);
    assert.ok(rows[1]!.wallSeconds! > 400);

    assert.ok(html.includes('<table class="comparison">'));
    for (const h of ['Params', 'Test acc', 'Macro recall', 'Balanced acc', 'Images/s', 'Training time']) {
      assert.ok(html.includes(`<th>${h}</th>`), h);
    }
    assert.ok(html.includes('Run comparison'), 'inline comparison chart');
    assert.ok(!/<script/i.test(html));
    const urls = new Set([...html.matchAll(/https?:\/\/[^\s"'<>)]+/g)].map((m) => m[0]));
    assert.deepEqual([...urls], ['http://www.w3.org/2000/svg']);
  });
});
