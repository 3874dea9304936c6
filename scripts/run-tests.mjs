// Runs every compiled *.test.js under dist/test with Node's own test runner.
// Node 20's `--test` cannot take a directory glob, so we list the files here.
// Every test gets a timeout (CONVLAB_TEST_TIMEOUT_MS, default 5 minutes), so a hang fails instead of stalling CI;
// the slowest single test takes well under a minute on a 2-core machine.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...findTests(path));
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const filter = process.argv[2];
const files = findTests('dist/test').filter((f) => !filter || f.includes(filter)).sort();
const timeoutMs = Number(process.env.CONVLAB_TEST_TIMEOUT_MS ?? 300_000);
if (!(Number.isInteger(timeoutMs) && timeoutMs > 0)) {
  console.error(`run-tests: CONVLAB_TEST_TIMEOUT_MS must be a positive integer of milliseconds, got '${process.env.CONVLAB_TEST_TIMEOUT_MS}'`);
  process.exit(1);
}
if (files.length === 0) {
  console.error(`run-tests: no compiled test file under dist/test${filter ? ` matches '${filter}'` : ''} (run npm run build first)`);
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', `--test-timeout=${timeoutMs}`, ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
