/** Learning-rate schedules as pure functions of training progress, so a resumed run recomputes the same lr. */

export type ScheduleName = 'constant' | 'step' | 'cosine' | 'onecycle';

export interface ScheduleConfig {
  name: ScheduleName;
  /** Linear warmup from lr/warmupFactor... to lr over this many epochs (fractional allowed). */
  warmupEpochs?: number;
  /** step: multiply by gamma every stepEpochs. */
  stepEpochs?: number;
  gamma?: number;
  /** cosine: the floor, as a fraction of the base lr. */
  minFactor?: number;
  /** onecycle: fraction of training spent rising (PyTorch's pct_start, default 0.3). */
  pctStart?: number;
}

export const SCHEDULES: ScheduleName[] = ['constant', 'step', 'cosine', 'onecycle'];

/**
 * The learning rate at `epochProgress` (epochs done, fractional) of `totalEpochs`. `fraction` overrides the share
 * of training done (default epochProgress / totalEpochs): a time-budgeted run passes its clock's share.
 */
export function learningRate(baseLr: number, c: ScheduleConfig, epochProgress: number, totalEpochs: number, fraction = epochProgress / totalEpochs): number {
  const t = Math.min(fraction, 1);
  let lr: number;
  switch (c.name) {
    case 'constant': lr = baseLr; break;
    case 'step': lr = baseLr * (c.gamma ?? 0.1) ** Math.floor(epochProgress / (c.stepEpochs ?? 30)); break;
    case 'cosine': {
      const floor = baseLr * (c.minFactor ?? 0);
      lr = floor + 0.5 * (baseLr - floor) * (1 + Math.cos(Math.PI * t));
      break;
    }
    case 'onecycle': {
      // PyTorch's OneCycleLR with cosine annealing: max_lr/25 → max_lr → max_lr/(25·1e4).
      const pct = c.pctStart ?? 0.3, initial = baseLr / 25, final = initial / 1e4;
      const cos = (from: number, to: number, p: number): number => to + 0.5 * (from - to) * (1 + Math.cos(Math.PI * p));
      lr = t < pct ? cos(initial, baseLr, t / pct) : cos(baseLr, final, (t - pct) / (1 - pct));
      break;
    }
    default: throw new Error(`unknown schedule '${(c as { name: string }).name}'. Valid schedules: ${SCHEDULES.join(', ')}`);
  }
  const warm = c.warmupEpochs ?? 0;
  if (warm > 0 && epochProgress < warm) lr *= (epochProgress + 1e-9) / warm;
  return lr;
}
