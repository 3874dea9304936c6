/**
 * Statements built from the numbers: each of the report's questions gets a sentence with the measurements filled
 * in and a verdict computed from them. Nothing here is written in advance of the runs: flip the numbers and the
 * sentence and the verdict flip with them.
 *
 * A difference counts when it exceeds twice its standard error (with ≥ 2 seeds each), or, with single runs, when it
 * exceeds the claim's margin; otherwise the verdict is "inconclusive (n too small)".
 */
import type { Stat, StudyRow } from './rows.js';

export type Verdict = 'supported' | 'not supported' | 'inconclusive (n too small)';

export interface Statement { id: string; question: string; sentence: string; verdict: Verdict }

/** What a statement reads of a row (tests build these from made-up numbers). */
export type Entry = Pick<StudyRow, 'model' | 'dataset' | 'variant' | 'fraction'> & Partial<Pick<StudyRow, 'finalAcc' | 'macroRecall' | 'params' | 'macs' | 'latency1Ms' | 'latency64Ms' | 'imagesPerSec' | 'trainSeconds' | 'checkpointBytes'>>;

const pct = (s: Stat | null | undefined): string => (s ? `${(s.mean * 100).toFixed(1)} %` : 'n/a');
const times = (a: Stat | null | undefined, b: Stat | null | undefined): string => (a && b && b.mean > 0 ? `${fmtRatio(a.mean / b.mean)}×` : 'n/a');
const fmtRatio = (r: number): string => (r >= 10 ? r.toFixed(0) : r.toFixed(1));
const mparams = (s: Stat | null | undefined): string => (s ? `${(s.mean / 1e6).toFixed(2)} M` : 'n/a');

/** Whether `a` exceeds `b` by more than `margin` (same unit): decisive either way, or too close to call. */
export function exceeds(a: Stat | null | undefined, b: Stat | null | undefined, margin: number): Verdict {
  if (!a || !b) return 'inconclusive (n too small)';
  const diff = a.mean - b.mean;
  if (a.n >= 2 && b.n >= 2) {
    const se = Math.sqrt(a.std ** 2 / a.n + b.std ** 2 / b.n);
    if (diff > Math.max(2 * se, 1e-12)) return 'supported';
    if (diff < -Math.max(2 * se, 1e-12)) return 'not supported';
    return 'inconclusive (n too small)';
  }
  if (diff > margin) return 'supported';
  if (diff < -margin) return 'not supported';
  return 'inconclusive (n too small)';
}

/** All verdicts must hold: any "not supported" wins, then any inconclusive. */
export function both(...vs: Verdict[]): Verdict {
  if (vs.includes('not supported')) return 'not supported';
  if (vs.includes('inconclusive (n too small)')) return 'inconclusive (n too small)';
  return 'supported';
}

const negate = (v: Verdict): Verdict => (v === 'supported' ? 'not supported' : v === 'not supported' ? 'supported' : v);
const lower = (a: number | undefined, b: number | undefined): Verdict => (a === undefined || b === undefined ? 'inconclusive (n too small)' : a < b ? 'supported' : 'not supported');

const find = (rows: Entry[], model: string, dataset: string, variant = ''): Entry | undefined =>
  rows.find((r) => r.model === model && r.dataset === dataset && r.variant === variant);
const full = (rows: Entry[]): Entry[] => rows.filter((r) => r.fraction === 1 && r.dataset === 'cifar10' && !/^lt/.test(r.variant));

/** Accuracy margins (fractions): "a little" accuracy, "comparable" accuracy, and the noise of one run. */
export const MARGINS = { little: 0.05, comparable: 0.02, noise: 0.01 };

/** (a), (b), (c): the classic study's questions. */
export function classicStatements(rows: Entry[]): Statement[] {
  const out: Statement[] = [];
  const lc = find(rows, 'lenet5', 'cifar10'), ac = find(rows, 'alexnet-cifar', 'cifar10');
  const lm = find(rows, 'lenet5', 'mnist'), am = find(rows, 'alexnet-cifar', 'mnist');
  if (lc && ac) {
    out.push({
      id: 'a', question: '(a) How do LeNet-5 and AlexNet differ?',
      sentence: `AlexNet-CIFAR has ${times(ac.params, lc.params)} the parameters and ${times(ac.macs, lc.macs)} the multiply-adds of LeNet-5, and reached ${pct(ac.finalAcc)} on CIFAR-10 against LeNet-5's ${pct(lc.finalAcc)} in the same budget.`,
      verdict: exceeds(ac.finalAcc, lc.finalAcc, MARGINS.noise),
    });
  }
  if (lc && ac && lm && am) {
    out.push({
      id: 'b', question: '(b) Could each solve the other\'s problem?',
      sentence: `On MNIST, AlexNet-CIFAR reached ${pct(am.finalAcc)} against LeNet-5's ${pct(lm.finalAcc)}; on CIFAR-10, LeNet-5 reached ${pct(lc.finalAcc)} against AlexNet-CIFAR's ${pct(ac.finalAcc)}. `
        + `The claim checked: AlexNet does LeNet-5's job (not more than ${MARGINS.little * 100} points below it on MNIST) while LeNet-5 falls more than ${MARGINS.little * 100} points short on CIFAR-10.`,
      verdict: both(negate(exceeds(lm.finalAcc, shift(am.finalAcc, MARGINS.little), 0)), exceeds(ac.finalAcc, shift(lc.finalAcc, MARGINS.little), 0)),
    });
  }
  const lt = find(rows, 'alexnet-cifar', 'cifar10', 'lt'), rw = find(rows, 'alexnet-cifar', 'cifar10', 'lt-reweighted');
  if (lt && rw) {
    out.push({
      id: 'c', question: '(c) What is notable: accuracy hides the rare classes on a long-tailed training set',
      sentence: `On CIFAR-10-LT, AlexNet-CIFAR reached ${pct(lt.finalAcc)} accuracy with ${pct(lt.macroRecall)} macro recall; re-weighting the loss gave ${pct(rw.finalAcc)} accuracy and ${pct(rw.macroRecall)} macro recall. The claim checked: re-weighting raises macro recall.`,
      verdict: exceeds(rw.macroRecall, lt.macroRecall, MARGINS.noise),
    });
  }
  return out;
}

function shift(s: Stat | null | undefined, by: number): Stat | null {
  return s ? { ...s, mean: s.mean + by } : null;
}

const median = (xs: number[]): number | undefined => {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1]! + s[m]!) / 2;
};

function bestBy(rows: Entry[], get: (r: Entry) => Stat | null | undefined): Entry | undefined {
  return rows.filter((r) => get(r)).sort((a, b) => get(b)!.mean - get(a)!.mean)[0];
}

/** The five Part 2 claims, from the claims study's rows. */
export function claimStatements(rows: Entry[]): Statement[] {
  const out: Statement[] = [];
  const at100 = full(rows);
  const mobile = bestBy(at100.filter((r) => r.model.startsWith('mobilenet')), (r) => r.finalAcc);
  const others = at100.filter((r) => !r.model.startsWith('mobilenet'));
  if (mobile && others.length) {
    const bestOther = bestBy(others, (r) => r.finalAcc);
    const medLat = median(others.map((r) => r.latency1Ms?.mean).filter((v): v is number => v !== undefined));
    const medParams = median(others.map((r) => r.params?.mean).filter((v): v is number => v !== undefined));
    out.push({
      id: 'mobilenet', question: 'MobileNet trades a little accuracy for speed and small size',
      sentence: `${mobile.model} answers one image in ${mobile.latency1Ms ? mobile.latency1Ms.mean.toFixed(2) : 'n/a'} ms (the other models' median: ${medLat?.toFixed(2) ?? 'n/a'} ms) with ${mparams(mobile.params)} parameters (median ${medParams ? (medParams / 1e6).toFixed(2) : 'n/a'} M), at ${pct(mobile.finalAcc)} against the best other model's ${pct(bestOther?.finalAcc)} (${bestOther?.model ?? 'n/a'}).`,
      verdict: both(lower(mobile.latency1Ms?.mean, medLat), lower(mobile.params?.mean, medParams), negate(exceeds(bestOther?.finalAcc, shift(mobile.finalAcc, MARGINS.little), 0))),
    });
  }
  const eff = at100.find((r) => r.model.startsWith('efficientnet'));
  if (eff) {
    const rival = bestBy(at100.filter((r) => r !== eff), (r) => r.finalAcc);
    const perParam = (r: Entry | undefined): string => (r?.finalAcc && r.params ? `${(r.finalAcc.mean * 100 / (r.params.mean / 1e6)).toFixed(1)} points per M parameters` : 'n/a');
    out.push({
      id: 'efficientnet', question: 'EfficientNet reaches comparable accuracy with far fewer parameters',
      sentence: `${eff.model} reached ${pct(eff.finalAcc)} with ${mparams(eff.params)} parameters and ${eff.macs ? (eff.macs.mean / 1e6).toFixed(1) : 'n/a'} M multiply-adds (${perParam(eff)}); the most accurate other model, ${rival?.model ?? 'n/a'}, reached ${pct(rival?.finalAcc)} with ${mparams(rival?.params)} (${perParam(rival)}). The claim checked: at most half the parameters and within ${MARGINS.comparable * 100} points.`,
      verdict: both(lower(eff.params?.mean, rival?.params ? rival.params.mean / 2 : undefined), negate(exceeds(rival?.finalAcc, shift(eff.finalAcc, MARGINS.comparable), 0))),
    });
  }
  const fractions = [...new Set(rows.filter((r) => r.dataset === 'cifar10').map((r) => r.fraction))].sort((a, b) => a - b);
  const smallest = fractions[0];
  const atFraction = (model: string, f: number | undefined): Entry | undefined => rows.find((r) => r.model === model && r.dataset === 'cifar10' && r.fraction === f && !/^lt|^w/.test(r.variant));
  const dense = atFraction('densenet-bc-100', smallest);
  const cnnAtSmallest = rows.filter((r) => r.fraction === smallest && r.dataset === 'cifar10' && r.model !== 'densenet-bc-100' && !r.model.startsWith('vit'));
  if (dense && smallest !== undefined && smallest < 1 && cnnAtSmallest.length) {
    const best = bestBy(cnnAtSmallest, (r) => r.finalAcc);
    const medParams = median(at100.filter((r) => r.model !== 'densenet-bc-100' && !r.model.startsWith('vit')).map((r) => r.params?.mean).filter((v): v is number => v !== undefined));
    out.push({
      id: 'densenet', question: 'DenseNet uses parameters efficiently and suits limited data',
      sentence: `On ${Math.round(smallest * 100)} % of CIFAR-10, DenseNet-BC-100 (${mparams(dense.params)} parameters) reached ${pct(dense.finalAcc)}; the best other CNN there, ${best?.model ?? 'n/a'} (${mparams(best?.params)}), reached ${pct(best?.finalAcc)}; the other CNNs' median size is ${medParams ? (medParams / 1e6).toFixed(2) : 'n/a'} M parameters.`,
      verdict: both(lower(dense.params?.mean, medParams), exceeds(dense.finalAcc, best?.finalAcc, MARGINS.noise)),
    });
  }
  const largest = fractions.at(-1);
  const vitSmall = atFraction('vit-cifar', smallest), vitLarge = atFraction('vit-cifar', largest);
  const cnnBest = (f: number | undefined): Entry | undefined => bestBy(rows.filter((r) => r.fraction === f && r.dataset === 'cifar10' && !r.model.startsWith('vit') && !/^lt|^w/.test(r.variant)), (r) => r.finalAcc);
  const cs = cnnBest(smallest), cl = cnnBest(largest);
  if (vitSmall && vitLarge && cs && cl && smallest !== largest) {
    const gap = (c: Entry, v: Entry): Stat | null => (c.finalAcc && v.finalAcc ? { mean: c.finalAcc.mean - v.finalAcc.mean, std: Math.hypot(c.finalAcc.std, v.finalAcc.std), n: Math.min(c.finalAcc.n, v.finalAcc.n) } : null);
    const gs = gap(cs, vitSmall), gl = gap(cl, vitLarge);
    const pts = (s: Stat | null): string => (s ? `${(s.mean * 100).toFixed(1)} points` : 'n/a');
    out.push({
      id: 'vit', question: 'Transformers need large amounts of data to train from scratch',
      sentence: `ViT-CIFAR trails the best CNN by ${pts(gs)} on ${Math.round(smallest! * 100)} % of CIFAR-10 (${pct(vitSmall.finalAcc)} against ${cs.model}'s ${pct(cs.finalAcc)}) and by ${pts(gl)} on ${Math.round(largest! * 100)} % (${pct(vitLarge.finalAcc)} against ${cl.model}'s ${pct(cl.finalAcc)}). The claim checked: ViT trails, and by more when data is scarce.`,
      verdict: both(exceeds(gs, { mean: 0, std: 0, n: gs?.n ?? 1 }, MARGINS.noise), exceeds(gs, gl, MARGINS.noise)),
    });
  }
  const inception = at100.find((r) => r.model.startsWith('googlenet'));
  const plain = rows.find((r) => r.model === 'alexnet-cifar' && r.fraction === 1 && r.variant.startsWith('w'));
  if (inception && plain) {
    out.push({
      id: 'inception', question: 'Inception\'s parallel branches capture several scales',
      sentence: `${inception.model} (${mparams(inception.params)} parameters, ${inception.macs ? (inception.macs.mean / 1e6).toFixed(0) : 'n/a'} M multiply-adds) reached ${pct(inception.finalAcc)}; a plain CNN of similar size, AlexNet-CIFAR at reduced width (${mparams(plain.params)}, ${plain.macs ? (plain.macs.mean / 1e6).toFixed(0) : 'n/a'} M multiply-adds), reached ${pct(plain.finalAcc)} in the same budget. The claim checked: the branches buy accuracy at a similar parameter count.`,
      verdict: exceeds(inception.finalAcc, plain.finalAcc, MARGINS.noise),
    });
  }
  return out;
}

/** Spearman's rank correlation (average ranks for ties), or undefined with fewer than 3 pairs. */
export function spearman(xs: number[], ys: number[]): number | undefined {
  if (xs.length !== ys.length || xs.length < 3) return undefined;
  const ranks = (v: number[]): number[] => {
    const order = v.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
    const r = new Array<number>(v.length);
    for (let i = 0; i < order.length;) {
      let j = i;
      while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
      for (let k = i; k <= j; k++) r[order[k]![1]] = (i + j) / 2 + 1;
      i = j + 1;
    }
    return r;
  };
  const rx = ranks(xs), ry = ranks(ys), n = xs.length, mean = (n + 1) / 2;
  let num = 0, dx = 0, dy = 0;
  for (let i = 0; i < n; i++) {
    num += (rx[i]! - mean) * (ry[i]! - mean); dx += (rx[i]! - mean) ** 2; dy += (ry[i]! - mean) ** 2;
  }
  return dx > 0 && dy > 0 ? num / Math.sqrt(dx * dy) : undefined;
}

/** The rank correlation above which one measure is said to rank the models as another does. */
export const RANKS_ALIKE = 0.9;

type Measure = (r: Entry) => Stat | null | undefined;
const fmtRho = (r: number | undefined): string => (r === undefined ? 'n/a' : r.toFixed(2));
const pairs = (rows: Entry[], x: Measure, y: Measure): Entry[] => rows.filter((r) => x(r) && y(r));
const rho = (rows: Entry[], x: Measure, y: Measure): number | undefined => {
  const known = pairs(rows, x, y);
  return spearman(known.map((r) => x(r)!.mean), known.map((r) => y(r)!.mean));
};

/**
 * The zoo study: whether multiply-adds predict measured latency (at batch 1 and 64), and whether, under one
 * training budget on this machine, the largest model is the most accurate.
 */
export function zooStatements(rows: Entry[]): Statement[] {
  const out: Statement[] = [];
  const at100 = full(rows);
  const latencies: [number, Measure][] = [[1, (r) => r.latency1Ms], [64, (r) => r.latency64Ms]];
  for (const [batch, lat] of latencies) {
    const known = pairs(at100, (r) => r.macs, lat);
    const r = rho(known, (e) => e.macs, lat);
    if (r === undefined) continue;
    // The pair where multiply-adds most overstate the speed-up: an inversion (fewer MACs, yet slower) if there is
    // one, else the largest MAC ratio per measured latency ratio.
    let worst: { fast: Entry; slow: Entry; macRatio: number; latRatio: number } | undefined;
    const worse = (macRatio: number, latRatio: number): boolean => {
      if (!worst) return true;
      if ((latRatio < 1) !== (worst.latRatio < 1)) return latRatio < 1;
      return macRatio / latRatio > worst.macRatio / worst.latRatio;
    };
    for (const a of known) for (const b of known) {
      if (a.macs!.mean >= b.macs!.mean) continue;
      const macRatio = b.macs!.mean / a.macs!.mean, latRatio = lat(b)!.mean / lat(a)!.mean;
      if (worse(macRatio, latRatio)) worst = { fast: a, slow: b, macRatio, latRatio };
    }
    const example = worst ? ` For example, ${worst.fast.model} has ${fmtRatio(worst.macRatio)}× fewer multiply-adds than ${worst.slow.model}, but ${worst.latRatio >= 1 ? `is only ${fmtRatio(worst.latRatio)}× faster` : `is ${fmtRatio(1 / worst.latRatio)}× slower`} (${lat(worst.fast)!.mean.toFixed(1)} against ${lat(worst.slow)!.mean.toFixed(1)} ms).` : '';
    out.push({
      id: `macs-latency-b${batch}`, question: `Multiply-adds rank the models as their measured latency at batch ${batch} does`,
      sentence: `Over ${known.length} models, the rank correlation between multiply-adds and latency at batch ${batch} on this machine is ${fmtRho(r)} (the claim checked: at least ${RANKS_ALIKE}).${example}`,
      verdict: r >= RANKS_ALIKE ? 'supported' : 'not supported',
    });
  }
  const largest = bestBy(at100, (r) => r.params);
  const rival = bestBy(at100.filter((r) => r !== largest), (r) => r.finalAcc);
  if (largest && rival) {
    const acc: Measure = (r) => r.finalAcc;
    out.push({
      id: 'size-accuracy', question: 'Under the same training budget, the largest model is the most accurate',
      sentence: `The largest model, ${largest.model} (${mparams(largest.params)} parameters), reached ${pct(largest.finalAcc)}; the most accurate other model, ${rival.model} (${mparams(rival.params)}), reached ${pct(rival.finalAcc)}. `
        + `Across the ${at100.length} models, accuracy's rank correlation is ${fmtRho(rho(at100, (r) => r.params, acc))} with parameters, ${fmtRho(rho(at100, (r) => r.macs, acc))} with multiply-adds and ${fmtRho(rho(at100, (r) => r.imagesPerSec, acc))} with training images/s.`,
      verdict: exceeds(largest.finalAcc, rival.finalAcc, MARGINS.noise),
    });
  }
  return out;
}
