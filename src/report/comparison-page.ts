// The self-contained page that compares runs: a table with the best value of each column marked, and the
// comparison chart inlined.
import { basename } from 'node:path';
import { escapeHtml, fmtDuration, fmtInt, fmtPct, inlineSvg, isNum } from './html-format.js';
import { page } from './html-page.js';
import type { ComparisonRow } from './types.js';

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
    { head: 'Training time', get: (r) => r.wallSeconds, fmt: fmtDuration, low: true },
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
