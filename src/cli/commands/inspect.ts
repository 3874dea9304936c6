/** `convlab eval` and `convlab predict`: use a trained checkpoint. */
import type { Command } from 'commander';
import { evaluateCheckpoint, predict, predictPretrained } from '../../api.js';
import { formatConfusion } from '../../metrics/index.js';
import { parseEvalFlags, parsePredictFlags, type RawFlags } from '../flags.js';

const onWarning = (line: string): void => { process.stderr.write(`warning: ${line}\n`); };

export function registerInspect(program: Command): void {
  program.command('eval')
    .description('evaluate a run directory or checkpoint on a dataset split')
    .argument('<run-or-checkpoint>', 'run directory (uses best.safetensors) or a .safetensors checkpoint')
    .requiredOption('-d, --dataset <name>', 'dataset')
    .option('--data-dir <dir>', 'folder holding the dataset files')
    .option('--split <split>', 'split: train or test (default test)')
    .option('--weights <file>', 'evaluate these weights instead (torchvision-named state dict or convlab checkpoint) in the checkpoint\'s configuration')
    .option('--strict <true|false>', 'with --weights: refuse missing or unexpected keys (default true)')
    .option('--threads <n>', 'worker threads')
    .option('--json', 'print the metrics as JSON')
    .action(async (path: string, raw: RawFlags) => {
      const f = parseEvalFlags(path, raw);
      const r = await evaluateCheckpoint(f.path, f.dataset, { dataDir: f.dataDir, split: f.split, threads: f.threads, weights: f.weights, strict: f.strict, onWarning });
      process.stdout.write(f.json ? JSON.stringify({ loss: r.loss, ...r.report }, null, 2) + '\n'
        : `${r.text}\n\nconfusion matrix (rows: true class, columns: predicted):\n${formatConfusion(r.report.confusionMatrix, r.report.classNames)}\n`);
    });

  program.command('predict')
    .description('top-k classes for image files (PNG or JPEG); an unreadable image is reported and the rest still classified')
    .argument('<checkpoint>', 'run directory or .safetensors checkpoint (with --model: the first image)')
    .argument('[images...]', 'image files')
    .option('--model <name>', 'no checkpoint: build this model from --weights (torchvision key names); ImageNet weights get ImageNet preprocessing and class names')
    .option('--imagenet', 'resize the shorter side and centre-crop as torchvision evaluates ImageNet models (256/224), instead of stretching')
    .option('-k, --top-k <k>', 'how many classes to show (default 3)')
    .option('--weights <file>', 'predict with these weights instead (torchvision-named state dict or convlab checkpoint) in the checkpoint\'s configuration')
    .option('--strict <true|false>', 'with --weights: refuse missing or unexpected keys (default true)')
    .option('--threads <n>', 'worker threads')
    .option('--json', 'print predictions as JSON')
    .action(async (ckpt: string, files: string[], raw: RawFlags) => {
      const f = parsePredictFlags(ckpt, files, raw);
      const common = { topK: f.topK, threads: f.threads, strict: f.strict, imagenet: f.imagenet, onWarning };
      const preds = f.model !== undefined ? await predictPretrained(f.model, f.weights!, f.files, common) : await predict(f.checkpoint!, f.files, { ...common, weights: f.weights });
      for (const p of preds) {
        for (const note of p.notes) process.stderr.write(`note: ${note}\n`);
        if (p.error) process.stderr.write(`convlab: ${p.error}\n`);
      }
      if (f.json) process.stdout.write(JSON.stringify(preds, null, 2) + '\n');
      else {
        for (const p of preds) {
          if (!p.error) console.log(`${p.file}: ${p.top.map((t) => `${t.class} ${(100 * t.probability).toFixed(1)}%`).join(', ')}`);
        }
      }
      // Some images could not be read: the others are printed, the exit code still says something failed.
      if (preds.some((p) => p.error)) process.exitCode = 1;
    });
}
