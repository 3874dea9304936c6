import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeReport, type ReportPaths } from '../../src/report/index.js';
import { CLASSES, writeSampleRun } from './sample-run.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe('writeReport', () => {
  let dir: string;
  let paths: ReportPaths;
  let html: string;

  before(async () => {
    dir = writeSampleRun('run-a');
    paths = await writeReport(dir);
    html = readFileSync(paths.html, 'utf8');
  });
  after(() => rmSync(dirname(dir), { recursive: true, force: true }));

  it('writes every chart as SVG and PNG, plus report.html, into the run directory', () => {
    assert.ok(paths.accuracyVsTime, 'accuracy-vs-time is written when metrics carry wall_seconds');
    const files = [paths.learningCurves, paths.confusionMatrix, paths.accuracyVsTime].flatMap((p) => [p.svg, p.png]);
    assert.deepEqual(
      files.map((f) => f.slice(dir.length + 1)).sort(),
      [
        'accuracy-vs-time.png',
        'accuracy-vs-time.svg',
        'confusion-matrix.png',
        'confusion-matrix.svg',
        'learning-curves.png',
        'learning-curves.svg',
      ],
    );
    for (const f of [...files, paths.html]) assert.ok(statSync(f).isFile(), f);
    // Atomic writes leave no temporary files behind.
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.endsWith('.tmp')),
      [],
    );
  });

  it('writes real, non-trivial PNGs', () => {
    for (const p of [paths.learningCurves.png, paths.confusionMatrix.png, paths.accuracyVsTime!.png]) {
      const png = readFileSync(p);
      assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE, `${p} has the PNG signature`);
      assert.ok(png.length > 20_000, `${p} is ${png.length} bytes`);
      const width = png.readUInt32BE(16);
      const height = png.readUInt32BE(20);
      assert.ok(width >= 800 && height >= 400, `${p} is ${width}x${height}`);
    }
  });

  it('puts titles and axis titles into the SVGs', () => {
    const lc = readFileSync(paths.learningCurves.svg, 'utf8');
    for (const s of ['Learning curves', 'Epoch', 'Loss (cross-entropy)', 'Accuracy and macro recall', 'Validation macro recall']) {
      assert.ok(lc.includes(s), `learning-curves.svg contains "${s}"`);
    }
    const cm = readFileSync(paths.confusionMatrix.svg, 'utf8');
    for (const s of ['Confusion matrix (test set)', 'Predicted class', 'True class', 'automobile']) {
      assert.ok(cm.includes(s), `confusion-matrix.svg contains "${s}"`);
    }
    const avt = readFileSync(paths.accuracyVsTime!.svg, 'utf8');
    for (const s of ['Wall-clock time (min)', 'Validation accuracy']) {
      assert.ok(avt.includes(s), `accuracy-vs-time.svg contains "${s}"`);
    }
  });

  it('has a per-class table with every class and highlights the three worst-recall classes', () => {
    const table = html.match(/<table class="per-class">[\s\S]*?<\/table>/)?.[0];
    assert.ok(table, 'per-class table present');
    for (const c of CLASSES) assert.ok(table.includes(`>${c}<`), `row for ${c}`);
    const rows = [...table.matchAll(/<tr([^>]*)><td class="cls">([^<]+)/g)];
    assert.equal(rows.length, CLASSES.length);
    const worst = rows.filter((r) => r[1]!.includes('class="worst"')).map((r) => r[2]);
    // Sample recalls: cat 0.52, dog 0.61, bird 0.70 are the lowest.
    assert.deepEqual(worst, ['bird', 'cat', 'dog']);
    assert.match(html, /lowest-recall classes, <strong>cat<\/strong> \(52\.0%\)/);
  });

  it('shows the header facts, averages, balanced accuracy, class counts and config', () => {
    assert.match(html, /<h1>resnet-mini <span class="on">on<\/span> cifar10-imbalanced<\/h1>/);
    assert.ok(html.includes('272,474'), 'params formatted');
    assert.ok(html.includes('7 min 31 s'), 'wall time formatted');
    assert.ok(html.includes('<table class="averages">'));
    assert.ok(html.includes('Balanced accuracy'));
    assert.ok(html.includes('<table class="class-counts">'));
    assert.ok(html.includes('Imbalance (largest class / smallest class)'));
    assert.ok(html.includes('<table class="config">'));
    assert.ok(html.includes('<td>optimizer.momentum</td><td>0.9</td>'));
  });

  it('inlines the charts and escapes strings from the run directory', () => {
    assert.equal((html.match(/<svg\b/g) ?? []).length, 3);
    assert.ok(html.includes('made-up &lt;sample&gt; run &amp; &quot;quotes&quot;'));
    assert.ok(!html.includes('<sample>'));
    // Ids stay unique across the three inline SVGs.
    const ids = [...html.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]);
    assert.equal(new Set(ids).size, ids.length);
  });

  it('is self-contained: no scripts and no URLs except the SVG namespace', () => {
    assert.ok(!/<script/i.test(html));
    assert.ok(!/<link\b/i.test(html));
    const urls = [...html.matchAll(/https?:\/\/[^\s"'<>)]+/g)].map((m) => m[0]);
    assert.ok(urls.length >= 3, 'the inline SVGs carry their xmlns');
    assert.deepEqual([...new Set(urls)], ['http://www.w3.org/2000/svg']);
  });

  it('names the per-epoch set "Test" when the run validated on the test set (valSplit 0)', async () => {
    const testDir = writeSampleRun('run-on-test');
    const configPath = join(testDir, 'config.json');
    writeFileSync(configPath, JSON.stringify({ ...JSON.parse(readFileSync(configPath, 'utf8')), valSplit: 0 }));
    const written = await writeReport(testDir);
    const page = readFileSync(written.html, 'utf8');
    const curves = readFileSync(written.learningCurves.svg, 'utf8');
    const overTime = readFileSync(written.accuracyVsTime!.svg, 'utf8');
    assert.match(page, /Test accuracy, last epoch/);
    assert.match(page, /measured on the test set each epoch/);
    assert.match(curves, /Test macro recall/);
    assert.match(overTime, /Test accuracy vs\. wall-clock time/);
    for (const text of [page, curves, overTime]) assert.doesNotMatch(text, /Validation accuracy|Validation macro recall/);
    // The same run with a held-out split keeps the word "Validation".
    assert.match(html, /Best validation accuracy/);
    rmSync(dirname(testDir), { recursive: true, force: true });
  });
});
