/**
 * traceModules / probeForward: every module call of a real forward is recorded (name, type, shapes, own
 * parameters, MACs), the models' code is untouched (forward is restored, even after an error), and an input too
 * small for a model names the module where the spatial size reaches zero.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.js';
import {
  Conv2d, Flatten, InputTooSmallError, LayerError, Linear, MaxPool2d, Module, ReLU, Sequential, probeForward, traceModules,
} from '../../src/nn/index.js';
import { createModel } from '../../src/models/index.js';

const TIMEOUT = { timeout: 20_000 };
const onReference = <T>(fn: () => T): T => E.withBackend(new E.ReferenceBackend(new E.Heap({ shared: false })), fn);

/** No module keeps a wrapped forward of its own once tracing is over. */
function assertRestored(model: Module): void {
  for (const [name, m] of model.namedModules()) assert.ok(!Object.hasOwn(m, 'forward'), `${name || 'root'} still has a patched forward`);
}

test('lenet5: one call per module with qualified names, types, shapes, own parameters and MACs that add up', TIMEOUT, () => onReference(() => {
  const m = createModel('lenet5');
  const { calls, macs, outputShape } = probeForward(m, [1, 28, 28]);
  assert.deepEqual(calls.map((c) => [c.name, c.type, c.depth, c.leaf, c.inputShape.join('×'), c.outputShape.join('×'), c.params]), [
    ['', 'LeNet5', 0, false, '1×1×28×28', '1×10', 0],
    ['c1', 'Conv2d', 1, true, '1×1×28×28', '1×6×28×28', 156],
    ['c3', 'Conv2d', 1, true, '1×6×14×14', '1×16×10×10', 2416],
    ['c5', 'Linear', 1, true, '1×400', '1×120', 48120],
    ['f6', 'Linear', 1, true, '1×120', '1×84', 10164],
    ['output', 'Linear', 1, true, '1×84', '1×10', 850],
  ]);
  assert.deepEqual(outputShape, [1, 10]);
  assert.equal(macs, 416520);
  assert.equal(calls[0]!.macs, macs, 'the root call holds every MAC');
  assert.equal(calls.reduce((n, c) => n + c.selfMacs, 0), macs, 'self MACs partition the total');
  assert.deepEqual(calls.map((c) => c.macs), [416520, 6 * 28 * 28 * 25, 16 * 10 * 10 * 150, 48000, 10080, 840]);
  assert.equal(calls.reduce((n, c) => n + c.params, 0), m.parameterCount());
  assertRestored(m);
  assert.equal(m.training, true, 'probeForward runs in eval mode and restores the training flag');
  m.dispose();
}));

test('Sequential children and Lambda modules (activations, pooling) are rows too; a module called twice gives two calls', TIMEOUT, () => onReference(() => {
  class Twice extends Module {
    readonly body = this.child('body', new Sequential(new Conv2d(2, 4, 3), ReLU(), MaxPool2d(2), Flatten(), new Linear(4, 3)));
    readonly act = this.child('act', ReLU());
    forward(x: E.Tensor): E.Tensor {
      return this.act.forward(E.mulScalar(this.act.forward(this.body.forward(x)), 2));
    }
  }
  const m = new Twice();
  const { calls } = probeForward(m, [2, 4, 4]);
  assert.deepEqual(calls.map((c) => `${c.name}:${c.type}:${c.outputShape.join('×')}`), [
    ':Twice:1×3', 'body:Sequential:1×3', 'body.0:Conv2d:1×4×2×2', 'body.1:ReLU:1×4×2×2', 'body.2:MaxPool2d:1×4×1×1', 'body.3:Flatten:1×4',
    'body.4:Linear:1×3', 'act:ReLU:1×3', 'act:ReLU:1×3',
  ]);
  assert.deepEqual(calls.map((c) => c.depth), [0, 1, 2, 2, 2, 2, 2, 1, 1]);
  assert.equal(calls.find((c) => c.name === 'body')!.macs, 4 * 2 * 2 * 18 + 12);
  assert.equal(calls.find((c) => c.name === 'body')!.selfMacs, 0);
  assertRestored(m);
  m.dispose();
}));

test('traceModules returns fn\'s result and leaves the model as it was; it also works with gradients', TIMEOUT, () => onReference(() => {
  const m = new Sequential(new Linear(3, 2), ReLU());
  const x = E.tensor([1, -2, 3], [1, 3]);
  const plain = m.forward(x).toArray();
  const { result, calls } = traceModules(m, () => m.forward(x));
  assert.deepEqual([...result.toArray()], [...plain]);
  assert.equal(calls.length, 3);
  assertRestored(m);
  assert.deepEqual([...m.forward(x).toArray()], [...plain]);
  // Gradients flow through the wrapped forwards as through the plain ones.
  const linear = m.layers[0] as Linear;
  E.backward(E.sum(traceModules(m, () => m.forward(x)).result));
  const traced = [...linear.weight.grad!.toArray()];
  m.zeroGrad();
  E.backward(E.sum(m.forward(x)));
  assert.deepEqual(traced, [...linear.weight.grad!.toArray()]);
  assert.ok(traced.some((g) => g !== 0));
  m.dispose();
}));

test('an input too small for the model names the layer where the spatial size reaches zero, and its input', TIMEOUT, () => onReference(() => {
  // LeNet-5 built for 28×28 pads C1 by 2: at 4×4, C1 gives 4×4, S2 2×2, and C3's 5×5 kernel no longer fits.
  const lenet = createModel('lenet5');
  assert.throws(() => probeForward(lenet, [1, 4, 4], 'lenet5'), (err: Error) => {
    assert.ok(err instanceof InputTooSmallError);
    assert.equal(err.message, 'input 1×4×4 is too small for lenet5: the spatial size reaches zero at c3 (Conv2d), whose input is 1×6×2×2');
    return true;
  });
  assertRestored(lenet);
  // A pooling layer inside a Sequential: the innermost module is named, not its container.
  const seq = new Sequential(new Sequential(new Conv2d(1, 2, 3, { padding: 1 }), MaxPool2d(2), MaxPool2d(2)));
  assert.throws(() => probeForward(seq, [1, 3, 3]), { message: 'input 1×3×3 is too small for Sequential: the spatial size reaches zero at 0.2 (MaxPool2d), whose input is 1×2×1×1' });
  // Other errors inside a module name it too, with the engine's message.
  assert.throws(() => probeForward(lenet, [3, 28, 28]), (err: Error) => {
    assert.ok(err instanceof LayerError && !err.inputTooSmall);
    assert.equal(err.message, 'c1 (Conv2d) failed on input [1, 3, 28, 28]: conv2d: input has 3 channels but weight expects 1: [1, 3, 28, 28] and [6, 1, 5, 5]');
    return true;
  });
  assertRestored(lenet);
  lenet.dispose(); seq.dispose();
}));
