/**
 * `convlab train`: flags are parsed and checked first (cli/flags.ts); only then is data read or the run
 * directory touched. SIGINT/SIGTERM stop the run after the current step with a checkpoint; a second one exits at once.
 */
import type { Command } from 'commander';
import { trainModel, type TrainOptions } from '../../api.js';
import { DATASET_NAMES } from '../../data/index.js';
import { formatConfusion, formatReport } from '../../metrics/index.js';
import { listModels } from '../../models/index.js';
import { progressCallbacks } from '../../train/progress.js';
import { defaultRecipe } from '../../train/recipes.js';
import { SCHEDULES } from '../../train/schedule.js';
import { MONITOR_NAMES, TrainingInterrupted, type InterruptRequest } from '../../train/trainer.js';
import { parseTrainFlags, type RawFlags, type TrainFlags } from '../flags.js';
import { parseTrainUiFlag, startTrainingDashboard } from './ui.js';

/** Exit codes of a process ended by a signal, as shells report them (128 + signal number). */
const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

export function registerTrain(program: Command): void {
  program.command('train')
    .description('train a model on a dataset; writes metrics, checkpoints, plots and report.html to a run directory')
    .argument('<model>', `model name (${listModels().map((m) => m.name).join(', ')})`)
    .requiredOption('-d, --dataset <name>', `dataset (${DATASET_NAMES.join(', ')}, or folder:<path>)`)
    .option('--data-dir <dir>', 'folder holding the dataset files')
    .option('-o, --out <dir>', 'run directory (default runs/<model>-<dataset>-<time>)')
    .option('--resume', 'continue the run in --out from its last checkpoint')
    .option('--overwrite', 'replace the run already in --out')
    .option('-e, --epochs <n>', 'epochs (≥ 1)')
    .option('-b, --batch-size <n>', 'batch size (≥ 1)')
    .option('--micro-batch <n>', 'airbench94: images per forward/backward pass; gradients accumulate over the batch')
    .option('--optimizer <name>', 'optimizer: sgd, adam, adamw')
    .option('--lr <x>', 'peak learning rate (> 0)')
    .option('--momentum <x>', 'SGD momentum, 0 ≤ x < 1')
    .option('--no-nesterov', 'plain momentum instead of Nesterov')
    .option('--weight-decay <x>', 'weight decay (≥ 0)')
    .option('--schedule <name>', `learning-rate schedule: ${SCHEDULES.join(', ')}`)
    .option('--warmup <epochs>', 'linear warmup epochs')
    .option('--step-epochs <n>', 'step schedule: epochs between decays')
    .option('--seed <n>', 'random seed')
    .option('--val-split <x>', 'fraction of training data held out for validation, 0 ≤ x < 1 (0: validate on test)')
    .option('--limit <n>', 'train on a stratified subset of n images (≥ 1)')
    .option('--augment <list>', 'augmentation: crop,flip or none')
    .option('--imbalance <spec>', 'long-tailed training set: exp:<ratio> or step:<ratio>')
    .option('--loss <kind>', 'loss: cross-entropy, focal')
    .option('--weighting <kind>', 'class weights: none, inverse, effective')
    .option('--beta <x>', 'β of effective-number weights')
    .option('--drw <epoch>', 'deferred re-weighting: weights from this epoch on')
    .option('--focal-gamma <x>', 'focal loss γ')
    .option('--label-smoothing <x>', 'label smoothing')
    .option('--sampler <kind>', 'batch sampler: uniform, balanced')
    .option('--monitor <metric>', `metric for the best checkpoint and early stopping (${MONITOR_NAMES.join(', ')})`)
    .option('--patience <n>', 'early stopping patience in epochs (0: off)')
    .option('--lrn', 'AlexNet: the paper\'s local response normalisation')
    .option('--dropout <p>', 'AlexNet: dropout probability')
    .option('--checkpoint-every <steps>', 'also checkpoint every n steps inside an epoch')
    .option('--time-budget <duration>', 'stop after this much training time (e.g. 30m; evaluation not counted); the schedule follows the clock')
    .option('--eval-every <steps>', 'also evaluate every n steps, into evals.jsonl (accuracy against time)')
    .option('--divergence-factor <x>', 'stop when a step loss exceeds x × the first epoch\'s median (default 1e4)')
    .option('--clip-grad-norm <x>', 'scale gradients down to this L2 norm before each update')
    .option('--weights <file>', 'initialise from a safetensors state dict with torchvision\'s key names, or a convlab checkpoint')
    .option('--strict <true|false>', 'with --weights: refuse missing or unexpected keys (default true)')
    .option('--image-size <n>', 'folder: datasets: resize each image\'s shorter side to n and centre-crop n×n (in the model\'s channels)')
    .option('--freeze <paths>', 'train only the rest: parameters under these module paths (e.g. features) get no updates, their BatchNorm stays in eval mode')
    .option('--threads <n>', 'worker threads (default $CONVLAB_THREADS or the core count)')
    .option('--no-report', 'skip plots and report.html')
    .option('--json', 'print the summary as JSON')
    .option('--ui [port]', 'serve the live dashboard on 127.0.0.1 while training (default port 8765)')
    .action(async (model: string, raw: RawFlags) => {
      const flags = parseTrainFlags(model, raw), uiPort = parseTrainUiFlag(raw);
      const dashboard = uiPort === undefined ? undefined : await startTrainingDashboard(uiPort, flags.out);
      try {
        await runTrain(flags);
      } finally {
        await dashboard?.close();
      }
    });
}

function definedOnly<T extends object>(o: T): T | undefined {
  const entries = Object.entries(o).filter(([, v]) => v !== undefined);
  return entries.length ? Object.fromEntries(entries) as T : undefined;
}

/** TrainFlags → the library's TrainOptions (only what the user set; the recipe fills the rest). */
export function trainOptions(f: TrainFlags): TrainOptions {
  const recipe = defaultRecipe(f.model, f.dataset);
  const scheduleGiven = f.schedule !== undefined || f.warmup !== undefined || f.stepEpochs !== undefined;
  return {
    model: f.model, dataset: f.dataset, dataDir: f.dataDir, outDir: f.out, resume: f.resume, overwrite: f.overwrite,
    epochs: f.epochs, batchSize: f.batchSize, microBatch: f.microBatch,
    optimizer: f.optimizer !== undefined || f.lr !== undefined || f.momentum !== undefined || f.nesterov !== undefined || f.weightDecay !== undefined
      ? { ...recipe.optimizer, ...definedOnly({ name: f.optimizer, lr: f.lr, momentum: f.momentum, nesterov: f.nesterov, weightDecay: f.weightDecay }) }
      : undefined,
    schedule: scheduleGiven ? { name: f.schedule ?? 'onecycle', ...definedOnly({ warmupEpochs: f.warmup, stepEpochs: f.stepEpochs }) } : undefined,
    loss: { ...recipe.loss, ...definedOnly({ kind: f.loss, weighting: f.weighting, beta: f.beta, drwEpoch: f.drw, focalGamma: f.focalGamma, labelSmoothing: f.labelSmoothing }) },
    seed: f.seed, valSplit: f.valSplit, limit: f.limit, augment: f.augment, imbalance: f.imbalance, sampler: f.sampler, monitor: f.monitor,
    patience: f.patience, checkpointEvery: f.checkpointEvery, threads: f.threads, noReport: !f.report,
    divergenceFactor: f.divergenceFactor, clipGradNorm: f.clipGradNorm, timeBudgetSeconds: f.timeBudgetSeconds, evalEverySteps: f.evalEverySteps,
    weights: f.weights, strictWeights: f.weights !== undefined ? f.strictWeights : undefined, freeze: f.freeze, imageSize: f.imageSize,
    modelExtra: f.lrn || f.dropout !== undefined ? definedOnly({ lrn: f.lrn || undefined, dropout: f.dropout }) : undefined,
  };
}

/** The command that continues an interrupted run: the same flags, with --resume instead of --overwrite. */
export function resumeCommand(argv: readonly string[], out: string): string {
  // --weights (and its --strict) only initialise a new run, and are refused with --resume: the checkpoint has them.
  const args = argv.slice(2).filter((a, i, all) => a !== '--overwrite' && a !== '--resume' && !/^--(weights|strict)(=|$)/.test(a) && !/^--(weights|strict)$/.test(all[i - 1] ?? ''));
  if (!args.includes('-o') && !args.some((a) => a === '--out' || a.startsWith('--out='))) args.push('--out', out);
  const quote = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return ['convlab', ...args, '--resume'].map(quote).join(' ');
}

/**
 * First SIGINT/SIGTERM: ask the trainer to stop after the current step, and remove these handlers, so that a
 * second signal gets the default action and ends the process at once (even in the middle of a step). Returns
 * the uninstaller.
 */
export function installStopHandlers(interrupt: InterruptRequest): () => void {
  const uninstall = (): void => { process.off('SIGINT', onSignal); process.off('SIGTERM', onSignal); };
  function onSignal(signal: NodeJS.Signals): void {
    interrupt.signal = signal;
    uninstall();
    process.stderr.write(`\n${signal}: finishing the current step and saving a checkpoint (press Ctrl-C again to quit at once)\n`);
  }
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return uninstall;
}

async function runTrain(f: TrainFlags): Promise<void> {
  const options = trainOptions(f);
  const interrupt: InterruptRequest = {};
  options.interrupt = interrupt;
  options.callbacks = f.json ? { onLog: (l: string) => process.stderr.write(l + '\n') } : progressCallbacks(f.epochs ?? defaultRecipe(f.model, f.dataset).epochs);
  const removeHandlers = installStopHandlers(interrupt);
  let summary;
  try {
    summary = await trainModel(options);
  } catch (err) {
    if (!(err instanceof TrainingInterrupted)) throw err;
    const out = options.outDir ?? err.checkpoint.replace(/[/\\]last\.safetensors$/, '');
    process.stderr.write(`stopped at epoch ${err.epoch}, batch ${err.batch}; checkpoint: ${err.checkpoint}\nto continue: ${resumeCommand(process.argv, out)}\n`);
    process.exit(SIGNAL_EXIT[err.signal] ?? 1);
  } finally {
    removeHandlers();
  }
  if (f.json) {
    process.stdout.write(JSON.stringify({ run_dir: summary.runDir, best_epoch: summary.bestEpoch, evaluated_epoch: summary.evaluatedEpoch, test_loss: summary.testLoss,
      test: summary.test, history: summary.history, train_seconds: summary.trainSeconds }, null, 2) + '\n');
    return;
  }
  console.log(`\ntest set (${summary.test.numSamples} images), ${summary.evaluatedEpoch === summary.bestEpoch ? 'best' : 'last'} epoch ${summary.evaluatedEpoch}:\n`);
  console.log(formatReport(summary.test));
  console.log(`\nconfusion matrix (rows: true class, columns: predicted):\n${formatConfusion(summary.test.confusionMatrix, summary.test.classNames)}`);
  console.log(`\nrun directory: ${summary.runDir}`);
  if (summary.report) console.log(`report: ${summary.report.html}`);
}
