/**
 * Runs a study: the cells not yet finished go to an executor (in-process, or a queue), finished ones are read
 * back from their run directories, then each model is measured once and the report is written. Re-running the
 * same command skips finished cells and resumes an interrupted one from its checkpoint.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { getDatasetSpec } from '../data/index.js';
import { getModelSpec } from '../models/index.js';
import { writeJsonAtomic } from '../util/atomic-file.js';
import type { CellFailure, CellProgress, CellResult, StudyCell } from './cell.js';
import type { Budget, PlannedCell, StudyDefinition } from './definitions.js';
import type { CellExecutor } from './executor.js';
import { machineInfo, measureModels, measurementKey, type ModelMeasurement } from './measure.js';
import { writeStudyReport, type StudyReportPaths } from './report.js';
import { groupSeeds, readRunRows, type StudyRow } from './rows.js';

export interface StudyProgress {
  done: number;
  total: number;
  /** Cells skipped because an earlier run of the study finished them. */
  skipped: number;
  current?: CellProgress;
}

export interface RunStudyOptions {
  def: StudyDefinition;
  planned: PlannedCell[];
  budget: Budget;
  outDir: string;
  executor: CellExecutor;
  threads?: number;
  /** Timed forward passes per batch size for the latency columns (default 5; 0 skips latency). */
  latencyRepeats?: number;
  onLog?: (line: string) => void;
  onProgress?: (p: StudyProgress) => void;
}

export interface StudyOutcome {
  report: StudyReportPaths; rows: StudyRow[]; ran: number; skipped: number;
  /** Cells that failed this time: the report covers the others, and running the study again retries these. */
  failed: CellFailure[];
}

/** A cell's run directory: `<out>/runs/<id>` with the id's '#' (seed) made path- and URL-safe. */
export const cellDir = (outDir: string, cell: StudyCell): string => join(outDir, 'runs', cell.id.replace('#', '_'));

export const budgetLabel = (b: Budget): string => (b.epochs !== undefined ? `${b.epochs} epoch${b.epochs === 1 ? '' : 's'}` : `${b.seconds} s of training`);

/** Study cells default to validating on the test set, so per-epoch accuracy is test accuracy (best and final). */
export function withStudyDefaults(planned: PlannedCell[]): PlannedCell[] {
  return planned.map((p) => ({ ...p, cell: { ...p.cell, options: { valSplit: 0, ...p.cell.options } } }));
}

export async function runStudy(o: RunStudyOptions): Promise<StudyOutcome> {
  mkdirSync(join(o.outDir, 'runs'), { recursive: true });
  const log = o.onLog ?? (() => {});
  writeJsonAtomic(join(o.outDir, 'plan.json'), { study: o.def.name, description: o.def.description, budget: o.budget, cells: o.planned.map((p) => ({ ...p.cell, variant: p.variant, fraction: p.fraction })) });
  const finished = o.planned.filter((p) => existsSync(join(cellDir(o.outDir, p.cell), 'eval.json')));
  const todo = o.planned.filter((p) => !finished.includes(p)).map((p) => p.cell);
  const total = o.planned.length;
  let done = finished.length;
  if (finished.length) log(`${finished.length} of ${total} cells already finished: skipped`);
  const results: CellResult[] = [];
  const failed: CellFailure[] = [];
  o.onProgress?.({ done, total, skipped: finished.length });
  await o.executor.run(todo, (cell) => cellDir(o.outDir, cell), {
    onResult: (r) => { results.push(r); done++; o.onProgress?.({ done, total, skipped: finished.length }); },
    onFailure: (f) => { failed.push(f); },
    onProgress: (p) => o.onProgress?.({ done, total, skipped: finished.length, current: p }),
    onLog: log,
  });
  const requests = o.planned.map((p) => ({ model: p.cell.model, dataset: p.cell.dataset, modelExtra: p.cell.options.modelExtra }))
    .filter((r) => !r.dataset.startsWith('folder:'));
  const measurements = await measureModels(requests, { dir: o.outDir, repeats: o.latencyRepeats, threads: o.threads, onLog: log });
  const items = o.planned.map((p) => ({ dir: results.find((r) => r.id === p.cell.id)?.runDir ?? cellDir(o.outDir, p.cell), id: p.cell.id, variant: p.variant, fraction: p.fraction }))
    .filter((it) => existsSync(join(it.dir, 'config.json')) && !failed.some((f) => f.id === it.id));
  const rows = groupSeeds(await readRunRows(items, measurements, log));
  const report = await writeStudyReport(o.outDir, { def: o.def, rows, machine: machineInfo(o.threads), budget: budgetLabel(o.budget), adaptations: adaptations(o.planned, measurements), failed });
  return { report, rows, ran: results.length, skipped: finished.length, failed };
}

/** One line per model × dataset whose images differ from the model's design input: what was adapted, and how. */
export function adaptations(planned: PlannedCell[], measurements: Map<string, ModelMeasurement>): string[] {
  const out = new Set<string>();
  for (const p of planned) {
    const { model, dataset } = p.cell;
    if (dataset.startsWith('folder:')) continue;
    const design = getModelSpec(model).defaultInput, d = getDatasetSpec(dataset);
    const input = [d.channels, d.height, d.width];
    if (input.every((v, i) => v === design[i])) continue;
    const m = measurements.get(measurementKey({ model, dataset, modelExtra: p.cell.options.modelExtra }));
    out.add(`${model} on ${dataset}: built for ${input.join('×')} images instead of its design input ${design.join('×')}. The first convolution takes ${d.channels} channel${d.channels === 1 ? '' : 's'} and every later size follows from the input${m ? ` (${m.params.toLocaleString('en-US')} parameters, ${(m.macs / 1e6).toFixed(1)} M multiply-adds per image)` : ''}; the images themselves are neither resized nor converted.`);
  }
  return [...out];
}
