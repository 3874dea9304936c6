/**
 * Modules in PyTorch's shape: parameters, buffers and children registered by name in order, so that
 * `namedParameters()` and `stateDict()` list them exactly as torch's state_dict would.
 */
import { Tensor, empty, fmtShape, getBackend, zeroGrad, type DType, type Shape } from '../engine/index.js';

/** An extra output of a training-mode forward pass whose loss is added to the main loss, weighted. */
export interface AuxiliaryOutput {
  logits: Tensor;
  weight: number;
}

/** One tensor of a weights file on its way into a module: its values and shape, before any check. */
export interface StateEntry {
  data: Float32Array | Int32Array;
  shape: number[];
}

export abstract class Module {
  training = true;
  private readonly params = new Map<string, Tensor>();
  private readonly buffers = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();

  abstract forward(x: Tensor): Tensor;

  /**
   * The auxiliary outputs of the last forward pass, for the trainer to add `weight × loss(logits, target)`
   * (GoogLeNet's auxiliary classifiers, weighted 0.3). None by default and in eval mode; the tensors belong to
   * the scope of that forward pass.
   */
  auxiliaryOutputs(): AuxiliaryOutput[] {
    return [];
  }

  /**
   * Optional: adapts a weights file's entries to this module before names and shapes are checked (e.g. ViT
   * interpolates a position embedding learned at another image size). `prefix` is this module's qualified name
   * with a trailing dot ('' for the root); entries are keyed by full qualified names.
   */
  adaptStateDict?(entries: Map<string, StateEntry>, prefix: string): void;

  /** Registers a trainable parameter: kept across scopes and marked as requiring a gradient. */
  protected param(name: string, shape: Shape): Tensor {
    const t = empty(getBackend(), shape).keep();
    t.requiresGrad = true;
    this.params.set(name, t);
    return t;
  }

  /**
   * Registers persistent state that is not trained (BatchNorm's running statistics). Integer buffers (BatchNorm's
   * `num_batches_tracked`) are int32 here and saved as int64, as torch stores them.
   */
  protected buffer(name: string, shape: Shape, value: number, dtype: DType = 'float32'): Tensor {
    const t = empty(getBackend(), shape, dtype).keep().fill(value);
    this.buffers.set(name, t);
    return t;
  }

  protected child<M extends Module>(name: string, module: M): M {
    this.children.set(name, module);
    return module;
  }

  namedChildren(): [string, Module][] {
    return [...this.children];
  }

  /** This module and every descendant, pre-order, by qualified name ('' for this one), like torch's named_modules. */
  *namedModules(prefix = ''): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [name, m] of this.children) yield* m.namedModules(prefix ? `${prefix}.${name}` : name);
  }

  /** Parameters registered by this module itself, not by its children. */
  ownParameters(): Tensor[] {
    return [...this.params.values()];
  }

  *namedParameters(prefix = ''): Generator<[string, Tensor]> {
    for (const [name, t] of this.params) yield [prefix + name, t];
    for (const [name, m] of this.children) yield* m.namedParameters(`${prefix}${name}.`);
  }

  parameters(): Tensor[] {
    return [...this.namedParameters()].map(([, t]) => t);
  }

  /** Parameters and buffers by qualified name, in registration order (torch's state_dict order). */
  *namedState(prefix = ''): Generator<[string, Tensor]> {
    for (const [name, t] of this.params) yield [prefix + name, t];
    for (const [name, t] of this.buffers) yield [prefix + name, t];
    for (const [name, m] of this.children) yield* m.namedState(`${prefix}${name}.`);
  }

  stateDict(): Map<string, Tensor> {
    return new Map(this.namedState());
  }

  /** Copies values into this module's tensors. Names and shapes must match exactly. */
  loadStateDict(values: Map<string, ArrayLike<number>> | Record<string, ArrayLike<number>>, shapes?: Map<string, Shape>): void {
    const entries = values instanceof Map ? values : new Map(Object.entries(values));
    const own = this.stateDict();
    const missing = [...own.keys()].filter((k) => !entries.has(k));
    const unexpected = [...entries.keys()].filter((k) => !own.has(k));
    if (missing.length || unexpected.length) {
      throw new Error(`loadStateDict: ${missing.length ? `missing ${missing.join(', ')}` : ''}${missing.length && unexpected.length ? '; ' : ''}${unexpected.length ? `unexpected ${unexpected.join(', ')}` : ''}`);
    }
    for (const [name, t] of own) {
      const data = entries.get(name)!; // every missing name was reported above
      const shape = shapes?.get(name);
      if (data.length !== t.size || (shape && shape.join() !== t.shape.join())) {
        throw new Error(`loadStateDict: ${name} has shape ${shape ? fmtShape(shape) : `${data.length} values`}, model expects ${fmtShape(t.shape)}`);
      }
      t.copyFrom(data);
    }
  }

  train(mode = true): this {
    this.training = mode;
    for (const m of this.children.values()) m.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  zeroGrad(): void {
    zeroGrad(this.parameters());
  }

  parameterCount(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }

  /** Frees every parameter and buffer. */
  dispose(): void {
    for (const [, t] of this.namedState()) t.dispose();
  }

  /** A short multi-line description, like printing a torch module. */
  toString(indent = ''): string {
    const kids = [...this.children];
    if (kids.length === 0) return `${this.describe()}`;
    const inner = kids.map(([name, m]) => `${indent}  (${name}): ${m.toString(indent + '  ')}`).join('\n');
    return `${this.constructor.name}(\n${inner}\n${indent})`;
  }

  protected describe(): string {
    return `${this.constructor.name}()`;
  }
}

/** Applies children in order; children are named "0", "1", … as in torch.nn.Sequential. */
export class Sequential extends Module {
  readonly layers: Module[];

  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
    layers.forEach((m, i) => this.child(String(i), m));
  }

  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this.layers) y = m.forward(y);
    return y;
  }
}
