/**
 * Child process for resume.test.ts (not a test file itself):
 *
 *   node dist/test/train/resume-child.js '{"preset":"lenet","runDir":"...","killAtStep":3}'
 *   node dist/test/train/resume-child.js '{"preset":"lenet","runDir":"...","killAtEpochStart":2}'
 *
 * Trains the preset into runDir and prints one line per finished step ("step <n> epoch <e> batch <b>").
 * On reaching killAtStep (inside onBatchEnd of that step, i.e. after the step's optimizer update, so the
 * weights in memory are already ahead of the last checkpoint) or the start of epoch killAtEpochStart, it
 * prints "READY ..." and blocks, waiting for the parent's SIGKILL. If no kill comes it exits with code 3.
 */
import { train } from '../../src/train/trainer.js';
import { preset, useReferenceBackend } from './helpers.js';

const args = JSON.parse(process.argv[2] ?? '{}') as { preset: string; runDir: string; killAtStep?: number; killAtEpochStart?: number };
useReferenceBackend();
const { config, data } = preset(args.preset);
let step = 0;

function block(why: string): void {
  process.stdout.write(`READY ${why}\n`);
  // A synchronous sleep inside the training loop: the process is killed here, mid-training.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
  process.stderr.write('resume-child: no SIGKILL within 60 s\n');
  process.exit(3);
}

train(config, data, args.runDir, {
  callbacks: {
    onEpochStart(epoch) {
      if (epoch === args.killAtEpochStart) block(`epoch-start ${epoch}`);
    },
    onBatchEnd(info) {
      step++;
      process.stdout.write(`step ${step} epoch ${info.epoch} batch ${info.batch}\n`);
      if (step === args.killAtStep) block(`step ${step}`);
    },
  },
});
process.stdout.write('DONE\n');
