/** Wall-clock time of a run from its epoch rows (pure: shared by the report and the browser dashboard). */
import type { EpochMetrics } from './types.js';

function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** Cumulative wall-clock seconds per epoch (from wall_seconds, else summed epoch_seconds), or null if unknown. */
export function wallClock(rows: EpochMetrics[]): (number | null)[] {
  let acc = 0;
  let summable = true;
  return rows.map((r) => {
    if (isNum(r.wall_seconds)) {
      acc = r.wall_seconds;
      return r.wall_seconds;
    }
    if (summable && isNum(r.epoch_seconds)) {
      acc += r.epoch_seconds;
      return acc;
    }
    summable = false;
    return null;
  });
}

/** Total training wall time in seconds, or null when the metrics carry no timing. */
export function totalWallSeconds(rows: EpochMetrics[]): number | null {
  const w = wallClock(rows);
  for (let i = w.length - 1; i >= 0; i--) if (w[i] !== null) return w[i]!;
  return null;
}
