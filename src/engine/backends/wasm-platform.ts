/**
 * Everything the WASM backend needs from its host, in one place: reading the kernel binary, the default thread
 * count and starting a worker. Node uses node:fs, node:os and worker_threads (imported lazily, so a browser bundle
 * never loads them); a browser uses fetch(), navigator.hardwareConcurrency and `new Worker(url, { type: 'module' })`.
 * In a browser the backend must run inside a dedicated Worker: the pool's Atomics.wait is not allowed on a page's
 * main thread.
 */

/** The host's view of a started worker: enough to wait for it to come up and to stop it. */
export interface WorkerHandle {
  /** Resolves once the worker has instantiated the module; rejects if it fails to start. */
  ready: Promise<void>;
  terminate(): Promise<unknown> | void;
}

export interface Platform {
  readBinary(url: URL): Promise<Uint8Array<ArrayBuffer>>;
  defaultThreads(): number;
  /** Starts the worker script at `url` with `data` (structured-cloned, may hold a Module and a shared Memory). */
  startWorker(url: URL, data: unknown): Promise<WorkerHandle>;
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

async function nodePlatform(): Promise<Platform> {
  const [{ readFile }, os, { Worker }] = await Promise.all([
    import('node:fs/promises'), import('node:os'), import('node:worker_threads'),
  ]);
  return {
    async readBinary(url) {
      return new Uint8Array(await readFile(url));
    },
    defaultThreads() {
      return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
    },
    async startWorker(url, data) {
      const worker = new Worker(url, { workerData: data });
      const ready = new Promise<void>((resolve, reject) => {
        worker.once('message', (m: unknown) => (m === 'ready' ? resolve() : reject(new Error(String(m)))));
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`wasm worker exited with code ${code} before it was ready`)));
      });
      // Idle workers must not keep the process alive; until they are up, the pending start must.
      void ready.then(() => worker.unref(), () => worker.unref());
      return { ready, terminate: () => worker.terminate() };
    },
  };
}

function browserPlatform(): Platform {
  return {
    async readBinary(url) {
      const response = await fetch(url);
      if (!response.ok) throw new Error(`${url.href}: HTTP ${response.status} ${response.statusText}`);
      return new Uint8Array(await response.arrayBuffer());
    },
    defaultThreads() {
      return (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
    },
    async startWorker(url, data) {
      const worker = new Worker(url, { type: 'module' });
      const ready = new Promise<void>((resolve, reject) => {
        worker.onmessage = (e: MessageEvent) => (e.data === 'ready' ? resolve() : reject(new Error(String(e.data))));
        worker.onerror = (e: ErrorEvent) => { e.preventDefault(); reject(new Error(`wasm worker failed to start: ${e.message || url.href}`)); };
      });
      // The module and the shared memory are structured-cloned (needs cross-origin isolation for the memory).
      worker.postMessage(data);
      return { ready, terminate: () => worker.terminate() };
    },
  };
}

let cached: Promise<Platform> | null = null;

export function platform(): Promise<Platform> {
  cached ??= isNode ? nodePlatform() : Promise.resolve(browserPlatform());
  return cached;
}

/** Thread count from CONVLAB_THREADS, else the host's available parallelism. */
export function threadsFromEnv(p: Platform): number {
  const env = isNode ? process.env.CONVLAB_THREADS : undefined;
  const n = env !== undefined && env !== '' ? Number.parseInt(env, 10) : NaN;
  return Number.isFinite(n) && n >= 1 ? n : Math.max(1, p.defaultThreads());
}

const moduleCache = new Map<string, Promise<WebAssembly.Module>>();

/** Where kernels.wasm and kernels-single.wasm are; null: build/ in the package root. */
let kernelsBase: URL | null = null;

/** Makes compileKernels read the binaries from `base` (a bundle ships them beside itself, not in build/). */
export function setKernelsLocation(base: URL): void {
  kernelsBase = base;
}

/** build/kernels.wasm (shared memory) or build/kernels-single.wasm, relative to the package root. */
export function compileKernels(shared: boolean): Promise<WebAssembly.Module> {
  const file = shared ? 'kernels.wasm' : 'kernels-single.wasm';
  // This file is dist/src/engine/backends/wasm-platform.js: the package root is four levels up.
  const url = kernelsBase ? new URL(file, kernelsBase) : new URL(`../../../../build/${file}`, import.meta.url);
  let p = moduleCache.get(url.href);
  if (!p) {
    p = platform().then(async (pl) => WebAssembly.compile(await pl.readBinary(url)));
    moduleCache.set(url.href, p);
    p.catch(() => moduleCache.delete(url.href));
  }
  return p;
}
