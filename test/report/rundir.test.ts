import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readRun, RunDirError } from '../../src/report/rundir.js';
import { writeSampleRun } from './sample-run.js';

const made: string[] = [];
function sample(opts = {}): string {
  const dir = writeSampleRun('run', opts);
  made.push(dirname(dir));
  return dir;
}
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

async function rejectsWith(dir: string, message: string): Promise<void> {
  await assert.rejects(readRun(dir), (err: unknown) => {
    assert.ok(err instanceof RunDirError, `expected RunDirError, got ${String(err)}`);
    assert.equal(err.message, message);
    return true;
  });
}

function editMetrics(dir: string, edit: (lines: string[]) => void): void {
  const path = join(dir, 'metrics.jsonl');
  const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
  edit(lines);
  writeFileSync(path, lines.join('\n') + '\n');
}

describe('readRun', () => {
  it('parses a complete run directory', async () => {
    const dir = sample();
    const run = await readRun(dir);
    assert.equal(run.dir, dir);
    assert.equal(run.config.model, 'resnet-mini');
    assert.equal(run.metrics.length, 12);
    assert.equal(run.metrics[2]!.epoch, 3);
    assert.equal(run.eval!.classes.length, 10);
    assert.equal(run.eval!.confusion.length, 10);
    assert.deepEqual(run.classCounts!.test!.slice(0, 3), [1000, 1000, 600]);
  });

  it('gives the exact file and line for a corrupt metrics line', async () => {
    const dir = sample();
    editMetrics(dir, (lines) => {
      lines[2] = lines[2]!.slice(0, 25); // truncated JSON on line 3
    });
    await rejectsWith(dir, `${join(dir, 'metrics.jsonl')} line 3: invalid JSON`);
  });

  it('uses the path as given, e.g. runs/x/metrics.jsonl', async () => {
    const base = mkdtempSync(join(tmpdir(), 'convlab-report-rel-'));
    made.push(base);
    writeSampleRun('x', {}, join(base, 'runs'));
    editMetrics(join(base, 'runs', 'x'), (lines) => {
      lines[2] = '{"epoch": 3, oops}';
    });
    const cwd = process.cwd();
    process.chdir(base);
    try {
      await rejectsWith('runs/x', 'runs/x/metrics.jsonl line 3: invalid JSON');
    } finally {
      process.chdir(cwd);
    }
  });

  it('reports missing and non-numeric metric fields with their line', async () => {
    const dir = sample();
    editMetrics(dir, (lines) => {
      const row = JSON.parse(lines[1]!);
      delete row.val_acc;
      lines[1] = JSON.stringify(row);
    });
    await rejectsWith(dir, `${join(dir, 'metrics.jsonl')} line 2: missing "val_acc"`);
    editMetrics(dir, (lines) => {
      lines[1] = JSON.stringify({ ...JSON.parse(lines[0]!), epoch: 2, train_loss: 'NaN', val_acc: 0.5 });
    });
    await rejectsWith(dir, `${join(dir, 'metrics.jsonl')} line 2: "train_loss" must be a finite number`);
  });

  it('skips blank lines but counts them in line numbers', async () => {
    const dir = sample();
    editMetrics(dir, (lines) => {
      lines.splice(1, 0, '');
      lines[4] = '[1, 2]';
    });
    await rejectsWith(dir, `${join(dir, 'metrics.jsonl')} line 5: expected a JSON object`);
  });

  it('names a missing or corrupt file', async () => {
    const dir = sample();
    unlinkSync(join(dir, 'config.json'));
    await rejectsWith(dir, `${join(dir, 'config.json')}: file not found`);

    const dir2 = sample();
    writeFileSync(join(dir2, 'eval.json'), '{"accuracy": 0.9,');
    await rejectsWith(dir2, `${join(dir2, 'eval.json')}: invalid JSON`);

    const dir3 = sample();
    writeFileSync(join(dir3, 'metrics.jsonl'), '\n');
    await rejectsWith(dir3, `${join(dir3, 'metrics.jsonl')}: no epochs recorded (file is empty)`);
  });

  it('validates the confusion matrix shape', async () => {
    const dir = sample();
    const evalPath = join(dir, 'eval.json');
    const ev = JSON.parse(readFileSync(evalPath, 'utf8'));
    ev.confusion.pop();
    writeFileSync(evalPath, JSON.stringify(ev));
    await rejectsWith(dir, `${evalPath}: "confusion" must be a 10x10 matrix of numbers (one row per class)`);
  });

  it('requires eval.json by default, but not with requireEval: false', async () => {
    const dir = sample({ classCounts: false });
    unlinkSync(join(dir, 'eval.json'));
    await rejectsWith(dir, `${join(dir, 'eval.json')}: file not found`);
    const run = await readRun(dir, { requireEval: false });
    assert.equal(run.eval, undefined);
    assert.equal(run.classCounts, undefined);
  });
});
