/**
 * Records a model's eval-mode forward pass at the engine op level: every op with its inputs, output and
 * attributes (engine observeOps). Tensors are identified as the graph input, a state-dict entry (named as in the
 * state dict, torchvision's key names), a value an earlier op made, or a constant made inside the forward, whose
 * data is copied while it is alive.
 */
import * as E from '../../engine/index.js';
import type { OpAttrs, Tensor } from '../../engine/index.js';
import { InputTooSmallError, LayerError, moduleType, traceModules, type Module } from '../../nn/index.js';

export type TracedRef =
  | { kind: 'input' }
  | { kind: 'state'; name: string; tensor: Tensor }
  | { kind: 'value'; op: number }
  | { kind: 'constant'; id: number; shape: number[]; data: Float32Array | Int32Array };

export interface TracedOp {
  op: string;
  inputs: TracedRef[];
  /** Named tensor attributes (batch norm's running statistics, layer norm's affine parameters), resolved too. */
  tensorAttrs: Record<string, TracedRef | null>;
  attrs: Record<string, number | boolean | readonly number[]>;
  inputShapes: number[][];
  outShape: number[];
}

export interface Trace {
  ops: TracedOp[];
  /** What the forward returned. */
  output: TracedRef;
  outShape: number[];
  inputShape: number[];
}

/** One eval-mode forward of a zero input of `inputShape` without gradients, recorded op by op. */
export function traceForward(model: Module, inputShape: readonly number[]): Trace {
  const state = new Map<Tensor, string>();
  for (const [name, t] of model.stateDict()) if (!state.has(t)) state.set(t, name);
  const modes = [...model.namedModules()].map(([, m]) => [m, m.training] as const);
  model.eval();
  try {
    return E.noGrad(() => E.tidy(() => {
      const input = E.zeros([...inputShape]);
      const produced = new Map<Tensor, number>();
      const constants = new Map<Tensor, TracedRef>();
      const ops: TracedOp[] = [];
      const refOf = (t: Tensor): TracedRef => {
        if (t === input) return { kind: 'input' };
        const op = produced.get(t);
        if (op !== undefined) return { kind: 'value', op };
        const name = state.get(t);
        if (name !== undefined) return { kind: 'state', name, tensor: t };
        let c = constants.get(t);
        if (!c) {
          const raw = t.toArray();
          c = { kind: 'constant', id: constants.size, shape: [...t.shape], data: raw instanceof Int32Array ? raw : Float32Array.from(raw) };
          constants.set(t, c);
        }
        return c;
      };
      const onOp = (op: string, inputs: readonly Tensor[], out: Tensor, attrs: OpAttrs): void => {
        const plain: TracedOp['attrs'] = {};
        const tensorAttrs: TracedOp['tensorAttrs'] = {};
        for (const [k, v] of Object.entries(attrs)) {
          if (v instanceof E.Tensor) tensorAttrs[k] = refOf(v);
          else if (v === null) tensorAttrs[k] = null;
          else plain[k] = v;
        }
        ops.push({ op, inputs: inputs.map(refOf), tensorAttrs, attrs: plain, inputShapes: inputs.map((t) => [...t.shape]), outShape: [...out.shape] });
        produced.set(out, ops.length - 1);
      };
      // traceModules names the layer an error happens in; an input too small for the model says where it ran out.
      let y: Tensor;
      try {
        y = E.observeOps(onOp, () => traceModules(model, () => model.forward(input)).result);
      } catch (err) {
        if (err instanceof LayerError && err.inputTooSmall) throw new InputTooSmallError(inputShape.slice(1), err, moduleType(model));
        throw err;
      }
      return { ops, output: refOf(y), outShape: [...y.shape], inputShape: [...inputShape] };
    }));
  } finally {
    for (const [m, training] of modes) m.training = training;
  }
}
