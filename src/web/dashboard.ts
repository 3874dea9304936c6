/**
 * The runs dashboard (served by `convlab ui`): the run list with filters, a comparison of the selected runs (table,
 * bar chart and overlaid accuracy curves) and a live view of one run pushed by server-sent events. Every chart is
 * one of the report's Vega-Lite specs, drawn with vega-embed.
 */
import embed from 'vega-embed';
import type { TopLevelSpec } from 'vega-lite';
import { accuracyVsTimeSpec, learningCurvesSpec } from '../report/learning-charts.js';
import { comparisonSpec } from '../report/comparison-chart.js';
import { confusionMatrixSpec } from '../report/confusion-chart.js';
import { evalSetOf } from '../report/types.js';
import type { RunDetails, RunListing } from '../ui/runs.js';
import { perClassRecallSpec } from './recall-chart.js';
import { comparisonTable, formatSeconds, runTable } from './run-tables.js';

const $ = (id: string): HTMLElement => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`dashboard: the page has no #${id}`);
  return el;
};

let runs: RunListing[] = [];
const selected = new Set<string>();
let liveSource: EventSource | null = null;

/** What the browser tests read: the live view's latest payload, its epoch count at each update, and errors. */
const state = { runs, live: null as RunDetails | null, updates: 0, pointsSeen: [] as number[], errors: [] as string[] };
(globalThis as unknown as { convlabDashboard: typeof state }).convlabDashboard = state;

const draw = (el: HTMLElement, spec: TopLevelSpec): Promise<unknown> =>
  embed(el, spec, { actions: false, renderer: 'svg', logLevel: 1 }).catch((e: unknown) => showError(`chart: ${(e as Error).message}`));

function showError(text: string): void {
  state.errors.push(text);
  $('message').textContent = text;
  $('message').className = 'error';
}

function matches(run: RunListing): boolean {
  const text = ($('filter') as HTMLInputElement).value.trim().toLowerCase();
  const status = ($('status') as HTMLSelectElement).value;
  if (status === 'live' && !run.live) return false;
  if (status === 'finished' && run.live) return false;
  const hay = `${run.name} ${run.summary?.model ?? ''} ${run.summary?.dataset ?? ''}`.toLowerCase();
  return text.split(/\s+/).every((word) => hay.includes(word));
}

function renderList(): void {
  const shown = runs.filter(matches);
  $('run-count').textContent = `${shown.length} of ${runs.length} runs`;
  $('runs').replaceChildren(runTable(shown, selected, {
    onSelect: (name, on) => { if (on) selected.add(name); else selected.delete(name); void renderComparison(); },
    onOpen: (name) => openLive(name),
  }));
}

async function loadRuns(): Promise<void> {
  const response = await fetch('api/runs');
  if (response.status === 404) { showError('no runs API here: this page lists runs when served by `convlab ui [RUNS_DIR]`'); return; }
  if (!response.ok) { showError(`the run list: HTTP ${response.status} ${await response.text()}`); return; }
  const body = (await response.json()) as { runsDir: string; runs: RunListing[] };
  runs = body.runs;
  state.runs = runs;
  $('runs-dir').textContent = body.runsDir;
  renderList();
}

async function renderComparison(): Promise<void> {
  const chosen = runs.filter((r) => selected.has(r.name) && r.summary);
  $('compare').hidden = chosen.length === 0;
  if (chosen.length === 0) return;
  $('compare-table').replaceChildren(comparisonTable(chosen.map((r) => r.summary!)));
  const details = await Promise.all(chosen.map(async (r) => (await fetch(`api/runs/${encodeURIComponent(r.name)}`)).json() as Promise<RunDetails>));
  await Promise.all([
    draw($('compare-bars'), comparisonSpec(chosen.map((r) => r.summary!), { title: 'Selected runs' })),
    draw($('compare-curves'), accuracyVsTimeSpec(details.map((d) => ({ label: d.name, rows: d.metrics })), { title: 'Accuracy against training time' })),
  ]);
}

function openLive(name: string): void {
  liveSource?.close();
  $('live').hidden = false;
  $('live-name').textContent = name;
  state.live = null;
  state.pointsSeen = [];
  liveSource = new EventSource(`api/runs/${encodeURIComponent(name)}/events`);
  liveSource.addEventListener('run', (e) => void renderLive(JSON.parse((e as MessageEvent<string>).data) as RunDetails | null));
  liveSource.addEventListener('problem', (e) => showError(JSON.parse((e as MessageEvent<string>).data) as string));
  location.hash = encodeURIComponent(name);
}

async function renderLive(run: RunDetails | null): Promise<void> {
  // A run named in the address that has not started yet (or was removed): wait for it, the stream goes on.
  if (!run) { $('live-facts').textContent = 'waiting for the run to start…'; return; }
  state.live = run;
  state.updates++;
  state.pointsSeen.push(run.metrics.length);
  void loadRuns(); // the list's row for this run (epochs, live flag, test accuracy) follows the live view
  const last = run.metrics.at(-1);
  const planned = typeof run.config.epochs === 'number' ? run.config.epochs : null;
  const facts: [string, string][] = [
    ['status', run.live ? 'training' : 'finished'],
    ['epoch', `${run.metrics.length}${planned ? ` / ${planned}` : ''}`],
    ['loss', last ? `${last.train_loss.toFixed(4)} train, ${last.val_loss.toFixed(4)} ${evalSetOf(run.config).toLowerCase()}` : '–'],
    ['accuracy', last ? `${(100 * last.val_acc).toFixed(2)} %` : '–'],
    ['macro recall', typeof last?.val_macro_recall === 'number' ? `${(100 * last.val_macro_recall).toFixed(2)} %` : '–'],
    ['images/s', typeof last?.images_per_s === 'number' ? Math.round(last.images_per_s).toLocaleString('en') : '–'],
    ['ETA', run.live && run.etaSeconds !== null ? formatSeconds(run.etaSeconds) : run.live ? 'after the first epoch' : '–'],
  ];
  $('live-facts').replaceChildren(...facts.map(([k, v]) => {
    const div = document.createElement('div');
    div.innerHTML = `<span class="k">${k}</span> <span></span>`;
    div.lastElementChild!.textContent = v;
    div.dataset.fact = k;
    return div;
  }));
  $('live').dataset.points = String(run.metrics.length);
  const evalSetName = evalSetOf(run.config);
  const jobs: Promise<unknown>[] = [];
  if (run.metrics.length) jobs.push(draw($('live-curves'), learningCurvesSpec(run.metrics, { title: run.name, evalSetName })));
  const final = run.eval, epochEval = run.epochEval;
  const classes = final?.classes ?? epochEval?.classes;
  const confusion = final?.confusion ?? epochEval?.confusion;
  const recall = final ? final.per_class.map((k) => k.recall) : epochEval?.recall;
  const source = final ? `${final.split} set, final` : epochEval ? `${evalSetName.toLowerCase()} set, epoch ${epochEval.epoch}` : '';
  if (classes && recall) jobs.push(draw($('live-recall'), perClassRecallSpec(classes, recall, `Per-class recall (${source})`)));
  if (classes && confusion) jobs.push(draw($('live-confusion'), confusionMatrixSpec(confusion, classes, true, { title: `Confusion matrix (${source})`, size: 360 })));
  await Promise.all(jobs);
  $('live').dataset.rendered = String(state.updates);
}

for (const id of ['filter', 'status']) $(id).addEventListener('input', renderList);
$('refresh').addEventListener('click', () => void loadRuns());
// dashboard.html#<run> follows that run, also one that has not started yet.
const wanted = decodeURIComponent(location.hash.slice(1));
if (wanted) openLive(wanted);
void loadRuns();
// New runs appear without a reload.
setInterval(() => void loadRuns(), 5000);
