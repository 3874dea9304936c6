/**
 * The MobileNet family (v1, v2, v3 large/small and their CIFAR ports): parameter counts, state-dict names and
 * shapes against torchvision's (or the reference definitions of scripts/fixtures/zoo_mobilenet.py), eval-mode
 * logits against PyTorch on reduced widths, multiply-adds at 224×224, and a few SGD steps of every model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.js';
import { createModel, getModelSpec } from '../../src/models/index.js';
import { makeDivisible } from '../../src/models/blocks.js';
import type { Module } from '../../src/nn/index.js';
import { SGD } from '../../src/train/optim.js';
import { formulaInput, loadFormulaWeights } from './mobilenet-helpers.js';
import { loadZooJson } from './zoo-helpers.js';

await E.initEngine();


function withModel<T>(name: string, opts: Parameters<typeof createModel>[1], fn: (m: Module) => T): T {
  const m = createModel(name, opts);
  try {
    return fn(m);
  } finally {
    m.dispose();
  }
}

// Counts: torchvision's for the named configs; the cited CIFAR ports' (see each file's header) at 10 classes.
const NAMED: [string, number, number][] = [
  ['mobilenet_v1', 1000, 4_231_976],
  ['mobilenet_v1-cifar', 10, 3_217_226], // kuangliu/pytorch-cifar mobilenet.py, "3.2 M"
  ['mobilenet_v2', 1000, 3_504_872],
  ['mobilenet_v2-cifar', 10, 2_296_922], // kuangliu/pytorch-cifar mobilenetv2.py, "2.297 M"
  ['mobilenet_v3_large', 1000, 5_483_032],
  ['mobilenet_v3_small', 1000, 2_542_856],
  ['mobilenet_v3-cifar', 10, 1_528_106], // comb0703/practice MobileNets_v3, "1.528106 M"
];

test('_make_divisible rounds like torchvision', { timeout: 5_000 }, () => {
  // (value, expected) from torchvision.models._utils._make_divisible: nearest multiple of 8 (halves up), at least 8,
  // never more than 10 % below the value.
  const cases: [number, number][] = [[32 * 0.25, 8], [16 * 0.35, 8], [24 * 0.35, 8], [1280 * 1.4, 1792], [96 * 0.75, 72], [20, 24], [3, 8], [36, 40], [43, 40], [44, 48], [12, 16], [180, 184]];
  for (const [v, want] of cases) assert.equal(makeDivisible(v), want, `makeDivisible(${v})`);
});

test('MobileNets: parameter counts and state dicts equal the references (names, order, shapes)', { timeout: 60_000 }, async (t) => {
  const keys = loadZooJson<Record<string, [string, number[]][]>>('mobilenet_state_keys.json');
  assert.deepEqual(Object.keys(keys).sort(), NAMED.map(([n]) => n).sort());
  for (const [name, numClasses, count] of NAMED) {
    await t.test(name, () => withModel(name, { numClasses }, (m) => {
      assert.equal(m.parameterCount(), count);
      const ours = [...m.namedState()].map(([key, tensor]) => [key, [...tensor.shape]]);
      assert.deepEqual(ours, keys[name]);
    }));
  }
});

interface LogitCase { model: string; width: number; num_classes: number; input_shape: number[]; logits: number[] }

test('MobileNets: eval-mode logits match PyTorch (width 0.25, deterministic weights, BN running stats)', { timeout: 60_000 }, async (t) => {
  const { cases } = loadZooJson<{ cases: LogitCase[] }>('mobilenet_logits.json');
  assert.equal(cases.length, NAMED.length);
  for (const c of cases) {
    await t.test(`${c.model} ${c.input_shape.join('×')}`, () => withModel(c.model, { numClasses: c.num_classes, extra: { width: c.width } }, (m) => {
      loadFormulaWeights(m);
      m.eval();
      const logits = E.noGrad(() => E.tidy(() => [...m.forward(formulaInput(c.input_shape)).toArray()]));
      const scale = Math.max(1, ...c.logits.map(Math.abs));
      assert.equal(logits.length, c.logits.length);
      logits.forEach((v, i) => {
        const err = Math.abs(v - c.logits[i]!);
        if (!(err <= 1e-4 * scale)) assert.fail(`${c.model} logit ${i}: got ${v}, PyTorch ${c.logits[i]} (|err| ${err.toExponential(2)} > ${(1e-4 * scale).toExponential(2)})`);
      });
    }));
  }
});

// torchvision's documented GFLOPS (multiply-adds) at 224×224; v1: the paper's Table 1 total, 569 M.
const MACS: [string, number][] = [
  ['mobilenet_v1', 569e6], ['mobilenet_v2', 0.301e9], ['mobilenet_v3_large', 0.217e9], ['mobilenet_v3_small', 0.057e9],
];

test('MobileNets: multiply-adds at 224×224 within 2 % of the published figures', { timeout: 120_000 }, async (t) => {
  for (const [name, expected] of MACS) {
    await t.test(name, () => withModel(name, { numClasses: 1000 }, (m) => {
      m.eval();
      const macs = E.countMacs(() => E.noGrad(() => E.tidy(() => { m.forward(E.zeros([1, 3, 224, 224])); })));
      assert.ok(Math.abs(macs / expected - 1) < 0.02, `${name}: ${(macs / 1e6).toFixed(1)} M MACs, published ${(expected / 1e6).toFixed(1)} M`);
    }));
  }
});

/** Width 0.25, and no dropout where the model has it, so that three steps on one batch show the descent. */
const smokeOptions = (name: string): Record<string, unknown> =>
  ({ width: 0.25, ...(getModelSpec(name).extraOptions.includes('dropout') ? { dropout: 0 } : {}) });

test('MobileNets: three SGD steps on a repeated batch lower the loss (width 0.25, batch 2)', { timeout: 120_000 }, async (t) => {
  for (const [name] of NAMED) {
    const size = name.includes('cifar') ? 32 : 64;
    await t.test(`${name} at ${size}×${size}`, () => withModel(name, { numClasses: 4, extra: smokeOptions(name) }, (m) => {
      const rng = new E.Rng(3);
      const x = Float32Array.from({ length: 2 * 3 * size * size }, () => rng.normal());
      const opt = new SGD(m.parameters(), { lr: 0.01 });
      try {
        const losses = Array.from({ length: 4 }, () => E.tidy(() => {
          const loss = E.crossEntropy(m.forward(E.tensor(x, [2, 3, size, size])), E.intTensor([1, 3]));
          E.backward(loss);
          opt.step();
          opt.zeroGrad();
          return loss.item();
        }));
        assert.ok(losses.every(Number.isFinite), `losses ${losses.join(', ')}`);
        assert.ok(losses[3]! < losses[0]!, `${name}: loss did not fall over three steps: ${losses.map((l) => l.toFixed(4)).join(' → ')}`);
      } finally {
        opt.dispose();
      }
    }));
  }
});

test('MobileNets: a width that is not a positive number is refused with the model and value', { timeout: 5_000 }, () => {
  assert.throws(() => createModel('mobilenet_v2', { extra: { width: 0 } }), { message: 'mobilenet_v2: width must be a positive number, got 0' });
  assert.throws(() => createModel('mobilenet_v3_small', { extra: { width: -1 } }), { message: 'mobilenet_v3_small: width must be a positive number, got -1' });
  assert.throws(() => createModel('mobilenet_v1', { extra: { lrn: true } }), { message: "model 'mobilenet_v1' has no option 'lrn' (it takes: width)" });
});

test('MobileNets: every strided conv pads, so even a 1×1 input reaches the classifier (no size ever reaches zero)', { timeout: 20_000 }, async (t) => {
  for (const [name] of NAMED) {
    await t.test(name, () => withModel(name, { numClasses: 3, extra: { width: 0.25 } }, (m) => {
      m.eval();
      const shape = E.noGrad(() => E.tidy(() => [...m.forward(E.zeros([1, 3, 1, 1])).shape]));
      assert.deepEqual(shape, [1, 3]);
    }));
  }
});

/** Sample standard deviation (about zero mean) of a tensor's values. */
const rms = (values: ArrayLike<number>): number => Math.sqrt(Array.from(values).reduce((s, v) => s + v * v, 0) / values.length);

test("MobileNets: torchvision's initialisation (kaiming_normal_ fan_out convs, N(0, 0.01) linear, zero biases)", { timeout: 30_000 }, () => {
  // (model, tensor, expected std): a 1×1 conv's fan_out is its output channels; a depthwise 3×3 conv's is 9 × channels.
  const cases: [string, string, number][] = [
    ['mobilenet_v2', 'features.18.0.weight', Math.sqrt(2 / 1280)],
    ['mobilenet_v2', 'features.2.conv.1.0.weight', Math.sqrt(2 / (96 * 9))],
    ['mobilenet_v2', 'classifier.1.weight', 0.01],
    ['mobilenet_v3_small', 'features.12.0.weight', Math.sqrt(2 / 576)],
    ['mobilenet_v3_small', 'classifier.3.weight', 0.01],
    ['mobilenet_v1', 'features.13.pointwise.0.weight', Math.sqrt(2 / 1024)],
  ];
  for (const [name, key, std] of cases) {
    withModel(name, { numClasses: 1000 }, (m) => {
      const state = m.stateDict();
      const got = rms(state.get(key)!.toArray());
      assert.ok(Math.abs(got / std - 1) < 0.03, `${name} ${key}: std ${got.toFixed(5)}, expected ${std.toFixed(5)}`);
      const biases = ['classifier.0.bias', 'classifier.1.bias', 'classifier.3.bias', 'features.1.block.1.fc1.bias', 'fc.bias']
        .filter((b) => state.has(b));
      assert.ok(biases.length > 0, `${name}: no bias checked`);
      for (const bias of biases) assert.ok(state.get(bias)!.toArray().every((v) => v === 0), `${name} ${bias} is zero`);
    });
  }
});
