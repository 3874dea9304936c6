/**
 * The playground page: LeNet-5 trained on the bundled MNIST sample in an engine worker, with live curves,
 * pause/resume, learning rate and batch size changed while it runs, filters and activation maps, a digit pad with
 * top-5 predictions, checkpoint load (file, drop or the bundled one) and download. Query parameters: threads,
 * memory (MiB, default 128), lr, batch.
 */
import { DrawPad } from './draw-pad.js';
import type { CurvePoint } from './live-curves.js';
import type { PageRequest, Progress, Ready, WorkerMessage } from './protocol.js';
import { planeCanvas, renderViews } from './views-render.js';

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`playground: the page has no #${id}`);
  return el as T;
};

const params = new URLSearchParams(location.search);
const numberParam = (name: string, fallback: number): number => {
  const v = params.get(name);
  return v !== null && v !== '' && Number.isFinite(Number(v)) ? Number(v) : fallback;
};

/** What the browser tests and the speed comparison read: the latest figures and every message's payload. */
export interface PlaygroundState {
  ready: Ready | null;
  progress: Progress[];
  epochs: Extract<WorkerMessage, { type: 'epoch' }>[];
  errors: string[];
  predictions: Extract<WorkerMessage, { type: 'prediction' }>[];
  /** Asks the worker for the gradient probe (see TrainingSession.gradients). */
  probe(seed: number, batchSize: number): Promise<Extract<WorkerMessage, { type: 'probe' }>>;
}

const state: PlaygroundState = {
  ready: null, progress: [], epochs: [], errors: [], predictions: [],
  probe: (seed, batchSize) => new Promise((resolve) => { probeWaiters.push(resolve); send({ type: 'probe', seed, batchSize }); }),
};
const probeWaiters: ((m: Extract<WorkerMessage, { type: 'probe' }>) => void)[] = [];
(globalThis as unknown as { convlab: PlaygroundState }).convlab = state;

const worker = new Worker(new URL('./engine-worker.js', import.meta.url), { type: 'module' });
const send = (req: PageRequest, transfer: Transferable[] = []): void => worker.postMessage(req, transfer);

const message = (text: string, kind: 'info' | 'error' = 'info'): void => {
  const el = $('message');
  el.textContent = text;
  el.className = kind;
  if (kind === 'error') state.errors.push(text);
};

const pad = new DrawPad($<HTMLCanvasElement>('pad'));
let predictionId = 0, running = false;

function predict(): void {
  const pixels = pad.read();
  if (!pixels || !state.ready) { $('predictions').replaceChildren(); return; }
  $('pad-input').replaceChildren(planeCanvas(pixels, 0, 28, 28, 2, 'what the model sees'));
  send({ type: 'predict', id: ++predictionId, pixels }, [pixels.buffer]);
}
pad.onChange = predict;

function showPrediction(m: Extract<WorkerMessage, { type: 'prediction' }>): void {
  state.predictions.push(m);
  $('predictions').replaceChildren(...m.top.map((t, rank) => {
    const li = document.createElement('li');
    li.dataset.label = t.label;
    li.innerHTML = `<span class="label">${t.label}</span><span class="bar" style="width:${(100 * t.probability).toFixed(1)}%"></span><span class="p">${(100 * t.probability).toFixed(1)} %</span>`;
    if (rank === 0) li.className = 'top';
    return li;
  }));
}

// Vega is most of the page's code: loaded after first paint, so the page shows (and the engine starts) without it.
const curvesPromise = import('./live-curves.js').then((m) => m.liveCurves($('curves')));

function onReady(r: Ready): void {
  state.ready = r;
  const engine = r.shared
    ? `WebAssembly SIMD on ${r.threads} thread${r.threads === 1 ? '' : 's'} sharing one memory (max ${r.maximumMiB} MiB)`
    : `WebAssembly SIMD on 1 thread, single-memory build (max ${r.maximumMiB} MiB)`;
  $('engine').textContent = r.crossOriginIsolated ? engine : `${engine}. The page is not cross-origin isolated (no COOP/COEP headers), so shared memory and threads are off; serve it with \`convlab ui\` for threads.`;
  $('engine').dataset.threads = String(r.threads);
  $('dataset').textContent = `${r.trainSize.toLocaleString('en')} training and ${r.testSize.toLocaleString('en')} test images`;
  $('digit').replaceChildren(planeCanvas(r.digit, 0, 28, 28, 3, `test digit (a ${r.digitLabel})`));
  for (const id of ['run', 'download', 'load-bundled']) $<HTMLButtonElement>(id).disabled = false;
  document.body.dataset.state = 'ready';
}

function onProgress(p: Progress): void {
  state.progress.push(p);
  $('step').textContent = String(p.step);
  $('epoch').textContent = `${p.epoch} (${Math.round((100 * p.seen) / p.epochSize)} %)`;
  $('loss').textContent = p.loss.toFixed(4);
  $('accuracy').textContent = `${(100 * p.accuracy).toFixed(1)} %`;
  $('speed').textContent = `${Math.round(p.imagesPerSecond)} images/s`;
  $('speed').dataset.imagesPerSecond = String(p.imagesPerSecond);
  void curvesPromise.then((c) => c.add([
    { step: p.step, metric: 'loss', series: 'train', value: p.loss },
    { step: p.step, metric: 'accuracy', series: 'train', value: p.accuracy },
  ]));
}

worker.onmessage = (e: MessageEvent) => {
  const m = e.data as WorkerMessage;
  switch (m.type) {
    case 'ready': onReady(m); break;
    case 'progress': onProgress(m); break;
    case 'epoch': {
      state.epochs.push(m);
      $('test-accuracy').textContent = `${(100 * m.testAccuracy).toFixed(2)} % (macro recall ${(100 * m.macroRecall).toFixed(2)} %) after epoch ${m.epoch}`;
      const points: CurvePoint[] = [{ step: m.step, metric: 'loss', series: 'test', value: m.testLoss }, { step: m.step, metric: 'accuracy', series: 'test', value: m.testAccuracy }];
      void curvesPromise.then((c) => c.add(points));
      break;
    }
    case 'views': renderViews(m, $('filters'), $('maps')); if (pad.read()) predict(); break;
    case 'state':
      running = m.running;
      $('run').textContent = running ? 'Pause' : 'Train';
      document.body.dataset.running = String(running);
      break;
    case 'prediction': if (m.id === predictionId) showPrediction(m); break;
    case 'loaded': message(`loaded ${m.name}`); predict(); break;
    case 'checkpoint': {
      const url = URL.createObjectURL(new Blob([m.bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
      const a = Object.assign(document.createElement('a'), { href: url, download: 'lenet5-playground.safetensors' });
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      message('checkpoint downloaded: lenet5-playground.safetensors (convlab predict / eval read it)');
      break;
    }
    case 'probe': probeWaiters.shift()?.(m); break;
    case 'error': message(m.about === 'init' ? `the engine did not start: ${m.message}` : m.message, 'error'); break;
  }
};
worker.onerror = (e) => message(`the engine worker failed: ${e.message}`, 'error');

$('run').addEventListener('click', () => send({ type: running ? 'pause' : 'run' }));
$('clear').addEventListener('click', () => { pad.clear(); message(''); predict(); });
$('download').addEventListener('click', () => send({ type: 'download' }));

function setting(id: string, key: 'lr' | 'batchSize', parse: (s: string) => number): void {
  $<HTMLInputElement>(id).addEventListener('change', (e) => {
    const value = parse((e.target as HTMLInputElement).value);
    send({ type: 'set', [key]: value });
  });
}
setting('lr', 'lr', Number);
setting('batch', 'batchSize', (s) => Number.parseInt(s, 10));

async function loadFile(file: File): Promise<void> {
  if (file.name.endsWith('.safetensors')) {
    const bytes = await file.arrayBuffer();
    send({ type: 'load', name: file.name, bytes }, [bytes]);
    return;
  }
  if (!file.type.startsWith('image/')) {
    message(`${file.name}: neither an image nor a .safetensors checkpoint; drop a digit image or a LeNet-5 checkpoint`, 'error');
    return;
  }
  try {
    pad.place(await createImageBitmap(file));
  } catch {
    message(`${file.name}: not a readable image`, 'error');
  }
}

$<HTMLInputElement>('load-file').addEventListener('change', (e) => {
  const file = (e.target as HTMLInputElement).files?.[0];
  if (file) void loadFile(file);
});
$('load-bundled').addEventListener('click', async () => {
  const response = await fetch(new URL('./lenet5-mnist-sample.safetensors', location.href));
  if (!response.ok) { message(`the bundled checkpoint: HTTP ${response.status}`, 'error'); return; }
  const bytes = await response.arrayBuffer();
  send({ type: 'load', name: 'lenet5-mnist-sample.safetensors', bytes }, [bytes]);
});
document.addEventListener('dragover', (e) => e.preventDefault());
document.addEventListener('drop', (e) => {
  e.preventDefault();
  const file = e.dataTransfer?.files[0];
  if (file) void loadFile(file);
});

const lr = numberParam('lr', 0.02), batch = numberParam('batch', 64);
$<HTMLInputElement>('lr').value = String(lr);
$<HTMLInputElement>('batch').value = String(batch);
send({
  type: 'init', dataUrl: new URL('./mnist-sample/', location.href).href, lr, batchSize: batch, seed: numberParam('seed', 0),
  threads: params.has('threads') ? numberParam('threads', 1) : undefined, maximumMiB: numberParam('memory', 128),
});
