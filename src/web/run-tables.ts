/** The dashboard's tables: the run list (select, open) and the comparison of selected runs. */
import type { ComparisonRow } from '../report/types.js';
import type { RunListing } from '../ui/runs.js';

const pct = (v: number | null | undefined): string => (typeof v === 'number' ? `${(100 * v).toFixed(2)} %` : '–');
const int = (v: number | null | undefined): string => (typeof v === 'number' ? Math.round(v).toLocaleString('en') : '–');

export function formatSeconds(s: number | null): string {
  if (s === null) return '–';
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

function cell(tr: HTMLTableRowElement, text: string, className = ''): HTMLTableCellElement {
  const td = tr.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function table(heads: string[]): HTMLTableElement {
  const t = document.createElement('table');
  const tr = t.createTHead().insertRow();
  for (const h of heads) { const th = document.createElement('th'); th.textContent = h; tr.append(th); }
  t.createTBody();
  return t;
}

export function runTable(runs: RunListing[], selected: Set<string>, on: { onSelect(name: string, on: boolean): void; onOpen(name: string): void }): HTMLTableElement {
  const t = table(['', 'run', 'model', 'dataset', 'epochs', 'val acc', 'test acc', 'macro recall', 'images/s', 'time']);
  for (const r of runs) {
    const tr = t.tBodies[0]!.insertRow();
    tr.dataset.run = r.name;
    if (r.live) tr.className = 'live';
    const box = Object.assign(document.createElement('input'), { type: 'checkbox', checked: selected.has(r.name), disabled: !r.summary });
    box.addEventListener('change', () => on.onSelect(r.name, box.checked));
    tr.insertCell().append(box);
    const name = cell(tr, '', 'name');
    const link = Object.assign(document.createElement('a'), { href: `#${encodeURIComponent(r.name)}`, textContent: r.name });
    link.addEventListener('click', (e) => { e.preventDefault(); on.onOpen(r.name); });
    name.append(link);
    if (r.error) { cell(tr, r.error).colSpan = 8; continue; }
    const s = r.summary;
    cell(tr, s?.model ?? '–'); cell(tr, s?.dataset ?? '–');
    cell(tr, `${s?.epochs ?? 0}${r.epochsPlanned ? ` / ${r.epochsPlanned}` : ''}`);
    cell(tr, pct(s?.valAcc)); cell(tr, pct(s?.testAcc)); cell(tr, pct(s?.macroRecall));
    cell(tr, int(s?.imagesPerSec)); cell(tr, formatSeconds(s?.wallSeconds ?? null));
  }
  return t;
}

export function comparisonTable(rows: ComparisonRow[]): HTMLTableElement {
  const t = table(['run', 'model', 'params', 'epochs', 'best val acc', 'test acc', 'macro recall', 'balanced acc', 'images/s', 'time']);
  for (const r of rows) {
    const tr = t.tBodies[0]!.insertRow();
    cell(tr, r.label, 'name'); cell(tr, r.model); cell(tr, int(r.params)); cell(tr, String(r.epochs));
    cell(tr, pct(r.bestValAcc)); cell(tr, pct(r.testAcc)); cell(tr, pct(r.macroRecall)); cell(tr, pct(r.balancedAcc));
    cell(tr, int(r.imagesPerSec)); cell(tr, formatSeconds(r.wallSeconds));
  }
  return t;
}
