/**
 * `convlab study` end to end on a tiny study (LeNet-5 on mnist-sample, two cells of one epoch on 64 images):
 * report, CSV and JSON written; a re-run skips finished cells; an interrupted cell resumes; bad study files are
 * one line before any training; a failing cell is listed while the others train; compare's formatted table and its warning for a bad metrics line; the report
 * renders in Chromium without console errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { assertOk, assertOneLineError, convlab, freshDir, show } from '../cli/helpers.js';
import { makeCellRunner } from '../../src/study/run-cell.js';
import { loadStudy, planCells } from '../../src/study/definitions.js';
import { cellDir, withStudyDefaults } from '../../src/study/runner.js';
import { TrainingInterrupted } from '../../src/train/trainer.js';
import { CHROMIUM, launchChromium } from '../ui/browser.js';

/** The report is a static file: Chromium alone is needed (not the web build the UI tests need). */
const skipBrowser = existsSync(CHROMIUM) ? false : `needs ${CHROMIUM} (apt-get install chromium)`;

const dir = freshDir('study');
const studyFile = join(dir, 'tiny.yaml');
writeFileSync(studyFile, 'name: tiny\nmodels: [lenet5]\ndatasets: [mnist-sample]\noptions: { limit: 64, batchSize: 16 }\nfractions: [0.5, 1]\n');
const out = join(dir, 'out');
const args = ['study', studyFile, '--budget', '1e', '--out', out, '--threads', '1'];

test('a tiny study: an interrupted cell resumes, the other trains; report, CSV and JSON; a re-run skips both', { timeout: 400_000 }, async () => {
  // Interrupt the first cell after its first step, as Ctrl-C would, leaving its checkpoint.
  const planned = withStudyDefaults(planCells(loadStudy(studyFile), { epochs: 1 }, 1));
  const first = planned[0]!.cell;
  await assert.rejects(makeCellRunner({ threads: 1, interrupt: { signal: 'SIGINT' } })(first, cellDir(out, first)), TrainingInterrupted);
  assert.ok(existsSync(join(cellDir(out, first), 'last.safetensors')));

  const r = await convlab(args);
  assertOk(r);
  assert.match(r.stdout + r.stderr, /resuming .*lenet5@mnist-sample-50pct_s0/, show(r));
  assert.match(r.stdout, /2 cells trained, 0 already finished/);
  assert.match(r.stdout, /^Model\s+Dataset\s+Params\s+MACs \(M\)\s+Act\. mem\/img \(MB\)/m);
  assert.match(r.stdout, /lenet5 \(50pct\)\s+mnist-sample\s+61,706\s+0\.42/);
  const csv = readFileSync(join(out, 'study.csv'), 'utf8');
  assert.match(csv, /^# study: tiny\n# budget: 1 epoch\n# cpu: .+\n# threads: 1\n/);
  const json = JSON.parse(readFileSync(join(out, 'study.json'), 'utf8')) as { threads: number; cpu: string; rows: { model: string; variant: string; params: number; latency_b1_ms: number }[] };
  assert.equal(json.threads, 1);
  assert.deepEqual(json.rows.map((x) => [x.model, x.variant, x.params]), [['lenet5', '50pct', 61706], ['lenet5', '', 61706]]);
  assert.ok(json.rows.every((x) => x.latency_b1_ms > 0));
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  for (const part of ['Comparison', 'Accuracy against inference latency', 'Accuracy against parameters', 'Accuracy against training time']) assert.ok(html.includes(part), part);
  // Each chart also stands alone, as SVG and PNG, for slides and READMEs.
  for (const id of ['latency', 'params', 'time', 'curves']) {
    assert.match(readFileSync(join(out, 'charts', `${id}.svg`), 'utf8'), /^<svg /, id);
    assert.deepEqual([...readFileSync(join(out, 'charts', `${id}.png`)).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], `${id}.png`);
  }

  const again = await convlab(args);
  assertOk(again);
  assert.match(again.stdout, /0 cells trained, 2 already finished/, show(again));
});

test('bad study files: one line naming the file and listing the valid names, before any training', { timeout: 240_000 }, async () => {
  const cases: [string, string, RegExp][] = [
    ['model.json', '{"models": ["lenet6"], "datasets": ["mnist"]}', /model\.json: unknown model 'lenet6' in models\. Valid models: lenet5, lenet5-classic, alexnet/],
    ['dataset.json', '{"models": ["lenet5"], "datasets": ["mnistt"]}', /dataset\.json: unknown dataset 'mnistt' in datasets\. Valid datasets: mnist, fashion-mnist, cifar10, mnist-sample/],
    ['option.yaml', 'models: [lenet5]\ndatasets: [mnist]\noptions: { learningRate: 0.1 }\n', /option\.yaml: unknown option 'learningRate' in options\. Valid options: batchSize, lr,/],
    ['key.json', '{"models": ["lenet5"], "datasets": ["mnist"], "epochs": 3}', /key\.json: unknown key 'epochs'\. Valid keys: name, description, groups, models/],
    ['broken.json', '{"models": [', /broken\.json: invalid JSON/],
  ];
  const runs = await Promise.all(cases.map(([name, text]) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return convlab(['study', file, '--out', join(dir, `bad-${name}`)]);
  }));
  runs.forEach((r, i) => assert.match(assertOneLineError(r), cases[i]![2]));
  assert.match(assertOneLineError(await convlab(['study', 'clasic'])), /unknown study 'clasic'\. Valid studies: classic, zoo, datasets, claims/);
  assert.match(assertOneLineError(await convlab(['study', 'classic', '--budget', '3x'])), /--budget '3x' is invalid/);
  assert.ok(runs.every((_, i) => !existsSync(join(dir, `bad-${cases[i]![0]}`))), 'nothing written');
});

test('a cell that fails is listed and the others still train; the exit code is 1 and a re-run retries it', { timeout: 400_000 }, async () => {
  // AlexNet's 224-pixel stem pools a 28×28 image down to nothing: its cell fails before training, LeNet-5's trains.
  const file = join(dir, 'failing.yaml');
  writeFileSync(file, 'name: failing\nmodels: [alexnet, lenet5]\ndatasets: [mnist-sample]\noptions: { limit: 64, batchSize: 16 }\n');
  const failOut = join(dir, 'failing-out');
  const failArgs = ['study', file, '--budget', '1e', '--out', failOut, '--threads', '1', '--no-latency'];
  const reason = /alexnet@mnist-sample#s0: input 1×28×28 is too small for alexnet: the spatial size reaches zero at features\.5 \(MaxPool2d\)/;
  const r = await convlab(failArgs);
  assert.equal(r.code, 1, show(r));
  assert.match(r.stdout, /1 cells trained, 0 already finished/, show(r));
  const last = r.stderr.trim().split('\n').at(-1)!;
  assert.match(last, /^convlab: 1 cell failed \(/);
  assert.match(last, reason);
  assert.match(last, /run the same command again to retry it$/);
  const json = JSON.parse(readFileSync(join(failOut, 'study.json'), 'utf8')) as { rows: { model: string }[]; failed: { id: string; reason: string }[] };
  assert.deepEqual(json.rows.map((x) => x.model), ['lenet5']);
  assert.deepEqual(json.failed.map((f) => f.id), ['alexnet@mnist-sample#s0']);
  assert.match(readFileSync(join(failOut, 'report.html'), 'utf8'), /<h2>Cells that failed<\/h2>.*alexnet@mnist-sample#s0/);
  const again = await convlab(failArgs);
  assert.equal(again.code, 1, show(again));
  assert.match(again.stdout, /0 cells trained, 1 already finished/, show(again));
  assert.match(again.stderr, reason);
});

test('compare: the formatted table, and a truncated metrics line skipped with a warning naming file and line', { timeout: 240_000 }, async () => {
  const run = join(out, 'runs', 'lenet5@mnist-sample_s0');
  const broken = join(dir, 'broken-run');
  cpSync(run, broken, { recursive: true });
  appendFileSync(join(broken, 'metrics.jsonl'), '{"epoch": 2, "train_lo');
  const r = await convlab(['compare', run, broken, '--out', join(dir, 'cmp.html'), '--no-latency']);
  assertOk(r);
  assert.equal(r.stderr.trim(), `warning: ${join(broken, 'metrics.jsonl')} line 2: invalid JSON; line skipped`);
  assert.match(r.stdout, /^Model\s+Dataset\s+Params\s+MACs \(M\).*Best acc \(%\)\s+Final acc \(%\)/m);
  assert.match(r.stdout, /lenet5 \(broken-run\)\s+mnist-sample\s+61,706\s+0\.42\s+0\.03\s+0\.25\s+[\d,]+\s+—\s+—\s+\d+\.\d\s+\d+\.\d/);
  assert.doesNotMatch(r.stdout, /\d\.\d{5,}/, 'no raw floats');
});

test('the study report renders in Chromium with no console errors', { skip: skipBrowser, timeout: 60_000 }, async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(pathToFileURL(join(out, 'report.html')).href);
    assert.equal(await page.locator('svg').count() >= 4, true);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
