/**
 * Fine-tuning: start from weights trained on another label set (torchvision's ImageNet weights) and train on a
 * dataset with its own classes.
 *
 * - The classifier is found generically: the model's last Linear, plus the last Linear of each top-level module
 *   with the same output size (GoogLeNet's auxiliary classifiers aux1.fc2 and aux2.fc2). When the file's tensors
 *   for these differ from the model's only in the number of classes, they keep their fresh initialisation and
 *   everything else is loaded; any other mismatch is refused as loadWeights refuses it.
 * - `freeze` takes module paths (`features`, `features.0`, `encoder`): parameters at or under them get no
 *   gradient (requiresGrad off), are left out of the optimiser (no update, no weight decay, no momentum), and the
 *   frozen modules run in eval mode during training: BatchNorm normalises with its loaded running statistics and
 *   does not update them, dropout is off. Frozen parts are therefore exactly the loaded function, buffers included
 *   (Keras does the same for frozen BatchNorm; torchvision's tutorial, which only turns requires_grad off, lets
 *   the running statistics drift).
 */
import type { Tensor } from '../engine/index.js';
import { Linear, type Module, type StateEntry } from '../nn/index.js';
import { createModel, getModelSpec } from '../models/index.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../data/index.js';
import { applyWeights, readWeightsFile, type LoadWeightsResult, type WeightsFile } from './weights.js';

export interface ClassifierHead { name: string; layer: Linear }

/** The classifier layers: the last Linear, and the last Linear of each top-level module with its output size. */
export function classifierHeads(model: Module): ClassifierHead[] {
  const linears = [...model.namedModules()].flatMap(([name, m]) => (m instanceof Linear ? [{ name, layer: m }] : []));
  const main = linears.at(-1);
  if (!main) return [];
  const lastPerTop = new Map<string, ClassifierHead>();
  for (const head of linears) lastPerTop.set(head.name.split('.')[0]!, head);
  const aux = [...lastPerTop.values()].filter((h) => h !== main && h.layer.outFeatures === main.layer.outFeatures);
  return [main, ...aux];
}

/** The file's tensors keyed by the model's names (the ModelSpec's key map applied). */
function mappedEntries(read: WeightsFile, modelName: string | undefined): Map<string, StateEntry> {
  const keyMap = modelName !== undefined ? getModelSpec(modelName).stateDictKeyMap : undefined;
  return keyMap ? new Map([...read.entries].map(([k, v]) => [keyMap(k), v])) : new Map(read.entries);
}

/** How many classes the file's classifier has (the output size of its tensor for the model's main head), if it has one. */
export function fileClassCount(model: Module, read: WeightsFile, modelName?: string): number | undefined {
  const main = classifierHeads(model)[0];
  const entry = main && mappedEntries(read, modelName).get(`${main.name}.weight`);
  return entry?.shape.length === 2 ? entry.shape[0] : undefined;
}

export interface FineTuneLoad extends LoadWeightsResult {
  /** The classifier layers left at their initial values because the file has another number of classes. */
  replaced: string[];
  fileClasses?: number;
  modelClasses?: number;
  /** The one line that says what was loaded. */
  message: string;
}

/**
 * loadWeights for training: when the file's classifier has another number of classes than the model's, the
 * classifier keeps its initialisation and the rest is loaded (and checked as loadWeights checks it).
 */
export function loadForFineTuning(model: Module, file: string, opts: { strict?: boolean; modelName?: string } = {}): FineTuneLoad {
  const read = readWeightsFile(file);
  const entries = mappedEntries(read, opts.modelName);
  const heads = classifierHeads(model);
  const replaced: ClassifierHead[] = [];
  const main = heads[0];
  const fileClasses = main ? entries.get(`${main.name}.weight`)?.shape : undefined;
  const modelClasses = main?.layer.outFeatures;
  const onlyClassesDiffer = (h: ClassifierHead): boolean => {
    const w = entries.get(`${h.name}.weight`)?.shape;
    const bias = entries.get(`${h.name}.bias`)?.shape;
    return w?.length === 2 && w[0] === fileClasses?.[0] && w[0] !== h.layer.outFeatures && w[1] === h.layer.inFeatures
      && (h.layer.bias === null ? bias === undefined : bias?.length === 1 && bias[0] === w[0]);
  };
  if (main && onlyClassesDiffer(main)) {
    for (const head of heads.filter(onlyClassesDiffer)) {
      // The model's own fresh values stand in for the file's: loading them is a no-op that passes every check.
      for (const [suffix, t] of [['weight', head.layer.weight], ['bias', head.layer.bias]] as const) {
        if (t) entries.set(`${head.name}.${suffix}`, { data: t.toFloat32(), shape: [...t.shape] });
      }
      replaced.push(head);
    }
  }
  const result = applyWeights(model, file, { entries, checkpoint: read.checkpoint }, { strict: opts.strict, modelName: opts.modelName, keyMap: (k) => k });
  if (!replaced.length) return { ...result, replaced: [], message: `initialised from ${file} (${result.loaded} tensors)` };
  const replacedTensors = replaced.reduce((n, h) => n + (h.layer.bias ? 2 : 1), 0);
  const [first, ...aux] = replaced.map((h) => h.name);
  const message = `fine-tuning: kept ${result.loaded - replacedTensors} tensors from ${file}, replaced the classifier ${first}`
    + `${aux.length ? ` (and the auxiliary ${aux.join(', ')})` : ''} (${fileClasses![0]} → ${modelClasses} classes)`;
  return { ...result, replaced: replaced.map((h) => h.name), fileClasses: fileClasses![0], modelClasses, message };
}

const underPath = (name: string, path: string): boolean => name === path || name.startsWith(`${path}.`);

/** "features" or "features,classifier.0" → ["features", "classifier.0"] (a trailing dot is dropped). */
export function parseFreezeList(value: string): string[] {
  return value.split(',').map((p) => p.trim().replace(/\.$/, '')).filter(Boolean);
}

export interface FreezeResult {
  /** The parameters to optimise, in the model's order. */
  trainable: Tensor[];
  trainableCount: number;
  frozenCount: number;
  message: string;
}

/**
 * Freezes the parameters at or under each module path in `prefixes` (see the module comment). A path that
 * matches nothing is an error listing the model's top-level modules.
 */
export function freezeModules(model: Module, prefixes: readonly string[], modelName = model.constructor.name): FreezeResult {
  checkFreezePaths(model, prefixes, modelName);
  const params = [...model.namedParameters()];
  const trainable: Tensor[] = [];
  let trainableCount = 0, frozenCount = 0;
  for (const [name, p] of params) {
    if (prefixes.some((prefix) => underPath(name, prefix))) {
      p.requiresGrad = false;
      frozenCount += p.size;
    } else {
      trainable.push(p);
      trainableCount += p.size;
    }
  }
  for (const [name, m] of model.namedModules()) {
    if (prefixes.includes(name)) keepInEvalMode(m);
  }
  if (trainable.length === 0) throw new Error(`--freeze '${prefixes.join(',')}' freezes every parameter of ${modelName}: nothing would be trained`);
  const message = `frozen: ${prefixes.join(', ')} (${frozenCount.toLocaleString('en-US')} parameters); training ${trainableCount.toLocaleString('en-US')} parameters`;
  return { trainable, trainableCount, frozenCount, message };
}

/** Throws one line when a path of `prefixes` matches no parameter of `model`, listing its top-level modules. */
export function checkFreezePaths(model: Module, prefixes: readonly string[], modelName: string): void {
  const names = [...model.namedParameters()].map(([name]) => name);
  for (const prefix of prefixes) {
    if (!names.some((name) => underPath(name, prefix))) {
      const top = [...new Set(names.map((name) => name.split('.')[0]!))];
      throw new Error(`--freeze '${prefix}': ${modelName} has no parameters under '${prefix}'; its top-level modules are ${top.join(', ')}`);
    }
  }
}

/**
 * Makes `train(true)` on this module (as the trainer and evaluate() call on the whole model) leave it, and all
 * below it, in eval mode.
 */
function keepInEvalMode(m: Module): void {
  const train = m.train.bind(m);
  m.train = () => train(false);
  m.train();
}

export interface PretrainedInputs {
  /** Normalisation the weights were trained with, when known: ImageNet's for 1000-class state dicts, a checkpoint's own. */
  mean?: number[];
  std?: number[];
  /** Model options the weights need (GoogLeNet: transformInput for ImageNet weights, auxLogits only when the file has the aux heads). */
  extra?: Record<string, unknown>;
  /** One line saying what was chosen, when anything was. */
  message?: string;
}

/**
 * What fine-tuning from `file` needs besides its tensors: the input normalisation the weights expect, and the
 * model options that torchvision sets when it loads such weights. `channels` is the dataset's.
 */
export function pretrainedInputs(modelName: string, file: string, channels: number, o: { freeze?: readonly string[]; read?: WeightsFile } = {}): PretrainedInputs {
  const spec = getModelSpec(modelName);
  const read = o.read ?? readWeightsFile(file);
  if (read.checkpoint) {
    const { mean, std } = read.checkpoint;
    return mean?.length === channels && std?.length === channels
      ? { mean, std, extra: read.checkpoint.model.extra, message: `normalising with ${file}'s mean and std, as it was trained` } : {};
  }
  const extra: Record<string, unknown> = {};
  if (spec.extraOptions.includes('auxLogits')) extra['auxLogits'] = [...read.entries.keys()].some((k) => k.startsWith('aux1.'));
  const probe = createModel(modelName, { numClasses: 2, extra: Object.keys(extra).length ? extra : undefined });
  let classes: number | undefined;
  try {
    // Checked here, on a model built anyway, so that a mistyped path fails before anything is reported.
    if (o.freeze) checkFreezePaths(probe, o.freeze, modelName);
    classes = fileClassCount(probe, read, modelName);
  } finally {
    probe.dispose();
  }
  if (classes !== 1000 || channels !== 3) return Object.keys(extra).length ? { extra } : {};
  if (spec.extraOptions.includes('transformInput')) extra['transformInput'] = true;
  return {
    mean: IMAGENET_MEAN, std: IMAGENET_STD, extra: Object.keys(extra).length ? extra : undefined,
    message: `normalising with ImageNet's mean and std (${file} has 1000 classes: ImageNet weights)${extra['transformInput'] ? '; transform_input on, as torchvision sets it for them' : ''}`,
  };
}
