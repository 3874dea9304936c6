// Fonts for chart rendering.
//
// Charts name FONT_STACK in their SVG. For PNG rendering, resvg is given the first
// font file found below (DejaVu Sans from Debian's fonts-dejavu-core, else Liberation
// or Noto Sans), plus the system fonts. The same font file's advance widths are used
// to measure text while Vega lays the chart out, so label spacing matches the pixels.
// Set CONVLAB_FONT=/path/to/font.ttf to use another TrueType font.
import { existsSync, readFileSync } from 'node:fs';

export { FONT_STACK } from './font-stack.js';

interface Candidate {
  family: string;
  regular: string;
  bold?: string;
}

const CANDIDATES: Candidate[] = [
  {
    family: 'DejaVu Sans',
    regular: '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
    bold: '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf',
  },
  {
    family: 'Liberation Sans',
    regular: '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf',
    bold: '/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf',
  },
  {
    family: 'Noto Sans',
    regular: '/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf',
    bold: '/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf',
  },
];

export interface ResolvedFonts {
  /** Font files handed to resvg (may be empty: then only system fonts are used). */
  files: string[];
  /** Family to use as resvg's default / sans-serif family, or null if none was found. */
  family: string | null;
  /** Advance-width tables of the regular and bold faces, when they could be read. */
  regular: WidthTable | null;
  bold: WidthTable | null;
}

let cached: ResolvedFonts | undefined;

/** Finds the chart font once per process. */
export function resolveFonts(): ResolvedFonts {
  if (cached) return cached;
  const override = process.env.CONVLAB_FONT;
  let found: Candidate | undefined;
  if (override && existsSync(override)) {
    found = { family: '', regular: override };
  } else {
    found = CANDIDATES.find((c) => existsSync(c.regular));
  }
  if (!found) {
    cached = { files: [], family: null, regular: null, bold: null };
    return cached;
  }
  const regular = readWidthTable(found.regular);
  const boldPath = found.bold && existsSync(found.bold) ? found.bold : undefined;
  const bold = boldPath ? readWidthTable(boldPath) : null;
  cached = {
    files: boldPath ? [found.regular, boldPath] : [found.regular],
    family: found.family || regular?.family || null,
    regular,
    bold,
  };
  return cached;
}

/** Horizontal advance widths (in em) of a TrueType/OpenType font, per code point. */
export interface WidthTable {
  family: string | null;
  widths: Map<number, number>;
  /** Width used for code points the font has no glyph for. */
  fallback: number;
}

/** Reads cmap (format 4) and hmtx of a TTF/OTF file. Returns null if the file can't be parsed. */
export function readWidthTable(path: string): WidthTable | null {
  try {
    const buf = readFileSync(path);
    const u16 = (o: number) => buf.readUInt16BE(o);
    const numTables = u16(4);
    const tables = new Map<string, number>();
    for (let i = 0; i < numTables; i++) {
      const rec = 12 + i * 16;
      tables.set(buf.toString('latin1', rec, rec + 4), buf.readUInt32BE(rec + 8));
    }
    const head = tables.get('head');
    const hhea = tables.get('hhea');
    const hmtx = tables.get('hmtx');
    const cmap = tables.get('cmap');
    if (head === undefined || hhea === undefined || hmtx === undefined || cmap === undefined) return null;
    const unitsPerEm = u16(head + 18);
    const numHMetrics = u16(hhea + 34);
    const advance = (glyph: number) => u16(hmtx + 4 * Math.min(glyph, numHMetrics - 1));

    // Find a Unicode BMP subtable in format 4.
    let sub = -1;
    const nSub = u16(cmap + 2);
    for (let i = 0; i < nSub; i++) {
      const platform = u16(cmap + 4 + i * 8);
      const encoding = u16(cmap + 6 + i * 8);
      const offset = buf.readUInt32BE(cmap + 8 + i * 8);
      if ((platform === 3 && encoding === 1) || platform === 0) {
        if (u16(cmap + offset) === 4) {
          sub = cmap + offset;
          break;
        }
      }
    }
    if (sub < 0) return null;
    const segX2 = u16(sub + 6);
    const ends = sub + 14;
    const starts = ends + segX2 + 2;
    const deltas = starts + segX2;
    const rangeOffsets = deltas + segX2;
    const widths = new Map<number, number>();
    // Only the ranges a chart label could plausibly use (Latin, Greek, punctuation, symbols).
    const wanted = (cp: number) => cp < 0x0530 || (cp >= 0x2000 && cp < 0x2200);
    for (let s = 0; s < segX2 / 2; s++) {
      const end = u16(ends + 2 * s);
      const start = u16(starts + 2 * s);
      const delta = u16(deltas + 2 * s);
      const ro = u16(rangeOffsets + 2 * s);
      for (let cp = start; cp <= end && cp !== 0xffff; cp++) {
        if (!wanted(cp)) continue;
        let glyph: number;
        if (ro === 0) glyph = (cp + delta) & 0xffff;
        else {
          const at = rangeOffsets + 2 * s + ro + 2 * (cp - start);
          glyph = u16(at);
          if (glyph !== 0) glyph = (glyph + delta) & 0xffff;
        }
        if (glyph !== 0) widths.set(cp, advance(glyph) / unitsPerEm);
      }
    }
    const fallback = widths.get(0x6e /* n */) ?? 0.6;
    return { family: readFamilyName(buf, tables.get('name')), widths, fallback };
  } catch {
    return null;
  }
}

function readFamilyName(buf: Buffer, name: number | undefined): string | null {
  if (name === undefined) return null;
  const count = buf.readUInt16BE(name + 2);
  const strings = name + buf.readUInt16BE(name + 4);
  for (let i = 0; i < count; i++) {
    const rec = name + 6 + i * 12;
    const platform = buf.readUInt16BE(rec);
    const nameId = buf.readUInt16BE(rec + 6);
    const length = buf.readUInt16BE(rec + 8);
    const offset = buf.readUInt16BE(rec + 10);
    if (nameId === 1 && platform === 3) {
      const raw = buf.subarray(strings + offset, strings + offset + length);
      let s = '';
      for (let j = 0; j + 1 < raw.length; j += 2) s += String.fromCharCode(raw.readUInt16BE(j));
      return s;
    }
  }
  return null;
}

/** Width in pixels of `text` at `fontSize` in the given table (no kerning). */
export function measureText(table: WidthTable, text: string, fontSize: number): number {
  let em = 0;
  for (const ch of text) em += table.widths.get(ch.codePointAt(0)!) ?? table.fallback;
  return em * fontSize;
}
