/**
 * The subset of onnx.proto the exporter writes (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto,
 * ValueInfoProto), as plain objects and their encoders. Field numbers are onnx.proto's.
 */
import { ProtoMessage } from './protobuf.js';

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT64: 7 } as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

/** A plain number is an INT attribute and an array of them INTS; floats say so, since 1 could be either. */
export type AttributeValue = number | readonly number[] | string | { float: number } | { floats: readonly number[] };

export interface OnnxTensor {
  name: string;
  dims: readonly number[];
  dataType: DataTypeCode;
  /** Little-endian element bytes (raw_data). */
  raw: Uint8Array;
}

export interface OnnxNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attributes: Record<string, AttributeValue>;
}

/** A tensor's type: element type and dimensions, each a size or a symbolic name ("batch"). */
export interface OnnxValueInfo {
  name: string;
  elemType: DataTypeCode;
  dims: readonly (number | string)[];
}

export interface OnnxModel {
  irVersion: number;
  opset: number;
  producerName: string;
  producerVersion: string;
  graphName: string;
  docString: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  metadata: Record<string, string>;
}

/** AttributeProto.AttributeType */
const AttrType = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 } as const;

function encodeAttribute(name: string, value: AttributeValue): ProtoMessage {
  const m = new ProtoMessage().string(1, name);
  if (typeof value === 'string') return m.string(4, value).int(20, AttrType.STRING);
  if (typeof value === 'number') return m.int(3, value).int(20, AttrType.INT);
  if ('float' in value) return m.float(2, value.float).int(20, AttrType.FLOAT);
  if ('floats' in value) {
    for (const f of value.floats) m.float(7, f);
    return m.int(20, AttrType.FLOATS);
  }
  return m.ints(8, value).int(20, AttrType.INTS);
}

function encodeNode(n: OnnxNode): ProtoMessage {
  const m = new ProtoMessage();
  for (const i of n.inputs) m.string(1, i);
  for (const o of n.outputs) m.string(2, o);
  m.string(3, n.name).string(4, n.opType);
  for (const [k, v] of Object.entries(n.attributes)) m.message(5, encodeAttribute(k, v));
  return m;
}

function encodeTensor(t: OnnxTensor): ProtoMessage {
  return new ProtoMessage().ints(1, t.dims).int(2, t.dataType).string(8, t.name).bytes(9, t.raw);
}

function encodeValueInfo(v: OnnxValueInfo): ProtoMessage {
  const shape = new ProtoMessage();
  for (const d of v.dims) shape.message(1, typeof d === 'number' ? new ProtoMessage().int(1, d) : new ProtoMessage().string(2, d));
  const tensorType = new ProtoMessage().int(1, v.elemType).message(2, shape);
  return new ProtoMessage().string(1, v.name).message(2, new ProtoMessage().message(1, tensorType));
}

/** The whole model as protobuf chunks (write them in order). */
export function encodeModel(model: OnnxModel): Uint8Array[] {
  const graph = new ProtoMessage();
  for (const n of model.nodes) graph.message(1, encodeNode(n));
  graph.string(2, model.graphName);
  for (const t of model.initializers) graph.message(5, encodeTensor(t));
  if (model.docString) graph.string(10, model.docString);
  for (const v of model.inputs) graph.message(11, encodeValueInfo(v));
  for (const v of model.outputs) graph.message(12, encodeValueInfo(v));
  const m = new ProtoMessage()
    .int(1, model.irVersion)
    .string(2, model.producerName)
    .string(3, model.producerVersion)
    .message(7, graph)
    .message(8, new ProtoMessage().string(1, '').int(2, model.opset));
  for (const [key, value] of Object.entries(model.metadata)) m.message(14, new ProtoMessage().string(1, key).string(2, value));
  return m.finish();
}

/** The IR version that goes with an opset (onnx/helper.py's table). */
export function irVersionFor(opset: number): number {
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  if (opset <= 22) return 10;
  return 11;
}
