/**
 * The predefined studies (classic, zoo, datasets, claims) and user-defined ones from a JSON or YAML file, each
 * expanded into its cells: one training run per model × dataset × variant × seed. Everything a file names is
 * checked here, before any training, so a typo costs one line and no compute.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DATASET_NAMES, getDatasetSpec } from '../data/index.js';
import { listModels } from '../models/index.js';
import type { StudyCell } from './cell.js';

export type CellOptions = StudyCell['options'];

/** A block of cells: every model on every dataset, with these options, at each data fraction. */
export interface StudyGroup {
  models: string[];
  datasets: string[];
  options?: CellOptions;
  /** Fractions of the training set (0 < f ≤ 1), through the stratified `limit`; default [1]. */
  fractions?: number[];
  /** Names the variant in the cell id and the tables, e.g. "lt" or "lt-reweighted". */
  variant?: string;
}

export interface StudyDefinition {
  name: string;
  description: string;
  groups: StudyGroup[];
}

/** A cell with what the report groups it by. */
export interface PlannedCell {
  cell: StudyCell;
  variant: string;
  fraction: number;
}

export class StudyDefinitionError extends Error {}

export const DATA_FRACTIONS = [0.1, 0.25, 0.5, 1];
const LONG_TAIL = 'exp:100';

const cifarVariants = (): string[] => listModels().filter((m) => m.name.endsWith('-cifar') || m.name === 'densenet-bc-100').map((m) => m.name);

/** A plain CNN (AlexNet-CIFAR at 7/16 width: 6.9 M parameters) beside GoogLeNet-CIFAR (6.2 M). */
export const PLAIN_CNN = { model: 'alexnet-cifar', options: { modelExtra: { width: 0.4375 } }, variant: 'w0.44' } as const;

export const STUDIES: Record<string, StudyDefinition> = {
  classic: {
    name: 'classic',
    description: 'LeNet-5 and AlexNet-CIFAR, each on MNIST and CIFAR-10, and AlexNet-CIFAR on CIFAR-10-LT with and without re-weighting',
    groups: [
      { models: ['lenet5', 'alexnet-cifar'], datasets: ['mnist', 'cifar10'] },
      { models: ['alexnet-cifar'], datasets: ['cifar10'], options: { imbalance: LONG_TAIL }, variant: 'lt' },
      { models: ['alexnet-cifar'], datasets: ['cifar10'], options: { imbalance: LONG_TAIL, loss: { kind: 'cross-entropy', weighting: 'effective' } }, variant: 'lt-reweighted' },
    ],
  },
  zoo: {
    name: 'zoo',
    description: 'every CIFAR variant of the model zoo on CIFAR-10, under the same budget',
    get groups() { return [{ models: cifarVariants(), datasets: ['cifar10'] }]; },
  },
  datasets: {
    name: 'datasets',
    description: 'the best small models on MNIST, Fashion-MNIST and CIFAR-10',
    groups: [{ models: ['lenet5', 'mobilenet_v3-cifar', 'densenet-bc-100'], datasets: ['mnist', 'fashion-mnist', 'cifar10'] }],
  },
  claims: {
    name: 'claims',
    description: 'the report\'s Part 2 claims, measured: MobileNet, EfficientNet, DenseNet, ViT and Inception against plain CNNs, over 10–100 % of CIFAR-10',
    groups: [
      { models: ['lenet5', 'alexnet-cifar', 'densenet-bc-100', 'vit-cifar', 'mobilenet_v2-cifar'], datasets: ['cifar10'], fractions: DATA_FRACTIONS },
      { models: ['mobilenet_v1-cifar', 'mobilenet_v3-cifar', 'efficientnet_b0-cifar', 'googlenet-cifar'], datasets: ['cifar10'] },
      { models: [PLAIN_CNN.model], datasets: ['cifar10'], options: PLAIN_CNN.options, variant: PLAIN_CNN.variant },
    ],
  },
};

export interface Budget { seconds?: number; epochs?: number }

/** The cells of a study, in a stable order; `seeds` repeats each (seeds 0..n-1). */
export function planCells(def: StudyDefinition, budget: Budget, seeds = 1): PlannedCell[] {
  const out: PlannedCell[] = [];
  for (const g of def.groups) {
    for (const dataset of g.datasets) {
      for (const model of g.models) {
        for (const fraction of g.fractions ?? [1]) {
          for (let seed = 0; seed < seeds; seed++) {
            const variant = [g.variant, fraction < 1 ? `${Math.round(fraction * 100)}pct` : undefined].filter(Boolean).join('-');
            const options: CellOptions = { ...structuredClone(g.options ?? {}) };
            // Studies validate on the test set (valSplit 0), so a fraction is of the whole training split, or of `limit`.
            const full = options.limit ?? (dataset.startsWith('folder:') ? undefined : getDatasetSpec(dataset).sizes.train);
            if (fraction < 1 && full !== undefined) options.limit = Math.max(10, Math.round(full * fraction));
            const id = `${model}@${dataset}${variant ? `-${variant}` : ''}#s${seed}`;
            out.push({
              cell: { id, study: def.name, model, dataset, seed, options, budgetSeconds: budget.seconds, epochs: budget.epochs },
              variant, fraction,
            });
          }
        }
      }
    }
  }
  return out;
}

/** The options a study file may set per group, with the type each must have. */
const OPTION_KINDS: Record<string, 'number' | 'string' | 'object' | 'boolean'> = {
  batchSize: 'number', lr: 'number', limit: 'number', valSplit: 'number', imbalance: 'string', epochs: 'number', seed: 'number',
  optimizer: 'object', schedule: 'object', loss: 'object', augment: 'object', modelExtra: 'object', sampler: 'string', monitor: 'string',
  patience: 'number', evalEverySteps: 'number', checkpointEvery: 'number', clipGradNorm: 'number', labelSmoothing: 'number',
};
const GROUP_KEYS = ['models', 'datasets', 'options', 'fractions', 'variant'];

function stringList(file: string, where: string, v: unknown, valid: readonly string[], what: string): string[] {
  if (!Array.isArray(v) || v.length === 0 || !v.every((s) => typeof s === 'string')) throw new StudyDefinitionError(`${file}: ${where} must be a non-empty list of ${what} names`);
  for (const s of v) {
    if (!valid.includes(s) && !(what === 'dataset' && s.startsWith('folder:'))) {
      throw new StudyDefinitionError(`${file}: unknown ${what} '${s}' in ${where}. Valid ${what}s: ${valid.join(', ')}`);
    }
  }
  return v;
}

/** Checks a parsed study file: { name?, description?, models, datasets, options?, fractions? } or { groups: [...] }. */
export function validateStudy(raw: unknown, file: string, fallbackName: string): StudyDefinition {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new StudyDefinitionError(`${file}: expected an object with models, datasets and options (or groups)`);
  const o = raw as Record<string, unknown>;
  const top = ['name', 'description', 'groups', ...GROUP_KEYS];
  const strayTop = Object.keys(o).find((k) => !top.includes(k));
  if (strayTop !== undefined) throw new StudyDefinitionError(`${file}: unknown key '${strayTop}'. Valid keys: ${top.join(', ')}`);
  const groupsRaw = o.groups !== undefined ? o.groups : [{ models: o.models, datasets: o.datasets, options: o.options, fractions: o.fractions, variant: o.variant }];
  if (!Array.isArray(groupsRaw) || groupsRaw.length === 0) throw new StudyDefinitionError(`${file}: groups must be a non-empty list`);
  const models = listModels().map((m) => m.name);
  const groups = groupsRaw.map((g: unknown, i): StudyGroup => {
    const where = o.groups !== undefined ? `groups[${i}].` : '';
    if (typeof g !== 'object' || g === null) throw new StudyDefinitionError(`${file}: groups[${i}] must be an object`);
    const gr = g as Record<string, unknown>;
    const stray = Object.keys(gr).find((k) => !GROUP_KEYS.includes(k));
    if (stray !== undefined) throw new StudyDefinitionError(`${file}: unknown key '${where}${stray}'. Valid keys: ${GROUP_KEYS.join(', ')}`);
    const group: StudyGroup = {
      models: stringList(file, `${where}models`, gr.models, models, 'model'),
      datasets: stringList(file, `${where}datasets`, gr.datasets, DATASET_NAMES, 'dataset'),
    };
    if (gr.options !== undefined && gr.options !== null) {
      if (typeof gr.options !== 'object' || Array.isArray(gr.options)) throw new StudyDefinitionError(`${file}: ${where}options must be an object`);
      for (const [key, value] of Object.entries(gr.options)) {
        const kind = OPTION_KINDS[key];
        if (kind === undefined) throw new StudyDefinitionError(`${file}: unknown option '${key}' in ${where}options. Valid options: ${Object.keys(OPTION_KINDS).join(', ')}`);
        if (typeof value !== kind || value === null) throw new StudyDefinitionError(`${file}: option '${key}' in ${where}options must be a ${kind}, got ${JSON.stringify(value)}`);
      }
      group.options = normaliseOptions(gr.options as Record<string, unknown>);
    }
    if (gr.fractions !== undefined) {
      if (!Array.isArray(gr.fractions) || !gr.fractions.every((f) => typeof f === 'number' && f > 0 && f <= 1)) {
        throw new StudyDefinitionError(`${file}: ${where}fractions must be a list of numbers in (0, 1], e.g. [0.1, 0.25, 0.5, 1]`);
      }
      group.fractions = gr.fractions as number[];
    }
    if (gr.variant !== undefined) {
      if (typeof gr.variant !== 'string' || !/^[a-z0-9.-]+$/i.test(gr.variant)) throw new StudyDefinitionError(`${file}: ${where}variant must be a short name of letters, digits, '.' and '-'`);
      group.variant = gr.variant;
    }
    return group;
  });
  const name = typeof o.name === 'string' && /^[\w.-]+$/.test(o.name) ? o.name : fallbackName;
  return { name, description: typeof o.description === 'string' ? o.description : `user-defined study from ${file}`, groups };
}

/** `lr` and `labelSmoothing` are shorthands for the nested trainer settings. */
function normaliseOptions(raw: Record<string, unknown>): CellOptions {
  const { lr, labelSmoothing, ...rest } = raw;
  const options = { ...rest } as CellOptions;
  if (typeof lr === 'number') options.optimizer = { ...(options.optimizer ?? {}), lr } as CellOptions['optimizer'];
  if (typeof labelSmoothing === 'number') options.loss = { ...(options.loss ?? {}), labelSmoothing } as CellOptions['loss'];
  return options;
}

/** A predefined study by name, or a study file (.json, .yaml, .yml). */
export function loadStudy(nameOrFile: string): StudyDefinition {
  const predefined = STUDIES[nameOrFile];
  if (predefined) return predefined;
  const ext = extname(nameOrFile).toLowerCase();
  if (!['.json', '.yaml', '.yml'].includes(ext)) {
    throw new StudyDefinitionError(`unknown study '${nameOrFile}'. Valid studies: ${Object.keys(STUDIES).join(', ')}, or a .json/.yaml file`);
  }
  let text: string;
  try {
    text = readFileSync(nameOrFile, 'utf8');
  } catch {
    throw new StudyDefinitionError(`${nameOrFile}: study file not found`);
  }
  let raw: unknown;
  try {
    raw = ext === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new StudyDefinitionError(`${nameOrFile}: invalid ${ext === '.json' ? 'JSON' : 'YAML'} (${(err as Error).message.split('\n')[0]})`);
  }
  const base = nameOrFile.replace(/^.*[/\\]/, '').replace(/\.[^.]+$/, '');
  return validateStudy(raw, nameOrFile, base.replace(/[^\w.-]/g, '_'));
}
