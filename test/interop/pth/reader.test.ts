/**
 * readPth on files written by PyTorch 1.13's torch.save (scripts/fixtures/pth_fixtures.py): every dtype's values,
 * shared storages read once and viewed, a transposed (non-contiguous) view gathered, deflated zips, checkpoint dicts,
 * the legacy format refused in one line, and torchvision DenseNet weights from a .pth reproducing PyTorch's logits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from '../../../src/engine/index.js';
import { DenseNet } from '../../../src/models/densenet.js';
import { BatchNorm, Conv2d, Linear, Module, ReLU, Sequential } from '../../../src/nn/index.js';
import { readPth } from '../../../src/interop/pth/index.js';
import { loadWeights } from '../../../src/train/weights.js';
import { assertLogitsMatch, readZooTensors, tensorOf } from '../../models/zoo-helpers.js';
import { useReferenceBackend } from '../../train/helpers.js';
import { floats, pthFixture, recorded, statePickle, zip64Of } from './helpers.js';

useReferenceBackend();
const TIMEOUT = { timeout: 60_000 };

/** The fixture's torch model (pth_fixtures.py's Tiny): conv 1→3, batch norm, ReLU, then linear 48→5. */
class Tiny extends Module {
  readonly features = this.child('features', new Sequential(new Conv2d(1, 3, 3, { padding: 1 }), new BatchNorm(3), ReLU()));
  readonly classifier = this.child('classifier', new Linear(3 * 4 * 4, 5));
  forward(x: E.Tensor): E.Tensor { return this.classifier.forward(E.flatten(this.features.forward(x))); }
}

for (const file of ['dtypes.pth', 'dtypes-deflate.pth']) {
  test(`${file}: float32, float16, bfloat16, float64, int64, int32 and uint8 tensors hold torch's values`, TIMEOUT, () => {
    const expected = recorded('dtypes.json');
    const r = readPth(pthFixture(file));
    assert.deepEqual([...r.entries.keys()], Object.keys(expected));
    for (const [name, want] of Object.entries(expected)) {
      const got = r.entries.get(name)!;
      assert.equal(r.dtypes.get(name), want.dtype, name);
      assert.deepEqual(got.shape, want.shape, name);
      assert.ok(got.data instanceof (want.dtype.includes('float') ? Float32Array : Int32Array), `${name}: array type`);
      assert.deepEqual([...got.data], want.data, name); // exact: float16/bfloat16/float64 → float32 as torch's .float()
    }
  });
}

test('zip64: sizes and offsets in zip64 extras and the zip64 end records are followed', TIMEOUT, () => {
  const dir = mkdtempSync(join(tmpdir(), 'convlab-pth-'));
  try {
    const file = join(dir, 'zip64.pth');
    writeFileSync(file, zip64Of([
      ['big/data.pkl', statePickle([{ name: 'w', numel: 3, shape: [3] }, { name: 'b', key: '1', numel: 1, shape: [] }])],
      ['big/data/0', floats(1, 2, 3)], ['big/data/1', floats(-4)], ['big/version', new TextEncoder().encode('3\n')],
    ]));
    const r = readPth(file);
    assert.deepEqual([...r.entries].map(([k, e]) => [k, e.shape, [...e.data]]), [['w', [3], [1, 2, 3]], ['b', [], [-4]]]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('views.pth: four tensors on one storage (offsets, a transposed view, a stepped slice) read once', TIMEOUT, () => {
  const expected = recorded('views.json');
  const r = readPth(pthFixture('views.pth'));
  for (const [name, want] of Object.entries(expected)) {
    assert.deepEqual(r.entries.get(name)!.shape, want.shape, name);
    assert.deepEqual([...r.entries.get(name)!.data], want.data, name);
  }
  // Contiguous float32 tensors are views of the one storage buffer; the transposed one is gathered into its own.
  const buffer = (name: string): ArrayBufferLike => r.entries.get(name)!.data.buffer;
  assert.equal(buffer('row'), buffer('base'));
  assert.notEqual(buffer('transposed'), buffer('base'));
  assert.equal(r.entries.get('row')!.data.byteOffset, 4 * 4);
});

test("checkpoint dicts: the state dict under 'state_dict' (beside epoch and optimizer) or 'model' loads, and the key is named", TIMEOUT, () => {
  const expected = recorded('tiny.json');
  for (const [file, key] of [['checkpoint.pth', 'state_dict'], ['checkpoint-model.pth', 'model']] as const) {
    const r = readPth(pthFixture(file));
    assert.equal(r.checkpointKey, key, file);
    const m = new Tiny();
    const loaded = loadWeights(m, pthFixture(file));
    assert.deepEqual([loaded.loaded, loaded.source], [9, `the state dict under '${key}'`], file);
    for (const [name, t] of m.stateDict()) assert.deepEqual([...t.toArray()], expected[name]!.data, `${file}: ${name}`);
    m.dispose();
  }
});

test("densenet_small.pth: torchvision DenseNet weights from a .pth equal the safetensors fixture's and give PyTorch's logits", TIMEOUT, () => {
  const fx = readZooTensors('densenet_small_cifar.safetensors');
  const pth = readPth(pthFixture('densenet_small.pth'));
  assert.equal(pth.entries.size, fx.size - 2);
  for (const [name, entry] of pth.entries) {
    assert.deepEqual(entry.shape, fx.get(name)!.shape, name);
    assert.deepEqual([...entry.data], [...fx.get(name)!.data], name);
  }
  const m = new DenseNet({ growthRate: 6, blockConfig: [2, 2, 2], numInitFeatures: 12, bnSize: 4, numClasses: 5, stem: 'cifar' });
  try {
    assert.equal(loadWeights(m, pthFixture('densenet_small.pth')).loaded, m.stateDict().size);
    m.eval();
    E.tidy(() => assertLogitsMatch(E.noGrad(() => m.forward(tensorOf(fx.get('input')!))), fx.get('logits')!, 'densenet_small.pth'));
  } finally {
    m.dispose();
  }
});

test('legacy (pre-1.6) files: one line saying to re-save them with a newer PyTorch', TIMEOUT, () => {
  const file = pthFixture('legacy.pth');
  assert.throws(() => loadWeights(new Tiny(), file), {
    message: `${file}: a legacy PyTorch file (saved before 1.6, not a zip); re-save it with torch.save(obj, f) in PyTorch ≥ 1.6 (_use_new_zipfile_serialization=True)`,
  });
});

test('a pickle that calls os.system is refused by name, and its command never runs', TIMEOUT, () => {
  // The fixture's command is `touch "$CONVLAB_PTH_CANARY"` (Python's pickle.loads runs it: checked by the fixture script).
  const dir = mkdtempSync(join(tmpdir(), 'convlab-pth-'));
  const canary = join(dir, 'ran');
  process.env.CONVLAB_PTH_CANARY = canary;
  try {
    const file = pthFixture('malicious.pth');
    assert.throws(() => loadWeights(new Tiny(), file), { message: `${file}: refusing pickle global os.system (only a state dict's globals are allowed)` });
    assert.throws(() => readPth(file), { message: `${file}: refusing pickle global os.system (only a state dict's globals are allowed)` });
    assert.equal(existsSync(canary), false);
  } finally {
    delete process.env.CONVLAB_PTH_CANARY;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('torch.save copies of the EfficientNet and ViT parity fixtures read back as exactly their state-dict tensors', TIMEOUT, () => {
  for (const name of ['efficientnet_small', 'vit_small']) {
    const fx = readZooTensors(`${name}.safetensors`);
    const state = [...fx].filter(([key]) => !key.startsWith('__'));
    const pth = readPth(pthFixture(`${name}.pth`));
    assert.deepEqual([...pth.entries.keys()], state.map(([key]) => key), `${name}: the same keys in the same order`);
    for (const [key, t] of state) {
      const entry = pth.entries.get(key)!;
      assert.deepEqual(entry.shape, t.shape, `${name}: ${key}`);
      assert.deepEqual([...entry.data], [...t.data], `${name}: ${key}`);
    }
  }
});
