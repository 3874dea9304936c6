/**
 * A canvas to draw a digit on, read back the way MNIST was made: the ink's bounding box scaled into a 20×20 box,
 * centred by its centre of mass in a 28×28 image, white on black.
 */
export class DrawPad {
  private drawing = false;
  private readonly ctx: CanvasRenderingContext2D;
  /** Called after each stroke and after an image is placed. */
  onChange: () => void = () => {};

  constructor(readonly canvas: HTMLCanvasElement) {
    this.ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    this.clear();
    canvas.addEventListener('pointerdown', (e) => { this.drawing = true; canvas.setPointerCapture(e.pointerId); this.stroke(e, true); });
    canvas.addEventListener('pointermove', (e) => { if (this.drawing) this.stroke(e, false); });
    const end = (): void => { if (this.drawing) { this.drawing = false; this.onChange(); } };
    canvas.addEventListener('pointerup', end);
    canvas.addEventListener('pointercancel', end);
  }

  clear(): void {
    this.ctx.fillStyle = '#000';
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
  }

  private stroke(e: PointerEvent, start: boolean): void {
    const r = this.canvas.getBoundingClientRect();
    const x = ((e.clientX - r.left) * this.canvas.width) / r.width, y = ((e.clientY - r.top) * this.canvas.height) / r.height;
    const ctx = this.ctx;
    ctx.strokeStyle = '#fff'; ctx.fillStyle = '#fff';
    ctx.lineWidth = this.canvas.width / 12; ctx.lineCap = 'round'; ctx.lineJoin = 'round';
    if (start) { ctx.beginPath(); ctx.moveTo(x, y); ctx.arc(x, y, ctx.lineWidth / 2, 0, 2 * Math.PI); ctx.fill(); ctx.beginPath(); ctx.moveTo(x, y); return; }
    ctx.lineTo(x, y); ctx.stroke(); ctx.beginPath(); ctx.moveTo(x, y);
  }

  /** Draws an image (a dropped file) onto the pad, inverted when it is dark ink on a light background. */
  place(image: ImageBitmap): void {
    this.clear();
    const { width, height } = this.canvas, scale = Math.min(width / image.width, height / image.height);
    this.ctx.drawImage(image, (width - image.width * scale) / 2, (height - image.height * scale) / 2, image.width * scale, image.height * scale);
    const data = this.ctx.getImageData(0, 0, width, height);
    const px = data.data;
    let sum = 0;
    for (let i = 0; i < px.length; i += 4) sum += px[i]!;
    const invert = sum / (px.length / 4) > 127;
    for (let i = 0; i < px.length; i += 4) {
      const v = (px[i]! + px[i + 1]! + px[i + 2]!) / 3;
      px[i] = px[i + 1] = px[i + 2] = invert ? 255 - v : v;
      px[i + 3] = 255;
    }
    this.ctx.putImageData(data, 0, 0);
    this.onChange();
  }

  /** The drawing as 28×28 bytes (0 = background), or null when nothing is drawn. */
  read(): Uint8Array | null {
    const { width, height } = this.canvas;
    const px = this.ctx.getImageData(0, 0, width, height).data;
    let x0 = width, y0 = height, x1 = -1, y1 = -1;
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
      if (px[(y * width + x) * 4]! > 32) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
    }
    if (x1 < 0) return null;
    const w = x1 - x0 + 1, h = y1 - y0 + 1, scale = 20 / Math.max(w, h);
    const small = document.createElement('canvas');
    small.width = small.height = 28;
    const sctx = small.getContext('2d', { willReadFrequently: true })!;
    sctx.fillStyle = '#000'; sctx.fillRect(0, 0, 28, 28);
    sctx.imageSmoothingQuality = 'high';
    sctx.drawImage(this.canvas, x0, y0, w, h, 14 - (w * scale) / 2, 14 - (h * scale) / 2, w * scale, h * scale);
    const small1 = sctx.getImageData(0, 0, 28, 28).data;
    const gray = new Uint8Array(784);
    let mass = 0, mx = 0, my = 0;
    for (let i = 0; i < 784; i++) { const v = small1[i * 4]!; gray[i] = v; mass += v; mx += v * (i % 28); my += v * Math.floor(i / 28); }
    // Shift so that the centre of mass sits at the centre, as MNIST's preprocessing did.
    const dx = Math.round(13.5 - mx / mass), dy = Math.round(13.5 - my / mass);
    const out = new Uint8Array(784);
    for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) {
      const sx = x - dx, sy = y - dy;
      if (sx >= 0 && sx < 28 && sy >= 0 && sy < 28) out[y * 28 + x] = gray[sy * 28 + sx]!;
    }
    return out;
  }
}
