#!/usr/bin/env node
/**
 * The `convlab` command. Every failure the user can cause ends as one line on stderr and exit code 1;
 * set CONVLAB_DEBUG=1 to see stack traces. Flags are parsed and checked in cli/flags.ts before anything else.
 */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { registerExport } from './commands/export.js';
import { registerInfo } from './commands/info.js';
import { registerInspect } from './commands/inspect.js';
import { registerStudy } from './commands/study.js';
import { registerSummary } from './commands/summary.js';
import { registerTrain } from './commands/train.js';
import { registerUi } from './commands/ui.js';
import { registerWorker } from './commands/worker.js';
import { describeEngine } from '../engine/index.js';

const version = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Unknown options list the valid ones, in one line. */
class ConvlabCommand extends Command {
  override createCommand(name?: string): Command {
    return new ConvlabCommand(name);
  }

  unknownOption(flag: string): never {
    const valid = this.options.map((o) => o.long).filter(Boolean).join(', ');
    this.error(`error: unknown option '${flag}'. Valid options for '${this.name()}': ${valid}, --help`, { code: 'commander.unknownOption' });
  }
}

/** `--version` also names the backend and instruction set a run would use (probed only when asked for). */
async function versionLine(): Promise<string> {
  if (!process.argv.slice(2).some((a) => a === '--version' || a === '-V')) return version;
  try {
    const { backend, isa } = await describeEngine();
    return `${version} (backend ${backend}, isa ${isa})`;
  } catch (err) {
    return `${version} (backend: ${(err as Error).message})`;
  }
}

const program = new ConvlabCommand('convlab')
  .description('Define, train, evaluate and compare image classifiers on a WebAssembly SIMD engine')
  .version(await versionLine());
registerTrain(program);
registerInspect(program);
registerSummary(program);
registerInfo(program);
registerUi(program);
registerExport(program);
registerStudy(program);
registerWorker(program);

program.exitOverride();
try {
  await program.parseAsync(process.argv);
} catch (err) {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = 'code' in e && typeof e.code === 'string' ? e.code : undefined;
  if (code?.startsWith('commander.')) process.exit('exitCode' in e && typeof e.exitCode === 'number' ? e.exitCode : 1); // commander already printed its message
  if (process.env.CONVLAB_DEBUG) console.error(e.stack);
  else console.error(`convlab: ${e.message.split('\n')[0]}`);
  process.exit(1);
}
