// Self-contained HTML for one run (and for a comparison of runs): inline CSS, inline
// SVG charts, no scripts, no external URLs. Every string that comes from a run
// directory is escaped.
import { basename } from 'node:path';
import { totalWallSeconds } from './rundir.js';
import { evalSetOf, type ComparisonRow, type EvalResult, type PerClassMetrics, type RunData } from './types.js';

/** Pre-rendered chart SVGs to inline (from renderSvg / writeChart). Missing charts are left out. */
export interface ReportCharts {
  learningCurves?: string;
  accuracyVsTime?: string;
  confusionMatrix?: string;
}

export interface ReportOptions {
  /** How many lowest-recall classes to highlight (default: 3, fewer for tiny class counts). */
  worstCount?: number;
}

// ---------------------------------------------------------------------------
// Formatting helpers

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const DASH = '<span class="na">—</span>';

export function fmtPct(v: number | null | undefined, digits = 1): string {
  return isNum(v) ? `${(v * 100).toFixed(digits)}%` : DASH;
}

export function fmtInt(v: number | null | undefined): string {
  return isNum(v) ? Math.round(v).toLocaleString('en-US') : DASH;
}

function fmtNum(v: number | null | undefined, digits = 4): string {
  return isNum(v) ? String(Number(v.toFixed(digits))) : DASH;
}

/** 42.3 s, 7 min 30 s, 2 h 05 min. */
export function fmtDuration(seconds: number | null | undefined): string {
  if (!isNum(seconds)) return DASH;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/**
 * Prepares a chart SVG for inlining: prefixes its ids (so clip paths and gradients of
 * two charts on one page cannot collide), drops the unused xlink namespace and marks it
 * as an image for screen readers.
 */
export function inlineSvg(svg: string, idPrefix: string, label: string): string {
  let out = svg.replace(/^<\?xml[^>]*>\s*/, '');
  out = out.replace(/\bid="([^"]+)"/g, (_m, id: string) => `id="${idPrefix}-${id}"`);
  out = out.replace(/url\(#([^)]+)\)/g, (_m, id: string) => `url(#${idPrefix}-${id})`);
  out = out.replace(/(xlink:)?href="#([^"]+)"/g, (_m, x: string | undefined, id: string) => `${x ?? ''}href="#${idPrefix}-${id}"`);
  if (!/xlink:/.test(out.replace(/xmlns:xlink="[^"]*"/, ''))) out = out.replace(/\s*xmlns:xlink="[^"]*"/, '');
  return out.replace(/^<svg\b/, `<svg role="img" aria-label="${escapeHtml(label)}"`);
}

/** Flattens nested config objects to dotted keys; arrays of scalars are joined. */
export function flattenConfig(value: unknown, prefix = '', out: [string, string][] = []): [string, string][] {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0 && prefix) out.push([prefix, '{}']);
    for (const [k, v] of entries) flattenConfig(v, prefix ? `${prefix}.${k}` : k, out);
    return out;
  }
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== 'object')) {
      const shown = value.slice(0, 24).map(String).join(', ');
      out.push([prefix, value.length > 24 ? `${shown}, … (${value.length} items)` : `[${shown}]`]);
    } else {
      out.push([prefix, JSON.stringify(value)]);
    }
    return out;
  }
  out.push([prefix, typeof value === 'string' ? value : JSON.stringify(value)]);
  return out;
}

/** Indices of the `k` classes with the lowest recall (classes without a recall are skipped). */
export function worstRecall(perClass: PerClassMetrics[], k: number): number[] {
  return perClass
    .map((p, i) => ({ i, r: p.recall, s: p.support }))
    .filter((x): x is { i: number; r: number; s: number } => isNum(x.r) && x.s > 0)
    .sort((a, b) => a.r - b.r || a.i - b.i)
    .slice(0, k)
    .map((x) => x.i);
}

function defaultWorstCount(n: number): number {
  return Math.max(1, Math.min(3, Math.floor(n / 2)));
}

// ---------------------------------------------------------------------------
// Page chrome

const CSS = `
:root { --ink:#1f2937; --muted:#6b7280; --line:#e5e7eb; --soft:#f8fafc; --accent:#3b6fb6;
  --warm:#fff1e6; --warm-line:#f0a060; --warm-ink:#9a3f07; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: #f3f5f8; color: var(--ink);
  font: 15px/1.55 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, "DejaVu Sans", sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 40px 32px 64px; }
header { margin-bottom: 28px; }
.eyebrow { margin: 0 0 6px; color: var(--muted); font-size: 12px; letter-spacing: .08em; text-transform: uppercase; font-weight: 600; }
h1 { margin: 0; font-size: 30px; line-height: 1.2; letter-spacing: -.01em; }
h1 .on { color: var(--muted); font-weight: 400; }
h2 { margin: 0 0 4px; font-size: 20px; letter-spacing: -.005em; }
h3 { margin: 26px 0 10px; font-size: 15px; }
.path { margin: 6px 0 0; color: var(--muted); font-size: 13px; }
code { font: 12.5px/1.4 "DejaVu Sans Mono", Menlo, Consolas, monospace; background: #eef1f5; padding: 1px 5px; border-radius: 4px; }
.facts { display: flex; flex-wrap: wrap; gap: 6px 28px; margin: 16px 0 0; padding: 0; }
.facts div { display: flex; flex-direction: column; }
.facts dt { color: var(--muted); font-size: 12px; }
.facts dd { margin: 0; font-weight: 600; font-variant-numeric: tabular-nums; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 14px; margin: 0 0 28px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; }
.card .label { color: var(--muted); font-size: 12.5px; }
.card .value { font-size: 26px; font-weight: 700; font-variant-numeric: tabular-nums; line-height: 1.25; }
.card .sub { color: var(--muted); font-size: 12px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 12px; padding: 24px 28px; margin: 0 0 24px; }
.lede { margin: 0 0 16px; color: var(--muted); font-size: 14px; }
figure { margin: 18px 0 0; overflow-x: auto; }
figure svg { max-width: 100%; height: auto; display: block; }
.twocol { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 8px 36px; align-items: start; }
table { border-collapse: collapse; width: 100%; font-size: 14px; font-variant-numeric: tabular-nums; }
th, td { padding: 7px 12px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
th { font-size: 12px; font-weight: 600; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; background: var(--soft); }
th:first-child, td:first-child, .left { text-align: left; }
tbody tr:last-child td { border-bottom: none; }
td.cls { font-weight: 600; }
tr.worst td { background: var(--warm); }
tr.worst td:first-child { box-shadow: inset 4px 0 0 var(--warm-line); }
tr.worst .recall { color: var(--warm-ink); font-weight: 700; }
.tag { display: inline-block; margin-left: 8px; padding: 0 7px; border-radius: 999px; background: var(--warm-line); color: #fff; font-size: 11px; font-weight: 600; vertical-align: 1px; }
.bar { display: inline-block; width: 70px; height: 7px; margin-left: 10px; border-radius: 4px; background: #e9edf2; vertical-align: 1px; overflow: hidden; }
.bar i { display: block; height: 100%; background: var(--accent); border-radius: 4px; }
tr.worst .bar i { background: var(--warm-line); }
.na { color: #9ca3af; }
.config td { white-space: normal; word-break: break-word; text-align: left; }
.config td:first-child { width: 30%; color: var(--muted); font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13px; }
.note { color: var(--muted); font-size: 13px; margin: 10px 0 0; }
.best { font-weight: 700; color: #0f5132; }
.comparison th { white-space: normal; vertical-align: bottom; }
.comparison th, .comparison td { padding: 7px 9px; }
.runs { margin: 0; padding-left: 18px; color: var(--muted); font-size: 13px; }
.runs li { margin: 3px 0; }
footer { color: var(--muted); font-size: 12.5px; text-align: center; margin-top: 28px; }
@media print { body { background: #fff; } section, .card { border-color: #ccc; break-inside: avoid; } }
`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

function card(label: string, value: string, sub = ''): string {
  return `<div class="card"><div class="label">${escapeHtml(label)}</div><div class="value">${value}</div>${
    sub ? `<div class="sub">${sub}</div>` : ''
  }</div>`;
}

function fact(label: string, value: string): string {
  return `<div><dt>${escapeHtml(label)}</dt><dd>${value}</dd></div>`;
}

function bar(v: number | null): string {
  if (!isNum(v)) return '';
  const w = Math.max(0, Math.min(1, v)) * 100;
  return `<span class="bar" aria-hidden="true"><i style="width:${w.toFixed(1)}%"></i></span>`;
}

function optimizerName(opt: unknown): string | null {
  if (typeof opt === 'string') return opt;
  if (opt && typeof opt === 'object') {
    const o = opt as Record<string, unknown>;
    const name = o.name ?? o.type ?? o.kind;
    if (typeof name === 'string') return isNum(o.lr) ? `${name}, lr ${o.lr}` : name;
  }
  return null;
}

// ---------------------------------------------------------------------------
// Run report sections

function perClassTable(ev: EvalResult, trainCounts: number[] | undefined, worst: Set<number>): string {
  const rows = ev.per_class
    .map((p, i) => {
      const isWorst = worst.has(i);
      const train = trainCounts ? `<td>${fmtInt(trainCounts[ev.classes.indexOf(p.class)] ?? null)}</td>` : '';
      return `<tr${isWorst ? ' class="worst"' : ''}><td class="cls">${escapeHtml(p.class)}${
        isWorst ? '<span class="tag">low recall</span>' : ''
      }</td><td>${fmtPct(p.precision)}</td><td class="recall">${fmtPct(p.recall)}${bar(p.recall)}</td><td>${fmtPct(
        p.f1,
      )}</td><td>${fmtInt(p.support)}</td>${train}</tr>`;
    })
    .join('\n');
  return `<table class="per-class">
<thead><tr><th>Class</th><th>Precision</th><th>Recall</th><th>F1</th><th>Support</th>${
    trainCounts ? '<th>Train count</th>' : ''
  }</tr></thead>
<tbody>
${rows}
</tbody>
</table>`;
}

function averagesTable(ev: EvalResult): string {
  const balanced = ev.balanced_accuracy ?? ev.macro.recall;
  return `<table class="averages">
<thead><tr><th>Average</th><th>Precision</th><th>Recall</th><th>F1</th></tr></thead>
<tbody>
<tr><td class="cls">Macro (unweighted mean over classes)</td><td>${fmtPct(ev.macro.precision)}</td><td>${fmtPct(
    ev.macro.recall,
  )}</td><td>${fmtPct(ev.macro.f1)}</td></tr>
<tr><td class="cls">Weighted (by support)</td><td>${fmtPct(ev.weighted.precision)}</td><td>${fmtPct(
    ev.weighted.recall,
  )}</td><td>${fmtPct(ev.weighted.f1)}</td></tr>
</tbody>
</table>
<p class="note">Accuracy ${fmtPct(ev.accuracy, 2)} · balanced accuracy ${fmtPct(balanced, 2)}${
    isNum(ev.top5_accuracy) ? ` · top-5 accuracy ${fmtPct(ev.top5_accuracy, 2)}` : ''
  }${isNum(ev.loss) ? ` · loss ${fmtNum(ev.loss)}` : ''}. Balanced accuracy is the mean per-class recall: on imbalanced data it
shows what accuracy hides.</p>`;
}

function classCountsTable(run: RunData, classes: string[]): string {
  const counts = run.classCounts!;
  const splits = Object.keys(counts).filter((k) => Array.isArray(counts[k]));
  if (splits.length === 0) return '';
  const totals = splits.map((s) => counts[s]!.reduce((a, b) => a + b, 0));
  const n = Math.max(classes.length, ...splits.map((s) => counts[s]!.length));
  const rows: string[] = [];
  for (let i = 0; i < n; i++) {
    const cells = splits
      .map((s, k) => {
        const c = counts[s]![i];
        return `<td>${fmtInt(c ?? null)}</td><td>${isNum(c) && totals[k]! > 0 ? fmtPct(c / totals[k]!) : DASH}</td>`;
      })
      .join('');
    rows.push(`<tr><td class="cls">${escapeHtml(classes[i] ?? `class ${i}`)}</td>${cells}</tr>`);
  }
  const ratios = splits
    .map((s) => {
      const pos = counts[s]!.filter((c) => c > 0);
      if (pos.length === 0) return '';
      return `${escapeHtml(s)}: ${(Math.max(...pos) / Math.min(...pos)).toFixed(1)}×`;
    })
    .filter(Boolean)
    .join(' · ');
  return `<h3>Class counts</h3>
<table class="class-counts">
<thead><tr><th>Class</th>${splits.map((s) => `<th>${escapeHtml(s)}</th><th>share</th>`).join('')}</tr></thead>
<tbody>
${rows.join('\n')}
<tr><td class="cls">Total</td>${splits.map((_, k) => `<td>${fmtInt(totals[k])}</td><td></td>`).join('')}</tr>
</tbody>
</table>
${ratios ? `<p class="note">Imbalance (largest class / smallest class): ${ratios}.</p>` : ''}`;
}

function configTable(run: RunData): string {
  const rows = flattenConfig(run.config)
    .map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${escapeHtml(v)}</td></tr>`)
    .join('\n');
  return `<table class="config">
<tbody>
${rows}
</tbody>
</table>`;
}

/** Renders the self-contained report.html for one run. Charts are inlined when given. */
export function renderReport(run: RunData, charts: ReportCharts = {}, options: ReportOptions = {}): string {
  const { config, metrics, eval: ev } = run;
  const last = metrics[metrics.length - 1]!;
  const best = metrics.reduce((b, r) => (r.val_acc > b.val_acc ? r : b), metrics[0]!);
  const wall = totalWallSeconds(metrics);
  const throughput = metrics.map((r) => r.images_per_s).filter(isNum);
  const medianSpeed = throughput.length ? [...throughput].sort((a, b) => a - b)[Math.floor(throughput.length / 2)]! : null;
  const title = `${config.model} on ${config.dataset}`;
  const opt = optimizerName(config.optimizer);
  const evalSet = evalSetOf(config), evalSetLower = evalSet.toLowerCase();

  const facts = [
    fact('Model', escapeHtml(config.model)),
    fact('Dataset', escapeHtml(config.dataset)),
    fact('Parameters', fmtInt(config.params ?? null)),
    isNum(config.macs_per_image) ? fact('Forward FLOPs/image', `${((2 * config.macs_per_image) / 1e6).toFixed(1)} M`) : '',
    fact('Epochs', isNum(config.epochs) && config.epochs !== metrics.length ? `${metrics.length} of ${config.epochs}` : String(metrics.length)),
    isNum(config.batch_size) ? fact('Batch size', fmtInt(config.batch_size)) : '',
    opt ? fact('Optimizer', escapeHtml(opt)) : '',
    isNum(config.seed) ? fact('Seed', escapeHtml(config.seed)) : '',
    fact('Wall time', fmtDuration(wall)),
    medianSpeed !== null ? fact('Throughput', `${fmtInt(medianSpeed)} img/s`) : '',
  ].join('');

  const split = ev ? escapeHtml(ev.split) : '';
  const cards = ev
    ? [
        card(`Accuracy (${ev.split})`, fmtPct(ev.accuracy), isNum(ev.top5_accuracy) ? `top-5 ${fmtPct(ev.top5_accuracy)}` : ''),
        card('Balanced accuracy', fmtPct(ev.balanced_accuracy ?? ev.macro.recall), 'mean per-class recall'),
        card('Macro F1', fmtPct(ev.macro.f1), `weighted ${fmtPct(ev.weighted.f1)}`),
        evalSet === 'Test'
          ? card('Test accuracy, last epoch', fmtPct(last.val_acc), `best ${fmtPct(best.val_acc)} at epoch ${escapeHtml(best.epoch)}`)
          : card('Best validation accuracy', fmtPct(best.val_acc), `epoch ${escapeHtml(best.epoch)} of ${metrics.length}`),
      ]
    : [
        card(`${evalSet} accuracy`, fmtPct(last.val_acc), `epoch ${escapeHtml(last.epoch)}`),
        card(`Best ${evalSetLower} accuracy`, fmtPct(best.val_acc), `epoch ${escapeHtml(best.epoch)}`),
        isNum(last.val_macro_recall) ? card(`${evalSet} macro recall`, fmtPct(last.val_macro_recall)) : '',
      ];

  const training = `<section id="training">
<h2>Training</h2>
<p class="lede">Loss and accuracy per epoch on the training and ${evalSetLower} sets${
    evalSet === 'Test' ? ' (this run held out no validation set, so it was measured on the test set each epoch)' : ''
  }${
    metrics.some((r) => isNum(r.val_macro_recall))
      ? `; the dashed line is ${evalSetLower} macro recall, which falls below accuracy when the model neglects rare classes`
      : ''
  }.</p>
${charts.learningCurves ? `<figure>${inlineSvg(charts.learningCurves, 'lc', 'Learning curves: loss and accuracy per epoch')}</figure>` : ''}
${charts.accuracyVsTime ? `<figure>${inlineSvg(charts.accuracyVsTime, 'avt', `${evalSet} accuracy against wall-clock time`)}</figure>` : ''}
</section>`;

  let evaluation = '';
  if (ev) {
    const k = options.worstCount ?? defaultWorstCount(ev.per_class.length);
    const worst = worstRecall(ev.per_class, k);
    const worstNames = worst.map((i) => `<strong>${escapeHtml(ev.per_class[i]!.class)}</strong> (${fmtPct(ev.per_class[i]!.recall)})`);
    evaluation = `<section id="evaluation">
<h2>Evaluation on the ${split} set</h2>
<p class="lede">${fmtInt(ev.per_class.reduce((a, p) => a + p.support, 0))} examples, ${ev.classes.length} classes.</p>
${charts.confusionMatrix ? `<figure>${inlineSvg(charts.confusionMatrix, 'cm', 'Confusion matrix, rows are true classes')}</figure>` : ''}
<h3>Per-class metrics</h3>
${worst.length ? `<p class="lede">Highlighted: the ${worst.length} lowest-recall ${worst.length === 1 ? 'class' : 'classes'}, ${worstNames.join(', ')}.</p>` : ''}
${perClassTable(ev, run.classCounts?.train, new Set(worst))}
<h3>Averages</h3>
${averagesTable(ev)}
${run.classCounts ? classCountsTable(run, ev.classes) : ''}
</section>`;
  } else if (run.classCounts) {
    evaluation = `<section id="data">${classCountsTable(run, run.config.classes ?? [])}</section>`;
  }

  const body = `<header>
<p class="eyebrow">convlab · run report</p>
<h1>${escapeHtml(config.model)} <span class="on">on</span> ${escapeHtml(config.dataset)}</h1>
<p class="path">Run directory <code>${escapeHtml(run.dir)}</code></p>
<dl class="facts">${facts}</dl>
</header>
<div class="cards">${cards.join('')}</div>
${training}
${evaluation}
<section id="config">
<h2>Configuration</h2>
<p class="lede">As recorded in <code>config.json</code>.</p>
${configTable(run)}
</section>
<footer>Generated by convlab from the files in <code>${escapeHtml(basename(run.dir) || run.dir)}</code>.</footer>`;
  return page(`${title} · convlab report`, body);
}

// ---------------------------------------------------------------------------
// Comparison page

/** Renders a self-contained comparison page: a table of runs and (optionally) an inline chart. */
export function renderComparison(rows: ComparisonRow[], chartSvg?: string): string {
  const bestOf = (get: (r: ComparisonRow) => number | null, lowIsBetter = false): number | null => {
    const vals = rows.map(get).filter(isNum);
    if (vals.length < 2 || Math.min(...vals) === Math.max(...vals)) return null;
    return lowIsBetter ? Math.min(...vals) : Math.max(...vals);
  };
  const datasets = [...new Set(rows.map((r) => r.dataset))];
  const oneDataset = datasets.length === 1;
  const cols: { head: string; get: (r: ComparisonRow) => number | null; fmt: (v: number | null) => string; low?: boolean; noBest?: boolean }[] = [
    { head: 'Params', get: (r) => r.params, fmt: fmtInt, low: true },
    { head: 'MFLOPs/img', get: (r) => (r.macsPerImage === null ? null : (2 * r.macsPerImage) / 1e6), fmt: (v) => (v === null ? '—' : v.toFixed(1)), low: true },
    { head: 'Epochs', get: (r) => r.epochs, fmt: fmtInt, noBest: true },
    { head: 'Best val acc', get: (r) => r.bestValAcc, fmt: (v) => fmtPct(v) },
    { head: 'Test acc', get: (r) => r.testAcc, fmt: (v) => fmtPct(v) },
    { head: 'Macro recall', get: (r) => r.macroRecall, fmt: (v) => fmtPct(v) },
    { head: 'Balanced acc', get: (r) => r.balancedAcc, fmt: (v) => fmtPct(v) },
    { head: 'Images/s', get: (r) => r.imagesPerSec, fmt: fmtInt },
    { head: 'Wall time', get: (r) => r.wallSeconds, fmt: fmtDuration, low: true },
  ];
  const bests = cols.map((c) => (c.noBest ? null : bestOf(c.get, c.low)));
  const body = rows
    .map(
      (r) =>
        `<tr><td class="cls">${escapeHtml(r.model)}</td><td class="left" title="${escapeHtml(r.dir)}"><code>${escapeHtml(
          basename(r.dir) || r.dir,
        )}</code></td>${oneDataset ? '' : `<td class="left">${escapeHtml(r.dataset)}</td>`}${cols
          .map((c, k) => {
            const v = c.get(r);
            return `<td${bests[k] !== null && v === bests[k] ? ' class="best"' : ''}>${c.fmt(v)}</td>`;
          })
          .join('')}</tr>`,
    )
    .join('\n');
  const table = `<table class="comparison">
<thead><tr><th>Model</th><th class="left">Run</th>${oneDataset ? '' : '<th class="left">Dataset</th>'}${cols
    .map((c) => `<th>${c.head}</th>`)
    .join('')}</tr></thead>
<tbody>
${body}
</tbody>
</table>
<p class="note">Bold green: best value in its column (fewest parameters, shortest wall time). Test accuracy, macro recall and
balanced accuracy come from each run's <code>eval.json</code> (macro recall falls back to the last epoch's validation value
when there is none); images/s is the median over epochs.</p>`;
  const runList = rows.map((r) => `<li><code>${escapeHtml(r.dir)}</code></li>`).join('');
  return page(
    'convlab · run comparison',
    `<header>
<p class="eyebrow">convlab · comparison</p>
<h1>${rows.length} ${rows.length === 1 ? 'run' : 'runs'} compared${
      oneDataset ? ` <span class="on">on</span> ${escapeHtml(datasets[0])}` : ''
    }</h1>
</header>
<section id="table" style="overflow-x:auto">
${table}
</section>
${chartSvg ? `<section id="chart"><figure>${inlineSvg(chartSvg, 'cmp', 'Comparison of runs')}</figure></section>` : ''}
<section id="runs"><h3 style="margin-top:0">Run directories</h3><ul class="runs">${runList}</ul></section>`,
  );
}
