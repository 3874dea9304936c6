/**
 * A fixed number of training steps of one model, for instruction counting (never timing) under callgrind:
 *   CONVLAB_THREADS=1 CONVLAB_BACKEND=native valgrind --tool=callgrind node dist/bench/step-count.js lenet5 64 2
 * One warm-up step runs first; compare runs with different step counts to separate the steps from start-up.
 */
import * as E from '../src/engine/index.js';
import { initEngine } from '../src/engine/engine.js';
import { createModel } from '../src/models/index.js';
import { SGD } from '../src/train/optim.js';

const [name = 'lenet5', batchArg = '64', stepsArg = '1'] = process.argv.slice(2);
const batch = Number(batchArg), steps = Number(stepsArg);
if (!(Number.isInteger(batch) && batch > 0)) throw new Error(`batch '${batchArg}' is invalid: expected a whole number > 0`);
if (!(Number.isInteger(steps) && steps >= 0)) throw new Error(`steps '${stepsArg}' is invalid: expected a whole number ≥ 0`);
await initEngine({ threads: Number(process.env.CONVLAB_THREADS ?? 1) });
const input: [number, number, number] = name === 'lenet5' ? [1, 28, 28] : [3, 32, 32];
E.manualSeed(0);
const model = createModel(name, { numClasses: 10, inChannels: input[0], imageSize: input[1] });
const x = E.randNormal([batch, ...input]).keep();
const y = E.intTensor(Array.from({ length: batch }, (_, i) => i % 10)).keep();
const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
let loss = 0;
for (let s = 0; s <= steps; s++) {
  model.train();
  E.tidy(() => { const l = E.crossEntropy(model.forward(x), y); loss = l.item(); E.backward(l); });
  opt.step();
  opt.zeroGrad();
}
process.stdout.write(`${name} batch ${batch}: ${steps} steps after warm-up, last loss ${loss.toFixed(6)}\n`);
