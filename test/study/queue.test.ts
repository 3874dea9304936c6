/**
 * Studies on a job queue, end to end: a real redis-server on a free loopback port, `convlab worker` processes
 * (the built CLI) and the QueueExecutor in this process. A tiny study of three LeNet-5 cells on 256
 * mnist-sample images (16 steps each, a checkpoint after every step, so a kill lands mid-cell); one worker is
 * killed with SIGKILL mid-cell and, after the stall timeout (2 s here), the other finishes its cell. The
 * timeouts are generous: the machine these run on is shared, and a loaded one starts a worker slowly. Skips
 * when Debian's redis-server is not installed (.ci/run installs it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CellResult, StudyCell } from '../../src/study/cell.js';
import { Job, Queue } from 'bullmq';
import { QUEUE_NAME, jobIdOf, openQueueExecutor } from '../../src/study/queue.js';
import { parseRedisUrl } from '../../src/study/redis-url.js';
import { MAIN } from '../cli/helpers.js';
import { convlab, oneLineError } from '../cli/run-cli.js';

const REDIS_SERVER = '/usr/bin/redis-server';
const skip = existsSync(REDIS_SERVER) ? false : `${REDIS_SERVER} is missing (apt-get install redis-server); the queue tests skip`;
const ROOT = mkdtempSync(join(tmpdir(), 'convlab-queue-'));
process.on('exit', () => rmSync(ROOT, { recursive: true, force: true }));

const cellsOf = (study: string): StudyCell[] => [0, 1, 2].map((seed) => ({
  id: `lenet5@mnist-sample#s${seed}`, study, model: 'lenet5', dataset: 'mnist-sample', seed, epochs: 1,
  options: { limit: 256, batchSize: 16, valSplit: 0, checkpointEvery: 1, noReport: true },
}));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

interface Proc { child: ChildProcess; output: () => string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> }

function spawnProc(command: string, args: string[], env?: NodeJS.ProcessEnv): Proc {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { output += d.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return { child, output: () => output, exited };
}

async function until(what: string, check: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function startRedis(): Promise<{ url: string; proc: Proc }> {
  const port = await freePort();
  const proc = spawnProc(REDIS_SERVER, ['--save', '', '--appendonly', 'no', '--port', String(port), '--bind', '127.0.0.1']);
  await until('redis-server to start', () => proc.output().includes('Ready to accept connections'), 10_000);
  return { url: `redis://127.0.0.1:${port}`, proc };
}

function startWorker(url: string, runs: string): Proc {
  return spawnProc(process.execPath, [MAIN, 'worker', '--queue', url, '--runs', runs, '--threads', '1', '--stall-timeout', '2s'],
    { CONVLAB_BACKEND: 'wasm', CONVLAB_HOME: join(ROOT, 'home'), CONVLAB_OFFLINE: '1', CONVLAB_DEBUG: '' });
}

async function stopAll(procs: Proc[]): Promise<void> {
  for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.exited));
}

/** The run directory a worker announced for its first cell whose checkpoint exists and evaluation does not. */
function cellMidway(worker: Proc): string | undefined {
  for (const [, dir] of worker.output().matchAll(/started(?: \(attempt \d+\))? → (.+)$/gm)) {
    if (dir && existsSync(join(dir, 'last.safetensors')) && !existsSync(join(dir, 'eval.json'))) return dir;
  }
  return undefined;
}

test('two workers, one killed mid-cell: every cell completes exactly once, the killed one on the other worker', { skip, timeout: 300_000 }, async () => {
  const redis = await startRedis();
  const runs = [join(ROOT, 'runs-a'), join(ROOT, 'runs-b')];
  const workers = runs.map((dir) => startWorker(redis.url, dir));
  const executor = await openQueueExecutor(redis.url, { pollMs: 200, graceMs: 1000 });
  try {
    const results: CellResult[] = [];
    const logs: string[] = [];
    let progressUpdates = 0;
    const study = executor.run(cellsOf('tiny'), () => assert.fail('a queued cell runs in the worker\'s run directory'), {
      onResult: (r) => results.push(r), onProgress: () => { progressUpdates++; }, onLog: (l) => logs.push(l),
    });
    study.catch(() => {}); // awaited below; this only keeps an early failure of the test from also reporting it
    let killedDir: string | undefined, killed = -1;
    await until('a worker to be mid-cell', () => {
      killed = workers.findIndex((w) => cellMidway(w) !== undefined);
      killedDir = killed >= 0 ? cellMidway(workers[killed]!) : undefined;
      return killedDir !== undefined;
    });
    workers[killed]!.child.kill('SIGKILL');
    assert.equal((await workers[killed]!.exited).signal, 'SIGKILL');
    await study;

    const survivor = runs[1 - killed]!;
    const killedCell = killedDir!.split('/').pop()!;
    assert.deepEqual(results.map((r) => r.id).sort(), cellsOf('tiny').map((c) => c.id), `one result per cell\n${logs.join('\n')}`);
    for (const r of results) {
      assert.equal(r.metrics.length, 1, `${r.id}: one epoch of metrics`);
      assert.equal(typeof r.evaluation['accuracy'], 'number', `${r.id}: evaluation`);
      assert.equal(r.config['model'], 'lenet5');
      assert.ok(existsSync(join(r.runDir, 'last.safetensors')), `${r.id}: the checkpoint stays at the recorded path ${r.runDir}`);
    }
    const handedOver = results.find((r) => r.id === killedCell)!;
    assert.equal(handedOver.runDir, join(survivor, 'tiny', killedCell), 'the killed cell was finished by the other worker');
    assert.ok(progressUpdates > 0, 'the workers\' progress reached the study');

    // Enqueueing the same study again is idempotent: the finished results come back at once, no worker needed.
    // Then Redis goes away before a fourth cell is done: the three are delivered, then one line naming the URL.
    await stopAll(workers);
    const again: string[] = [];
    const fourth: StudyCell = { ...cellsOf('tiny')[0]!, id: 'lenet5@mnist-sample#s3', seed: 3 };
    const lost = executor.run([...cellsOf('tiny'), fourth], () => '', {
      onResult: (r) => { if (again.push(r.id) === 3) redis.proc.child.kill('SIGKILL'); },
    });
    await assert.rejects(lost, new RegExp(`^RedisUnavailable: lost the connection to Redis at ${redis.url}: connection refused \\(gave up after 1 s\\)$`));
    assert.deepEqual(again.sort(), cellsOf('tiny').map((c) => c.id));
  } finally {
    await executor.close();
    await stopAll([...workers, redis.proc]);
  }
});

test('SIGTERM: the worker checkpoints, hands its cell back to the queue and exits with 143', { skip, timeout: 240_000 }, async () => {
  const redis = await startRedis();
  const worker = startWorker(redis.url, join(ROOT, 'runs-term'));
  const executor = await openQueueExecutor(redis.url, { pollMs: 200 });
  const logs: string[] = [];
  try {
    const study = executor.run(cellsOf('term').slice(0, 1), () => '', { onResult: () => {}, onLog: (l) => logs.push(l) });
    study.catch(() => {});
    await until('the worker to be mid-cell', () => cellMidway(worker) !== undefined);
    worker.child.kill('SIGTERM');
    assert.equal((await worker.exited).code, 143, worker.output());
    assert.match(worker.output(), /: stopped at epoch 1, batch \d+ \(checkpoint .+last\.safetensors\); back to the queue/);
    await until('the study to see the cell back in the queue', () => logs.some((l) => l.endsWith('back in the queue (its worker stopped)')), 10_000);
  } finally {
    await executor.close();
    await stopAll([worker, redis.proc]);
  }
});

test('a worker frozen mid-cell (SIGSTOP) loses the cell to another; its late result is dropped', { skip, timeout: 240_000 }, async () => {
  const redis = await startRedis();
  const frozen = startWorker(redis.url, join(ROOT, 'runs-frozen'));
  const workers = [frozen];
  const executor = await openQueueExecutor(redis.url, { pollMs: 200 });
  try {
    const results: CellResult[] = [];
    const study = executor.run(cellsOf('late').slice(0, 1), () => '', { onResult: (r) => results.push(r) });
    study.catch(() => {}); // awaited below
    await until('the worker to be mid-cell', () => cellMidway(frozen) !== undefined);
    frozen.child.kill('SIGSTOP');
    const other = startWorker(redis.url, join(ROOT, 'runs-other'));
    workers.push(other);
    await study;
    frozen.child.kill('SIGCONT');
    await until('the frozen worker to finish its copy of the cell', () => /: finished in/.test(frozen.output()));
    await new Promise((resolve) => setTimeout(resolve, 1000)); // a few polls' worth for a duplicate to show up
    assert.deepEqual(results.map((r) => r.runDir), [join(ROOT, 'runs-other', 'late', cellsOf('late')[0]!.id)], 'one result, from the worker that took over');
    const inspect = new Queue(QUEUE_NAME, { connection: { host: '127.0.0.1', port: Number(new URL(redis.url).port) } });
    try {
      const job = await Job.fromId<unknown, CellResult>(inspect, jobIdOf(cellsOf('late')[0]!));
      assert.equal(job?.returnvalue.runDir, results[0]?.runDir, 'the queue kept the result of the worker that held the lock');
    } finally {
      await inspect.close();
    }
  } finally {
    await executor.close();
    await stopAll([...workers, redis.proc]);
  }
});

test('unreachable Redis: one line naming the URL, from the worker and from the study side', { skip, timeout: 60_000 }, async () => {
  const url = `redis://127.0.0.1:${await freePort()}`;
  const r = await convlab(['worker', '--queue', url], { cwd: ROOT });
  assert.equal(oneLineError(r), `cannot reach Redis at ${url}: connection refused`);
  await assert.rejects(openQueueExecutor(url), { message: `cannot reach Redis at ${url}: connection refused` });
});

test('a malformed --queue URL: one line before connecting', { timeout: 60_000 }, async () => {
  const cases: [string, string][] = [
    ['localhost:6379', 'the scheme must be redis:// or rediss://, not localhost://'],
    ['http://127.0.0.1:6379', 'the scheme must be redis:// or rediss://, not http://'],
    ['redis://', 'no host'],
    ['redis://127.0.0.1:6379/zero', `the path must be a database number, not 'zero'`],
    ['redis://127.0.0.1:6379?db=1', 'query strings and fragments are not supported'],
    ['not a url', 'not a URL'],
  ];
  for (const [url, why] of cases) {
    assert.throws(() => parseRedisUrl(url), { message: `--queue '${url}' is invalid: ${why}; expected redis://HOST:PORT (or rediss:// for TLS), e.g. redis://127.0.0.1:6379` }, url);
  }
  const ok = parseRedisUrl('redis://:secret@example.org/2');
  assert.deepEqual([ok.host, ok.port, ok.db, ok.password, ok.display], ['example.org', 6379, 2, 'secret', 'redis://example.org:6379/2']);
  const r = await convlab(['worker', '--queue', 'http://127.0.0.1:6379'], { cwd: ROOT });
  assert.match(oneLineError(r), /^--queue 'http:\/\/127\.0\.0\.1:6379' is invalid: the scheme must be redis:\/\/ or rediss:\/\//);
});
