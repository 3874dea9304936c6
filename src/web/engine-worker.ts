/**
 * The playground's engine worker: a dedicated Worker that holds the WASM backend (starting its own kernel workers
 * and waiting for them before any Atomics.wait) and trains LeNet-5 on the MNIST sample, a few steps per task, so
 * that the page's messages (pause, learning rate, batch size, predict) are served between steps. The page's main
 * thread never runs the engine.
 */
import * as E from '../engine/index.js';
import { decodeCheckpoint } from '../train/checkpoint-format.js';
import { TrainingSession } from '../train/session.js';
import { loadMnistSample } from './mnist-sample.js';
import { lenetViews } from './lenet-views.js';
import type { PageRequest, WorkerMessage } from './protocol.js';

interface WorkerScope {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent) => void) | null;
  crossOriginIsolated?: boolean;
}

const scope = globalThis as unknown as WorkerScope;
const post = (m: WorkerMessage, transfer: Transferable[] = []): void => scope.postMessage(m, transfer);

/** Training runs in slices of about this long; the page's messages wait at most one slice. */
const SLICE_MS = 40;
const PROGRESS_MS = 200;
const VIEWS_MS = 500;
/** The test digit whose activations are drawn: the sample's first test image (a 2). */
const DIGIT_INDEX = 0;

let session: TrainingSession | null = null;
let running = false;
let digit: Float32Array | null = null;

/** Sums over the steps since the last progress message. */
const recent = { loss: 0, correct: 0, images: 0, seconds: 0 };
let lastProgress = 0, lastViews = 0;

/** Yields to the worker's event loop without setTimeout's clamping (a message to ourselves is a fresh task). */
const channel = new MessageChannel();
let wake: (() => void) | null = null;
channel.port1.onmessage = () => { const w = wake; wake = null; w?.(); };
const nextTask = (): Promise<void> => new Promise((resolve) => { wake = resolve; channel.port2.postMessage(0); });

async function init(req: Extract<PageRequest, { type: 'init' }>): Promise<void> {
  E.setKernelsLocation(new URL('./', import.meta.url));
  const heap = new E.Heap({ maximumBytes: req.maximumMiB * 2 ** 20 });
  const threads = heap.shared ? req.threads : 1;
  const [backend, { train, test }] = await Promise.all([E.WasmBackend.create(heap, { threads }), loadMnistSample(new URL(req.dataUrl))]);
  E.setBackend(backend);
  session = new TrainingSession({ model: 'lenet5', train, test, lr: req.lr, batchSize: req.batchSize, seed: req.seed });
  const pixels = test.images.slice(DIGIT_INDEX * 784, (DIGIT_INDEX + 1) * 784);
  digit = session.normalise(pixels);
  post({
    type: 'ready', backend: backend.name, threads: backend.threads, shared: heap.shared,
    crossOriginIsolated: scope.crossOriginIsolated === true, maximumMiB: heap.maximumBytes / 2 ** 20,
    trainSize: train.length, testSize: test.length, classes: train.classes, digit: pixels, digitLabel: test.labels[DIGIT_INDEX]!,
  });
  postViews();
}

function postViews(): void {
  if (!session || !digit) return;
  const views = lenetViews(session.model, digit);
  if (views) post(views, [views.filters.buffer, ...views.maps.map((m) => m.data.buffer)]);
  lastViews = performance.now();
}

function postProgress(s: TrainingSession, epoch: number, seen: number, epochSize: number): void {
  if (recent.images === 0) return;
  post({
    type: 'progress', step: s.steps, epoch, seen, epochSize, loss: recent.loss / recent.images, accuracy: recent.correct / recent.images,
    imagesPerSecond: recent.images / recent.seconds, lr: s.lr, batchSize: s.batchSize,
  });
  Object.assign(recent, { loss: 0, correct: 0, images: 0, seconds: 0 });
  lastProgress = performance.now();
}

async function trainLoop(): Promise<void> {
  while (running && session) {
    const s = session;
    const sliceStart = performance.now();
    try {
      do {
        const r = s.step();
        recent.loss += r.loss * r.size; recent.correct += r.correct; recent.images += r.size; recent.seconds += r.seconds;
        if (r.seen === r.epochSize) {
          postProgress(s, r.epoch, r.seen, r.epochSize);
          const ev = s.evaluate();
          post({ type: 'epoch', epoch: r.epoch, step: s.steps, testLoss: ev.loss, testAccuracy: ev.report.accuracy, macroRecall: ev.report.macroAvg.recall });
        }
        const now = performance.now();
        if (now - lastProgress >= PROGRESS_MS) postProgress(s, r.epoch, r.seen, r.epochSize);
        if (now - lastViews >= VIEWS_MS) postViews();
      } while (running && performance.now() - sliceStart < SLICE_MS);
    } catch (e) {
      running = false;
      post({ type: 'state', running });
      post({ type: 'error', about: 'training', message: (e as Error).message });
    }
    await nextTask();
  }
}

function handle(req: PageRequest): void | Promise<void> {
  if (req.type === 'init') return init(req);
  if (req.type === 'probe') return probe(req.seed, req.batchSize);
  if (!session) throw new Error('the engine is still starting');
  const s = session;
  switch (req.type) {
    case 'run':
      if (!running) { running = true; post({ type: 'state', running }); void trainLoop(); }
      return;
    case 'pause':
      running = false;
      post({ type: 'state', running });
      return;
    case 'set':
      if (req.lr !== undefined) s.lr = req.lr;
      if (req.batchSize !== undefined) s.batchSize = req.batchSize;
      return;
    case 'predict': {
      const p = s.predict(req.pixels);
      const top = Array.from(p, (probability, i) => ({ label: s.train.classes[i]!, probability }))
        .sort((a, b) => b.probability - a.probability).slice(0, 5);
      post({ type: 'prediction', id: req.id, top });
      return;
    }
    case 'load':
      s.load(decodeCheckpoint(new Uint8Array(req.bytes), req.name));
      post({ type: 'loaded', name: req.name });
      postViews();
      return;
    case 'download': {
      const bytes = s.checkpoint('playground.safetensors');
      post({ type: 'checkpoint', bytes }, [bytes.buffer]);
      return;
    }
  }
}

/** The probe's own backend: the same kernels on one thread, beside the page's training backend. */
let probeBackend: Promise<E.Backend> | null = null;

/** The gradient probe: a fresh seeded model's loss and gradients on the first training images, on one thread. */
async function probe(seed: number, batchSize: number): Promise<void> {
  if (!session) throw new Error('the engine is still starting');
  const s = session;
  probeBackend ??= E.WasmBackend.create(new E.Heap({ maximumBytes: 64 * 2 ** 20 }), { threads: 1 });
  const backend = await probeBackend;
  const { loss, grads } = E.withBackend(backend, () => {
    const p = new TrainingSession({ model: 'lenet5', train: s.train, test: s.test, lr: 0.01, batchSize, seed });
    try {
      return p.gradients(Int32Array.from({ length: batchSize }, (_, i) => i));
    } finally {
      p.optimizer.dispose();
      p.model.dispose();
    }
  });
  post({ type: 'probe', loss, grads: Object.fromEntries(grads), threads: backend.threads });
}

scope.onmessage = (e: MessageEvent) => {
  const req = e.data as PageRequest;
  Promise.resolve().then(() => handle(req)).catch((err: unknown) => {
    post({ type: 'error', about: req.type, message: err instanceof Error ? err.message : String(err) });
  });
};
