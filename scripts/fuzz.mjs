#!/usr/bin/env node
// Longer runs of the reader fuzzer (test/fuzz/mutate.ts; the CI test runs it briefly). After `npm run build`:
//
//   node scripts/fuzz.mjs [--iterations 100000] [--seed 1] [--target IDX|IDX.gz|CIFAR|tar|PNG|JPEG|safetensors] [--out fuzz-findings]
//
// Writes every input that raised anything but a DataFormatError to --out (one file per finding) and exits 1 if
// there were any.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const { fuzz, targets } = await import('../dist/test/fuzz/mutate.js');
const o = { iterations: 100_000, seed: 1, target: undefined, out: 'fuzz-findings' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const [flag, value] = [argv[i], argv[i + 1]];
  if (flag === '--iterations' || flag === '--seed') {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) { console.error(`fuzz: ${flag} '${value}' is invalid: must be a whole number ≥ 1`); process.exit(1); }
    o[flag.slice(2)] = n;
  } else if (flag === '--target') {
    const names = targets().map((t) => t.name);
    if (!names.includes(value)) { console.error(`fuzz: --target '${value}' is invalid: must be one of ${names.join(', ')}`); process.exit(1); }
    o.target = value;
  } else if (flag === '--out' && value) o.out = value;
  else { console.error(`fuzz: unknown option '${flag}'. Valid options: --iterations, --seed, --target, --out`); process.exit(1); }
}
const list = targets().filter((t) => !o.target || t.name === o.target);
const { findings, rejected, parsed } = fuzz(o.seed, o.iterations, list);
for (const t of list) console.log(`${t.name.padEnd(12)} ${o.iterations} mutants: ${rejected[t.name]} rejected with DataFormatError, ${parsed[t.name]} parsed`);
if (findings.length) {
  mkdirSync(o.out, { recursive: true });
  for (const f of findings) {
    const file = join(o.out, `${f.target}-seed${f.seed}-${f.iteration}.bin`);
    writeFileSync(file, f.input);
    console.log(`FINDING ${f.target} iteration ${f.iteration}: ${f.error} (input: ${file})`);
  }
  process.exit(1);
}
console.log(`no findings (seed ${o.seed})`);
