/**
 * Sweeps the native GEMM's cache blocking (KC, MC, NC) on this CPU. Each candidate runs `kernels.js` (native GEMMs
 * only) in a process of its own with CONVLAB_GEMM_BLOCKS set; the candidates are interleaved over rounds and each
 * cell is the median over rounds. Prints JSON, best first by 2-thread GFLOP/s at n = 1024. Time it on a quiet machine.
 *
 *   node dist/bench/gemm-blocks.js [--rounds 2] [KC,MC,NC …]
 *
 * Without candidates it tries KC 192–384 against MC 112–336 (multiples of the AVX-512 kernel's 14 rows), NC 3072;
 * `default` is the kernel set's own blocking.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KernelBenchResult } from './kernels.js';
import { median } from './stats.js';

interface Options { rounds: number; candidates: string[] }

function parseArgs(argv: string[]): Options {
  const opts: Options = { rounds: 2, candidates: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--rounds') {
      const rounds = Number(argv[++i]);
      if (!(Number.isInteger(rounds) && rounds > 0)) throw new Error(`gemm-blocks: --rounds must be a positive integer, got '${argv[i]}'`);
      opts.rounds = rounds;
    } else if (/^\d+,\d+,\d+$/.test(arg) || arg === 'default') {
      opts.candidates.push(arg);
    } else {
      throw new Error(`gemm-blocks: expected --rounds N or KC,MC,NC (e.g. 256,168,3072), got '${arg}'`);
    }
  }
  if (opts.candidates.length === 0) {
    opts.candidates.push('default');
    for (const kc of [192, 256, 320, 384]) for (const mc of [112, 168, 224, 336]) opts.candidates.push(`${kc},${mc},3072`);
  }
  return opts;
}

function measure(candidate: string): KernelBenchResult['gemm'] {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'kernels.js');
  const env: NodeJS.ProcessEnv = { ...process.env, CONVLAB_BENCH_BACKENDS: 'native', CONVLAB_BENCH_GEMM_ONLY: '1', CONVLAB_BENCH_MIN_MS: '300' };
  if (candidate === 'default') delete env.CONVLAB_GEMM_BLOCKS; else env.CONVLAB_GEMM_BLOCKS = candidate;
  const run = spawnSync(process.execPath, [script], { env, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`gemm-blocks: kernels.js failed for ${candidate}: ${run.stderr.trim().split('\n').pop()}`);
  return (JSON.parse(run.stdout) as KernelBenchResult).gemm;
}

function main(): void {
  const { rounds, candidates } = parseArgs(process.argv.slice(2));
  const samples = new Map<string, Map<string, number[]>>(candidates.map((c) => [c, new Map()]));
  for (let round = 0; round < rounds; round++) {
    for (const candidate of candidates) {
      for (const row of measure(candidate)) {
        const cell = `n${row.n}_t${row.threads}`;
        const cells = samples.get(candidate)!;
        cells.set(cell, [...(cells.get(cell) ?? []), row.gflops]);
      }
    }
  }
  const table = candidates.map((blocks) => {
    const cells: Record<string, number> = {};
    for (const [cell, xs] of samples.get(blocks)!) cells[cell] = Math.round(median(xs) * 10) / 10;
    return { blocks, ...cells };
  });
  const key = (row: Record<string, unknown>): number => Number(row.n1024_t2 ?? 0);
  table.sort((a, b) => key(b) - key(a));
  console.log(JSON.stringify({ rounds, gflops: table }, null, 1));
}

try {
  main();
} catch (e) {
  console.error((e as Error).message);
  process.exit(1);
}
