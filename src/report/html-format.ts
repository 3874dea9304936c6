// Formatting for the HTML pages: escaping, numbers, durations, inline SVG and flattened config.
// Every string that comes from a run directory goes through escapeHtml.

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

export const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
export const DASH = '<span class="na">—</span>';

export function fmtPct(v: number | null | undefined, digits = 1): string {
  return isNum(v) ? `${(v * 100).toFixed(digits)}%` : DASH;
}

export function fmtInt(v: number | null | undefined): string {
  return isNum(v) ? Math.round(v).toLocaleString('en-US') : DASH;
}

export function fmtNum(v: number | null | undefined, digits = 4): string {
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

