// Self-contained HTML for one run: inline CSS, inline SVG charts, no scripts, no external URLs. Every string
// that comes from a run directory is escaped. The comparison page is in comparison-page.ts, the shared page
// chrome in html-page.ts and the formatting helpers in html-format.ts; all are re-exported from here.
import { basename } from 'node:path';
import { totalWallSeconds } from './rundir.js';
import { DASH, escapeHtml, flattenConfig, fmtDuration, fmtInt, fmtNum, fmtPct, inlineSvg, isNum } from './html-format.js';
import { bar, card, fact, page } from './html-page.js';
import { evalSetOf, type ClassCounts, type EvalResult, type PerClassMetrics, type RunData } from './types.js';

export { escapeHtml, flattenConfig, fmtDuration, fmtInt, fmtPct, inlineSvg } from './html-format.js';
export { renderComparison } from './comparison-page.js';

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

function classCountsTable(counts: ClassCounts, classes: string[]): string {
  const splits = Object.entries(counts)
    .filter((entry): entry is [string, number[]] => Array.isArray(entry[1]))
    .map(([name, perClass]) => ({ name, perClass, total: perClass.reduce((a, b) => a + b, 0) }));
  if (splits.length === 0) return '';
  const n = Math.max(classes.length, ...splits.map((s) => s.perClass.length));
  const rows: string[] = [];
  for (let i = 0; i < n; i++) {
    const cells = splits
      .map(({ perClass, total }) => {
        const c = perClass[i];
        return `<td>${fmtInt(c ?? null)}</td><td>${isNum(c) && total > 0 ? fmtPct(c / total) : DASH}</td>`;
      })
      .join('');
    rows.push(`<tr><td class="cls">${escapeHtml(classes[i] ?? `class ${i}`)}</td>${cells}</tr>`);
  }
  const ratios = splits
    .map(({ name, perClass }) => {
      const pos = perClass.filter((c) => c > 0);
      if (pos.length === 0) return '';
      return `${escapeHtml(name)}: ${(Math.max(...pos) / Math.min(...pos)).toFixed(1)}×`;
    })
    .filter(Boolean)
    .join(' · ');
  return `<h3>Class counts</h3>
<table class="class-counts">
<thead><tr><th>Class</th>${splits.map(({ name }) => `<th>${escapeHtml(name)}</th><th>share</th>`).join('')}</tr></thead>
<tbody>
${rows.join('\n')}
<tr><td class="cls">Total</td>${splits.map(({ total }) => `<td>${fmtInt(total)}</td><td></td>`).join('')}</tr>
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
${run.classCounts ? classCountsTable(run.classCounts, ev.classes) : ''}
</section>`;
  } else if (run.classCounts) {
    evaluation = `<section id="data">${classCountsTable(run.classCounts, run.config.classes ?? [])}</section>`;
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
