/**
 * Flag validation (issue 15, item 5): every flag is checked before any data is read or any file written, and a
 * bad value is refused in the CLI's own words — the flag, the value, and what is allowed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FlagError, parseTrainFlags, parseEvalFlags, parsePredictFlags, parseSummaryFlags, type RawFlags } from '../../src/cli/flags.js';
import { trainOptions } from '../../src/cli/commands/train.js';
import { train } from '../../src/train/trainer.js';
import { listModels } from '../../src/models/index.js';
import { baseConfig, quadrantDataset, useReferenceBackend } from '../train/helpers.js';
import { convlab, filesUnder, oneLineError, scratchDir } from './run-cli.js';

const TMP = scratchDir();
const FILE = join(TMP, 'a-file');
writeFileSync(FILE, 'not a folder\n');
const USED = join(TMP, 'used-run');
mkdirSync(USED);
writeFileSync(join(USED, 'metrics.jsonl'), '{}\n');

const base: RawFlags = { dataset: 'mnist-sample' };

const refused: [string, RawFlags, string][] = [
  ['--epochs 0', { epochs: '0' }, "--epochs '0' is invalid: must be a whole number ≥ 1"],
  ['--epochs 1.5', { epochs: '1.5' }, "--epochs '1.5' is invalid: must be a whole number ≥ 1"],
  ['--batch-size 0', { batchSize: '0' }, "--batch-size '0' is invalid: must be a whole number ≥ 1"],
  ['--lr -0.1', { lr: '-0.1' }, "--lr '-0.1' is invalid: must be a number > 0"],
  ['--lr 0', { lr: '0' }, "--lr '0' is invalid: must be a number > 0"],
  ['--lr empty', { lr: '' }, "--lr '' is invalid: must be a number > 0"],
  ['--lr Infinity', { lr: 'Infinity' }, "--lr 'Infinity' is invalid: must be a number > 0"],
  ['--val-split 1', { valSplit: '1' }, "--val-split '1' is invalid: must be a number from 0 up to (not including) 1"],
  ['--val-split -0.1', { valSplit: '-0.1' }, "--val-split '-0.1' is invalid: must be a number from 0 up to (not including) 1"],
  ['--limit 0', { limit: '0' }, "--limit '0' is invalid: must be a whole number ≥ 1"],
  ['--momentum 1', { momentum: '1' }, "--momentum '1' is invalid: must be a number from 0 up to (not including) 1"],
  ['--weight-decay -1', { weightDecay: '-1' }, "--weight-decay '-1' is invalid: must be a number ≥ 0"],
  ['--seed -1', { seed: '-1' }, "--seed '-1' is invalid: must be a whole number from 0 to 4294967295"],
  ['--threads 0', { threads: '0' }, "--threads '0' is invalid: must be a whole number from 1 to 256"],
  ['--patience -1', { patience: '-1' }, "--patience '-1' is invalid: must be a whole number ≥ 0"],
  ['--checkpoint-every x', { checkpointEvery: 'x' }, "--checkpoint-every 'x' is invalid: must be a whole number ≥ 0"],
  ['--time-budget 0', { timeBudget: '0' }, "--time-budget '0' is invalid: expected a duration > 0 such as 90s, 10m or 1.5h"],
  ['--time-budget 10 min', { timeBudget: '10 min' }, "--time-budget '10 min' is invalid: expected a duration > 0 such as 90s, 10m or 1.5h"],
  ['--eval-every -1', { evalEvery: '-1' }, "--eval-every '-1' is invalid: must be a whole number ≥ 0"],
  ['--dropout 1', { dropout: '1' }, "--dropout '1' is invalid: must be a number from 0 up to (not including) 1"],
  ['--step-epochs 0', { stepEpochs: '0' }, "--step-epochs '0' is invalid: must be a number of epochs > 0"],
  ['--divergence-factor 1', { divergenceFactor: '1' }, "--divergence-factor '1' is invalid: must be a number > 1 (a step loss above this × the first epoch's median stops training)"],
  ['--clip-grad-norm 0', { clipGradNorm: '0' }, "--clip-grad-norm '0' is invalid: must be a number > 0"],
  ['--optimizer rmsprop', { optimizer: 'rmsprop' }, "--optimizer 'rmsprop' is invalid: must be one of sgd, adam, adamw"],
  ['--schedule linear', { schedule: 'linear' }, "--schedule 'linear' is invalid: must be one of constant, step, cosine, onecycle"],
  ['--monitor val.acc', { monitor: 'val.acc' }, "--monitor 'val.acc' is invalid: must be one of val.accuracy, val.loss, val.macro_recall, val.balanced_accuracy"],
  ['--sampler random', { sampler: 'random' }, "--sampler 'random' is invalid: must be one of uniform, balanced"],
  ['--augment blur', { augment: 'blur' }, "--augment 'blur' is invalid: must be none, or a comma-separated list of crop, flip"],
  ['--imbalance exp:0.5', { imbalance: 'exp:0.5' }, "--imbalance 'exp:0.5' is invalid: must be exp:<ratio> or step:<ratio> with a ratio ≥ 1, e.g. exp:100"],
  ['--drw after --epochs', { epochs: '3', drw: '4' }, "--drw '4' is invalid: must be an epoch from 1 to --epochs (3)"],
  ['unknown dataset', { dataset: 'mnistt' }, 'unknown dataset "mnistt". Valid names: mnist, fashion-mnist, cifar10, mnist-sample, folder:<path>'],
  ['folder: without a path', { dataset: 'folder:' }, "--dataset 'folder:' is invalid: folder: needs a path, e.g. folder:./my-images"],
  ['--data-dir missing', { dataDir: join(TMP, 'nope') }, `--data-dir '${join(TMP, 'nope')}': folder not found`],
  ['--data-dir is a file', { dataDir: FILE }, `--data-dir '${FILE}': is a file, expected a folder holding the dataset files`],
  ['--resume without --out', { resume: true }, '--resume needs --out <run-dir>: the run directory to continue'],
  ['--resume with --overwrite', { resume: true, overwrite: true, out: USED }, '--resume and --overwrite exclude each other: --resume continues the run in --out, --overwrite starts it afresh'],
  ['--out is a file', { out: FILE }, `--out '${FILE}': is a file, expected a run directory (a new or empty folder)`],
  ['--out holds a run', { out: USED }, `--out '${USED}': folder is not empty (holds metrics.jsonl); pass --resume to continue that run or --overwrite to replace it`],
  ['--lrn on lenet5', { lrn: true }, "--lrn: model 'lenet5' has no option 'lrn' (it takes: none)"],
  ['--dropout on lenet5', { dropout: '0.3' }, "--dropout: model 'lenet5' has no option 'dropout' (it takes: none)"],
  ['--resume with no checkpoint', { out: USED, resume: true }, `--out '${USED}' --resume: no checkpoint to resume from (${join(USED, 'last.safetensors')} not found)`],
  ['--weights missing', { weights: join(TMP, 'nope.safetensors') }, `--weights '${join(TMP, 'nope.safetensors')}': file not found`],
  ['--weights is a folder', { weights: USED }, `--weights '${USED}': is a folder, expected a .safetensors file (a state dict or a convlab checkpoint)`],
  ['--strict without --weights', { strict: 'false' }, '--strict applies to --weights: pass --weights FILE too'],
  ['--strict maybe', { weights: FILE, strict: 'maybe' }, "--strict 'maybe' is invalid: must be one of true, false"],
  ['--weights with --resume', { weights: FILE, resume: true, out: USED }, "--weights and --resume exclude each other: --weights initialises a new run, --resume continues from the run's own checkpoint"],
];

test('parseTrainFlags refuses each bad value with the flag, the value and what is allowed', { timeout: 10_000 }, () => {
  for (const [name, flags, message] of refused) {
    assert.throws(() => parseTrainFlags('lenet5', { ...base, ...flags }), (err: unknown) => {
      assert.ok(err instanceof FlagError, `${name}: ${String(err)}`);
      assert.equal(err.message, message, name);
      return true;
    }, name);
  }
  assert.throws(() => parseTrainFlags('lenet6', base), { message: `unknown model 'lenet6'. Valid models: ${listModels().map((s) => s.name).join(', ')}` });
});

test('accepted flags become typed values; only what the user set overrides the recipe', { timeout: 10_000 }, () => {
  const f = parseTrainFlags('lenet5', {
    ...base, epochs: '3', batchSize: '32', lr: '0.01', nesterov: false, valSplit: '0', limit: '64', augment: 'crop', seed: '7',
    monitor: 'val.loss', clipGradNorm: '5', divergenceFactor: '100', report: false, overwrite: true, out: USED,
  });
  assert.deepEqual([f.epochs, f.batchSize, f.lr, f.nesterov, f.valSplit, f.limit, f.seed, f.monitor, f.clipGradNorm, f.divergenceFactor, f.report, f.overwrite],
    [3, 32, 0.01, false, 0, 64, 7, 'val.loss', 5, 100, false, true]);
  assert.deepEqual(f.augment, { cropPadding: 4, hflip: false });
  const o = trainOptions(f);
  assert.deepEqual(o.optimizer, { name: 'sgd', lr: 0.01, momentum: 0.9, nesterov: false, weightDecay: 5e-4 });
  assert.equal(o.schedule, undefined, 'no schedule flag: the recipe\'s schedule stays');
  assert.equal(o.noReport, true);
  const budgets = ['90s', '10m', '1.5h', '45'].map((v) => trainOptions(parseTrainFlags('lenet5', { ...base, timeBudget: v, evalEvery: '50' })));
  assert.deepEqual(budgets.map((b) => [b.timeBudgetSeconds, b.evalEverySteps]), [[90, 50], [600, 50], [5400, 50], [45, 50]]);
  const plain = trainOptions(parseTrainFlags('lenet5', base));
  assert.equal(plain.optimizer, undefined);
  assert.equal(plain.timeBudgetSeconds, undefined);
  assert.equal(plain.epochs, undefined);
});

test('eval and predict flags: split, top-k and the checkpoint path are checked first', { timeout: 10_000 }, () => {
  assert.throws(() => parseEvalFlags(join(TMP, 'none'), base), { message: `${join(TMP, 'none')}: checkpoint not found` });
  assert.throws(() => parseEvalFlags(USED, base), { message: `${USED}: run directory has no best.safetensors` });
  assert.throws(() => parseEvalFlags(FILE, { ...base, split: 'val' }), { message: "--split 'val' is invalid: must be one of train, test" });
  assert.throws(() => parsePredictFlags(FILE, ['x.png'], { topK: '0' }), { message: "--top-k '0' is invalid: must be a whole number ≥ 1" });
  assert.equal(parsePredictFlags(FILE, ['x.png'], {}).topK, 3);
});

test('--weights and --strict on train, eval and predict; summary flags: --input, --num-classes, --depth, --repeats, --no-latency', { timeout: 10_000 }, () => {
  const t = parseTrainFlags('lenet5', { ...base, weights: FILE, strict: 'false' });
  assert.deepEqual([t.weights, t.strictWeights], [FILE, false]);
  assert.deepEqual([trainOptions(t).weights, trainOptions(t).strictWeights], [FILE, false]);
  assert.deepEqual([trainOptions(parseTrainFlags('lenet5', base)).weights, trainOptions(parseTrainFlags('lenet5', base)).strictWeights], [undefined, undefined]);
  assert.deepEqual([parseEvalFlags(FILE, { ...base, weights: FILE }).strict, parsePredictFlags(FILE, ['x.png'], { weights: FILE, strict: 'false' }).strict], [true, false]);
  assert.throws(() => parsePredictFlags(FILE, ['x.png'], { strict: 'true' }), { message: '--strict applies to --weights: pass --weights FILE too' });
  assert.deepEqual(parseSummaryFlags('lenet5', {}), { model: 'lenet5', input: undefined, weights: undefined, strict: true, numClasses: undefined, depth: undefined, repeats: 5, threads: undefined, json: false });
  const s = parseSummaryFlags('alexnet-cifar', { input: '3×64X48', numClasses: '100', depth: '1', latency: false, weights: FILE, json: true });
  assert.deepEqual([s.input, s.numClasses, s.depth, s.repeats, s.weights, s.json], [[3, 64, 48], 100, 1, 0, FILE, true]);
  assert.equal(parseSummaryFlags('lenet5', { repeats: '2' }).repeats, 2);
  const summaryRefused: [RawFlags, string][] = [
    ...['3x0x32', '3x32', '3x32x32x1', 'axbxc', '', '3x32x-1', '3x32x1.5', '3 x 32'].map((v): [RawFlags, string] => [{ input: v }, `--input '${v}' is invalid: must be channels×height×width, three whole numbers ≥ 1, e.g. 3x32x32`]),
    [{ numClasses: '0' }, "--num-classes '0' is invalid: must be a whole number ≥ 1"],
    [{ depth: '-1' }, "--depth '-1' is invalid: must be a whole number ≥ 0"],
    [{ repeats: '0' }, "--repeats '0' is invalid: must be a whole number from 1 to 1000"],
    [{ repeats: '3', latency: false }, '--repeats and --no-latency exclude each other'],
    [{ weights: join(TMP, 'w.safetensors') }, `--weights '${join(TMP, 'w.safetensors')}': file not found`],
  ];
  for (const [raw, message] of summaryRefused) assert.throws(() => parseSummaryFlags('lenet5', raw), (err: unknown) => err instanceof FlagError && err.message === message, JSON.stringify(raw));
  assert.throws(() => parseSummaryFlags('lenet', {}), /^FlagError: unknown model 'lenet'\. Valid models: lenet5/);
});

test('the CLI refuses bad flags before reading data or writing anything: one line, exit 1, no run directory', { timeout: 60_000 }, async () => {
  // The data dir holds a damaged file: had the data been read first, the error would be about it.
  const cwd = scratchDir();
  const data = join(cwd, 'data');
  mkdirSync(data);
  for (const f of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) writeFileSync(join(data, f), 'damaged');
  const cases: [string[], string][] = [
    [['--batch-size', '0'], "--batch-size '0' is invalid: must be a whole number ≥ 1"],
    [['--lr', '-1'], "--lr '-1' is invalid: must be a number > 0"],
    [['--val-split', '1'], "--val-split '1' is invalid: must be a number from 0 up to (not including) 1"],
    [['--epochs', '0'], "--epochs '0' is invalid: must be a whole number ≥ 1"],
    [['--limit', '0'], "--limit '0' is invalid: must be a whole number ≥ 1"],
  ];
  const runs = await Promise.all(cases.map(([flags]) => convlab(['train', 'lenet5', '-d', 'mnist', '--data-dir', data, '-o', join(cwd, 'run'), ...flags], { cwd })));
  runs.forEach((r, i) => assert.equal(oneLineError(r), cases[i]![1]));
  // --out naming an existing file: the CLI's words, not EEXIST.
  writeFileSync(join(cwd, 'taken'), 'x');
  const r = await convlab(['train', 'lenet5', '-d', 'mnist', '--data-dir', data, '-o', join(cwd, 'taken')], { cwd });
  assert.equal(oneLineError(r), `--out '${join(cwd, 'taken')}': is a file, expected a run directory (a new or empty folder)`);
  assert.deepEqual(filesUnder(cwd), ['data/t10k-images-idx3-ubyte', 'data/t10k-labels-idx1-ubyte', 'data/train-images-idx3-ubyte', 'data/train-labels-idx1-ubyte', 'taken'], 'nothing written');
});

test('the library refuses zero epochs too, before creating the run directory', { timeout: 10_000 }, () => {
  useReferenceBackend();
  const dir = join(TMP, 'zero-epochs');
  assert.throws(() => train(baseConfig({ epochs: 0 }), { train: quadrantDataset(8), val: quadrantDataset(4) }, dir), { message: 'epochs must be a whole number ≥ 1, got 0' });
  assert.deepEqual(filesUnder(dir), []);
  assert.ok(!existsSync(dir));
});
