/** `convlab export RUN --format safetensors|pth|onnx [--out FILE]`: a run's model with torchvision's key names. */
import type { Command } from 'commander';
import { EXPORT_FORMATS, exportWeights } from '../../api.js';
import { checkpointArgument, choiceFlag, FlagError, type RawFlags } from '../flags.js';

export function registerExport(program: Command): void {
  program.command('export')
    .description('write a run\'s model: a state dict with torchvision\'s key names (safetensors, or .pth for torch.load), or ONNX (opset 17, dynamic batch) for ONNX Runtime')
    .argument('<run-or-checkpoint>', 'run directory (uses best.safetensors) or a .safetensors checkpoint')
    .option('--format <format>', `output format: ${EXPORT_FORMATS.join(' or ')}`)
    .option('-o, --out <file>', 'output file (default: model.<format> beside the checkpoint)')
    .action(async (path: string, raw: RawFlags) => {
      const checkpoint = checkpointArgument(path);
      // Parsed here rather than in flags.ts so the ONNX format can be added beside the others at merge.
      const format = choiceFlag(raw, 'format', '--format', EXPORT_FORMATS);
      if (format === undefined) throw new FlagError(`--format is required: one of ${EXPORT_FORMATS.join(', ')}`);
      const out = typeof raw.out === 'string' ? raw.out : undefined;
      const r = await exportWeights(checkpoint, format, out);
      process.stdout.write(`wrote ${r.file} (${format}, ${r.tensors} tensors)\n`);
    });
}
