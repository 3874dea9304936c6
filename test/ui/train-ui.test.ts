/**
 * `convlab train … --ui`: the dashboard runs beside the training in the same process, shows the run as live while it
 * trains, and a page that goes away (its event stream closed) does not stop the training.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { MAIN } from '../cli/helpers.js';
import { tempDir } from '../train/helpers.js';

function fetchText(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

test('train --ui: the run is live on the dashboard, and closing a page\'s stream leaves the training running to the end', { timeout: 120_000 }, async () => {
  const runs = tempDir('convlab-train-ui-');
  const out = join(runs, 'lenet');
  const child = spawn(process.execPath, [MAIN, 'train', 'lenet5', '--dataset', 'mnist-sample', '--limit', '1000', '--epochs', '2', '--threads', '1', '--no-report', '--out', out, '--ui', '0'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CONVLAB_HOME: join(runs, 'home') } });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /convlab ui: dashboard (http:\/\/127\.0\.0\.1:\d+\/)dashboard\.html — watching /.exec(stderr);
      if (m) resolve(m[1]!);
    });
    child.on('exit', () => reject(new Error(`exited before serving: ${stderr}`)));
  });
  child.stdout.resume();
  // Live while it trains: the lock is held by this very process.
  let live = false;
  for (let i = 0; i < 100 && !live; i++) {
    const { runs: list } = JSON.parse((await fetchText(`${url}api/runs`)).body) as { runs: { name: string; live: boolean }[] };
    live = list.some((r) => r.name === 'lenet' && r.live);
    if (!live) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(live, 'the run is listed as live');
  // A page opens the run's stream, receives it, and goes away.
  await new Promise<void>((resolve, reject) => {
    const req = get(`${url}api/runs/lenet/events`, (res) => {
      res.once('data', () => { req.destroy(); resolve(); });
    });
    req.on('error', (e) => (req.destroyed ? undefined : reject(e)));
  });
  assert.equal(await exited, 0, stderr);
  const epochs = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').length;
  assert.equal(epochs, 2, 'the training ran to its last epoch');
});
