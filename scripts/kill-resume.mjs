#!/usr/bin/env node
// Kill-and-resume check of the real CLI: trains one uninterrupted reference run, then N runs killed with SIGKILL
// and N interrupted with SIGINT at seeded random moments after the first checkpoint, each resumed (`--resume`, or `--overwrite` when no
// checkpoint was written yet) until it completes. Every resumed run must end with model and optimiser tensors
// byte-identical to the reference run's. Run after `npm run build`:
//
//   node scripts/kill-resume.mjs [--runs 20] [--seed 1] [--limit 512] [--epochs 2] [--batch-size 16]
//                                [--signals SIGKILL,SIGINT] [--backend wasm|reference] [--keep]
//
// Prints one line per run and a summary; exits 1 if any run differs.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const { mulberry32 } = await import(join(ROOT, 'dist', 'src', 'data', 'index.js'));
const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');

function parseArgs(argv) {
  const o = { runs: 20, seed: 1, limit: 512, epochs: 2, batchSize: 16, signals: ['SIGKILL', 'SIGINT'], backend: undefined, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i], v = argv[i + 1];
    const int = (name) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${a} '${v}' is invalid: must be a whole number ≥ 1 (${name})`);
      i++;
      return n;
    };
    if (a === '--runs') o.runs = int('runs per signal');
    else if (a === '--seed') o.seed = int('seed');
    else if (a === '--limit') o.limit = int('training images');
    else if (a === '--epochs') o.epochs = int('epochs');
    else if (a === '--batch-size') o.batchSize = int('batch size');
    else if (a === '--signals') {
      o.signals = String(v).split(',');
      if (!o.signals.every((s) => s === 'SIGKILL' || s === 'SIGINT' || s === 'SIGTERM')) throw new Error(`--signals '${v}' is invalid: must list SIGKILL, SIGINT, SIGTERM`);
      i++;
    } else if (a === '--backend') {
      if (v !== 'wasm' && v !== 'reference') throw new Error(`--backend '${v}' is invalid: must be wasm or reference`);
      o.backend = v;
      i++;
    } else if (a === '--keep') o.keep = true;
    else throw new Error(`unknown option '${a}'. Valid options: --runs, --seed, --limit, --epochs, --batch-size, --signals, --backend, --keep`);
  }
  return o;
}

/** Runs the CLI; `killAfterMs` (counted from when config.json appears in the run directory) sends `signal`. */
function convlab(args, env, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '', timer, poll;
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    if (opts.signal) {
      // The clock starts at the first checkpoint, so that every kill lands in training with something to resume.
      const started = join(opts.runDir, 'last.safetensors');
      const alreadyThere = existsSync(started) ? statSync(started).mtimeMs : -1;
      poll = setInterval(() => {
        if (!existsSync(started) || statSync(started).mtimeMs === alreadyThere) return;
        clearInterval(poll);
        timer = setTimeout(() => child.kill(opts.signal), opts.killAfterMs);
      }, 5);
    }
    const guard = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`convlab ${args.join(' ')}: no exit within 10 min`)); }, 600_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearInterval(poll); clearTimeout(timer); clearTimeout(guard);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** name → bytes of every tensor in a safetensors file. */
function tensors(path) {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  const out = new Map();
  for (const [name, e] of Object.entries(header)) {
    if (name !== '__metadata__') out.set(name, buf.subarray(8 + n + e.data_offsets[0], 8 + n + e.data_offsets[1]));
  }
  return out;
}

/** The trainer's step count recorded in a checkpoint's metadata. */
function trainerStep(path) {
  const buf = readFileSync(path);
  const header = JSON.parse(buf.subarray(8, 8 + Number(buf.readBigUInt64LE(0))).toString('utf8'));
  return JSON.parse(header.__metadata__.convlab).trainer.step;
}

/** Why two checkpoints differ in any tensor byte, or undefined when identical. */
function difference(a, b) {
  const ta = tensors(a), tb = tensors(b);
  if (ta.size !== tb.size) return `${ta.size} tensors vs ${tb.size}`;
  for (const [name, bytes] of ta) {
    const other = tb.get(name);
    if (!other) return `tensor ${name} missing`;
    if (!bytes.equals(other)) return `tensor ${name} differs`;
  }
  return undefined;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const tmp = mkdtempSync(join(tmpdir(), 'convlab-kill-'));
  const env = { ...process.env, CONVLAB_HOME: join(tmp, 'home') };
  delete env.CONVLAB_DATA_DIR;
  if (o.backend) env.CONVLAB_BACKEND = o.backend;
  const base = ['train', 'lenet5', '-d', 'mnist-sample', '--limit', String(o.limit), '--epochs', String(o.epochs), '--batch-size', String(o.batchSize),
    '--checkpoint-every', '3', '--no-report', '--json'];
  const refDir = join(tmp, 'reference');
  const ref = await convlab([...base, '-o', refDir], env);
  if (ref.code !== 0) throw new Error(`reference run failed (exit ${ref.code}): ${ref.stderr}`);
  // Kill moments are spread over the first 80 % of the reference run's training, from config.json to its last
  // checkpoint (file times), counted from the first checkpoint of the run being killed. A signal after the last
  // step lets the run finish, and then there is nothing to resume.
  const trainingMs = statSync(join(refDir, 'last.safetensors')).mtimeMs - statSync(join(refDir, 'config.json')).mtimeMs;
  const span = Math.max(1, Math.round(trainingMs * 0.8));
  const random = mulberry32(o.seed); // seeded, so the kill moments are the same on every invocation
  const results = [];
  for (const signal of o.signals) {
    for (let i = 1; i <= o.runs; i++) {
      const dir = join(tmp, `${signal}-${i}`);
      // A run that finished before its signal arrived (the machine was faster than during the reference run) was
      // not interrupted: draw another moment, up to 5 times.
      let killAfterMs = 0, first, interrupted = false, draws = 0;
      for (let draw = 0; draw < 5 && !interrupted; draw++) {
        draws++;
        if (draw > 0) rmSync(dir, { recursive: true, force: true });
        killAfterMs = Math.floor(random() * span * 0.8 ** draw);
        first = await convlab([...base, '-o', dir], env, { signal, killAfterMs, runDir: dir });
        interrupted = first.signal === signal || first.code === 130 || first.code === 143;
      }
      let attempts = 0, last = first;
      const from = [];
      while (last.code !== 0) {
        if (++attempts > 3) break;
        const resumable = existsSync(join(dir, 'last.safetensors'));
        from.push(resumable ? `step ${trainerStep(join(dir, 'last.safetensors'))}` : 'the start (no checkpoint yet)');
        last = await convlab([...base, '-o', dir, resumable ? '--resume' : '--overwrite'], env);
      }
      const why = last.code !== 0 ? `did not complete: exit ${last.code}: ${last.stderr.trim().split('\n').at(-1)}`
        : difference(join(dir, 'last.safetensors'), join(refDir, 'last.safetensors')) ?? difference(join(dir, 'best.safetensors'), join(refDir, 'best.safetensors'));
      const sigintOk = signal !== 'SIGINT' || !interrupted || (first.code === 130 && /to continue: convlab .*--resume/.test(first.stderr));
      const ok = !why && sigintOk;
      results.push({ signal, ok, interrupted });
      console.log(`${signal} run ${i}: killed ${killAfterMs} ms after its first checkpoint${draws > 1 ? ` (draw ${draws})` : ''}${interrupted ? `, resumed from ${from.join(', then ')}` : ' (finished before the signal)'}: ${ok ? 'identical' : why ?? `exit ${first.code}, no resume command`}`);
      if (!o.keep) rmSync(dir, { recursive: true, force: true });
    }
  }
  for (const signal of o.signals) {
    const mine = results.filter((r) => r.signal === signal);
    console.log(`${signal}: ${mine.filter((r) => r.ok).length} of ${mine.length} runs resumed to identical final weights (${mine.filter((r) => r.interrupted).length} interrupted mid-run)`);
  }
  if (!o.keep) rmSync(tmp, { recursive: true, force: true });
  else console.log(`run directories kept in ${tmp}`);
  process.exit(results.every((r) => r.ok) ? 0 : 1);
}

main().catch((err) => { console.error(`kill-resume: ${err.message}`); process.exit(1); });
