/**
 * Names the layer at which an input became too small. The engine's pooling and convolution ops refuse a
 * window larger than their (padded) input; a model runs each named stage through `stage` so that the error
 * says where in the network the spatial size ran out, rather than only which op failed.
 */
import { fmtShape, type Tensor } from '../engine/index.js';

const TOO_SMALL = /larger than the padded input/;

export class InputTooSmallError extends Error {}

export function stage(model: string, layer: string, x: Tensor, fn: (x: Tensor) => Tensor): Tensor {
  try {
    return fn(x);
  } catch (e) {
    if (e instanceof InputTooSmallError || !(e instanceof Error) || !TOO_SMALL.test(e.message)) throw e;
    const [h, w] = x.shape.slice(-2);
    throw new InputTooSmallError(`${model}: the input is too small: the spatial size reaches zero at layer '${layer}' (its input is ${h}×${w}, ${fmtShape(x.shape)})`);
  }
}
