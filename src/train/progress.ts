/**
 * Progress reporting for the trainer: a live bar with loss, accuracy, images/s and ETA on a terminal, and
 * one plain line per epoch (plus a few in-epoch lines) when stdout is a pipe or a file.
 */
import cliProgress from 'cli-progress';
import type { TrainCallbacks, EpochRow } from './trainer.js';

export function progressCallbacks(totalEpochs: number, out: NodeJS.WriteStream = process.stdout): TrainCallbacks {
  const tty = !!out.isTTY;
  let bar: cliProgress.SingleBar | null = null;
  let lastPlain = 0;
  return {
    onEpochStart(epoch, batches) {
      if (!tty) return;
      bar = new cliProgress.SingleBar({
        stream: out, hideCursor: true, clearOnComplete: true,
        format: `epoch ${epoch}/${totalEpochs} {bar} {value}/{total} | loss {loss} | acc {acc} | {ips} img/s | ETA {eta_formatted}`,
      }, cliProgress.Presets.shades_classic);
      bar.start(batches, 0, { loss: '-', acc: '-', ips: '-' });
    },
    onBatchEnd(i) {
      const payload = { loss: i.loss.toFixed(4), acc: (100 * i.accuracy).toFixed(2) + '%', ips: Math.round(i.imagesPerSecond) };
      if (bar) bar.update(i.batch, payload);
      else if (i.batch === i.batches || Date.now() - lastPlain > 30_000) {
        lastPlain = Date.now();
        if (i.batch < i.batches) out.write(`  epoch ${i.epoch} batch ${i.batch}/${i.batches} loss ${payload.loss} acc ${payload.acc} ${payload.ips} img/s\n`);
      }
    },
    onEpochEnd(row: EpochRow, improved: boolean) {
      bar?.stop();
      bar = null;
      out.write(formatEpoch(row, totalEpochs, improved) + '\n');
    },
    onLog(line) {
      out.write(line + '\n');
    },
  };
}

export function formatEpoch(r: EpochRow, total: number, improved: boolean): string {
  const pct = (v: number): string => (100 * v).toFixed(2) + '%';
  return `epoch ${String(r.epoch).padStart(String(total).length)}/${total}  ` +
    `train loss ${r.train_loss.toFixed(4)} acc ${pct(r.train_acc)}  |  val loss ${r.val_loss.toFixed(4)} acc ${pct(r.val_acc)} ` +
    `macro-recall ${pct(r.val_macro_recall)}  |  lr ${r.lr.toExponential(2)}  ${r.epoch_seconds.toFixed(1)} s  ${Math.round(r.images_per_s)} img/s` +
    (improved ? '  *' : '');
}
