/**
 * The default backend. Ops take their backend from their inputs; creation functions use this one.
 * `useBackend` swaps it (tests run the same code on the reference backend).
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
