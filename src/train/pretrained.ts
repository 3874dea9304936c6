/**
 * A model built from a plain weights file (torchvision's key names, no convlab metadata), for `predict --model`:
 * the number of classes is read from the file's classifier, GoogLeNet's auxiliary heads are built only when the
 * file has them, and with ImageNet weights (1000 classes, or `imagenet`) the input is prepared as torchvision
 * evaluates them: shorter side resized to 256, centre crop 224, ImageNet's mean and std, its class names, and
 * GoogLeNet's transform_input switched on (torchvision switches it on when it loads ImageNet weights).
 */
import type { Module } from '../nn/index.js';
import { createModel, getModelSpec } from '../models/index.js';
import { IMAGENET_MEAN, IMAGENET_STD, imagenetClasses, imagenetResizeFor } from '../data/index.js';
import { applyWeights, readWeightsFile, type LoadWeightsResult, type WeightsFile } from './weights.js';
import { fileClassCount } from './finetune.js';

export interface PretrainedModel {
  model: Module;
  classes: string[];
  mean: number[];
  std: number[];
  /** The input's channels and side: images are resized (shorter side to `resize`) and centre-cropped to `crop`. */
  channels: number;
  resize: number;
  crop: number;
  load: LoadWeightsResult;
}

const IMAGENET_CLASSES = 1000;

/** Builds `modelName` from a plain state dict; a convlab checkpoint is refused (it has its own route). */
export function modelFromWeights(modelName: string, file: string, o: { imagenet?: boolean; strict?: boolean; read?: WeightsFile } = {}): PretrainedModel {
  const spec = getModelSpec(modelName);
  const read = o.read ?? readWeightsFile(file);
  if (read.checkpoint) throw new Error(`${file}: is a convlab checkpoint; pass it as the checkpoint argument instead of --model and --weights`);
  const extra: Record<string, unknown> = {};
  // torchvision drops GoogLeNet's auxiliary heads when it loads ImageNet weights, so its state_dict() may lack them.
  if (spec.extraOptions.includes('auxLogits')) extra['auxLogits'] = [...read.entries.keys()].some((k) => k.startsWith('aux1.'));
  const [channels, side] = spec.defaultInput;
  const build = (numClasses: number): Module => createModel(modelName, { numClasses, inChannels: channels, imageSize: side, extra: Object.keys(extra).length ? extra : undefined });
  let model = build(IMAGENET_CLASSES);
  const classes = fileClassCount(model, read, modelName) ?? IMAGENET_CLASSES;
  const imagenet = o.imagenet === true || classes === IMAGENET_CLASSES;
  if (!imagenet) {
    model.dispose();
    throw new Error(`${file}: a state dict with ${classes} classes and no convlab metadata: predict needs a convlab checkpoint (classes, normalisation), or --imagenet to prepare images as for ImageNet weights`);
  }
  if (channels !== 3) {
    model.dispose();
    throw new Error(`--imagenet: ${modelName} takes ${channels}-channel input; ImageNet preprocessing needs a 3-channel model`);
  }
  if (spec.extraOptions.includes('transformInput')) extra['transformInput'] = true;
  if (classes !== IMAGENET_CLASSES || extra['transformInput']) {
    model.dispose();
    model = build(classes);
  }
  const load = applyWeights(model, file, read, { strict: o.strict, modelName });
  return {
    model: model.eval(), classes: classes === IMAGENET_CLASSES ? imagenetClasses() : Array.from({ length: classes }, (_, i) => `class ${i}`),
    mean: IMAGENET_MEAN, std: IMAGENET_STD, channels, resize: imagenetResizeFor(side), crop: side, load,
  };
}
