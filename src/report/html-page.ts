// The page chrome shared by the run report and the comparison page: inline CSS, the document shell, and the
// small building blocks (fact, card, recall bar).
import { escapeHtml, isNum } from './html-format.js';

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

export function page(title: string, body: string): string {
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

export function card(label: string, value: string, sub = ''): string {
  return `<div class="card"><div class="label">${escapeHtml(label)}</div><div class="value">${value}</div>${
    sub ? `<div class="sub">${sub}</div>` : ''
  }</div>`;
}

export function fact(label: string, value: string): string {
  return `<div><dt>${escapeHtml(label)}</dt><dd>${value}</dd></div>`;
}

export function bar(v: number | null): string {
  if (!isNum(v)) return '';
  const w = Math.max(0, Math.min(1, v)) * 100;
  return `<span class="bar" aria-hidden="true"><i style="width:${w.toFixed(1)}%"></i></span>`;
}
