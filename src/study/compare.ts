/**
 * `convlab compare`'s table: the study's comparison columns for any run directories, one row per run, read
 * leniently (bad metrics lines are skipped with a warning naming the file and line).
 */
import { basename, resolve } from 'node:path';
import { formatTable } from '../report/table-format.js';
import { measureModels } from './measure.js';
import { COMPARISON_COLUMNS, groupSeeds, readRunRows, rowsJson, type StudyRow } from './rows.js';
import { readRun } from '../report/index.js';

export interface RunComparison { rows: StudyRow[]; table: string; json: Record<string, unknown>[] }

export async function compareRunDirs(dirs: string[], o: { latencyRepeats?: number; threads?: number; onWarning: (line: string) => void; onLog?: (line: string) => void }): Promise<RunComparison> {
  const requests = [];
  for (const dir of dirs) {
    const run = await readRun(dir, { requireEval: false, onWarning: () => {} });
    const extra = run.config['modelExtra'];
    if (!run.config.dataset.startsWith('folder:')) requests.push({ model: run.config.model, dataset: run.config.dataset, modelExtra: extra && typeof extra === 'object' ? extra as Record<string, unknown> : undefined });
  }
  const measurements = await measureModels(requests, { repeats: o.latencyRepeats, threads: o.threads, onLog: o.onLog });
  const items = dirs.map((dir) => ({ dir, id: dir, variant: basename(resolve(dir)), fraction: 1 }));
  const rows = groupSeeds(await readRunRows(items, measurements, o.onWarning), (r) => r.runDir);
  return { rows, table: formatTable(COMPARISON_COLUMNS, rows), json: rowsJson(rows) };
}
