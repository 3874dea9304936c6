/**
 * The study report: report.html with the comparison table, the statements beside their numbers, the Pareto
 * charts and overlaid learning curves; study.csv and study.json beside it, with the machine's CPU and threads.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { accuracyVsTimeSpec, writeChart, type TopLevelSpec } from '../report/charts.js';
import { escapeHtml, inlineSvg } from '../report/html-format.js';
import { page } from '../report/html-page.js';
import { paretoSpec, type ParetoPoint } from '../report/pareto.js';
import { htmlTable, toCsv, type Column } from '../report/table-format.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { writeJsonAtomic } from '../util/atomic-file.js';
import type { CellFailure } from './cell.js';
import type { StudyDefinition } from './definitions.js';
import { BETTER, COMPARISON_COLUMNS, rowLabel, rowsJson, type StudyRow } from './rows.js';
import { classicStatements, claimStatements, zooStatements, type Statement } from './statements.js';

export interface StudyReportInput {
  def: StudyDefinition;
  rows: StudyRow[];
  machine: { cpu: string; threads: number; cores: number };
  budget: string;
  /** How the cross cells' inputs were adapted, one line per cell kind. */
  adaptations: string[];
  /** Cells that failed in this run, listed in the report so that a missing row is never silent. */
  failed?: CellFailure[];
}

export interface StudyReportPaths { html: string; csv: string; json: string }

/** A comparison column by key: the architecture table shares the model, size and cost columns with it. */
const comparisonColumn = (key: string): Column<StudyRow> => COMPARISON_COLUMNS.find((c) => c.key === key)!;

const ARCH_COLUMNS: Column<StudyRow>[] = [
  comparisonColumn('model'),
  { head: 'Input', key: 'dataset', kind: 'text', get: (r) => r.dataset },
  { head: 'Layers', key: 'layers', kind: 'int', get: (r) => r.layers },
  comparisonColumn('params'),
  comparisonColumn('macs'),
  { head: 'Receptive field (px)', key: 'receptive_field', kind: 'int', get: (r) => r.receptiveField },
  comparisonColumn('activation_bytes'),
];

function statementsHtml(statements: Statement[]): string {
  if (statements.length === 0) return '';
  const cls = (v: string): string => (v === 'supported' ? 'best' : v === 'not supported' ? 'recall' : 'na');
  return `<section id="statements"><h2>What the numbers say</h2><p class="lede">Each sentence is built from the measurements in this report; the verdict is computed from them.</p>
<table class="config"><tbody>${statements.map((s) => `<tr><td>${escapeHtml(s.question)}</td><td>${escapeHtml(s.sentence)} <strong class="${cls(s.verdict)}">Verdict: ${escapeHtml(s.verdict)}.</strong></td></tr>`).join('\n')}</tbody></table></section>`;
}

/** The 2×2 matrix: models down, datasets across, accuracy and wall time in each cell. */
function matrixHtml(rows: StudyRow[]): string {
  const plain = rows.filter((r) => r.variant === '');
  const models = [...new Set(plain.map((r) => r.model))], datasets = [...new Set(plain.map((r) => r.dataset))];
  if (models.length < 2 || datasets.length < 2) return '';
  const cell = (m: string, d: string): string => {
    const r = plain.find((x) => x.model === m && x.dataset === d);
    return r ? `${htmlStat(r.finalAcc, 'pct')}<br><span class="note">${htmlStat(r.trainSeconds, 's')} training</span>` : '—';
  };
  return `<section id="matrix"><h2>Accuracy and time, model × dataset</h2><table><thead><tr><th class="left">Model</th>${datasets.map((d) => `<th>${escapeHtml(d)}</th>`).join('')}</tr></thead><tbody>
${models.map((m) => `<tr><td class="cls">${escapeHtml(m)}</td>${datasets.map((d) => `<td>${cell(m, d)}</td>`).join('')}</tr>`).join('\n')}</tbody></table></section>`;
}

function htmlStat(s: StudyRow['finalAcc'], unit: 'pct' | 's'): string {
  if (!s) return '—';
  const f = (v: number): string => (unit === 'pct' ? `${(v * 100).toFixed(1)} %` : `${v.toFixed(1)} s`);
  return escapeHtml(s.n > 1 ? `${f(s.mean)} ± ${f(s.std)}` : f(s.mean));
}

/** A row's chart label: its model, and its dataset when the study has several. */
const chartLabel = (rows: StudyRow[]): ((r: StudyRow) => string) =>
  new Set(rows.map((r) => r.dataset)).size > 1 ? (r) => `${rowLabel(r)} · ${r.dataset}` : rowLabel;

function points(rows: StudyRow[], cost: (r: StudyRow) => number | undefined): ParetoPoint[] {
  const label = chartLabel(rows);
  return rows.flatMap((r) => { const c = cost(r); return c !== undefined && r.finalAcc ? [{ label: label(r), cost: c, value: r.finalAcc.mean }] : []; });
}

/** Renders every chart into `dir` as <id>.svg and <id>.png, returning the SVG to inline; a chart with no points is left out. */
async function charts(rows: StudyRow[], imbalanced: boolean, dir: string): Promise<{ id: string; title: string; svg: string }[]> {
  const specs: { id: string; title: string; spec: TopLevelSpec; n: number }[] = [];
  const add = (id: string, title: string, pts: ParetoPoint[], costTitle: string, logCost = true, valueTitle?: string): void => {
    specs.push({ id, title, n: pts.length, spec: paretoSpec(pts, { costTitle, logCost, valueTitle }) });
  };
  add('latency', 'Accuracy against inference latency', points(rows, (r) => r.latency1Ms?.mean), 'Inference latency, batch 1 (ms)');
  add('params', 'Accuracy against parameters', points(rows, (r) => r.params?.mean), 'Parameters');
  add('time', 'Accuracy against training time', points(rows, (r) => r.trainSeconds?.mean), 'Training time (s)', false);
  if (imbalanced) {
    const lt = rows.filter((r) => r.variant.startsWith('lt'));
    const pts = lt.flatMap((r) => (r.finalAcc && r.macroRecall ? [{ label: rowLabel(r), cost: r.finalAcc.mean, value: r.macroRecall.mean }] : []));
    specs.push({ id: 'recall', title: 'Accuracy against macro recall (long-tailed runs)', n: pts.length, spec: recallSpec(pts) });
  }
  const label = chartLabel(rows);
  const curves = rows.flatMap((r) => r.runs.slice(0, 1).map((run) => ({ label: label(r), rows: run.curve })));
  if (curves.some((c) => c.rows.some((x) => typeof x.wall_seconds === 'number'))) specs.push({ id: 'curves', title: 'Learning curves', n: curves.length, spec: accuracyVsTimeSpec(curves, { title: 'Test accuracy against training time', evalSetName: 'Test' }) });
  const out: { id: string; title: string; svg: string }[] = [];
  const drawn = specs.filter((s) => s.n > 0);
  if (drawn.length) mkdirSync(dir, { recursive: true });
  for (const s of drawn) out.push({ id: s.id, title: s.title, svg: (await writeChart(dir, s.id, s.spec)).svg });
  return out;
}

/** Accuracy (x) against macro recall (y) for the imbalanced runs: the gap between the two is the point. */
function recallSpec(pts: ParetoPoint[]): TopLevelSpec {
  return paretoSpec(pts, { costTitle: 'Test accuracy', valueTitle: 'Macro recall', logCost: false });
}

export async function writeStudyReport(dir: string, input: StudyReportInput): Promise<StudyReportPaths> {
  const { def, rows, machine } = input;
  const isClassic = def.name === 'classic';
  const statements = isClassic ? classicStatements(rows) : def.name === 'claims' ? claimStatements(rows) : def.name === 'zoo' ? zooStatements(rows) : [];
  const imbalanced = rows.some((r) => r.variant.startsWith('lt'));
  const header = { study: def.name, budget: input.budget, cpu: machine.cpu, threads: String(machine.threads), cores: String(machine.cores), generated: new Date().toISOString() };
  const csv = join(dir, 'study.csv'), json = join(dir, 'study.json'), html = join(dir, 'report.html');
  writeFileAtomic(csv, toCsv(COMPARISON_COLUMNS, rows, header));
  writeJsonAtomic(json, { ...header, threads: machine.threads, cores: machine.cores, description: def.description, rows: rowsJson(rows), statements, input_adaptations: input.adaptations, failed: input.failed ?? [] });
  const chartList = await charts(rows, imbalanced, join(dir, 'charts'));
  const body = `<header><p class="eyebrow">convlab · study</p><h1>${escapeHtml(def.name)} <span class="on">${escapeHtml(def.description)}</span></h1>
<p class="path">Budget ${escapeHtml(input.budget)} per cell · measured on ${escapeHtml(machine.cpu)}, ${machine.threads} threads · ${new Date().toISOString().slice(0, 10)}</p></header>
${statementsHtml(statements)}
${input.failed?.length ? `<section id="failed"><h2>Cells that failed</h2><ul class="runs">${input.failed.map((f) => `<li><code>${escapeHtml(f.id)}</code>: ${escapeHtml(f.reason)}</li>`).join('')}</ul><p class="note">Their rows are missing from the tables below; running the study again retries them.</p></section>` : ''}
<section id="table" style="overflow-x:auto"><h2>Comparison</h2>${htmlTable(COMPARISON_COLUMNS, rows, BETTER)}
<p class="note">Accuracies are on the test set (best and final epoch); latency is the median eval-mode forward pass on this machine, measured once per model; training images/s is the median over epochs; values with ± are mean ± standard deviation over seeds. Files: <code>study.csv</code>, <code>study.json</code>, and each chart as SVG and PNG in <code>charts/</code>.</p></section>
${isClassic ? `<section id="architecture"><h2>Architectures</h2>${htmlTable(ARCH_COLUMNS, rows.filter((r) => r.variant === ''), {}, 'comparison')}<p class="note">Layers: leaf layers with parameters. Receptive field: of the last spatial feature map, in input pixels. Activation memory: every layer's output for one image, float32.</p></section>` : ''}
${isClassic ? matrixHtml(rows) : ''}
${input.adaptations.length ? `<section id="inputs"><h2>How the inputs were adapted</h2><ul class="runs">${input.adaptations.map((a) => `<li>${escapeHtml(a)}</li>`).join('')}</ul></section>` : ''}
${chartList.map((c) => `<section id="chart-${c.id}"><h2>${escapeHtml(c.title)}</h2><figure>${inlineSvg(c.svg, c.id, c.title)}</figure></section>`).join('\n')}`;
  writeFileAtomic(html, page(`convlab · ${def.name} study`, body));
  return { html, csv, json };
}
