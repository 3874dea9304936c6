/**
 * The engine op → ONNX node table: one entry per op the engine's observer reports, each emitting the ONNX nodes
 * that compute the same thing in eval mode. An op missing here cannot be exported, and says so.
 */
import type { AttributeValue } from './onnx-proto.js';
import type { Dim, GraphBuilder } from './graph.js';

export interface EmitContext {
  g: GraphBuilder;
  /** The engine op name, for messages. */
  op: string;
  /** Value names of the op's tensor inputs, in order. */
  inputs: string[];
  inputShapes: number[][];
  outShape: number[];
  attrs: Record<string, number | boolean | readonly number[]>;
  /** A tensor attribute's value name, or null when the op was given none (batch norm without affine weights). */
  tensorAttr(name: string): string | null;
  /** A shape attribute with its batch-dependent dims marked (only reshape and expand may have them). */
  dims(name: string): Dim[];
}

export type OpEmitter = (c: EmitContext) => string;

const ints = (c: EmitContext, name: string): number[] => [...(c.attrs[name] as readonly number[])];
const num = (c: EmitContext, name: string): number => c.attrs[name] as number;

function unsupported(c: EmitContext, why: string): Error {
  return new Error(`onnx export: ${c.op} ${why}`);
}

const simple = (opType: string, attributes: Record<string, AttributeValue> = {}): OpEmitter =>
  (c) => c.g.node(opType, c.inputs, attributes);

/** x ⊙ f(x) style activations share this: y = x · inner(x). */
const timesSelf = (inner: string, attributes: Record<string, AttributeValue> = {}): OpEmitter =>
  (c) => c.g.node('Mul', [c.inputs[0]!, c.g.node(inner, [c.inputs[0]!], attributes)]);

/** The exact (erf) GELU: ONNX has it as an op from opset 20; before, ½·x·(1 + erf(x/√2)). */
const gelu: OpEmitter = (c) => {
  const x = c.inputs[0]!, g = c.g;
  if (g.opset >= 20) return g.node('Gelu', [x]);
  const erf = g.node('Erf', [g.node('Div', [x, g.scalar(Math.SQRT2)])]);
  return g.node('Mul', [g.node('Mul', [x, g.node('Add', [erf, g.scalar(1)])]), g.scalar(0.5)]);
};

/**
 * ONNX pads are [top, left, bottom, right]. PyTorch's ceil mode adds a last, partial window; it is given as
 * extra padding at the bottom and right, which max pooling ignores (ONNX's own ceil_mode rounds differently).
 */
function poolAttributes(c: EmitContext): Record<string, AttributeValue> {
  const [kh, kw] = ints(c, 'kernel'), [sh, sw] = ints(c, 'stride'), [ph, pw] = ints(c, 'padding');
  const [oh, ow] = ints(c, 'outputSize');
  const [h, w] = c.inputShapes[0]!.slice(2) as [number, number];
  const extraH = Math.max(0, (oh! - 1) * sh! + kh! - (h + 2 * ph!));
  const extraW = Math.max(0, (ow! - 1) * sw! + kw! - (w + 2 * pw!));
  if ((extraH || extraW) && c.op !== 'maxPool2d') throw unsupported(c, 'in ceil mode has no ONNX equivalent (only max pooling does)');
  return { kernel_shape: [kh!, kw!], strides: [sh!, sw!], pads: [ph!, pw!, ph! + extraH, pw! + extraW] };
}

/** PyTorch's adaptive windows [⌊i·in/out⌋, ⌈(i+1)·in/out⌉) as an averaging matrix [out, in]. */
function adaptiveMatrix(inSize: number, outSize: number): Float32Array {
  const m = new Float32Array(outSize * inSize);
  for (let i = 0; i < outSize; i++) {
    const start = Math.floor((i * inSize) / outSize), end = Math.ceil(((i + 1) * inSize) / outSize);
    for (let j = start; j < end; j++) m[i * inSize + j] = 1 / (end - start);
  }
  return m;
}

function transposed(m: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) for (let k = 0; k < cols; k++) t[k * rows + r] = m[r * cols + k]!;
  return t;
}

/** Per-channel ones or zeros where batch/layer norm has no affine parameter. */
function filled(c: EmitContext, name: string, size: number, value: number): string {
  return c.tensorAttr(name) ?? c.g.floats(`const_${value}x${size}`, [size], new Float32Array(size).fill(value));
}

/** Reduction axes: an attribute up to opset 17 for ReduceMean, an input for ReduceSum (13+) and ReduceMean (18+). */
const reduce = (opType: 'ReduceSum' | 'ReduceMean'): OpEmitter => (c) => {
  const axes = ints(c, 'axes'), keepdims = c.attrs['keepDims'] ? 1 : 0;
  if (opType === 'ReduceMean' && c.g.opset < 18) return c.g.node(opType, [c.inputs[0]!], { axes, keepdims });
  return c.g.node(opType, [c.inputs[0]!, c.g.int64s(axes)], { keepdims });
};

export const onnxOps: Readonly<Record<string, OpEmitter>> = {
  add: simple('Add'),
  sub: simple('Sub'),
  mul: simple('Mul'),
  div: simple('Div'),
  relu: simple('Relu'),
  tanh: simple('Tanh'),
  sigmoid: simple('Sigmoid'),
  exp: simple('Exp'),
  log: simple('Log'),
  neg: simple('Neg'),
  sqrt: simple('Sqrt'),
  abs: simple('Abs'),
  hardswish: simple('HardSwish'),
  hardsigmoid: simple('HardSigmoid', { alpha: { float: 1 / 6 }, beta: { float: 0.5 } }),
  leaky_relu: (c) => c.g.node('LeakyRelu', c.inputs, { alpha: { float: num(c, 'alpha') } }),
  relu6: (c) => c.g.node('Clip', [c.inputs[0]!, c.g.scalar(0), c.g.scalar(6)]),
  silu: timesSelf('Sigmoid'),
  gelu,
  square: (c) => c.g.node('Mul', [c.inputs[0]!, c.inputs[0]!]),
  pow: (c) => c.g.node('Pow', [c.inputs[0]!, c.g.scalar(num(c, 'alpha'))]),
  add_scalar: (c) => c.g.node('Add', [c.inputs[0]!, c.g.scalar(num(c, 'alpha'))]),
  mul_scalar: (c) => c.g.node('Mul', [c.inputs[0]!, c.g.scalar(num(c, 'alpha'))]),
  softmax: (c) => c.g.node('Softmax', c.inputs, { axis: -1 }),
  logSoftmax: (c) => c.g.node('LogSoftmax', c.inputs, { axis: -1 }),

  conv2d: (c) => {
    const [ph, pw] = ints(c, 'padding');
    return c.g.node('Conv', c.inputs, {
      kernel_shape: c.inputShapes[1]!.slice(2), strides: ints(c, 'stride'), dilations: ints(c, 'dilation'),
      pads: [ph!, pw!, ph!, pw!], group: num(c, 'groups'),
    });
  },
  linear: (c) => {
    const [x, w, b] = c.inputs as [string, string, string | undefined];
    if (c.inputShapes[0]!.length === 2) return c.g.node('Gemm', b ? [x, w, b] : [x, w], { transB: 1 });
    // Rank > 2 (tokens): MatMul by Wᵀ keeps the initialiser in PyTorch's [out, in] layout under its own name.
    const y = c.g.node('MatMul', [x, c.g.node('Transpose', [w], { perm: [1, 0] })]);
    return b ? c.g.node('Add', [y, b]) : y;
  },
  matmul: simple('MatMul'),
  batchNorm: (c) => {
    if (c.attrs['training']) throw unsupported(c, 'has no running statistics (track_running_stats=False), so eval mode still uses batch statistics');
    const channels = c.inputShapes[0]![1]!;
    return c.g.node('BatchNormalization', [
      c.inputs[0]!, filled(c, 'weight', channels, 1), filled(c, 'bias', channels, 0), c.tensorAttr('runningMean')!, c.tensorAttr('runningVar')!,
    ], { epsilon: { float: num(c, 'eps') } });
  },
  layerNorm: (c) => {
    const normalized = ints(c, 'normalizedShape'), size = normalized.reduce((a, b) => a * b, 1);
    const weight = c.tensorAttr('weight') ?? c.g.floats(`const_1x${normalized.join('x')}`, normalized, new Float32Array(size).fill(1));
    const bias = c.tensorAttr('bias');
    return c.g.node('LayerNormalization', bias ? [c.inputs[0]!, weight, bias] : [c.inputs[0]!, weight], {
      axis: -normalized.length, epsilon: { float: num(c, 'eps') },
    });
  },
  maxPool2d: (c) => c.g.node('MaxPool', c.inputs, poolAttributes(c)),
  avgPool2d: (c) => c.g.node('AveragePool', c.inputs, { ...poolAttributes(c), count_include_pad: c.attrs['countIncludePad'] ? 1 : 0 }),
  adaptiveAvgPool2d: (c) => {
    const [oh, ow] = ints(c, 'outputSize') as [number, number];
    const [h, w] = c.inputShapes[0]!.slice(2) as [number, number];
    if (oh === 1 && ow === 1) return c.g.node('GlobalAveragePool', c.inputs);
    if (h === oh && w === ow) return c.g.node('Identity', c.inputs);
    if (h % oh === 0 && w % ow === 0) {
      return c.g.node('AveragePool', c.inputs, { kernel_shape: [h / oh, w / ow], strides: [h / oh, w / ow] });
    }
    // Uneven windows: pooling is linear and separable, so Y = P_h · X · P_wᵀ.
    const rows = c.g.floats(`adaptive_pool_${oh}x${h}`, [oh, h], adaptiveMatrix(h, oh));
    const cols = c.g.floats(`adaptive_pool_${w}x${ow}_t`, [w, ow], transposed(adaptiveMatrix(w, ow), ow, w));
    return c.g.node('MatMul', [c.g.node('MatMul', [rows, c.inputs[0]!]), cols]);
  },
  sum: reduce('ReduceSum'),
  mean: reduce('ReduceMean'),
  expand: (c) => c.g.node('Expand', [c.inputs[0]!, c.g.shape(c.dims('shape'))]),
  reshape: (c) => {
    const dims = c.dims('shape');
    const batched = dims.filter((d) => typeof d !== 'number').length;
    if (batched > 1) throw unsupported(c, `to ${JSON.stringify(dims)} has more than one batch-dependent dimension`);
    // The one batch-dependent dimension (if any) is the one Reshape infers.
    const shape = dims.map((d) => (typeof d === 'number' ? d : -1));
    return c.g.node('Reshape', [c.inputs[0]!, c.g.int64s(shape)]);
  },
  permute: (c) => c.g.node('Transpose', c.inputs, { perm: ints(c, 'perm') }),
  concat: (c) => c.g.node('Concat', c.inputs, { axis: num(c, 'axis') }),
  slice: (c) => {
    const axis = num(c, 'axis'), start = num(c, 'start');
    return c.g.node('Slice', [c.inputs[0]!, c.g.int64s([start]), c.g.int64s([start + num(c, 'length')]), c.g.int64s([axis])]);
  },
  // ONNX Pad wants all the befores, then all the afters: [x1_begin, x2_begin, …, x1_end, x2_end, …].
  pad: (c) => c.g.node('Pad', [c.inputs[0]!, c.g.int64s([...ints(c, 'before'), ...ints(c, 'after')])]),
};
