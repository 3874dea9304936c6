/** `convlab ui [RUNS_DIR] [--port N]`: the local dashboard and playground on 127.0.0.1. */
import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTrainingInThisProcess } from '../../ui/runs.js';
import { startUiServer, type UiServer } from '../../ui/server.js';
import { FlagError, numberFlag, type RawFlags } from '../flags.js';

export const DEFAULT_UI_PORT = 8765;

export interface UiFlags { runsDir: string; port: number }

export function parseUiFlags(runsDir: string | undefined, raw: RawFlags): UiFlags {
  const port = numberFlag(raw, 'port', '--port', { min: 0, max: 65535, integer: true, allowed: 'a whole number from 0 to 65535 (0: any free port)' });
  const dir = runsDir ?? 'runs';
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new FlagError(`RUNS_DIR '${dir}' is a file, expected a folder of run directories`);
  return { runsDir: dir, port: port ?? DEFAULT_UI_PORT };
}

export function registerUi(program: Command): void {
  program.command('ui')
    .description('serve the runs dashboard and the in-browser playground on 127.0.0.1')
    .argument('[runs-dir]', 'folder of run directories to list and watch (default runs)')
    .option('-p, --port <n>', `port (default ${DEFAULT_UI_PORT}; 0: any free port)`)
    .action(async (runsDir: string | undefined, raw: RawFlags) => {
      const f = parseUiFlags(runsDir, raw);
      const server = await startUiServer({ runsDir: f.runsDir, port: f.port });
      const note = existsSync(f.runsDir) ? '' : ' (no such folder yet: runs appear once it exists)';
      console.log(`convlab ui: dashboard ${server.url}dashboard.html, playground ${server.url} — watching ${f.runsDir}${note}; Ctrl-C stops`);
      await new Promise<void>((done) => process.once('SIGINT', () => { void server.close().then(done); }));
    });
}

/** `--ui [port]` of `convlab train`: the port to serve on, or undefined without the flag. Checked before training. */
export function parseTrainUiFlag(raw: RawFlags): number | undefined {
  const v = raw['ui'];
  if (v === undefined || v === false) return undefined;
  if (v === true) return DEFAULT_UI_PORT;
  return numberFlag(raw, 'ui', '--ui', { min: 0, max: 65535, integer: true, allowed: 'a port, a whole number from 0 to 65535 (0: any free port)' });
}

/**
 * The dashboard beside a training in this process, watching the run's parent folder (runs/ without --out). The
 * training never waits for it: the server answers between steps, and a page that closes only ends its stream.
 */
export async function startTrainingDashboard(port: number, out: string | undefined): Promise<UiServer> {
  const runsDir = out !== undefined ? dirname(out) : 'runs';
  const server = await startUiServer({ runsDir, port });
  setTrainingInThisProcess(true);
  process.stderr.write(`convlab ui: dashboard ${server.url}dashboard.html — watching ${runsDir}\n`);
  return {
    ...server,
    close: async () => {
      setTrainingInThisProcess(false);
      // Let open pages receive the final state (one poll) before the server goes away with the process.
      await new Promise((done) => setTimeout(done, 1000));
      await server.close();
    },
  };
}
