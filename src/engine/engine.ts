/**
 * The default backend. Ops take their backend from their inputs; creation functions use this one.
 * `setBackend` replaces it and `withBackend` swaps it for one call (tests run the same code on the reference
 * backend); `initEngine` picks the native, WASM or reference backend at start-up.
 */
import type { Backend, BackendName } from './backend.js';
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
  /** Default: $CONVLAB_BACKEND, else native when its addon loads, else wasm. */
  backend?: BackendName;
  /** Threads for the native and WASM backends; default $CONVLAB_THREADS, else the core count. */
  threads?: number;
  /** Most bytes the WASM heap may grow to (default 4 GiB); see HeapOptions.maximumBytes. */
  maximumBytes?: number;
}

const BACKENDS: readonly BackendName[] = ['native', 'wasm', 'reference'];

type Env = Record<string, string | undefined>;

function processEnv(): Env {
  return (globalThis as { process?: { env: Env } }).process?.env ?? {};
}

/** The backend asked for (option, then CONVLAB_BACKEND), or undefined for the default choice. */
function wantedBackend(opts: InitOptions, env: Env): BackendName | undefined {
  if (opts.backend !== undefined) {
    if (!BACKENDS.includes(opts.backend)) throw new Error(`unknown backend '${opts.backend as string}'. Valid backends: ${BACKENDS.join(', ')}`);
    return opts.backend;
  }
  const fromEnv = env.CONVLAB_BACKEND?.trim();
  if (!fromEnv) return undefined;
  if (!BACKENDS.includes(fromEnv as BackendName)) throw new Error(`CONVLAB_BACKEND '${fromEnv}' is invalid: expected one of ${BACKENDS.join(', ')}`);
  return fromEnv as BackendName;
}

// Module paths in variables, so that tsc does not require the files at compile time.
const NATIVE_MODULE = './backends/native.js';
const NATIVE_ADDON_MODULE = './backends/native-addon.js';
const WASM_MODULE = './backends/wasm.js';

type NativeAddonModule = typeof import('./backends/native-addon.js');

/**
 * Makes the fastest available backend the default: native kernels when the addon was built (delegating what they
 * lack to WASM), else WASM SIMD on a worker pool, else (with a warning) the reference backend. A forced backend
 * that cannot start is an error, not a fallback.
 */
export async function initEngine(opts: InitOptions = {}): Promise<Backend> {
  const env = processEnv();
  const forced = wantedBackend(opts, env);
  if (forced === 'reference') return setBackend(new ReferenceBackend(new Heap({ shared: false })));
  // Checked here, not in the backend: a bad value must stop the run, not make it fall back to the slow backend.
  const envThreads = env.CONVLAB_THREADS?.trim();
  if (opts.threads === undefined && envThreads && !/^[1-9]\d*$/.test(envThreads)) {
    throw new Error(`CONVLAB_THREADS '${env.CONVLAB_THREADS}' is invalid: must be a whole number ≥ 1 (unset it for the core count)`);
  }
  let wanted: BackendName = forced ?? 'wasm';
  if (forced === undefined) {
    const { loadNativeAddon } = (await import(NATIVE_ADDON_MODULE)) as NativeAddonModule;
    const load = await loadNativeAddon();
    if (load.addon) wanted = 'native';
    // A missing addon was reported by npm install; one that is there but does not load is news.
    else if (!load.missing && !warnedNative) {
      warnedNative = true;
      console.warn(`convlab: native backend unavailable (${load.reason}); using WASM`);
    }
  }
  if (current?.name === wanted && (opts.threads === undefined || current.threads === opts.threads)) return current;
  if (wanted === 'native') {
    const { NativeBackend } = (await import(NATIVE_MODULE)) as typeof import('./backends/native.js');
    const backend = await NativeBackend.create(new Heap(), { threads: opts.threads });
    current?.dispose?.();
    return setBackend(backend);
  }
  try {
    const { WasmBackend } = (await import(WASM_MODULE)) as { WasmBackend: { create(heap: Heap, o: { threads?: number }): Promise<Backend> } };
    current?.dispose?.();
    return setBackend(await WasmBackend.create(new Heap({ maximumBytes: opts.maximumBytes }), { threads: opts.threads }));
  } catch (err) {
    console.warn(`convlab: WASM backend unavailable (${(err as Error).message.split('\n')[0]}); using the slow reference backend`);
    return setBackend(new ReferenceBackend(new Heap({ shared: false })));
  }
}

let warnedNative = false;

/**
 * What initEngine would pick, without starting it: "native avx512", "wasm wasm-simd128" or "reference typescript".
 * For `convlab --version`. Throws the same one-line errors as initEngine for bad settings.
 */
export async function describeEngine(opts: InitOptions = {}): Promise<{ backend: BackendName; isa: string }> {
  const env = processEnv();
  const forced = wantedBackend(opts, env);
  if (forced === 'reference') return { backend: 'reference', isa: 'typescript' };
  if (forced === 'wasm') return { backend: 'wasm', isa: 'wasm-simd128' };
  const { loadNativeAddon, chooseIsa } = (await import(NATIVE_ADDON_MODULE)) as NativeAddonModule;
  const load = await loadNativeAddon();
  if (!load.addon) {
    if (forced === 'native') throw new Error(`native backend unavailable: ${load.reason}`);
    return { backend: 'wasm', isa: 'wasm-simd128' };
  }
  return { backend: 'native', isa: chooseIsa(load.addon, env.CONVLAB_NATIVE_ISA?.trim(), 'CONVLAB_NATIVE_ISA').name };
}
