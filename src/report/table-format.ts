// Tables of numbers for the terminal, CSV and HTML: one column list drives all three, so the units in the
// headers and the formats agree. Pure: plain rows in, strings out.
import { escapeHtml } from './html-format.js';

export type CellValue = number | string | null | undefined | { mean: number; std: number; n: number };

export type ColumnKind = 'text' | 'int' | 'percent' | 'float' | 'seconds' | 'megabytes' | 'millions';

export interface Column<R> {
  /** Header with its unit, e.g. "Latency b1 (ms)". */
  head: string;
  /** Key in the CSV and JSON files. */
  key: string;
  kind: ColumnKind;
  get(row: R): CellValue;
  digits?: number;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** One number as its column shows it: percentages with one decimal, integers with thousands separators. */
export function formatNumber(v: number, kind: ColumnKind, digits?: number): string {
  switch (kind) {
    case 'percent': return `${(v * 100).toFixed(digits ?? 1)}`;
    case 'int': return Math.round(v).toLocaleString('en-US');
    case 'megabytes': return (v / 1e6).toLocaleString('en-US', { minimumFractionDigits: digits ?? 2, maximumFractionDigits: digits ?? 2 });
    case 'millions': return (v / 1e6).toLocaleString('en-US', { minimumFractionDigits: digits ?? 2, maximumFractionDigits: digits ?? 2 });
    case 'seconds': return v.toLocaleString('en-US', { minimumFractionDigits: digits ?? 1, maximumFractionDigits: digits ?? 1 });
    default: return v.toLocaleString('en-US', { minimumFractionDigits: digits ?? 2, maximumFractionDigits: digits ?? 2 });
  }
}

/** A cell as text: "—" when missing, "mean ± std" over seeds. */
export function formatCell(v: CellValue, kind: ColumnKind, digits?: number): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return isNum(v) ? formatNumber(v, kind, digits) : '—';
  if (!isNum(v.mean)) return '—';
  return v.n > 1 ? `${formatNumber(v.mean, kind, digits)} ± ${formatNumber(v.std, kind, digits)}` : formatNumber(v.mean, kind, digits);
}

/** A fixed-width table: text columns left-aligned, numbers right-aligned, a rule under the header. */
export function formatTable<R>(columns: readonly Column<R>[], rows: readonly R[]): string {
  const cells = rows.map((r) => columns.map((c) => formatCell(c.get(r), c.kind, c.digits)));
  const widths = columns.map((c, i) => Math.max(c.head.length, ...cells.map((row) => row[i]!.length)));
  const line = (row: string[]): string => row.map((s, i) => (columns[i]!.kind === 'text' ? s.padEnd(widths[i]!) : s.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(columns.map((c) => c.head)), widths.map((w) => '─'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

function csvField(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * CSV with raw numbers (fractions, bytes, seconds: the headers' keys say which), means and standard deviations
 * in columns of their own, and `# key: value` comment lines on top (the machine's CPU and thread count).
 */
export function toCsv<R>(columns: readonly Column<R>[], rows: readonly R[], header: Record<string, string> = {}): string {
  const keys: string[] = [];
  for (const c of columns) keys.push(c.key, ...(c.kind === 'text' ? [] : [`${c.key}_std`]));
  const lines = Object.entries(header).map(([k, v]) => `# ${k}: ${v.replace(/\n/g, ' ')}`);
  lines.push(keys.join(','));
  for (const r of rows) {
    const fields: string[] = [];
    for (const c of columns) {
      const v = c.get(r);
      if (c.kind === 'text') { fields.push(csvField(v === null || v === undefined ? '' : String(typeof v === 'object' ? v.mean : v))); continue; }
      const mean = typeof v === 'object' && v !== null ? v.mean : typeof v === 'number' ? v : null;
      const std = typeof v === 'object' && v !== null && v.n > 1 ? v.std : null;
      fields.push(isNum(mean) ? String(mean) : '', isNum(std) ? String(std) : '');
    }
    lines.push(fields.join(','));
  }
  return lines.join('\n') + '\n';
}

/** An HTML table with the best value of each numeric column marked (`best` says which way is better). */
export function htmlTable<R>(columns: readonly Column<R>[], rows: readonly R[], best: Partial<Record<string, 'high' | 'low'>> = {}, className = 'comparison'): string {
  const meanOf = (v: CellValue): number | null => (typeof v === 'number' && isNum(v) ? v : typeof v === 'object' && v !== null && isNum(v.mean) ? v.mean : null);
  const bests = columns.map((c) => {
    const dir = best[c.key];
    const vals = rows.map((r) => meanOf(c.get(r))).filter((v): v is number => v !== null);
    if (!dir || vals.length < 2 || Math.min(...vals) === Math.max(...vals)) return null;
    return dir === 'high' ? Math.max(...vals) : Math.min(...vals);
  });
  const head = columns.map((c) => `<th${c.kind === 'text' ? ' class="left"' : ''}>${escapeHtml(c.head)}</th>`).join('');
  const body = rows.map((r) => `<tr>${columns.map((c, i) => {
    const v = c.get(r);
    const cls = [c.kind === 'text' ? 'left' : '', bests[i] !== null && meanOf(v) === bests[i] ? 'best' : ''].filter(Boolean).join(' ');
    return `<td${cls ? ` class="${cls}"` : ''}>${escapeHtml(formatCell(v, c.kind, c.digits))}</td>`;
  }).join('')}</tr>`).join('\n');
  return `<table class="${className}"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}
