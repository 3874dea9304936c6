/**
 * The README's "As a library" examples, read from README.md at test time (so they cannot drift), type-checked
 * under the project's strict settings and run as written, importing 'convlab' and 'convlab/engine' the way a
 * user's code does (a file inside the package resolves its own name through package.json "exports").
 *
 * The first example trains LeNet-5 on the whole bundled mnist-sample for 3 epochs and writes a report, as the
 * README says: the slowest test here (about 20 s on 2 cores), and the only one that runs the library exactly
 * as a user is told to.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { repoRoot } from './fixtures.js';

const ROOT = repoRoot();

/** The ```ts blocks of the README section that starts with `heading`, up to the next section of the same level or above. */
function codeBlocks(markdown: string, heading: string): string[] {
  const start = markdown.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `README.md has no "${heading}" section`);
  const level = heading.split(' ')[0]!.length;
  const rest = markdown.slice(start + heading.length + 2);
  const end = rest.search(new RegExp(`^#{1,${level}} `, 'm'));
  const section = end >= 0 ? rest.slice(0, end) : rest;
  return [...section.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

const blocks = codeBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'), '### As a library');
// Inside the package (dist/ is ignored by git), so that `import 'convlab'` resolves to this build.
const DIR = join(ROOT, 'dist', 'readme-examples');
mkdirSync(DIR, { recursive: true });
const files = blocks.map((code, i) => {
  const file = join(DIR, `example-${i + 1}.ts`);
  writeFileSync(file, code);
  return file;
});

function runExample(file: string): Promise<{ code: number | null; stdout: string; stderr: string; cwd: string }> {
  const js = file.replace(/\.ts$/, '.mjs');
  writeFileSync(js, ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 } }).outputText);
  const cwd = mkdtempSync(join(tmpdir(), 'convlab-readme-'));
  process.on('exit', () => rmSync(cwd, { recursive: true, force: true }));
  const env: NodeJS.ProcessEnv = { ...process.env, CONVLAB_HOME: join(cwd, 'home') };
  for (const k of ['CONVLAB_DEBUG', 'CONVLAB_DATA_DIR', 'CONVLAB_BACKEND', 'CONVLAB_THREADS']) delete env[k];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [js], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, cwd }));
  });
}

// Start the training example at once; the type check runs meanwhile.
const libraryRun = files[0] ? runExample(files[0]) : null;

test('README "As a library" has the two examples: trainModel, and the engine on its own', () => {
  assert.equal(blocks.length, 2, blocks.join('\n----\n'));
  assert.match(blocks[0]!, /from 'convlab'/);
  assert.match(blocks[1]!, /from 'convlab\/engine'/);
});

test('the README examples type-check under strict TypeScript against the built package', () => {
  const program = ts.createProgram(files, {
    strict: true, noEmit: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022,
    skipLibCheck: true, types: ['node'],
  });
  const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file && d.start !== undefined ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: ` : '';
    return where + ts.flattenDiagnosticMessageText(d.messageText, '\n');
  });
  assert.deepEqual(diagnostics, []);
});

test('README example 1: trainModel on mnist-sample for 3 epochs prints test accuracy, macro recall and the run directory', async () => {
  const r = await libraryRun!;
  assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  const m = /^(\S+) (\S+) (\S+)\n$/.exec(r.stdout);
  assert.ok(m, `expected "<accuracy> <macro recall> <run dir>", got ${JSON.stringify(r.stdout)}`);
  const [accuracy, recall, runDir] = [Number(m[1]), Number(m[2]), m[3]!];
  // LeNet-5 after 3 epochs on 7,200 digits: the README's quickstart reaches 98.4 % after 8.
  assert.ok(accuracy > 0.9 && accuracy <= 1, `test accuracy ${accuracy}`);
  assert.ok(recall > 0.9 && recall <= 1, `macro recall ${recall}`);
  assert.match(runDir, /^runs\/lenet5-mnist-sample-\d{8}-\d{6}$/);
  const eval_ = JSON.parse(readFileSync(join(r.cwd, runDir, 'eval.json'), 'utf8')) as { accuracy: number };
  assert.equal(eval_.accuracy, accuracy);
  assert.ok(existsSync(join(r.cwd, runDir, 'report.html')), 'the report is written by default');
});

test('README example 2: the engine on its own prints a loss and the gradient shape [6, 1, 5, 5]', async () => {
  const r = await runExample(files[1]!);
  assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  const m = /^(\S+) \[ 6, 1, 5, 5 \]\n$/.exec(r.stdout);
  assert.ok(m, JSON.stringify(r.stdout));
  // mean(relu(·)) of a convolution of N(0, 1) images with N(0, 0.1) weights: positive and of order 0.1.
  assert.ok(Number(m[1]) > 0.01 && Number(m[1]) < 1, m[1]);
});
