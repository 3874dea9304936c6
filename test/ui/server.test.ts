/**
 * The `convlab ui` server without a browser: isolation headers on every response, refusal of other hosts and
 * origins, a busy port named in one line, the runs API and its server-sent events.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startUiServer, type UiServer } from '../../src/ui/server.js';
import { convlab, assertOneLineError } from '../cli/helpers.js';
import { tempDir } from '../train/helpers.js';

interface Reply { status: number; headers: Record<string, string | string[] | undefined>; body: string }

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const row = (epoch: number): string => JSON.stringify({ epoch, train_loss: 1 / epoch, train_acc: 0.5, val_loss: 1 / epoch, val_acc: 0.5 + epoch / 100, epoch_seconds: 2 }) + '\n';

let runs: string, server: UiServer;
before(async () => {
  runs = tempDir('convlab-ui-');
  mkdirSync(join(runs, 'group', 'a'), { recursive: true });
  writeFileSync(join(runs, 'group', 'a', 'config.json'), JSON.stringify({ model: 'lenet5', dataset: 'mnist-sample', epochs: 3 }));
  writeFileSync(join(runs, 'group', 'a', 'metrics.jsonl'), row(1));
  server = await startUiServer({ runsDir: runs, port: 0, pollMs: 50 });
});
after(() => server.close());

test('every response is cross-origin isolated: pages, scripts, wasm, API, errors', { timeout: 10_000 }, async () => {
  for (const [path, status, type] of [
    ['/', 200, 'text/html'], ['/playground.js', 200, 'text/javascript'], ['/wasm-worker.js', 200, 'text/javascript'],
    ['/kernels.wasm', 200, 'application/wasm'], ['/api/runs', 200, 'application/json'], ['/nope.js', 404, 'text/plain'],
    ['/../package.json', 404, 'text/plain'], ['/api/runs/missing', 404, 'text/plain'],
  ] as const) {
    const r = await get(server.port, path);
    assert.equal(r.status, status, path);
    assert.ok(String(r.headers['content-type']).startsWith(type), `${path}: ${r.headers['content-type']}`);
    assert.equal(r.headers['cross-origin-opener-policy'], 'same-origin', path);
    assert.equal(r.headers['cross-origin-embedder-policy'], 'require-corp', path);
  }
});

test('another Host header or a foreign Origin is refused', { timeout: 10_000 }, async () => {
  const cases: [Record<string, string>, number, RegExp][] = [
    [{ host: 'evil.example:80' }, 403, /^refused: Host 'evil\.example:80' is not this dashboard/],
    [{ host: `attacker.test:${server.port}` }, 403, /^refused: Host/],
    [{ origin: 'http://evil.example' }, 403, /^refused: requests from http:\/\/evil\.example may not read this dashboard$/],
    [{ origin: `http://127.0.0.1:${server.port}` }, 200, /"runs"/],
    [{ host: `localhost:${server.port}` }, 200, /"runs"/],
  ];
  for (const [headers, status, body] of cases) {
    const r = await get(server.port, '/api/runs', headers);
    assert.equal(r.status, status, JSON.stringify(headers));
    assert.match(r.body, body);
    assert.equal(r.headers['cross-origin-embedder-policy'], 'require-corp');
  }
});

test('the run list names nested runs and summarises them', { timeout: 10_000 }, async () => {
  const { runs: list } = JSON.parse((await get(server.port, '/api/runs')).body) as { runs: { name: string; live: boolean; epochsPlanned: number; summary: { epochs: number } }[] };
  assert.deepEqual(list.map((r) => [r.name, r.live, r.epochsPlanned, r.summary.epochs]), [['group/a', false, 3, 1]]);
});

test('server-sent events push the run again when an epoch is added', { timeout: 10_000 }, async () => {
  const epochsSeen: number[] = [];
  await new Promise<void>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path: '/api/runs/group%2Fa/events', headers: { host: `127.0.0.1:${server.port}` } }, (res) => {
      assert.equal(res.headers['content-type'], 'text/event-stream');
      let buffer = '';
      res.on('data', (d: Buffer) => {
        buffer += d.toString();
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = /^data: (.*)$/m.exec(event)?.[1];
          if (!event.startsWith('event: run') || !data) continue;
          const run = JSON.parse(data) as { metrics: unknown[]; etaSeconds: number | null };
          epochsSeen.push(run.metrics.length);
          if (run.metrics.length === 1) writeFileSync(join(runs, 'group', 'a', 'metrics.jsonl'), row(1) + row(2));
          if (run.metrics.length === 2) { req.destroy(); resolve(); }
        }
      });
    });
    req.on('error', (e) => { if (epochsSeen.length < 2) reject(e); });
    req.end();
  });
  assert.deepEqual(epochsSeen, [1, 2]);
});

test('convlab ui on a port in use: one line naming the port', { timeout: 20_000 }, async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as { port: number }).port;
  try {
    const r = await convlab(['ui', runs, '--port', String(port)]);
    assert.equal(assertOneLineError(r), `convlab: port ${port} on 127.0.0.1 is already in use; choose another with --port`);
  } finally {
    blocker.close();
  }
  const bad = await convlab(['ui', runs, '--port', '70000']);
  assert.equal(assertOneLineError(bad), "convlab: --port '70000' is invalid: must be a whole number from 0 to 65535 (0: any free port)");
});

test('--help lists the ui command, its --port, and train\'s --ui', { timeout: 20_000 }, async () => {
  const [main, ui, train] = await Promise.all([convlab(['--help']), convlab(['ui', '--help']), convlab(['train', '--help'])]);
  assert.match(main.stdout, /^\s+ui \[options\] \[runs-dir\]\s+serve the runs dashboard and the in-browser playground on 127\.0\.0\.1$/m);
  assert.match(ui.stdout, /^Usage: convlab ui \[options\] \[runs-dir\]$/m);
  assert.match(ui.stdout, /-p, --port <n>/);
  assert.match(train.stdout, /--ui \[port\]\s+serve the live dashboard on 127\.0\.0\.1 while\s+training/);
});
