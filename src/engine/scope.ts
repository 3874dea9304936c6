/**
 * Scopes make memory management deterministic without sprinkling dispose() everywhere: every tensor created
 * inside `tidy(fn)` is disposed when fn returns, except the tensors it returns and those marked `keep()`.
 */
import type { Tensor } from './tensor.js';

interface Scope {
  tensors: Tensor[];
}

const scopes: Scope[] = [];

export function currentScope(): Scope | undefined {
  return scopes[scopes.length - 1];
}

export function trackTensor(t: Tensor): void {
  scopes[scopes.length - 1]?.tensors.push(t);
}

type Returned = Tensor | Tensor[] | Record<string, Tensor> | number | void | undefined | null | object;

export function tidy<T extends Returned>(fn: () => T): T {
  const scope = openScope();
  let result: T;
  try {
    result = fn();
  } catch (err) {
    closeScope(scope, undefined); // a throwing scope frees what it made, as a returning one does
    throw err;
  }
  return closeScope(scope, result);
}

export async function tidyAsync<T extends Returned>(fn: () => Promise<T>): Promise<T> {
  const scope = openScope();
  let result: T;
  try {
    result = await fn();
  } catch (err) {
    closeScope(scope, undefined);
    throw err;
  }
  return closeScope(scope, result);
}

function openScope(): Scope {
  const scope: Scope = { tensors: [] };
  scopes.push(scope);
  return scope;
}

/** Disposes the scope's tensors except the ones in `result`, which move to the enclosing scope. */
function closeScope<T>(scope: Scope, result: T): T {
  // Async scopes may close out of order, so remove this one wherever it is.
  scopes.splice(scopes.lastIndexOf(scope), 1);
  const survivors = new Set<Tensor>();
  collectTensors(result, survivors);
  const parent = currentScope();
  for (const t of scope.tensors) {
    if (survivors.has(t)) parent?.tensors.push(t);
    else if (!t.kept) t.dispose();
  }
  return result;
}

function collectTensors(value: unknown, out: Set<Tensor>): void {
  if (value === null || typeof value !== 'object') return;
  if (isTensor(value)) out.add(value);
  else if (Array.isArray(value)) for (const v of value) collectTensors(v, out);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collectTensors(v, out);
}

function isTensor(v: object): v is Tensor {
  return 'storage' in v && 'shape' in v && 'dispose' in v;
}
