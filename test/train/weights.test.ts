/**
 * loadWeights: plain state dicts with torchvision's key names (written by PyTorch itself for the fixture) and
 * convlab checkpoints load into a fresh model and reproduce its outputs; missing, unexpected and mis-shaped
 * tensors get one line naming them; strict false lists them as warnings; the key-map and adapt hooks apply.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../../src/engine/index.js';
import { BatchNorm, Conv2d, Linear, Module, ReLU, Sequential, type StateEntry } from '../../src/nn/index.js';
import { createModel, listModels } from '../../src/models/index.js';
import { saveCheckpoint } from '../../src/train/checkpoint.js';
import { readSafetensors, writeSafetensors, type NamedArray } from '../../src/train/safetensors.js';
import { listNames, loadWeights, saveWeights, WeightsMismatchError } from '../../src/train/weights.js';
import { loadWeights as apiLoadWeights } from '../../src/api.js';
import { repoRoot, tempDir, useReferenceBackend } from './helpers.js';

useReferenceBackend();
const FIXTURES = join(repoRoot(), 'test', 'fixtures', 'weights');
const TIMEOUT = { timeout: 20_000 };

/** The fixture's torch model: features (conv 1→3, batch norm, ReLU), then a linear classifier over 3×4×4. */
class Tiny extends Module {
  readonly features = this.child('features', new Sequential(new Conv2d(1, 3, 3, { padding: 1 }), new BatchNorm(3), ReLU()));
  readonly classifier = this.child('classifier', new Linear(3 * 4 * 4, 5));

  forward(x: E.Tensor): E.Tensor {
    return this.classifier.forward(E.flatten(this.features.forward(x)));
  }
}

const KEYS = ['features.0.weight', 'features.0.bias', 'features.1.weight', 'features.1.bias', 'features.1.running_mean',
  'features.1.running_var', 'features.1.num_batches_tracked', 'classifier.weight', 'classifier.bias'];

const logitsOf = (m: Module, x: number[] | Float32Array, shape = [2, 1, 4, 4]): Float32Array =>
  E.noGrad(() => E.tidy(() => m.eval().forward(E.tensor(x, shape)).toFloat32()));

const stateOf = (m: Module): Map<string, number[]> => new Map([...m.namedState()].map(([k, t]) => [k, [...t.toArray()]]));

/** A Tiny with random weights whose batch-norm statistics moved away from their defaults (two training passes). */
function trainedTiny(seed: number): Tiny {
  E.manualSeed(seed);
  const m = new Tiny();
  E.noGrad(() => E.tidy(() => { for (let i = 0; i < 2; i++) m.train().forward(E.randNormal([4, 1, 4, 4])); }));
  return m;
}

/** The tensors of `file` with `edit` applied, written to a new file; returns its path. */
function edited(file: string, edit: (t: Map<string, NamedArray>) => void): string {
  const { tensors } = readSafetensors(file);
  edit(tensors);
  const out = join(tempDir('convlab-weights-'), 'edited.safetensors');
  writeSafetensors(out, tensors);
  return out;
}

test('a state dict written by PyTorch (torch key names, I64 num_batches_tracked) loads and gives its eval logits', TIMEOUT, () => {
  const fixture = JSON.parse(readFileSync(join(FIXTURES, 'tiny.json'), 'utf8')) as { keys: string[]; input: { data: number[] }; logits: { data: number[] }; logits_mixed: { data: number[] } };
  assert.deepEqual(fixture.keys, KEYS, 'the TS model names its tensors as torch does');
  const m = new Tiny();
  const r = loadWeights(m, join(FIXTURES, 'tiny.safetensors'));
  assert.deepEqual({ kind: r.kind, loaded: r.loaded, missing: r.missing, unexpected: r.unexpected, warnings: r.warnings }, { kind: 'state dict', loaded: 9, missing: [], unexpected: [], warnings: [] });
  assert.equal(m.features.layers[1]!.stateDict().get('num_batches_tracked')!.item(), 7);
  const tol = (expected: number[]): number => 1e-5 * Math.max(1, ...expected.map(Math.abs));
  const close = (got: Float32Array, expected: number[], what: string): void => got.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) <= tol(expected), `${what}[${i}]: ${v} vs ${expected[i]}`));
  close(logitsOf(m, fixture.input.data), fixture.logits.data, 'logits');
  // The same weights with some tensors stored as F16, BF16 and F64: read into float32 as torch rounds them.
  loadWeights(m, join(FIXTURES, 'tiny-mixed.safetensors'));
  close(logitsOf(m, fixture.input.data), fixture.logits_mixed.data, 'logits (mixed dtypes)');
  m.dispose();
});

test('round trip: saveWeights writes torchvision-style safetensors; a fresh model loading it gives identical outputs', TIMEOUT, () => {
  const dir = tempDir('convlab-weights-');
  const a = trainedTiny(1), b = trainedTiny(2);
  const x = Float32Array.from({ length: 32 }, (_, i) => Math.sin(i));
  assert.notDeepEqual(logitsOf(a, x), logitsOf(b, x), 'two seeds give two models');
  const file = join(dir, 'tiny.safetensors');
  saveWeights(a, file);
  const header = readSafetensors(file);
  assert.deepEqual([...header.tensors.keys()], KEYS, 'plain torch keys in state_dict order, no prefix');
  assert.equal(header.tensors.get('features.1.num_batches_tracked')!.int64, true, 'integer buffers as int64');
  loadWeights(b, file);
  assert.deepEqual(stateOf(b), stateOf(a));
  assert.deepEqual(logitsOf(b, x), logitsOf(a, x), 'bit-identical outputs');
  // A convlab checkpoint (model.* keys, optimiser state, metadata) loads the same way, through the API export.
  const c = trainedTiny(3), ckpt = join(dir, 'ckpt.safetensors');
  const meta = { model: { name: 'tiny', numClasses: 5, inChannels: 1, imageSize: 4 }, classes: ['a', 'b', 'c', 'd', 'e'], mean: [0.5], std: [0.25] };
  saveCheckpoint(ckpt, a, meta);
  const r = apiLoadWeights(c, ckpt);
  assert.equal(r.kind, 'convlab checkpoint');
  assert.deepEqual(r.checkpoint?.classes, meta.classes);
  assert.deepEqual(logitsOf(c, x), logitsOf(a, x));
  for (const m of [a, b, c]) m.dispose();
});

test('missing, unexpected and mis-shaped tensors: one line naming the file and the keys; the model is left untouched', TIMEOUT, () => {
  const file = join(FIXTURES, 'tiny.safetensors');
  const f32 = (shape: number[]): NamedArray => ({ shape, data: new Float32Array(shape.reduce((p, d) => p * d, 1)) });
  const cases: [string, (t: Map<string, NamedArray>) => void, (f: string) => string][] = [
    ['one key missing', (t) => { t.delete('classifier.bias'); }, (f) => `${f}: weights do not fit Tiny: missing keys (1): classifier.bias`],
    ['one unexpected key', (t) => { t.set('classifier.extra', f32([2])); }, (f) => `${f}: weights do not fit Tiny: unexpected keys (1): classifier.extra`],
    ['all missing, a long list is cut after five', (t) => { t.clear(); t.set('fc.weight', f32([1])); },
      (f) => `${f}: weights do not fit Tiny: missing keys (8): features.0.weight, features.0.bias, features.1.weight, features.1.bias, features.1.running_mean … and 3 more; unexpected keys (1): fc.weight`],
    ['another number of classes', (t) => { t.set('classifier.weight', f32([10, 48])); t.set('classifier.bias', f32([10])); },
      (f) => `${f}: weights do not fit Tiny: shape mismatch (2): classifier.weight is [10, 48] in the file, [5, 48] in the model, classifier.bias is [10] in the file, [5] in the model`],
    ['same size, other shape', (t) => { t.set('features.0.weight', f32([3, 9])); },
      (f) => `${f}: weights do not fit Tiny: shape mismatch (1): features.0.weight is [3, 9] in the file, [3, 1, 3, 3] in the model`],
  ];
  for (const [what, edit, message] of cases) {
    const bad = edited(file, edit), m = trainedTiny(4), before = stateOf(m);
    assert.throws(() => loadWeights(m, bad), (err: Error) => {
      assert.ok(err instanceof WeightsMismatchError, what);
      assert.equal(err.message, message(bad), what);
      assert.ok(!err.message.includes('\n'), `${what}: one line`);
      return true;
    });
    assert.deepEqual(stateOf(m), before, `${what}: nothing loaded`);
    m.dispose();
  }
  assert.throws(() => loadWeights(new Tiny(), join(FIXTURES, 'nope.safetensors')), { message: `${join(FIXTURES, 'nope.safetensors')}: weights file not found` });
  assert.throws(() => loadWeights(new Tiny(), FIXTURES), { message: `${FIXTURES}: is a folder, expected a .safetensors weights file` });
  assert.equal(listNames(['a', 'b', 'c', 'd', 'e']), 'a, b, c, d, e');
  assert.equal(listNames(['a', 'b', 'c', 'd', 'e', 'f']), 'a, b, c, d, e … and 1 more');
});

test('a file from before torch 0.4.1, without num_batches_tracked, loads with the count at 0 (as torch does)', TIMEOUT, () => {
  const file = edited(join(FIXTURES, 'tiny.safetensors'), (t) => { for (const k of [...t.keys()]) if (k.endsWith('num_batches_tracked')) t.delete(k); });
  const m = trainedTiny(4);
  loadWeights(m, file);
  const counts = [...m.namedState()].filter(([k]) => k.endsWith('num_batches_tracked')).map(([, t]) => t.item());
  assert.ok(counts.length > 0);
  assert.deepEqual(counts, counts.map(() => 0));
  m.dispose();
});

test('strict: false loads what fits, lists missing and unexpected keys in one warning line each; shapes stay errors', TIMEOUT, () => {
  const file = join(FIXTURES, 'tiny.safetensors');
  const bad = edited(file, (t) => { t.delete('classifier.bias'); t.delete('classifier.weight'); t.set('head.weight', { shape: [1], data: new Float32Array(1) }); });
  const m = trainedTiny(5), initialBias = [...m.classifier.bias!.toArray()];
  const r = loadWeights(m, bad, { strict: false });
  assert.deepEqual(r.warnings, [
    `${bad}: 2 of Tiny's tensors not in the file keep their initial values: classifier.weight, classifier.bias`,
    `${bad}: 1 tensors of the file that Tiny does not have were ignored: head.weight`,
  ]);
  assert.deepEqual({ loaded: r.loaded, missing: r.missing, unexpected: r.unexpected }, { loaded: 7, missing: ['classifier.weight', 'classifier.bias'], unexpected: ['head.weight'] });
  assert.deepEqual([...m.classifier.bias!.toArray()], initialBias, 'a missing tensor keeps its value');
  assert.deepEqual([...m.features.layers[0]!.stateDict().get('bias')!.toArray()], [...readSafetensors(file).tensors.get('features.0.bias')!.data], 'the others are loaded');
  const misShaped = edited(file, (t) => { t.set('classifier.bias', { shape: [4], data: new Float32Array(4) }); });
  assert.throws(() => loadWeights(m, misShaped, { strict: false }), { message: `${misShaped}: weights do not fit Tiny: shape mismatch (1): classifier.bias is [4] in the file, [5] in the model` });
  m.dispose();
});

test('key map: a ModelSpec\'s stateDictKeyMap (or the keyMap option) renames old keys before the check', TIMEOUT, () => {
  // DenseNet-style legacy names: "features.1.weight" was once saved as "features.norm.1.weight".
  const legacy = (k: string): string => k.replace(/^features\.(\d+)\./, 'features.norm.$1.');
  const modern = (k: string): string => k.replace(/^features\.norm\.(\d+)\./, 'features.$1.');
  const old = edited(join(FIXTURES, 'tiny.safetensors'), (t) => { const all = [...t]; t.clear(); for (const [k, v] of all) t.set(legacy(k), v); });
  assert.throws(() => loadWeights(new Tiny(), old), /missing keys \(7\): features\.0\.weight.*; unexpected keys \(7\): features\.norm\.0\.weight/);
  const viaOption = new Tiny();
  assert.equal(loadWeights(viaOption, old, { keyMap: modern }).loaded, 9);
  if (!listModels().some((s) => s.name === 'test-tiny-legacy')) {
    listModels().push({ name: 'test-tiny-legacy', description: 'test only', defaultInput: [1, 4, 4], extraOptions: [], create: () => new Tiny(), stateDictKeyMap: modern });
  }
  const viaSpec = createModel('test-tiny-legacy');
  assert.equal(loadWeights(viaSpec, old, { modelName: 'test-tiny-legacy' }).loaded, 9);
  assert.deepEqual(stateOf(viaSpec), stateOf(viaOption));
  assert.throws(() => loadWeights(new Tiny(), old, { modelName: 'no-such-model' }), /^Error: unknown model 'no-such-model'/);
  viaOption.dispose(); viaSpec.dispose();
});

/** A Linear that accepts its weight saved as [out, c, h, w] (a conv-shaped classifier), reshaping it in its hook. */
class FlatteningLinear extends Linear {
  prefixes: string[] = [];
  override adaptStateDict(entries: Map<string, StateEntry>, prefix: string): void {
    this.prefixes.push(prefix);
    const w = entries.get(`${prefix}weight`);
    if (w && w.shape.length === 4) w.shape = [w.shape[0]!, w.data.length / w.shape[0]!];
  }
}

class TinyAdapting extends Tiny {
  override readonly classifier = this.child('classifier', new FlatteningLinear(48, 5));
}

test('adaptStateDict: each module\'s hook gets the entries and its own prefix before the shapes are checked', TIMEOUT, () => {
  const file = edited(join(FIXTURES, 'tiny.safetensors'), (t) => { t.get('classifier.weight')!.shape = [5, 3, 4, 4]; });
  assert.throws(() => loadWeights(new Tiny(), file), /shape mismatch \(1\): classifier\.weight is \[5, 3, 4, 4\] in the file, \[5, 48\] in the model$/);
  const m = new TinyAdapting();
  assert.equal(loadWeights(m, file).loaded, 9);
  assert.deepEqual(m.classifier.prefixes, ['classifier.']);
  const reference = new Tiny();
  loadWeights(reference, join(FIXTURES, 'tiny.safetensors'));
  const x = Float32Array.from({ length: 32 }, (_, i) => Math.cos(i));
  assert.deepEqual(logitsOf(m, x), logitsOf(reference, x));
  m.dispose(); reference.dispose();
});

test('a convlab-trained lenet5 saved with saveWeights loads by model name', TIMEOUT, () => {
  const a = createModel('lenet5'), b = createModel('lenet5'), file = join(tempDir('convlab-weights-'), 'lenet.safetensors');
  saveWeights(a, file);
  loadWeights(b, file, { modelName: 'lenet5' });
  const x = Float32Array.from({ length: 784 }, (_, i) => (i % 13) / 13);
  assert.deepEqual(logitsOf(b, x, [1, 1, 28, 28]), logitsOf(a, x, [1, 1, 28, 28]));
  assert.throws(() => loadWeights(createModel('lenet5', { numClasses: 3 }), file, { modelName: 'lenet5' }),
    { message: `${file}: weights do not fit lenet5: shape mismatch (2): output.weight is [10, 84] in the file, [3, 84] in the model, output.bias is [10] in the file, [3] in the model` });
  a.dispose(); b.dispose();
});
