/**
 * `convlab train airbench94`: the airbench94 speedrun recipe (src/train/airbench-*.ts) behind trainModel. It
 * trains on the whole training set, evaluates on the test set after each epoch, and reports the final test accuracy
 * with and without test-time augmentation, and the wall time split into preparation, training and evaluation.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { initEngine } from './engine/index.js';
import { classCounts, computeChannelStats, loadDataset, stratifiedSubset } from './data/index.js';
import { AIRBENCH94, CIFAR10_MEAN, CIFAR10_STD, type AirbenchConfig } from './train/airbench-recipe.js';
import { trainAirbench, type AirbenchTimes } from './train/airbench-trainer.js';
import { writeEvaluation } from './train/trainer.js';
import { openRunDir } from './train/run-lock.js';
import { writeJsonAtomic } from './util/atomic-file.js';
import { writeReport } from './report/index.js';
import type { TrainOptions, TrainSummary } from './api.js';

export interface AirbenchSummary extends TrainSummary {
  accuracy: number;
  accuracyTta: number;
  times: AirbenchTimes;
}

/** The recipe with the options a user may change: seed, epochs, batch size, micro-batch, lr, momentum, weight decay, smoothing. */
export function airbenchConfig(o: TrainOptions): AirbenchConfig {
  const batchSize = o.batchSize ?? AIRBENCH94.batchSize;
  return {
    ...AIRBENCH94, model: o.model, dataset: o.dataset, seed: o.seed ?? AIRBENCH94.seed, epochs: o.epochs ?? AIRBENCH94.epochs,
    batchSize, microBatch: o.microBatch ?? batchSize, lr: o.optimizer?.lr ?? AIRBENCH94.lr, momentum: o.optimizer?.momentum ?? AIRBENCH94.momentum,
    weightDecay: o.optimizer?.weightDecay ?? AIRBENCH94.weightDecay, labelSmoothing: o.loss?.labelSmoothing ?? AIRBENCH94.labelSmoothing,
    checkpointEvery: o.checkpointEvery ?? 0,
  };
}

export async function trainAirbenchModel(o: TrainOptions): Promise<AirbenchSummary> {
  const started = performance.now();
  await initEngine({ threads: o.threads });
  const config = airbenchConfig(o);
  const log = (line: string): void => o.callbacks?.onLog?.(line);
  let train = await loadDataset(o.dataset, { dataDir: o.dataDir, split: 'train' });
  let test = await loadDataset(o.dataset, { dataDir: o.dataDir, split: 'test' });
  if (o.limit && o.limit < train.length) {
    train = stratifiedSubset(train, o.limit, config.seed + 1);
    // A quick look should not spend minutes on six test-time views of 10,000 images.
    if (o.limit < test.length) test = stratifiedSubset(test, o.limit, config.seed + 2);
    log(`--limit ${o.limit}: training on ${train.length} images, testing on ${test.length}`);
  }
  const isCifar10 = o.dataset === 'cifar10';
  const stats = isCifar10 ? { mean: CIFAR10_MEAN, std: CIFAR10_STD } : computeChannelStats(train);
  const runDir = o.outDir ?? join('runs', `${o.model}-${o.dataset.replace(/[^a-z0-9-]/gi, '_')}-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-')}`);
  if (o.resume && !existsSync(join(runDir, 'last.safetensors'))) throw new Error(`--resume: no checkpoint at ${join(runDir, 'last.safetensors')}`);
  const lock = openRunDir(runDir, { resume: o.resume, overwrite: o.overwrite, log });
  try {
    const counts = { train: classCounts(train), val: classCounts(test), test: classCounts(test) };
    writeJsonAtomic(join(runDir, 'class_counts.json'), counts);
    const result = await trainAirbench(config, { train, test, mean: stats.mean, std: stats.std }, runDir, {
      resume: o.resume, callbacks: o.callbacks, interrupt: o.interrupt, prepareSeconds: (performance.now() - started) / 1000,
    });
    writeEvaluation(runDir, 'test', result.testTta);
    const t = result.times, wall = t.prepare + t.train + t.evaluate;
    writeJsonAtomic(join(runDir, 'airbench.json'), {
      accuracy: result.test.report.accuracy, accuracy_tta: result.testTta.report.accuracy, tta_level: config.ttaLevel,
      seconds: { prepare: t.prepare, train: t.train, evaluate: t.evaluate, wall },
    });
    const pct = (v: number): string => (100 * v).toFixed(2) + ' %';
    log(`airbench94: test accuracy ${pct(result.test.report.accuracy)} without TTA, ${pct(result.testTta.report.accuracy)} with TTA (level ${config.ttaLevel})`);
    log(`wall time ${wall.toFixed(1)} s: data preparation ${t.prepare.toFixed(1)} s, training ${t.train.toFixed(1)} s, evaluation ${t.evaluate.toFixed(1)} s`);
    const report = o.noReport ? undefined : await writeReport(runDir);
    result.model.dispose();
    const lastEpoch = result.history.at(-1)?.epoch ?? 0;
    return {
      runDir, history: result.history, bestEpoch: lastEpoch, evaluatedEpoch: lastEpoch, test: result.testTta.report, testLoss: result.testTta.loss,
      trainSeconds: t.train, report, classCounts: counts.train, accuracy: result.test.report.accuracy, accuracyTta: result.testTta.report.accuracy, times: t,
    };
  } finally {
    lock.release();
  }
}
