/**
 * `convlab summary`, `--weights` on the commands, and inputs too small for a model, through the real CLI (child
 * processes on the reference backend): the table's columns and totals, the JSON fields (totals equal to
 * parameterCount and countMacs), weights files, and one-line errors for bad --input values and small inputs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../../src/engine/index.js';
import { createModel } from '../../src/models/index.js';
import { saveCheckpoint } from '../../src/train/checkpoint.js';
import { readSafetensors, writeSafetensors } from '../../src/train/safetensors.js';
import { saveWeights } from '../../src/train/weights.js';
import { writeRgbPng } from '../data/helpers.js';
import { useReferenceBackend } from '../train/helpers.js';
import { convlab, oneLineError, scratchDir, show, type CliRun } from './run-cli.js';

useReferenceBackend();
const CWD = scratchDir();
const TIMEOUT = { timeout: 120_000 };
const run = (args: string[]): Promise<CliRun> => convlab(args, { cwd: CWD });
const ok = (r: CliRun): void => { assert.equal(r.code, 0, show(r)); assert.ok(!/^\s{4}at /m.test(r.stderr), show(r)); };

interface SummaryJson {
  model: string; input: number[]; num_classes: number; output_shape: number[];
  layers: { name: string; type: string; depth: number; output_shape: number[]; params: number; macs: number }[];
  total_params: number; trainable_params: number; macs: number; param_bytes: number; activation_bytes: number;
  latency: { batch1_ms: number; batch64_ms: number; repeats: number } | null;
  weights: { file: string; kind: string; loaded: number; missing: string[]; unexpected: string[] } | null;
}

/** lenet5's weights two ways: a plain torchvision-style state dict, and a checkpoint for 3 classes at 28×28. */
const LENET_WEIGHTS = join(CWD, 'lenet5.safetensors'), LENET3_CKPT = join(CWD, 'lenet5-3.safetensors');
const lenet = createModel('lenet5');
saveWeights(lenet, LENET_WEIGHTS);
const LENET_PARAMS = lenet.parameterCount();
const LENET_MACS = E.noGrad(() => E.tidy(() => E.countMacs(() => { lenet.eval().forward(E.zeros([1, 1, 28, 28])); })));
lenet.dispose();
const lenet3 = createModel('lenet5', { numClasses: 3 });
saveCheckpoint(LENET3_CKPT, lenet3, { model: { name: 'lenet5', numClasses: 3, inChannels: 1, imageSize: 28 }, classes: ['a', 'b', 'c'], mean: [0.5], std: [0.25] });
lenet3.dispose();

test('summary lenet5: an aligned table with name (type), output shape, params and MACs per layer, then the totals', TIMEOUT, async () => {
  const r = await run(['summary', 'lenet5', '--no-latency']);
  ok(r);
  const lines = r.stdout.trimEnd().split('\n');
  const header = lines.find((l) => l.startsWith('Layer (type)'))!;
  assert.match(header, /^Layer \(type\)\s+Output shape\s+Params\s+MACs$/);
  const row = (name: string): string[] => lines.find((l) => l.trim().startsWith(`${name} (`))!.trim().split(/\s{2,}/);
  assert.deepEqual(row('c1'), ['c1 (Conv2d)', '1×6×28×28', '156', '117,600']);
  assert.deepEqual(row('output'), ['output (Linear)', '1×10', '850', '840']);
  // Columns align: every row's last column ends where the header's does.
  const tableRows = lines.slice(lines.indexOf(header) + 2, lines.indexOf(header) + 8);
  assert.equal(tableRows.length, 6);
  for (const l of tableRows) assert.equal(l.length, header.length, `aligned: '${l}'`);
  assert.ok(lines.includes('Total params: 61,706 (0.25 MB as float32)'), r.stdout);
  assert.ok(lines.includes('Multiply-adds: 416,520 (416.520 kMACs)'), r.stdout);
  assert.ok(!r.stdout.includes('Latency'), '--no-latency');
});

test('summary --json: one object; totals equal parameterCount and countMacs, and the layers add up to them', TIMEOUT, async () => {
  const r = await run(['summary', 'lenet5', '--json', '--repeats', '1']);
  ok(r);
  const s = JSON.parse(r.stdout) as SummaryJson;
  assert.deepEqual([s.model, s.input, s.num_classes, s.output_shape], ['lenet5', [1, 28, 28], 10, [1, 10]]);
  assert.deepEqual([s.total_params, s.trainable_params, s.macs, s.param_bytes], [LENET_PARAMS, LENET_PARAMS, LENET_MACS, 4 * LENET_PARAMS]);
  assert.equal(s.layers.reduce((n, l) => n + l.params, 0), s.total_params);
  assert.equal(s.layers.reduce((n, l) => n + l.macs, 0), s.macs);
  assert.deepEqual(s.layers.map((l) => `${l.name}:${l.type}:${l.depth}`), [':LeNet5:0', 'c1:Conv2d:1', 'c3:Conv2d:1', 'c5:Linear:1', 'f6:Linear:1', 'output:Linear:1']);
  assert.equal(s.activation_bytes, 4 * (6 * 28 * 28 + 16 * 10 * 10 + 120 + 84 + 10));
  // Latency is measured, not asserted: only its fields are checked.
  assert.equal(s.latency?.repeats, 1);
  for (const v of [s.latency!.batch1_ms, s.latency!.batch64_ms]) assert.ok(Number.isFinite(v) && v >= 0, `latency ${v}`);
  assert.equal(s.weights, null);
});

test('summary --depth folds nested modules into their parent row, keeping the totals', TIMEOUT, async () => {
  const [deep, shallow] = await Promise.all([run(['summary', 'alexnet-cifar', '--json', '--no-latency']), run(['summary', 'alexnet-cifar', '--json', '--no-latency', '--depth', '1'])]);
  ok(deep); ok(shallow);
  const d = JSON.parse(deep.stdout) as SummaryJson, s = JSON.parse(shallow.stdout) as SummaryJson;
  assert.ok(d.layers.some((l) => l.name === 'features.2' && l.type === 'MaxPool2d' && l.output_shape.join('×') === '1×64×16×16'), 'pooling and activations are rows');
  assert.ok(d.layers.some((l) => l.name === 'classifier.1' && l.type === 'Dropout'));
  assert.deepEqual(s.layers.map((l) => l.name), ['', 'features', 'classifier']);
  assert.equal(s.layers[1]!.params, d.layers.filter((l) => l.name.startsWith('features.')).reduce((n, l) => n + l.params, 0));
  for (const j of [d, s]) {
    assert.equal(j.layers.reduce((n, l) => n + l.params, 0), 35_855_178);
    assert.equal(j.layers.reduce((n, l) => n + l.macs, 0), j.macs);
  }
  assert.equal(s.macs, d.macs);
});

test('summary --weights: a torchvision-style state dict, or a checkpoint whose classes and input it adopts; mismatches are one line', TIMEOUT, async () => {
  const dir = join(CWD, 'weights');
  mkdirSync(dir);
  const partial = join(dir, 'partial.safetensors');
  const { tensors } = readSafetensors(LENET_WEIGHTS);
  tensors.delete('output.bias');
  writeSafetensors(partial, tensors);
  const [plain, ckpt, wrong, missing, lenient] = await Promise.all([
    run(['summary', 'lenet5', '--weights', LENET_WEIGHTS, '--json', '--no-latency']),
    run(['summary', 'lenet5', '--weights', LENET3_CKPT, '--json', '--no-latency']),
    run(['summary', 'lenet5', '--weights', LENET_WEIGHTS, '--num-classes', '4', '--no-latency']),
    run(['summary', 'lenet5', '--weights', partial, '--no-latency']),
    run(['summary', 'lenet5', '--weights', partial, '--strict', 'false', '--json', '--no-latency']),
  ]);
  ok(plain); ok(ckpt); ok(lenient);
  const p = JSON.parse(plain.stdout) as SummaryJson, c = JSON.parse(ckpt.stdout) as SummaryJson, l = JSON.parse(lenient.stdout) as SummaryJson;
  assert.deepEqual(p.weights, { file: LENET_WEIGHTS, kind: 'state dict', loaded: 10, missing: [], unexpected: [] });
  assert.deepEqual([c.weights?.kind, c.num_classes, c.input], ['convlab checkpoint', 3, [1, 28, 28]]);
  assert.equal(oneLineError(wrong), `${LENET_WEIGHTS}: weights do not fit lenet5: shape mismatch (2): output.weight is [10, 84] in the file, [4, 84] in the model, output.bias is [10] in the file, [4] in the model`);
  assert.equal(oneLineError(missing), `${partial}: weights do not fit lenet5: missing keys (1): output.bias`);
  assert.equal(lenient.stderr, `warning: ${partial}: 1 of lenet5's tensors not in the file keep their initial values: output.bias\n`);
  assert.deepEqual(l.weights?.missing, ['output.bias']);
  const other = await run(['summary', 'alexnet-cifar', '--weights', LENET3_CKPT, '--no-latency']);
  assert.equal(oneLineError(other), `${LENET3_CKPT}: is a checkpoint of lenet5, not alexnet-cifar`);
});

test('bad --input values and a missing --weights file: one line each, before any model is built', TIMEOUT, async () => {
  const values = ['3x0x32', '3x32', 'axbxc', '0x32x32'];
  const runs = await Promise.all([...values.map((v) => run(['summary', 'alexnet-cifar', '--input', v])), run(['summary', 'lenet5', '--weights', join(CWD, 'none.safetensors')])]);
  values.forEach((v, i) => assert.equal(oneLineError(runs[i]!), `--input '${v}' is invalid: must be channels×height×width, three whole numbers ≥ 1, e.g. 3x32x32`));
  assert.equal(oneLineError(runs[values.length]!), `--weights '${join(CWD, 'none.safetensors')}': file not found`);
});

test('an input too small for the model: summary and train name the layer where the spatial size reaches zero', TIMEOUT, async () => {
  // AlexNet at 8×8: conv1 (11×11, stride 4, padding 2) leaves 1×1, and the 3×3 max pool after it has no room.
  const folder = join(CWD, 'tiny-images');
  for (const split of ['train', 'test']) {
    for (const cls of ['a', 'b']) {
      mkdirSync(join(folder, split, cls), { recursive: true });
      for (let i = 0; i < 2; i++) writeRgbPng(join(folder, split, cls, `${i}.png`), 8, 8, (x, y) => [x * 30, y * 30, cls === 'a' ? 200 : 20]);
    }
  }
  const [summary, train] = await Promise.all([
    run(['summary', 'alexnet', '--input', '3x8x8', '--no-latency']),
    run(['train', 'alexnet', '-d', `folder:${folder}`, '--epochs', '1', '--val-split', '0.5', '--no-report', '-o', join(CWD, 'tiny-run')]),
  ]);
  const expected = 'input 3×8×8 is too small for alexnet: the spatial size reaches zero at features.2 (MaxPool2d), whose input is 1×64×1×1';
  assert.equal(oneLineError(summary), expected);
  assert.equal(oneLineError(train), expected);
});
