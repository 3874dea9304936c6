/**
 * Ctrl-C (issue 15, item 6): SIGINT or SIGTERM finishes the current step, writes last.safetensors, prints the
 * --resume command and exits 130 or 143; a second signal exits at once; resuming ends exactly where an
 * uninterrupted run ends. Plus a small run of scripts/kill-resume.mjs (one SIGKILL, one SIGINT).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { installStopHandlers, resumeCommand } from '../../src/cli/commands/train.js';
import type { InterruptRequest } from '../../src/train/trainer.js';
import { convlab, scratchDir, show, assertNoStack, type CliRun } from '../cli/run-cli.js';
import { assertSameTensors, repoRoot } from './helpers.js';

test('the first signal asks the trainer to stop and hands the next one to the default action (the process ends at once)', { timeout: 5_000 }, () => {
  const interrupt: InterruptRequest = {};
  const stderr = process.stderr.write;
  process.stderr.write = () => true; // the handler's notice is for a terminal
  const before = { SIGINT: process.listenerCount('SIGINT'), SIGTERM: process.listenerCount('SIGTERM') };
  const uninstall = installStopHandlers(interrupt);
  try {
    assert.equal(process.listenerCount('SIGINT'), before.SIGINT + 1);
    process.emit('SIGTERM', 'SIGTERM');
    assert.equal(interrupt.signal, 'SIGTERM');
    // With no listener left, Node restores the default disposition: a second Ctrl-C terminates immediately.
    assert.deepEqual({ SIGINT: process.listenerCount('SIGINT'), SIGTERM: process.listenerCount('SIGTERM') }, before);
  } finally {
    uninstall();
    process.stderr.write = stderr;
  }
});

test('the printed resume command repeats the flags, with --resume instead of --overwrite and the run directory', { timeout: 5_000 }, () => {
  assert.equal(resumeCommand(['node', 'main.js', 'train', 'lenet5', '-d', 'mnist-sample', '--overwrite', '-o', 'runs/a b'], 'runs/a b'),
    "convlab train lenet5 -d mnist-sample -o 'runs/a b' --resume");
  assert.equal(resumeCommand(['node', 'main.js', 'train', 'lenet5', '-d', 'mnist-sample'], 'runs/lenet5-x'), 'convlab train lenet5 -d mnist-sample --out runs/lenet5-x --resume');
  // A fine-tuning run resumes from its own checkpoint: --weights and --strict are dropped, --freeze kept.
  assert.equal(resumeCommand(['node', 'main.js', 'train', 'm', '--weights', 'w.safetensors', '--strict', 'false', '--weights=x', '--freeze', 'features', '-o', 'r'], 'r'),
    'convlab train m --freeze features -o r --resume');
});

// The WASM engine on one thread: resume is exact on it too, and it evaluates the 2,000 test images in a
// fraction of the reference backend's time.
const ARGS = ['train', 'lenet5', '-d', 'mnist-sample', '--limit', '64', '--batch-size', '8', '--epochs', '2', '--val-split', '0.02', '--no-report', '--json', '--threads', '1'];
const WASM = { CONVLAB_BACKEND: 'wasm' };

/** Trains into `out`, sending `signal` as soon as the run's first checkpoint appears. */
function trainAndSignal(cwd: string, out: string, signal: NodeJS.Signals): Promise<CliRun> {
  return convlab([...ARGS, '--checkpoint-every', '1', '-o', out], {
    cwd, env: WASM,
    onSpawn: (child) => {
      const poll = setInterval(() => {
        if (!existsSync(join(out, 'last.safetensors'))) return;
        clearInterval(poll);
        child.kill(signal);
      }, 2);
      child.on('exit', () => clearInterval(poll));
    },
  });
}

test('SIGINT and SIGTERM mid-run: a checkpoint, the resume command, exit 130 / 143; resuming gives the uninterrupted weights', { timeout: 180_000 }, async () => {
  const cwd = scratchDir();
  const reference = join(cwd, 'reference');
  const [ref, ...stopped] = await Promise.all([
    convlab([...ARGS, '--checkpoint-every', '1', '-o', reference], { cwd, env: WASM }),
    trainAndSignal(cwd, join(cwd, 'int'), 'SIGINT'),
    trainAndSignal(cwd, join(cwd, 'term'), 'SIGTERM'),
  ]);
  assert.equal(ref!.code, 0, show(ref!));
  for (const [r, dir, code] of [[stopped[0]!, 'int', 130], [stopped[1]!, 'term', 143]] as const) {
    assertNoStack(r);
    assert.equal(r.code, code, show(r));
    const resume = /^to continue: convlab (.*)$/m.exec(r.stderr);
    assert.ok(resume, show(r));
    assert.match(r.stderr, new RegExp(`stopped at epoch 1, batch \\d+; checkpoint: ${join(cwd, dir, 'last.safetensors')}`));
    assert.deepEqual(readdirSync(join(cwd, dir)).filter((f) => f.endsWith('.tmp') || f.endsWith('.lock')), [], 'no temp files, lock released');
    const args = resume[1]!.split(' ');
    assert.ok(args.at(-1) === '--resume' && args.includes(join(cwd, dir)), resume[1]);
    const resumed = await convlab(args, { cwd, env: WASM });
    assert.equal(resumed.code, 0, show(resumed));
    assertSameTensors(join(cwd, dir, 'last.safetensors'), join(reference, 'last.safetensors'));
    assertSameTensors(join(cwd, dir, 'best.safetensors'), join(reference, 'best.safetensors'));
  }
});

test('scripts/kill-resume.mjs: one SIGKILL and one SIGINT at seeded random moments both resume to identical weights', { timeout: 300_000 }, () => {
  const r = spawnSync(process.execPath, [join(repoRoot(), 'scripts', 'kill-resume.mjs'), '--runs', '1', '--limit', '64', '--batch-size', '8', '--seed', '3'],
    { encoding: 'utf8', timeout: 280_000 });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^SIGKILL: 1 of 1 runs resumed to identical final weights/m);
  assert.match(r.stdout, /^SIGINT: 1 of 1 runs resumed to identical final weights/m);
});
