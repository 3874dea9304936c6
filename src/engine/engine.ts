/**
 * The default backend. Ops take their backend from their inputs; creation functions use this one.
 * `setBackend` replaces it and `withBackend` swaps it for one call (tests run the same code on the reference
 * backend); `initEngine` picks WASM or the reference backend at start-up.
 */
import type { Backend } from './backend.js';
import { Heap } from './heap.js';
import { ReferenceBackend } from './backends/reference.js';

let current: Backend | null = null;

export function getBackend(): Backend {
  if (!current) current = new ReferenceBackend(new Heap({ shared: false }));
  return current;
}

export function setBackend(backend: Backend): Backend {
  current = backend;
  return backend;
}

/** Runs fn with `backend` as the default, restoring the previous one afterwards. */
export function withBackend<T>(backend: Backend, fn: () => T): T {
  const previous = current;
  current = backend;
  try {
    return fn();
  } finally {
    current = previous;
  }
}

/** Live heap allocations of the default backend: the leak tests assert this does not grow across steps. */
export function liveBuffers(): number {
  return getBackend().heap.liveBuffers;
}

export interface InitOptions {
  backend?: 'wasm' | 'reference';
  /** Worker threads for the WASM backend; default $CONVLAB_THREADS, else the core count. */
  threads?: number;
  /** Most bytes the WASM heap may grow to (default 4 GiB); see HeapOptions.maximumBytes. */
  maximumBytes?: number;
}

/**
 * Makes the fastest available backend the default: WASM SIMD on a worker pool, or the reference backend
 * when asked for (or when the WASM build is missing, with a warning on stderr).
 */
export async function initEngine(opts: InitOptions = {}): Promise<Backend> {
  const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
  const wanted = opts.backend ?? (env.CONVLAB_BACKEND as InitOptions['backend']) ?? 'wasm';
  if (wanted === 'reference') return setBackend(new ReferenceBackend(new Heap({ shared: false })));
  if (wanted !== 'wasm') throw new Error(`unknown backend '${wanted as string}'. Valid backends: wasm, reference`);
  // Checked here, not in the backend: a bad value must stop the run, not make it fall back to the slow backend.
  const envThreads = env.CONVLAB_THREADS?.trim();
  if (opts.threads === undefined && envThreads && !/^[1-9]\d*$/.test(envThreads)) {
    throw new Error(`CONVLAB_THREADS '${env.CONVLAB_THREADS}' is invalid: must be a whole number ≥ 1 (unset it for the core count)`);
  }
  if (current?.name === 'wasm' && (opts.threads === undefined || current.threads === opts.threads)) return current;
  const modulePath = './backends/wasm.js'; // a variable, so that tsc does not require the file at compile time
  try {
    const { WasmBackend } = (await import(modulePath)) as { WasmBackend: { create(heap: Heap, o: { threads?: number }): Promise<Backend> } };
    current?.dispose?.();
    return setBackend(await WasmBackend.create(new Heap({ maximumBytes: opts.maximumBytes }), { threads: opts.threads }));
  } catch (err) {
    console.warn(`convlab: WASM backend unavailable (${(err as Error).message.split('\n')[0]}); using the slow reference backend`);
    return setBackend(new ReferenceBackend(new Heap({ shared: false })));
  }
}
