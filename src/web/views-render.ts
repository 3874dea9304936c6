/** Draws the worker's views (filters, activation maps, the test digit) as small grey-scale canvases. */
import type { Views } from './protocol.js';

/** One h×w plane as a canvas scaled by `zoom`, min→black and max→white (a flat plane is mid grey). */
export function planeCanvas(data: ArrayLike<number>, offset: number, h: number, w: number, zoom: number, title = ''): HTMLCanvasElement {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < h * w; i++) { const v = data[offset + i]!; if (v < lo) lo = v; if (v > hi) hi = v; }
  const span = hi - lo;
  const small = new ImageData(w, h);
  for (let i = 0; i < h * w; i++) {
    const v = span > 0 ? Math.round((255 * (data[offset + i]! - lo)) / span) : 128;
    small.data[4 * i] = small.data[4 * i + 1] = small.data[4 * i + 2] = v;
    small.data[4 * i + 3] = 255;
  }
  const canvas = document.createElement('canvas');
  canvas.width = w * zoom; canvas.height = h * zoom;
  canvas.title = title;
  const ctx = canvas.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  const tmp = document.createElement('canvas');
  tmp.width = w; tmp.height = h;
  tmp.getContext('2d')!.putImageData(small, 0, 0);
  ctx.drawImage(tmp, 0, 0, w * zoom, h * zoom);
  return canvas;
}

export function renderViews(views: Views, filtersBox: HTMLElement, mapsBox: HTMLElement): void {
  const [out, inC, kh, kw] = views.filterShape as [number, number, number, number];
  filtersBox.replaceChildren(...Array.from({ length: out * inC }, (_, i) => planeCanvas(views.filters, i * kh * kw, kh, kw, 8, `filter ${i}`)));
  mapsBox.replaceChildren(...views.maps.map((m) => {
    const [c, h, w] = m.shape as [number, number, number];
    const row = document.createElement('div');
    row.className = 'map-row';
    const label = document.createElement('span');
    label.textContent = m.name;
    row.append(label, ...Array.from({ length: c }, (_, i) => planeCanvas(m.data, i * h * w, h, w, h > 20 ? 2 : 4, `${m.name} map ${i}`)));
    return row;
  }));
}
