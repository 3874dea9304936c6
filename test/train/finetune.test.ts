/**
 * Fine-tuning: weights with another number of classes load with the classifier re-initialised (found in every
 * family, GoogLeNet's auxiliary heads too), everything else equal to the file; --freeze keeps the frozen part
 * bit-identical through training (parameters and BatchNorm buffers) while the head learns; the one-line
 * messages; a freeze path that matches nothing, and other mismatches, are still one-line errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as E from '../../src/engine/index.js';
import { BatchNorm, Conv2d, Dropout, Linear, Module, ReLU, Sequential } from '../../src/nn/index.js';
import { createModel, listModels } from '../../src/models/index.js';
import { classifierHeads, freezeModules, loadForFineTuning, parseFreezeList } from '../../src/train/finetune.js';
import { train } from '../../src/train/trainer.js';
import { readSafetensors } from '../../src/train/safetensors.js';
import { saveWeights } from '../../src/train/weights.js';
import { baseConfig, quadrantDataset, tempDir, useReferenceBackend } from './helpers.js';

useReferenceBackend();
const TIMEOUT = { timeout: 120_000 };
const NET = 'test-finetune-net';

/** A torchvision-shaped toy: `features` with BatchNorm and dropout, a two-layer `classifier`. */
class Net extends Module {
  readonly features: Sequential;
  readonly classifier: Sequential;
  constructor(o: { inChannels: number; imageSize: number; numClasses: number }) {
    super();
    this.features = this.child('features', new Sequential(new Conv2d(o.inChannels, 4, 3, { padding: 1 }), new BatchNorm(4), ReLU(), Dropout(0.2)));
    this.classifier = this.child('classifier', new Sequential(new Linear(4 * o.imageSize * o.imageSize, 16), ReLU(), new Linear(16, o.numClasses)));
  }

  forward(x: E.Tensor): E.Tensor {
    return this.classifier.forward(E.flatten(this.features.forward(x)));
  }
}

function registerNet(): void {
  if (listModels().some((s) => s.name === NET)) return;
  listModels().push({ name: NET, description: 'test only', defaultInput: [1, 10, 10], extraOptions: [], create: (o) => new Net(o) });
}

const snapshot = (m: Module): Map<string, ArrayLike<number>> => new Map([...m.namedState()].map(([k, t]) => [k, t.toArray()]));

/** Whether two arrays hold the same numbers (element by element; typed arrays of millions, so no deepEqual). */
function same(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

// One model per family (the small variants: building the 60–90 M-parameter ones on the reference backend is slow).
const FAMILY_HEADS: Record<string, string[]> = {
  lenet5: ['output'], 'alexnet-cifar': ['classifier.7'], googlenet: ['fc', 'aux1.fc2', 'aux2.fc2'], 'googlenet-cifar': ['linear'],
  'densenet-bc-100': ['classifier'], mobilenet_v1: ['fc'], mobilenet_v2: ['classifier.1'], mobilenet_v3_small: ['classifier.3'],
  efficientnet_b0: ['classifier.1'], 'efficientnet_b0-cifar': ['linear'], 'vit-cifar': ['heads.head'],
};

test('every family: the classifier heads found are the Linear layers that output the classes', TIMEOUT, () => {
  for (const [name, expected] of Object.entries(FAMILY_HEADS)) {
    const m = createModel(name, { numClasses: 7 });
    const heads = classifierHeads(m);
    assert.deepEqual(heads.map((h) => h.name), expected, name);
    assert.ok(heads.every((h) => h.layer.outFeatures === 7), name);
    m.dispose();
  }
});

for (const [model, replaced, kept] of [
  ['mobilenet_v3_small', 'classifier.3', 'classifier.0.weight'],
  ['googlenet', 'fc (and the auxiliary aux1.fc2, aux2.fc2)', 'aux1.fc1.weight'],
  ['vit-cifar', 'heads.head', 'encoder.ln.weight'],
] as const) {
  test(`${model}: 1000-class weights → 10 classes: the classifier keeps its initialisation, the rest equals the file`, TIMEOUT, () => {
    const file = join(tempDir('convlab-finetune-'), `${model}.safetensors`);
    E.manualSeed(1);
    const source = createModel(model, { numClasses: 1000 });
    saveWeights(source, file);
    source.dispose();
    E.manualSeed(2);
    const m = createModel(model, { numClasses: 10 });
    const before = snapshot(m);
    const r = loadForFineTuning(m, file, { modelName: model });
    const fileTensors = readSafetensors(file).tensors;
    const headKeys = new Set(classifierHeads(m).flatMap((h) => [`${h.name}.weight`, `${h.name}.bias`]));
    assert.equal(r.message, `fine-tuning: kept ${fileTensors.size - headKeys.size} tensors from ${file}, replaced the classifier ${replaced} (1000 → 10 classes)`);
    assert.deepEqual(r.replaced, classifierHeads(m).map((h) => h.name));
    for (const [name, t] of m.namedState()) {
      if (headKeys.has(name)) assert.ok(same(t.toArray(), before.get(name)!), `${name}: the head is left as initialised`);
      else assert.ok(same(t.toArray(), fileTensors.get(name)!.data), `${name} equals the file's`);
    }
    assert.ok(fileTensors.has(kept) && !headKeys.has(kept));
    m.dispose();
  });
}

test('same class count: a plain load, no replacement; another in-features or a non-head mismatch is still refused', TIMEOUT, () => {
  registerNet();
  const dir = tempDir('convlab-finetune-');
  const six = (saveNet(join(dir, 'six.safetensors'), 6));
  const same = createModel(NET, { numClasses: 6 });
  assert.equal(loadForFineTuning(same, six, { modelName: NET }).message, `initialised from ${six} (11 tensors)`);
  // 20×20 images: the classifier's first layer has other in-features: not a head swap, the usual error.
  const bigger = createModel(NET, { numClasses: 3, imageSize: 20 });
  assert.throws(() => loadForFineTuning(bigger, six, { modelName: NET }), /six\.safetensors: weights do not fit test-finetune-net: shape mismatch \(1\): classifier\.0\.weight is \[16, 400\] in the file, \[16, 1600\] in the model/);
});

function saveNet(file: string, classes: number): string {
  registerNet();
  E.manualSeed(3);
  const m = createModel(NET, { numClasses: classes });
  // Move BatchNorm's running statistics off their defaults, so that "unchanged" means something.
  E.noGrad(() => E.tidy(() => { m.train().forward(E.randNormal([4, 1, 10, 10])); }));
  saveWeights(m, file);
  m.dispose();
  return file;
}

test('--freeze features: after training steps the features (weights and BatchNorm buffers) are bit-identical to the file, the head changed', TIMEOUT, () => {
  const dir = tempDir('convlab-finetune-');
  const file = (saveNet(join(dir, 'w.safetensors'), 6));
  const fileTensors = readSafetensors(file).tensors;
  const data = { train: quadrantDataset(24, { seed: 3 }), val: quadrantDataset(8, { seed: 4 }) };
  const run = (freeze: string[] | undefined, out: string) => {
    const logs: string[] = [];
    const config = baseConfig({ model: NET, epochs: 2, weights: file, freeze, optimizer: { name: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 5e-3 } });
    const r = train(config, data, join(dir, out), { callbacks: { onLog: (l) => logs.push(l) } });
    return { r, logs };
  };
  const { r, logs } = run(['features'], 'frozen');
  assert.deepEqual(logs, [
    'frozen: features (48 parameters); training 6,467 parameters',
    `fine-tuning: kept 9 tensors from ${file}, replaced the classifier classifier.2 (6 → 3 classes)`,
  ]);
  for (const [name, t] of r.model.namedState()) {
    const want = fileTensors.get(name)!.data;
    if (name.startsWith('features.')) assert.ok(same(t.toArray(), want), `${name} is frozen`);
    else if (name === 'classifier.0.weight') assert.ok(!same(t.toArray(), want), 'the head trained');
  }
  const frozenParams = [...r.model.namedParameters()].filter(([name]) => name.startsWith('features.'));
  assert.ok(frozenParams.every(([, p]) => !p.requiresGrad && p.grad === null), 'frozen parameters get no gradient');
  assert.equal(r.model.parameters().filter((p) => p.requiresGrad).length, 4);
  r.model.dispose();
  // Without --freeze the same run changes the features: the comparison above can tell.
  const free = run(undefined, 'free');
  const conv = free.r.model.stateDict().get('features.0.weight')!.toFloat32();
  assert.ok(!same(conv, fileTensors.get('features.0.weight')!.data));
  const runningMean = free.r.model.stateDict().get('features.1.running_mean')!.toFloat32();
  assert.ok(!same(runningMean, fileTensors.get('features.1.running_mean')!.data));
  free.r.model.dispose();
});

test('--freeze: a path that matches nothing lists the top-level modules; freezing everything is refused; parsing', TIMEOUT, () => {
  registerNet();
  const m = createModel(NET, { numClasses: 3 });
  assert.throws(() => freezeModules(m, ['feature'], NET), { message: `--freeze 'feature': ${NET} has no parameters under 'feature'; its top-level modules are features, classifier` });
  assert.throws(() => freezeModules(m, ['features', 'classifier'], NET), { message: `--freeze 'features,classifier' freezes every parameter of ${NET}: nothing would be trained` });
  const vit = createModel('vit-cifar', { numClasses: 3 });
  assert.throws(() => freezeModules(vit, ['features'], 'vit-cifar'), { message: "--freeze 'features': vit-cifar has no parameters under 'features'; its top-level modules are class_token, conv_proj, encoder, heads" });
  // A path is a module path: features.1 is not features.10.
  const r = freezeModules(vit, ['encoder.layers.encoder_layer_1', 'class_token'], 'vit-cifar');
  const frozen = [...vit.namedParameters()].filter(([, p]) => !p.requiresGrad).map(([n]) => n);
  assert.ok(frozen.includes('class_token') && frozen.every((n) => n === 'class_token' || n.startsWith('encoder.layers.encoder_layer_1.')), frozen.join());
  assert.equal(r.trainable.length + frozen.length, vit.parameters().length);
  assert.deepEqual(parseFreezeList(' features., classifier.0 ,'), ['features', 'classifier.0']);
  m.dispose(); vit.dispose();
});
