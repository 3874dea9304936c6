/** What the playground draws of a LeNet-5 as it trains: the first layer's filters and one digit's activation maps. */
import * as E from '../engine/index.js';
import type { Module } from '../nn/index.js';
import { LeNet5 } from '../models/index.js';
import type { Views } from './protocol.js';

/** Filters of C1 and the maps after C1 (ReLU) and C3 (ReLU) for one normalised 1×28×28 image; null for other models. */
export function lenetViews(model: Module, image: Float32Array): Views | null {
  if (!(model instanceof LeNet5)) return null;
  const wasTraining = model.training;
  model.eval();
  try {
    return E.noGrad(() => E.tidy(() => {
      const act = model.variant === 'classic' ? E.tanh : E.relu;
      const x = E.tensor(image, [1, 1, 28, 28]);
      const c1 = act(model.c1.forward(x));
      const s2 = model.variant === 'classic' ? E.avgPool2d(c1, 2) : E.maxPool2d(c1, 2);
      const c3 = act(model.c3.forward(s2));
      return {
        type: 'views' as const,
        filters: model.c1.weight.toFloat32(),
        filterShape: [...model.c1.weight.shape],
        maps: [
          { name: 'C1', data: c1.toFloat32(), shape: c1.shape.slice(1) },
          { name: 'C3', data: c3.toFloat32(), shape: c3.shape.slice(1) },
        ],
      };
    }));
  } finally {
    model.train(wasTraining);
  }
}
