/** `convlab summary <model>`: a per-layer table (or JSON) from one real forward pass, totals and measured latency. */
import type { Command } from 'commander';
import { listModels } from '../../models/index.js';
import { formatSummary, summarizeModel, summaryJson } from '../../report/summary.js';
import { parseSummaryFlags, type RawFlags } from '../flags.js';

export function registerSummary(program: Command): void {
  program.command('summary')
    .description('per-layer table of a model (name, type, output shape, parameters, multiply-adds), totals and inference latency')
    .argument('<model>', `model name (${listModels().map((m) => m.name).join(', ')})`)
    .option('--input <CxHxW>', 'input size, e.g. 3x32x32 (default: the model\'s design input, or the checkpoint\'s)')
    .option('--num-classes <n>', 'classifier outputs (default 10, or the checkpoint\'s)')
    .option('--weights <file>', 'load weights first: a safetensors state dict with torchvision\'s key names, or a convlab checkpoint')
    .option('--strict <true|false>', 'with --weights: refuse missing or unexpected keys (default true)')
    .option('--depth <n>', 'fold modules nested deeper than n into their parent row')
    .option('--repeats <n>', 'timed forward passes per batch size for the latency (default 5)')
    .option('--no-latency', 'skip the latency measurement')
    .option('--threads <n>', 'worker threads')
    .option('--json', 'print one JSON object')
    .action(async (model: string, raw: RawFlags) => {
      const f = parseSummaryFlags(model, raw);
      const s = await summarizeModel(f.model, { input: f.input, numClasses: f.numClasses, weights: f.weights, strict: f.strict, depth: f.depth, repeats: f.repeats, threads: f.threads });
      for (const warning of s.weights?.warnings ?? []) process.stderr.write(`warning: ${warning}\n`);
      process.stdout.write(f.json ? JSON.stringify(summaryJson(s), null, 2) + '\n' : formatSummary(s) + '\n');
    });
}
