/**
 * PyTorch 1.13 golden values (fixtures/*.json, made by scripts/make_fixtures.py): every op's forward output and
 * input gradients, batch norm's running statistics, and one LeNet-5 SGD step, on the float32 reference backend
 * and, once it is built, on the WASM backend with 1 and 2 threads.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.js';
import type { Backend, Tensor } from '../../src/engine/index.js';
import { createModel } from '../../src/models/index.js';
import { SGD } from '../../src/train/optim.js';
import { assertClose, fromFixture, loadFixture, loadNativeBackend, loadWasmBackend, type FixtureTensor, type Tolerance } from '../fixtures.js';

type T = FixtureTensor;
const TOL: Tolerance = { atol: 1e-5, rtol: 1e-5 };
/** The whole-network step's loss and logits; gradients are held to stepGradTol, the optimiser to optim-steps.test.ts. */
const STEP_TOL: Tolerance = { atol: 1e-4, rtol: 1e-4 };
/**
 * A gradient tensor's tolerance, relative to its own scale: 1e-3 of its RMS plus 1e-4 relative. A flat 1e-4 would
 * pass zeros for 57 % of fc1's and 69 % of fc2's weight gradients, which are smaller than that.
 */
const stepGradTol = (expected: T): Tolerance => ({ atol: 1e-3 * Math.sqrt(expected.data.reduce((a, v) => a + v * v, 0) / expected.data.length), rtol: 1e-4 });

interface GoldenCase {
  name: string;
  /** Runs inside withBackend + tidy; throws on any mismatch. */
  run(): void;
}

const leaf = (t: T): Tensor => fromFixture(t, { requiresGrad: true });
const constant = (t: T): Tensor => fromFixture(t);

/** Back-propagates dy from y and checks y and each (input, expected gradient) pair. */
function checkForwardBackward(y: Tensor, c: { y: T; dy: T }, grads: [string, Tensor | null, T | null][], tol = TOL): void {
  assertClose(y, c.y, tol, 'forward');
  E.backward(y, constant(c.dy));
  for (const [name, input, expected] of grads) {
    if (!input || !expected) continue;
    assert.ok(input.grad, `${name}: no gradient was accumulated`);
    assertClose(input.grad, expected, tol, `grad ${name}`);
  }
}

function conv2dCases(): GoldenCase[] {
  interface C { name: string; stride: [number, number]; padding: [number, number]; dilation: [number, number]; groups: number;
    x: T; w: T; b: T | null; dy: T; y: T; dx: T; dw: T; db: T | null }
  return loadFixture<{ cases: C[] }>('conv2d').cases.map((c) => ({
    name: `conv2d ${c.name}`,
    run() {
      const x = leaf(c.x), w = leaf(c.w), b = c.b ? leaf(c.b) : null;
      const y = E.conv2d(x, w, b, { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups });
      checkForwardBackward(y, c, [['x', x, c.dx], ['w', w, c.dw], ['b', b, c.db]]);
    },
  }));
}

function poolCases(): GoldenCase[] {
  interface C { name: string; kind: 'max' | 'avg' | 'adaptive_avg'; kernel: [number, number] | null; stride: [number, number] | null;
    padding: [number, number] | null; ceil_mode: boolean; count_include_pad: boolean; output_size?: [number, number];
    x: T; dy: T; y: T; dx: T }
  return loadFixture<{ cases: C[] }>('pool').cases.map((c) => ({
    name: `pool ${c.name}`,
    run() {
      const x = leaf(c.x);
      const opts: E.Pool2dOptions = { stride: c.stride ?? undefined, padding: c.padding ?? undefined, ceilMode: c.ceil_mode, countIncludePad: c.count_include_pad };
      const y = c.kind === 'max' ? E.maxPool2d(x, c.kernel!, opts)
        : c.kind === 'avg' ? E.avgPool2d(x, c.kernel!, opts)
          : E.adaptiveAvgPool2d(x, c.output_size!);
      checkForwardBackward(y, c, [['x', x, c.dx]]);
    },
  }));
}

function batchNormCases(): GoldenCase[] {
  interface C { name: string; training: boolean; momentum: number; eps: number; x: T; gamma: T; beta: T; running_mean: T; running_var: T;
    dy: T; y: T; dx: T; dgamma: T; dbeta: T; running_mean_after: T; running_var_after: T }
  return loadFixture<{ cases: C[] }>('batchnorm').cases.map((c) => ({
    name: `batchnorm ${c.name}`,
    run() {
      const x = leaf(c.x), gamma = leaf(c.gamma), beta = leaf(c.beta);
      const rm = constant(c.running_mean), rv = constant(c.running_var);
      const y = E.batchNorm(x, rm, rv, gamma, beta, { training: c.training, momentum: c.momentum, eps: c.eps });
      assertClose(rm, c.running_mean_after, TOL, 'running_mean after');
      assertClose(rv, c.running_var_after, TOL, 'running_var after');
      checkForwardBackward(y, c, [['x', x, c.dx], ['gamma', gamma, c.dgamma], ['beta', beta, c.dbeta]]);
    },
  }));
}

function normCases(): GoldenCase[] {
  type C = { name: string; x: T; dy: T; y: T; dx: T } & (
    | { kind: 'layer_norm'; normalized_shape: number[]; eps: number; weight: T; bias: T; dweight: T; dbias: T }
    | { kind: 'lrn'; size: number; alpha: number; beta: number; k: number });
  return loadFixture<{ cases: C[] }>('norms').cases.map((c) => ({
    name: `norms ${c.name}`,
    run() {
      const x = leaf(c.x);
      if (c.kind === 'layer_norm') {
        const w = leaf(c.weight), b = leaf(c.bias);
        const y = E.layerNorm(x, c.normalized_shape, w, b, c.eps);
        checkForwardBackward(y, c, [['x', x, c.dx], ['weight', w, c.dweight], ['bias', b, c.dbias]]);
      } else {
        const y = E.localResponseNorm(x, { size: c.size, alpha: c.alpha, beta: c.beta, k: c.k });
        checkForwardBackward(y, c, [['x', x, c.dx]]);
      }
    },
  }));
}

function activationCases(): GoldenCase[] {
  interface C { name: string; negative_slope?: number; dim?: number; x: T; dy: T; y: T; dx: T }
  const ops: Record<string, (x: Tensor, c: C) => Tensor> = {
    relu: (x) => E.relu(x),
    leaky_relu: (x, c) => E.leakyRelu(x, c.negative_slope),
    tanh: (x) => E.tanh(x),
    sigmoid: (x) => E.sigmoid(x),
    gelu: (x) => E.gelu(x),
    silu: (x) => E.silu(x),
    hardswish: (x) => E.hardswish(x),
    hardsigmoid: (x) => E.hardsigmoid(x),
    relu6: (x) => E.relu6(x),
    softmax: (x, c) => E.softmax(x, c.dim),
    log_softmax: (x, c) => E.logSoftmax(x, c.dim),
  };
  return loadFixture<{ cases: C[] }>('activations').cases.map((c) => ({
    name: `activation ${c.name}`,
    run() {
      const op = ops[c.name];
      assert.ok(op, `no engine op mapped to the fixture activation '${c.name}'`);
      const x = leaf(c.x);
      checkForwardBackward(op(x, c), c, [['x', x, c.dx]]);
    },
  }));
}

function crossEntropyCases(): GoldenCase[] {
  interface C { name: string; logits: T; target: number[]; weight: number[] | null; label_smoothing: number; reduction: E.Reduction;
    loss: number; dlogits: T }
  return loadFixture<{ cases: C[] }>('cross_entropy').cases.map((c) => ({
    name: `cross_entropy ${c.name}`,
    run() {
      const logits = leaf(c.logits);
      const loss = E.crossEntropy(logits, E.intTensor(c.target), { weight: c.weight, labelSmoothing: c.label_smoothing, reduction: c.reduction });
      assert.deepEqual(loss.shape, []);
      assertClose(loss.item(), c.loss, TOL, 'loss');
      E.backward(loss);
      assertClose(logits.grad!, c.dlogits, TOL, 'grad logits');
    },
  }));
}

function matmulCases(): GoldenCase[] {
  interface C { name: string; a: T; b: T; y: T; dy: T; da: T; db: T }
  return loadFixture<{ cases: C[] }>('matmul').cases.map((c) => ({
    name: `matmul ${c.name}`,
    run() {
      const a = leaf(c.a), b = leaf(c.b);
      checkForwardBackward(E.matmul(a, b), c, [['a', a, c.da], ['b', b, c.db]]);
    },
  }));
}

/** PyTorch's LeNet5 names (scripts/make_fixtures.py) → ours. */
const LENET_NAMES: Record<string, string> = { conv1: 'c1', conv2: 'c3', fc1: 'c5', fc2: 'f6', fc3: 'output' };
const lenetName = (torchName: string): string => {
  const [layer, kind] = torchName.split('.') as [string, string];
  return `${LENET_NAMES[layer]}.${kind}`;
};

function lenetStepCase(): GoldenCase {
  interface F { param_count: number; params: Record<string, T>; x: T; y: number[]; lr: number; momentum: number; weight_decay: number;
    loss: number; logits: T; grads: Record<string, T>; params_after: Record<string, T> }
  const f = loadFixture<F>('lenet5_step');
  return {
    name: 'lenet5 forward, backward and one SGD step',
    run() {
      const model = createModel('lenet5');
      const opt = new SGD(model.parameters(), { lr: f.lr, momentum: f.momentum, weightDecay: f.weight_decay });
      try {
        assert.equal(model.parameterCount(), f.param_count);
        const values = new Map<string, number[]>(), shapes = new Map<string, number[]>();
        for (const [name, t] of Object.entries(f.params)) { values.set(lenetName(name), t.data); shapes.set(lenetName(name), t.shape); }
        model.loadStateDict(values, shapes);
        const state = model.stateDict();
        const logits = model.forward(constant(f.x));
        assertClose(logits, f.logits, STEP_TOL, 'logits');
        const loss = E.crossEntropy(logits, E.intTensor(f.y));
        assertClose(loss.item(), f.loss, STEP_TOL, 'loss');
        E.backward(loss);
        for (const [name, expected] of Object.entries(f.grads)) {
          const p = state.get(lenetName(name))!;
          assert.ok(p.grad, `${name}: no gradient`);
          assertClose(p.grad, expected, stepGradTol(expected), `grad ${name} (${lenetName(name)})`);
        }
        opt.step();
        // The step's update (after − before), to 2e-3 of its RMS: weight decay alone moves it by more than that.
        for (const [name, expected] of Object.entries(f.params_after)) {
          const before = f.params[name]!.data;
          const ours = state.get(lenetName(name))!.toArray().map((v, i) => v - before[i]!);
          const theirs = expected.data.map((v, i) => v - before[i]!);
          const rms = Math.sqrt(theirs.reduce((a, v) => a + v * v, 0) / theirs.length);
          assertClose(ours, theirs, { atol: 2e-3 * rms, rtol: 0 }, `${name} (${lenetName(name)}): the SGD step's update`);
        }
      } finally {
        opt.dispose();
        model.dispose();
      }
    },
  };
}

const allCases = (): GoldenCase[] => [
  ...conv2dCases(), ...poolCases(), ...batchNormCases(), ...normCases(), ...activationCases(), ...crossEntropyCases(),
  ...matmulCases(), lenetStepCase(),
];

/** Every case as a subtest; each must also leave the heap's live-buffer count where it found it. */
async function runTable(t: TestContext, backend: Backend): Promise<void> {
  for (const c of allCases()) {
    await t.test(c.name, () => {
      E.withBackend(backend, () => {
        const before = backend.heap.liveBuffers;
        E.tidy(() => c.run());
        assert.equal(backend.heap.liveBuffers, before, `${c.name}: live buffers after the case`);
      });
    });
  }
}

test('golden: the fixtures cover every file the generator writes', () => {
  const counts = ['conv2d', 'pool', 'batchnorm', 'norms', 'activations', 'cross_entropy', 'matmul']
    .map((name) => loadFixture<{ cases: unknown[] }>(name).cases.length);
  assert.deepEqual(counts, [9, 9, 3, 5, 11, 4, 3]);
});

test('golden: float32 reference backend matches PyTorch', async (t) => {
  await runTable(t, new E.ReferenceBackend(new E.Heap({ shared: false })));
});

for (const threads of [1, 2]) {
  test(`golden: WASM backend with ${threads} thread${threads > 1 ? 's' : ''} matches PyTorch`, async (t) => {
    const backend = await loadWasmBackend(threads);
    if (typeof backend === 'string') {
      t.skip(backend);
      return;
    }
    try {
      assert.equal(backend.name, 'wasm');
      assert.equal(backend.threads, threads, 'the backend runs the requested number of threads');
      await runTable(t, backend);
    } finally {
      backend.dispose?.();
    }
  });
}

for (const threads of [1, 2]) {
  test(`golden: native backend with ${threads} thread${threads > 1 ? 's' : ''} matches PyTorch`, async (t) => {
    const backend = await loadNativeBackend(threads);
    if (typeof backend === 'string') {
      t.skip(backend);
      return;
    }
    try {
      assert.equal(backend.name, 'native');
      assert.equal(backend.threads, threads, 'the backend runs the requested number of threads');
      await runTable(t, backend);
    } finally {
      backend.dispose?.();
    }
  });
}
