/** Messages between the playground page and its engine worker (structured-cloned). */

export interface InitRequest {
  type: 'init';
  /** Base URL of the bundled MNIST sample (the four .gz IDX files). */
  dataUrl: string;
  /** Threads including the worker's own; default the host's hardware concurrency. */
  threads?: number;
  /** Most MiB the WASM heap may grow to. */
  maximumMiB: number;
  lr: number;
  batchSize: number;
  seed: number;
}

export type PageRequest =
  | InitRequest
  | { type: 'run' }
  | { type: 'pause' }
  | { type: 'set'; lr?: number; batchSize?: number }
  | { type: 'predict'; id: number; pixels: Uint8Array }
  | { type: 'load'; name: string; bytes: ArrayBuffer }
  | { type: 'download' }
  /** Loss and gradients of the untrained model (seeded) on the first `batchSize` training images. */
  | { type: 'probe'; seed: number; batchSize: number };

export interface Ready {
  type: 'ready';
  backend: string;
  threads: number;
  /** Whether the heap is a shared memory (multi-threaded build) or a plain one (single-memory build). */
  shared: boolean;
  crossOriginIsolated: boolean;
  maximumMiB: number;
  trainSize: number;
  testSize: number;
  classes: string[];
  /** The test digit whose activations are shown, as 28×28 bytes, and its label. */
  digit: Uint8Array;
  digitLabel: number;
}

export interface Progress {
  type: 'progress';
  step: number;
  epoch: number;
  /** Images of the epoch done, and the epoch's size. */
  seen: number;
  epochSize: number;
  /** Mean loss and accuracy over the steps since the last progress message. */
  loss: number;
  accuracy: number;
  /** Images per second of training compute over the same steps (the figure Node's trainer reports). */
  imagesPerSecond: number;
  lr: number;
  batchSize: number;
}

export interface EpochEnd {
  type: 'epoch';
  epoch: number;
  step: number;
  testLoss: number;
  testAccuracy: number;
  macroRecall: number;
}

export interface Views {
  type: 'views';
  /** First conv layer's filters [out, in, k, k]. */
  filters: Float32Array;
  filterShape: number[];
  /** Activation maps of the test digit after each conv block, [channels, h, w]. */
  maps: { name: string; data: Float32Array; shape: number[] }[];
}

export type WorkerMessage =
  | Ready
  | Progress
  | EpochEnd
  | Views
  | { type: 'state'; running: boolean }
  | { type: 'prediction'; id: number; top: { label: string; probability: number }[] }
  | { type: 'loaded'; name: string }
  | { type: 'checkpoint'; bytes: Uint8Array }
  | { type: 'probe'; loss: number; grads: Record<string, Float32Array>; threads: number }
  /** `about` names the request that failed; the worker keeps serving. */
  | { type: 'error'; about: string; message: string };
