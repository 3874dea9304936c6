#!/usr/bin/env node
/**
 * The `convlab` command. Every failure the user can cause ends as one line on stderr and exit code 1;
 * set CONVLAB_DEBUG=1 to see stack traces.
 */
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { evaluateCheckpoint, predict, trainModel } from '../api.js';
import { DATASET_NAMES, listDatasets } from '../data/index.js';
import { formatConfusion, formatReport } from '../metrics/index.js';
import { listModels, getModelSpec } from '../models/index.js';
import { compareRuns, writeReport } from '../report/index.js';
import { progressCallbacks } from '../train/progress.js';
import { SCHEDULES } from '../train/schedule.js';
import { defaultRecipe } from '../train/recipes.js';
import { writeFileAtomic } from '../util/atomic-file.js';

const version = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Unknown options list the valid ones, in one line. */
class ConvlabCommand extends Command {
  override createCommand(name?: string): Command {
    return new ConvlabCommand(name);
  }

  unknownOption(flag: string): never {
    const valid = this.options.map((o) => o.long).filter(Boolean).join(', ');
    this.error(`error: unknown option '${flag}'. Valid options for '${this.name()}': ${valid}, --help`, { code: 'commander.unknownOption' });
  }
}

const num = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`${name} must be a number, got '${v}'`);
  return n;
};
const int = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got '${v}'`);
  return n;
};

const program = new ConvlabCommand('convlab')
  .description('Define, train, evaluate and compare image classifiers on a WebAssembly SIMD engine')
  .version(version);

program.command('train')
  .description('train a model on a dataset; writes metrics, checkpoints, plots and report.html to a run directory')
  .argument('<model>', `model name (${listModels().map((m) => m.name).join(', ')})`)
  .requiredOption('-d, --dataset <name>', `dataset (${DATASET_NAMES.join(', ')}, or folder:<path>)`)
  .option('--data-dir <dir>', 'folder holding the dataset files')
  .option('-o, --out <dir>', 'run directory (default runs/<model>-<dataset>-<time>)')
  .option('--resume', 'continue the run in --out from its last checkpoint')
  .option('-e, --epochs <n>', 'epochs', int('--epochs'))
  .option('-b, --batch-size <n>', 'batch size', int('--batch-size'))
  .addOption(new Option('--optimizer <name>', 'optimizer').choices(['sgd', 'adam', 'adamw']))
  .option('--lr <x>', 'peak learning rate', num('--lr'))
  .option('--momentum <x>', 'SGD momentum', num('--momentum'))
  .option('--no-nesterov', 'plain momentum instead of Nesterov')
  .option('--weight-decay <x>', 'weight decay', num('--weight-decay'))
  .addOption(new Option('--schedule <name>', 'learning-rate schedule').choices(SCHEDULES))
  .option('--warmup <epochs>', 'linear warmup epochs', num('--warmup'))
  .option('--step-epochs <n>', 'step schedule: epochs between decays', num('--step-epochs'))
  .option('--seed <n>', 'random seed', int('--seed'))
  .option('--val-split <x>', 'fraction of training data held out for validation (0: validate on test)', num('--val-split'))
  .option('--limit <n>', 'train on a stratified subset of n images', int('--limit'))
  .option('--augment <list>', 'augmentation: crop,flip or none')
  .option('--imbalance <spec>', 'long-tailed training set: exp:<ratio> or step:<ratio>')
  .addOption(new Option('--loss <kind>', 'loss').choices(['cross-entropy', 'focal']))
  .addOption(new Option('--weighting <kind>', 'class weights').choices(['none', 'inverse', 'effective']))
  .option('--beta <x>', 'β of effective-number weights', num('--beta'))
  .option('--drw <epoch>', 'deferred re-weighting: weights from this epoch on', int('--drw'))
  .option('--focal-gamma <x>', 'focal loss γ', num('--focal-gamma'))
  .option('--label-smoothing <x>', 'label smoothing', num('--label-smoothing'))
  .addOption(new Option('--sampler <kind>', 'batch sampler').choices(['uniform', 'balanced']))
  .option('--monitor <metric>', 'metric for the best checkpoint and early stopping (val.accuracy, val.macro_recall, val.balanced_accuracy, val.loss)')
  .option('--patience <n>', 'early stopping patience in epochs (0: off)', int('--patience'))
  .option('--lrn', 'AlexNet: the paper\'s local response normalisation')
  .option('--dropout <p>', 'AlexNet: dropout probability', num('--dropout'))
  .option('--checkpoint-every <steps>', 'also checkpoint every n steps inside an epoch', int('--checkpoint-every'))
  .option('--threads <n>', 'worker threads (default $CONVLAB_THREADS or the core count)', int('--threads'))
  .option('--no-report', 'skip plots and report.html')
  .option('--json', 'print the summary as JSON')
  .action(async (model: string, o: Record<string, any>) => {
    getModelSpec(model);
    const augment = o.augment === undefined ? undefined
      : o.augment === 'none' ? {} : { cropPadding: o.augment.includes('crop') ? 4 : 0, hflip: o.augment.includes('flip') };
    const callbacks = o.json ? { onLog: (l: string) => process.stderr.write(l + '\n') } : progressCallbacks(o.epochs ?? defaultRecipe(model, o.dataset).epochs);
    const summary = await trainModel({
      model, dataset: o.dataset, dataDir: o.dataDir, outDir: o.out, resume: o.resume, epochs: o.epochs, batchSize: o.batchSize,
      optimizer: stripUndef({ name: o.optimizer, lr: o.lr, momentum: o.momentum, nesterov: o.nesterov === false ? false : undefined, weightDecay: o.weightDecay }) as never,
      schedule: o.schedule || o.warmup || o.stepEpochs ? stripUndef({ name: o.schedule ?? 'onecycle', warmupEpochs: o.warmup, stepEpochs: o.stepEpochs }) as never : undefined,
      loss: stripUndef({ kind: o.loss, weighting: o.weighting, beta: o.beta, drwEpoch: o.drw, focalGamma: o.focalGamma, labelSmoothing: o.labelSmoothing }) as never,
      seed: o.seed, valSplit: o.valSplit, limit: o.limit, augment, imbalance: o.imbalance, sampler: o.sampler, monitor: o.monitor,
      patience: o.patience, checkpointEvery: o.checkpointEvery, threads: o.threads, noReport: o.report === false,
      modelExtra: o.lrn || o.dropout !== undefined ? stripUndef({ lrn: o.lrn, dropout: o.dropout }) : undefined,
      callbacks,
    });
    if (o.json) {
      process.stdout.write(JSON.stringify({ run_dir: summary.runDir, best_epoch: summary.bestEpoch, evaluated_epoch: summary.evaluatedEpoch, test_loss: summary.testLoss,
        test: summary.test, history: summary.history, train_seconds: summary.trainSeconds }, null, 2) + '\n');
      return;
    }
    console.log(`\ntest set (${summary.test.numSamples} images), ${summary.evaluatedEpoch === summary.bestEpoch ? 'best' : 'last'} epoch ${summary.evaluatedEpoch}:\n`);
    console.log(formatReport(summary.test));
    console.log(`\nconfusion matrix (rows: true class, columns: predicted):\n${formatConfusion(summary.test.confusionMatrix, summary.test.classNames)}`);
    console.log(`\nrun directory: ${summary.runDir}`);
    if (summary.report) console.log(`report: ${summary.report.html}`);
  });

program.command('eval')
  .description('evaluate a run directory or checkpoint on a dataset split')
  .argument('<run-or-checkpoint>', 'run directory (uses best.safetensors) or a .safetensors checkpoint')
  .requiredOption('-d, --dataset <name>', 'dataset')
  .option('--data-dir <dir>', 'folder holding the dataset files')
  .addOption(new Option('--split <split>', 'split').choices(['train', 'test']).default('test'))
  .option('--threads <n>', 'worker threads', int('--threads'))
  .option('--json', 'print the metrics as JSON')
  .action(async (path: string, o: Record<string, any>) => {
    const r = await evaluateCheckpoint(path, o.dataset, { dataDir: o.dataDir, split: o.split, threads: o.threads });
    process.stdout.write(o.json ? JSON.stringify({ loss: r.loss, ...r.report }, null, 2) + '\n'
      : `${r.text}\n\nconfusion matrix (rows: true class, columns: predicted):\n${formatConfusion(r.report.confusionMatrix, r.report.classNames)}\n`);
  });

program.command('predict')
  .description('top-k classes for image files (PNG or JPEG)')
  .argument('<checkpoint>', 'run directory or .safetensors checkpoint')
  .argument('<images...>', 'image files')
  .option('-k, --top-k <k>', 'how many classes to show', int('--top-k'), 3)
  .option('--json', 'print predictions as JSON')
  .action(async (ckpt: string, files: string[], o: Record<string, any>) => {
    const preds = await predict(ckpt, files, { topK: o.topK });
    if (o.json) { process.stdout.write(JSON.stringify(preds, null, 2) + '\n'); return; }
    for (const p of preds) {
      console.log(`${p.file}: ${p.top.map((t) => `${t.class} ${(100 * t.probability).toFixed(1)}%`).join(', ')}`);
    }
  });

program.command('models')
  .description('list the available models')
  .option('--json', 'print as JSON')
  .action((o: { json?: boolean }) => {
    const models = listModels().map((m) => ({ name: m.name, input: m.defaultInput.join('×'), description: m.description }));
    if (o.json) { process.stdout.write(JSON.stringify(models, null, 2) + '\n'); return; }
    const w = Math.max(...models.map((m) => m.name.length));
    for (const m of models) console.log(`${m.name.padEnd(w)}  ${m.input.padEnd(9)}  ${m.description}`);
  });

program.command('datasets')
  .description('list datasets and whether they are available locally')
  .option('--data-dir <dir>', 'also look in this folder')
  .option('--json', 'print as JSON')
  .action((o: { json?: boolean; dataDir?: string }) => {
    const list = listDatasets({ dataDir: o.dataDir });
    if (o.json) { process.stdout.write(JSON.stringify(list, null, 2) + '\n'); return; }
    const w = Math.max(...list.map((d) => d.name.length));
    for (const d of list) {
      const where = d.available.train || d.available.test ? `${d.location} (${d.source})` : d.downloadable ? 'not found locally; downloads on first use' : 'not found';
      console.log(`${d.name.padEnd(w)}  ${d.shape.join('×').padEnd(7)}  ${String(d.sizes.train).padStart(6)} train / ${String(d.sizes.test).padStart(5)} test  ${where}`);
    }
  });

program.command('report')
  .description('(re)write the plots and report.html of a run directory')
  .argument('<run-dir>')
  .option('--json', 'print the written paths as JSON')
  .action(async (dir: string, o: { json?: boolean }) => {
    const paths = await writeReport(dir);
    console.log(o.json ? JSON.stringify(paths, null, 2) : paths.html);
  });

program.command('compare')
  .description('compare run directories: params, accuracy, macro recall, speed')
  .argument('<run-dirs...>')
  .option('-o, --out <file>', 'write the comparison HTML here', 'comparison.html')
  .option('--json', 'print the rows as JSON')
  .action(async (dirs: string[], o: { out: string; json?: boolean }) => {
    const { rows, html } = await compareRuns(dirs);
    writeFileAtomic(o.out, html);
    if (o.json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    else { console.table(rows); console.log(o.out); }
  });

function stripUndef(o: Record<string, unknown>): Record<string, unknown> | undefined {
  const r = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  return Object.keys(r).length ? r : undefined;
}

program.exitOverride();
try {
  await program.parseAsync(process.argv);
} catch (err) {
  const e = err as Error & { code?: string; exitCode?: number };
  if (e.code?.startsWith('commander.')) process.exit(e.exitCode ?? 1); // commander already printed its message
  if (process.env.CONVLAB_DEBUG) console.error(e.stack);
  else console.error(`convlab: ${e.message.split('\n')[0]}`);
  process.exit(1);
}
