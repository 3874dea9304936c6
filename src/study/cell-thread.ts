/**
 * Runs study cells on a worker thread, with the in-process cell runner (run-cell.ts). `convlab worker` uses it
 * so that its main thread stays free to renew the cell's lock in Redis while training blocks its own thread
 * (an evaluation or a dataset load can take longer than the stall timeout). The thread dies with the process,
 * so a killed worker leaves nothing training behind.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { TrainingInterrupted, type InterruptRequest } from '../train/trainer.js';
import type { CellProgress, CellResult, CellRunner, StudyCell } from './cell.js';
import { makeCellRunner } from './run-cell.js';

interface CellThreadInput { convlabCellThread: true; cell: StudyCell; runDir: string; dataDir?: string; threads?: number; verbose: boolean }

type CellThreadMessage =
  | { type: 'progress'; progress: CellProgress }
  | { type: 'log'; line: string }
  | { type: 'result'; result: CellResult }
  | { type: 'interrupted'; signal: NodeJS.Signals; checkpoint: string; epoch: number; batch: number }
  | { type: 'error'; message: string };

export interface ThreadedCellRunner {
  run: CellRunner;
  /** Asks every running cell to stop after its current step, with a checkpoint (its run rejects with TrainingInterrupted). */
  interrupt(signal: NodeJS.Signals): void;
}

export function makeThreadedCellRunner(o: { dataDir?: string; threads?: number; onLog?: (line: string) => void }): ThreadedCellRunner {
  const live = new Set<Worker>();
  let stopSignal: NodeJS.Signals | undefined;
  const run: CellRunner = (cell, runDir, onProgress) => new Promise<CellResult>((resolve, reject) => {
    const input: CellThreadInput = { convlabCellThread: true, cell, runDir, dataDir: o.dataDir, threads: o.threads, verbose: o.onLog !== undefined };
    const thread = new Worker(new URL(import.meta.url), { workerData: input });
    live.add(thread);
    if (stopSignal) thread.postMessage(stopSignal);
    let settled = false;
    // Settled once; the thread is then ended (its engine's own threads would otherwise keep it alive).
    const settle = (f: () => void): void => {
      if (settled) return;
      settled = true;
      f();
      void thread.terminate();
    };
    thread.on('message', (m: CellThreadMessage) => {
      if (m.type === 'progress') onProgress?.(m.progress);
      else if (m.type === 'log') o.onLog?.(m.line);
      else if (m.type === 'result') settle(() => resolve(m.result));
      else if (m.type === 'interrupted') settle(() => reject(new TrainingInterrupted(m.signal, m.checkpoint, m.epoch, m.batch)));
      else settle(() => reject(new Error(m.message)));
    });
    thread.on('error', (err) => settle(() => reject(err)));
    thread.on('exit', (code) => {
      live.delete(thread);
      settle(() => reject(new Error(`the training thread of ${cell.id} stopped early (exit code ${code})`)));
    });
  });
  return {
    run,
    interrupt(signal) {
      stopSignal = signal;
      for (const thread of live) thread.postMessage(signal);
    },
  };
}

/** The thread's side: train the cell, stop on request, report back, exit. */
async function serveCell(input: CellThreadInput): Promise<void> {
  const port = parentPort;
  if (!port) return;
  const send = (m: CellThreadMessage): void => port.postMessage(m);
  const interrupt: InterruptRequest = {};
  port.on('message', (signal: NodeJS.Signals) => { interrupt.signal = signal; });
  port.unref(); // the listener above must not keep the thread alive once the cell is done
  const runCell = makeCellRunner({ dataDir: input.dataDir, threads: input.threads, interrupt, onLog: input.verbose ? (line) => send({ type: 'log', line }) : undefined });
  try {
    send({ type: 'result', result: await runCell(input.cell, input.runDir, (progress) => send({ type: 'progress', progress })) });
  } catch (err) {
    if (err instanceof TrainingInterrupted) send({ type: 'interrupted', signal: err.signal, checkpoint: err.checkpoint, epoch: err.epoch, batch: err.batch });
    else send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  }
}

const input = workerData as Partial<CellThreadInput> | null;
if (!isMainThread && input?.convlabCellThread === true) await serveCell(input as CellThreadInput);
