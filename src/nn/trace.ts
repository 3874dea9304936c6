/**
 * Observing a model's modules during one real forward pass, without changing model code: `traceModules` wraps
 * each module instance's `forward` (an own property over the prototype's method, removed afterwards), so that
 * every call — from Sequential, or from a model's `this.child.forward(x)` — is recorded with its input and
 * output shapes and the multiply-adds counted inside it (countMacs nests). An error thrown inside a forward is
 * rethrown as a LayerError naming the innermost module, which is how "input too small" errors name the layer.
 */
import * as E from '../engine/index.js';
import { SpatialSizeError, fmtShape, type Tensor } from '../engine/index.js';
import { DropoutLayer, Lambda } from './layers.js';
import type { Module } from './module.js';

export interface ModuleCall {
  /** Qualified module path as in the state dict ("features.3"); '' for the model itself. */
  name: string;
  /** The class name, or for a parameter-free Lambda its own name ("ReLU", "MaxPool2d"). */
  type: string;
  /** 0 for the model, 1 for its children, … */
  depth: number;
  /** The module has no children. */
  leaf: boolean;
  inputShape: number[];
  outputShape: number[];
  /** Parameters this module registered itself (children's not included), so that the calls' sum is the model's count. */
  params: number;
  /** Multiply-adds inside this call, children included. */
  macs: number;
  /** Multiply-adds of this call outside its traced children (the module's own ops and functional calls). */
  selfMacs: number;
}

/** An error raised inside a module's forward, naming the innermost module and the input it got. */
export class LayerError extends Error {
  override name = 'LayerError';
  constructor(readonly module: string, readonly type: string, readonly inputShape: number[], override readonly cause: Error) {
    super(`${layerLabel(module, type)} failed on input ${fmtShape(inputShape)}: ${cause.message}`);
  }

  /** A convolution or pooling in this module found no room for a single output row or column. */
  get inputTooSmall(): boolean {
    return this.cause instanceof SpatialSizeError;
  }
}

const shapeOf = (x: unknown): number[] => (x instanceof E.Tensor ? [...x.shape] : []);

/** "features.3 (MaxPool2d)", or the type alone for the model itself. */
export function layerLabel(name: string, type: string): string {
  return name === '' ? type : `${name} (${type})`;
}

export function moduleType(m: Module): string {
  if (m instanceof Lambda) return m.name.replace(/\(.*$/s, '');
  if (m instanceof DropoutLayer) return 'Dropout';
  return m.constructor.name;
}

/** Runs `fn` with every module of `model` traced; returns its result and the module calls in the order they began. */
export function traceModules<T>(model: Module, fn: () => T): { result: T; calls: ModuleCall[] } {
  const calls: ModuleCall[] = [];
  const stack: ModuleCall[] = [];
  const patched = new Map<Module, PropertyDescriptor | undefined>();
  for (const [name, m] of model.namedModules()) {
    if (patched.has(m)) continue; // a module registered twice is traced under its first name, as torch's named_modules does
    patched.set(m, Object.getOwnPropertyDescriptor(m, 'forward'));
    const original = m.forward;
    const type = moduleType(m), depth = name === '' ? 0 : name.split('.').length;
    const leaf = m.namedChildren().length === 0;
    const params = m.ownParameters().reduce((n, p) => n + p.size, 0);
    // Extra arguments pass through untouched: a module may take more than the input (a mask, a flag).
    m.forward = (x: Tensor, ...rest: unknown[]): Tensor => {
      const call: ModuleCall = { name, type, depth, leaf, inputShape: shapeOf(x), outputShape: [], params, macs: 0, selfMacs: 0 };
      calls.push(call);
      const parent = stack.at(-1);
      stack.push(call);
      let y: Tensor | undefined;
      try {
        call.macs = E.countMacs(() => { y = Reflect.apply(original, m, [x, ...rest]) as Tensor; });
      } catch (err) {
        if (err instanceof LayerError || !(err instanceof Error)) throw err;
        throw new LayerError(name, type, shapeOf(x), err);
      } finally {
        stack.pop();
      }
      call.outputShape = y instanceof E.Tensor ? [...y.shape] : [];
      call.selfMacs += call.macs;
      if (parent) parent.selfMacs -= call.macs;
      return y!;
    };
  }
  try {
    return { result: fn(), calls };
  } finally {
    for (const [m, own] of patched) {
      if (own) Object.defineProperty(m, 'forward', own);
      else delete (m as { forward?: unknown }).forward;
    }
  }
}

/** The input does not fit the model: a convolution or pooling's output would have no rows or columns. */
export class InputTooSmallError extends Error {
  override name = 'InputTooSmallError';
  constructor(readonly input: readonly number[], readonly layer: LayerError, what: string) {
    super(`input ${input.join('×')} is too small for ${what}: the spatial size reaches zero at ${layerLabel(layer.module, layer.type)}, whose input is ${layer.inputShape.join('×')}`);
  }
}

/**
 * One traced eval-mode forward of a zero image of `input` ([c, h, w]) at batch 1, without gradients: the calls and
 * total MACs. An input too small for the model throws InputTooSmallError naming the layer; other errors inside a
 * module come as LayerError. Each module's training flag is restored afterwards.
 */
export function probeForward(model: Module, input: readonly number[], what = moduleType(model)): { calls: ModuleCall[]; macs: number; outputShape: number[] } {
  const modes = [...model.namedModules()].map(([, m]) => [m, m.training] as const);
  model.eval();
  try {
    return E.noGrad(() => E.tidy(() => {
      let outputShape: number[] = [];
      let traced: ModuleCall[] = [];
      const macs = E.countMacs(() => {
        traced = traceModules(model, () => { outputShape = [...model.forward(E.zeros([1, ...input])).shape]; }).calls;
      });
      return { calls: traced, macs, outputShape };
    }));
  } catch (err) {
    if (err instanceof LayerError && err.inputTooSmall) throw new InputTooSmallError(input, err, what);
    throw err;
  } finally {
    for (const [m, training] of modes) m.training = training;
  }
}
