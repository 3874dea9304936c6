/**
 * exportOnnx: a model's eval-mode forward pass as an ONNX file. The forward is traced twice, at batch 1 and 2, so
 * that shape attributes that follow the batch size (ViT's class-token expand, attention's reshapes) become
 * computed from the input's batch axis rather than fixed numbers; everything else must agree between the two.
 */
import type { Module } from '../../nn/index.js';
import { createAtomicWriter } from '../../util/atomic-file.js';
import { GraphBuilder, INPUT_NAME, OUTPUT_NAME, type Dim } from './graph.js';
import { DataType, encodeModel, irVersionFor, type OnnxModel } from './onnx-proto.js';
import { onnxOps, type EmitContext } from './ops.js';
import { traceForward, type Trace, type TracedOp, type TracedRef } from './trace.js';

/** What the exporter needs besides the model: a checkpoint's `meta.model` plus its normalisation fits as is. */
export interface OnnxExportMeta {
  inChannels: number;
  imageSize: number;
  numClasses: number;
  /** Per-channel normalisation the input must already have (stored as metadata, not applied in the graph). */
  mean?: readonly number[];
  std?: readonly number[];
  classes?: readonly string[];
  /** The zoo name ("alexnet-cifar"), stored as metadata. */
  name?: string;
}

export interface OnnxExportOptions {
  /** ONNX opset, 17 (the default) to 21. */
  opset?: number;
  /** 'dynamic' (default): the batch axis is symbolic ("batch"); a number fixes it. */
  batch?: 'dynamic' | number;
}

export interface OnnxExportResult {
  file: string;
  opset: number;
  bytes: number;
  nodes: number;
  initializers: number;
  /** Distinct ONNX op types in the graph. */
  opTypes: string[];
}

export const MIN_OPSET = 17;
export const MAX_OPSET = 21;

/** Writes `model` (eval mode; dropout is the identity and batch norm uses its running statistics) to `file`. */
export function exportOnnx(model: Module, meta: OnnxExportMeta, file: string, opts: OnnxExportOptions = {}): OnnxExportResult {
  const opset = opts.opset ?? MIN_OPSET;
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new Error(`onnx export: opset ${opset} is not supported (expected an integer from ${MIN_OPSET} to ${MAX_OPSET})`);
  }
  const batch = opts.batch ?? 'dynamic';
  if (batch !== 'dynamic' && !(Number.isInteger(batch) && batch >= 1)) {
    throw new Error(`onnx export: batch must be 'dynamic' or a positive integer, got ${JSON.stringify(batch)}`);
  }
  const sample = [meta.inChannels, meta.imageSize, meta.imageSize];
  const trace = traceForward(model, [batch === 'dynamic' ? 1 : batch, ...sample]);
  const other = batch === 'dynamic' ? traceForward(model, [2, ...sample]) : null;
  if (other) checkSameGraph(trace, other);

  const g = new GraphBuilder(opset);
  const values: string[] = [];
  const nameOf = (ref: TracedRef): string => {
    switch (ref.kind) {
      case 'input': return INPUT_NAME;
      case 'value': return values[ref.op]!;
      case 'state': return g.initializers.has(ref.name) ? ref.name : g.floats(ref.name, ref.tensor.shape, float32(ref.tensor.toArray()));
      case 'constant':
        if (ref.data instanceof Int32Array) throw new Error('onnx export: the forward pass uses an integer constant, which has no mapping');
        return g.floats(`const_${ref.id}`, ref.shape, ref.data);
    }
  };
  trace.ops.forEach((t, i) => {
    const emit = onnxOps[t.op];
    if (!emit) throw new Error(`onnx export: op '${t.op}' has no ONNX mapping (src/interop/onnx/ops.ts)`);
    const context: EmitContext = {
      g, op: t.op, inputs: t.inputs.map(nameOf), inputShapes: t.inputShapes, outShape: t.outShape, attrs: t.attrs,
      tensorAttr: (name) => { const r = t.tensorAttrs[name]; return r ? nameOf(r) : null; },
      dims: (name) => batchDims(t, other?.ops[i], name),
    };
    values.push(emit(context));
  });
  const result = nameOf(trace.output);
  if (trace.output.kind === 'value') g.rename(result, OUTPUT_NAME);
  else g.nodes.push({ opType: 'Identity', inputs: [result], outputs: [OUTPUT_NAME], name: OUTPUT_NAME, attributes: {} });
  const { nodes, initializers } = g.prune(OUTPUT_NAME);

  const batchDim = batch === 'dynamic' ? 'batch' : batch;
  const outDims = trace.outShape.slice(1);
  const onnx: OnnxModel = {
    irVersion: irVersionFor(opset), opset, producerName: 'convlab', producerVersion: '0.1.0',
    graphName: meta.name ?? 'convlab', docString: 'Exported by convlab: eval-mode forward pass; input normalised with the metadata mean/std.',
    nodes, initializers,
    inputs: [{ name: INPUT_NAME, elemType: DataType.FLOAT, dims: [batchDim, ...sample] }],
    outputs: [{ name: OUTPUT_NAME, elemType: DataType.FLOAT, dims: [batchDim, ...outDims] }],
    metadata: metadataOf(meta),
  };
  const bytes = writeChunks(file, encodeModel(onnx));
  return { file, opset, bytes, nodes: nodes.length, initializers: initializers.length, opTypes: [...new Set(nodes.map((n) => n.opType))].sort() };
}

/** The reference backend may hold float64; ONNX gets float32 either way (a copy only when it must convert). */
const float32 = (a: Float32Array | Float64Array | Int32Array): Float32Array => (a instanceof Float32Array ? a : Float32Array.from(a));

function metadataOf(meta: OnnxExportMeta): Record<string, string> {
  const out: Record<string, string> = {
    in_channels: String(meta.inChannels), image_size: String(meta.imageSize), num_classes: String(meta.numClasses),
  };
  if (meta.name) out['model'] = meta.name;
  if (meta.mean) out['mean'] = JSON.stringify(meta.mean);
  if (meta.std) out['std'] = JSON.stringify(meta.std);
  if (meta.classes) out['classes'] = JSON.stringify(meta.classes);
  return out;
}

const describe = (op: TracedOp, i: number): string => `op #${i} (${op.op})`;

/** The batch-1 and batch-2 traces must be the same graph; only reshape/expand shapes may follow the batch. */
function checkSameGraph(a: Trace, b: Trace): void {
  if (a.ops.length !== b.ops.length || a.ops.some((op, i) => op.op !== b.ops[i]!.op)) {
    throw new Error('onnx export: the forward pass runs different ops at batch 1 and batch 2; export with a fixed batch');
  }
  a.ops.forEach((op, i) => {
    const o = b.ops[i]!;
    for (const [k, v] of Object.entries(op.attrs)) {
      if (k === 'shape' && (op.op === 'reshape' || op.op === 'expand')) continue;
      if (JSON.stringify(v) !== JSON.stringify(o.attrs[k])) {
        throw new Error(`onnx export: ${describe(op, i)} has attribute ${k} that depends on the batch size; export with a fixed batch`);
      }
    }
    op.inputs.forEach((r, j) => {
      const s = o.inputs[j]!;
      if (r.kind !== s.kind || (r.kind === 'constant' && s.kind === 'constant' && r.shape.join() !== s.shape.join())) {
        throw new Error(`onnx export: ${describe(op, i)} has an input ${j} that depends on the batch size; export with a fixed batch`);
      }
    });
  });
}

/** A shape attribute with each dim that doubled from batch 1 to batch 2 marked as k × batch. */
function batchDims(op: TracedOp, atTwo: TracedOp | undefined, name: string): Dim[] {
  const one = op.attrs[name] as readonly number[];
  if (!atTwo) return [...one];
  const two = atTwo.attrs[name] as readonly number[];
  return one.map((d, i) => {
    if (d === two[i]) return d;
    if (two[i] !== 2 * d) throw new Error(`onnx export: ${op.op} shape [${one.join(', ')}] at batch 1 becomes [${two.join(', ')}] at batch 2, not proportional`);
    return { perBatch: d };
  });
}

/** Writes the chunks atomically, gathering small ones so the file is not written a few bytes at a time. */
function writeChunks(file: string, chunks: Uint8Array[]): number {
  const writer = createAtomicWriter(file);
  let bytes = 0;
  try {
    let pending: Uint8Array[] = [], pendingBytes = 0;
    const flush = (): void => {
      if (pendingBytes === 0) return;
      writer.write(Buffer.concat(pending, pendingBytes));
      pending = []; pendingBytes = 0;
    };
    for (const c of chunks) {
      bytes += c.length;
      if (c.length >= 1 << 16) { flush(); writer.write(c); continue; }
      pending.push(c); pendingBytes += c.length;
      if (pendingBytes >= 1 << 20) flush();
    }
    flush();
    writer.commit();
  } catch (err) {
    writer.abort();
    throw err;
  }
  return bytes;
}
