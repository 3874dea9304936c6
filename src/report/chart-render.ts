// Rendering chart specs: vega-lite compiles them to Vega, a headless Vega View lays them out as SVG, and resvg
// rasterises the SVG to PNG.
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { measureText, resolveFonts } from './fonts.js';
import { writeFileAtomic } from '../util/atomic-file.js';

interface TextItem {
  fontSize?: number;
  fontWeight?: string | number;
  limit?: number;
}

let metricsInstalled = false;

/**
 * Makes Vega measure label widths with the real advance widths of the font resvg will
 * draw with (Vega's built-in estimate, without node-canvas, is ~40% too wide).
 */
function installTextMetrics(): void {
  if (metricsInstalled) return;
  metricsInstalled = true;
  const fonts = resolveFonts();
  if (!fonts.regular) return;
  const regular = fonts.regular;
  const bold = fonts.bold ?? fonts.regular;
  // vega exports textMetrics (from vega-scenegraph) but its typings do not declare it.
  const tm: unknown = 'textMetrics' in vega ? vega.textMetrics : undefined;
  if (typeof tm !== 'object' || tm === null || !('width' in tm)) return;
  tm.width = (item: TextItem, text: unknown) => {
    const s = text == null ? '' : String(text).trim();
    const size = item.fontSize != null ? Number(item.fontSize) || 0 : 11;
    if (!s || size <= 0) return 0;
    const w = item.fontWeight;
    const isBold = w === 'bold' || w === 'bolder' || (typeof w === 'number' && w >= 600) || (typeof w === 'string' && Number(w) >= 600);
    const width = measureText(isBold && fonts.bold ? bold : regular, s, size);
    // Vega applies `limit` (truncation) itself; it calls back with the truncated string.
    return width;
  };
}

/**
 * Compiles a Vega-Lite spec to Vega, collecting the compiler's warnings instead of
 * printing them (tests assert there are none).
 */
export function compileSpec(spec: TopLevelSpec): { spec: vega.Spec; warnings: string[] } {
  const warnings: string[] = [];
  let level = 0;
  const logger: vega.LoggerInterface = {
    level(l?: number): number | vega.LoggerInterface {
      if (l === undefined) return level;
      level = l;
      return logger;
    },
    error(...args: readonly unknown[]) {
      throw new Error(args.map(String).join(' '));
    },
    warn(...args: readonly unknown[]) {
      warnings.push(args.map(String).join(' '));
      return logger;
    },
    info() {
      return logger;
    },
    debug() {
      return logger;
    },
  };
  return { spec: compile(spec, { logger }).spec, warnings };
}

/** Compiles a Vega-Lite spec and renders it to an SVG string with a headless Vega View. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  installTextMetrics();
  const vgSpec = compileSpec(spec).spec;
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface PngOptions {
  /** Output width in pixels; default: twice the SVG's own width (crisp on high-DPI screens). */
  width?: number;
}

/** Rasterises an SVG with resvg, using the chart font (see fonts.ts) plus system fonts. */
export function renderPng(svg: string, opts: PngOptions = {}): Buffer {
  const fonts = resolveFonts();
  const font: Record<string, unknown> = { loadSystemFonts: true, fontFiles: fonts.files };
  if (fonts.family) {
    font.defaultFontFamily = fonts.family;
    font.sansSerifFamily = fonts.family;
  }
  const resvg = new Resvg(svg, {
    background: 'white',
    fitTo: opts.width ? { mode: 'width', value: Math.round(opts.width) } : { mode: 'zoom', value: 2 },
    font,
    shapeRendering: 2,
    textRendering: 1,
  });
  return resvg.render().asPng();
}

export interface ChartFiles {
  svgPath: string;
  pngPath: string;
  /** The SVG markup that was written (for inlining into HTML). */
  svg: string;
}

/** Renders `spec` and writes `<dir>/<basename>.svg` and `<dir>/<basename>.png`, each atomically. */
export async function writeChart(dir: string, basename: string, spec: TopLevelSpec, opts: PngOptions = {}): Promise<ChartFiles> {
  const svg = await renderSvg(spec);
  const png = renderPng(svg, opts);
  const svgPath = join(dir, `${basename}.svg`);
  const pngPath = join(dir, `${basename}.png`);
  writeFileAtomic(svgPath, svg);
  writeFileAtomic(pngPath, png);
  return { svgPath, pngPath, svg };
}