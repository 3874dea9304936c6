// Overlays several runs' test accuracy against training time into one chart (SVG + PNG), from each run's
// evals.jsonl when it has one (train --eval-every), else its metrics.jsonl:
//   node scripts/accuracy-vs-time.mjs docs/images/zoo-30min label=runs/a label2=runs/b …
import { basename, dirname } from 'node:path';
import { accuracyVsTimeSpec, readRun, writeChart } from '../dist/src/report/index.js';

const [out, ...pairs] = process.argv.slice(2);
if (!out || pairs.length === 0 || pairs.some((p) => !p.includes('='))) {
  console.error('usage: node scripts/accuracy-vs-time.mjs OUT_BASENAME LABEL=RUN_DIR [LABEL=RUN_DIR …]');
  process.exit(1);
}
const series = [];
for (const pair of pairs) {
  const [label, dir] = pair.split(/=(.*)/s);
  const run = await readRun(dir, { requireEval: false });
  // Per-epoch rows' time is their summed epoch_seconds, which leaves evaluation out for every trainer (airbench94 runs
  // before 2026-12-02 wrote wall_seconds with evaluation included).
  const rows = run.evals ?? run.metrics.map((r) => (typeof r.epoch_seconds === 'number' ? { ...r, wall_seconds: undefined } : r));
  series.push({ label, rows });
}
const files = await writeChart(dirname(out), basename(out), accuracyVsTimeSpec(series, {
  evalSetName: 'Test', subtitle: 'CIFAR-10, 2 cores', title: 'Test accuracy vs. training time', timeTitle: 'Training time (evaluation left out)',
}));
console.log(files.pngPath);
