/**
 * Reverse-mode automatic differentiation. An op that has an input requiring a gradient records a GradNode on
 * its output: the inputs, the tensors its backward needs (retained so that scopes cannot free them early) and
 * the backward function itself, which lives beside the op's forward in `ops/`.
 */
import { Tensor, Storage, fmtShape, sameShape } from './tensor.js';

export type BackwardFn = (gradOut: Tensor, saved: Tensor[]) => (Tensor | null)[];

/** What an op was called with beyond its inputs (strides, axes, shapes, running statistics), for an OpObserver. */
export type OpAttrs = Readonly<Record<string, number | boolean | readonly number[] | Tensor | null>>;
/** Sees every op as it runs, graph or not: the ONNX exporter records a model's forward pass with one. */
export type OpObserver = (op: string, inputs: readonly Tensor[], out: Tensor, attrs: OpAttrs) => void;

let observer: OpObserver | null = null;

/** Runs `body` with `onOp` told of every op that records (all forward ops do, with or without gradients). */
export function observeOps<T>(onOp: OpObserver, body: () => T): T {
  if (observer) throw new Error('observeOps: another observer is already active');
  observer = onOp;
  try {
    return body();
  } finally {
    observer = null;
  }
}

let gradDepth = 0;

export function isGradEnabled(): boolean {
  return gradDepth === 0;
}

/** Runs fn without recording any graph (evaluation, optimiser updates, backward passes themselves). */
export function noGrad<T>(fn: () => T): T {
  gradDepth++;
  try {
    return fn();
  } finally {
    gradDepth--;
  }
}

export class GradNode {
  private savedViews: Tensor[] | null;

  constructor(readonly op: string, readonly inputs: Tensor[], saved: Tensor[], readonly backwardFn: BackwardFn) {
    // Views share storage, so the saved data lives until the node is released even if its tensor is disposed.
    this.savedViews = saved.map((t) => {
      t.assertAlive(op);
      t.storage.retain();
      return new Tensor(t.storage, t.shape, t.dtype).keep();
    });
  }

  get released(): boolean {
    return this.savedViews === null;
  }

  run(gradOut: Tensor): (Tensor | null)[] {
    if (!this.savedViews) {
      throw new Error(`backward: the graph through ${this.op} was already freed (backward called twice, or its tensors were disposed before backward)`);
    }
    return this.backwardFn(gradOut, this.savedViews);
  }

  release(): void {
    if (!this.savedViews) return;
    for (const v of this.savedViews) v.dispose();
    this.savedViews = null;
  }
}

/**
 * Attaches a graph node to `out` when gradients are being recorded and some input needs one. Returns `out`.
 * `saved` lists the tensors the backward function reads, in the order it receives them; `attrs` is for observers.
 */
export function record(op: string, inputs: Tensor[], out: Tensor, saved: Tensor[], backward: BackwardFn, attrs: OpAttrs = {}): Tensor {
  observer?.(op, inputs, out, attrs);
  if (gradDepth > 0 || !inputs.some((t) => t.requiresGrad)) return out;
  out.requiresGrad = true;
  out.node = new GradNode(op, inputs, saved, backward);
  return out;
}

/**
 * Back-propagates from `root` (a scalar unless `gradRoot` is given) and accumulates into the `.grad` of every
 * leaf that requires a gradient. The graph is freed afterwards, as PyTorch does without retain_graph.
 */
export function backward(root: Tensor, gradRoot?: Tensor): void {
  root.assertAlive('backward');
  if (!root.requiresGrad) throw new Error('backward: tensor does not require grad (no parameter or input with requiresGrad reached it)');
  if (!gradRoot && root.size !== 1) throw new Error(`backward: gradient can be implied only for a scalar, got shape ${fmtShape(root.shape)}`);
  if (gradRoot) {
    gradRoot.assertAlive('backward');
    if (!sameShape(gradRoot.shape, root.shape)) {
      throw new Error(`backward: gradient of shape ${fmtShape(gradRoot.shape)} given for a tensor of shape ${fmtShape(root.shape)}`);
    }
  }
  const order = topologicalOrder(root);
  noGrad(() => {
    const grads = new Map<Tensor, Tensor>();
    grads.set(root, gradRoot ? gradRoot : onesLike(root));
    for (const t of order) {
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      if (!t.node) {
        accumulateLeaf(t, g);
        if (g !== gradRoot) g.dispose();
        continue;
      }
      const inputGrads = t.node.run(g);
      if (g !== gradRoot) g.dispose();
      t.node.inputs.forEach((input, i) => {
        const ig = inputGrads[i];
        if (!ig) return;
        if (!input.requiresGrad) { ig.dispose(); return; }
        if (!sameShape(ig.shape, input.shape)) {
          throw new Error(`backward: ${t.node!.op} produced a gradient of shape ${fmtShape(ig.shape)} for an input of shape ${fmtShape(input.shape)}`);
        }
        const prev = grads.get(input);
        if (prev) {
          input.backend.axpy(ig.at, prev.at, ig.size, 1);
          ig.dispose();
        } else {
          grads.set(input, ig);
        }
      });
    }
    for (const g of grads.values()) g.dispose();
  });
  for (const t of order) {
    if (t.node) {
      t.node.release();
      t.node = null;
    }
  }
}

function accumulateLeaf(leaf: Tensor, g: Tensor): void {
  if (!leaf.grad) {
    const copy = new Tensor(new Storage(leaf.backend, leaf.backend.heap.alloc(g.storage.bytes), g.storage.bytes), leaf.shape).keep();
    leaf.backend.copy(g.at, [1], copy.at, [1], [g.size]);
    leaf.grad = copy;
  } else {
    leaf.backend.axpy(g.at, leaf.grad.at, g.size, 1);
  }
}

function onesLike(t: Tensor): Tensor {
  const bytes = t.size * t.backend.heap.floatBytes;
  const ones = new Tensor(new Storage(t.backend, t.backend.heap.alloc(bytes), bytes), t.shape);
  t.backend.fill(ones.at, ones.size, 1);
  return ones;
}

/** Tensors reachable from root, each before all of its inputs. */
function topologicalOrder(root: Tensor): Tensor[] {
  const visited = new Set<Tensor>();
  const post: Tensor[] = [];
  // Iterative DFS: deep nets (DenseNet, ViT) would overflow a recursive one.
  const stack: [Tensor, number][] = [[root, 0]];
  visited.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const [t, i] = top;
    const inputs = t.node?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const next = inputs[i]!;
      if (next.requiresGrad && !visited.has(next)) {
        visited.add(next);
        stack.push([next, 0]);
      }
    } else {
      post.push(t);
      stack.pop();
    }
  }
  return post.reverse();
}
