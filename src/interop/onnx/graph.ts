/**
 * Builds an ONNX graph: nodes with fresh value names, int64/float initialisers, and the batch size as a tensor
 * for shapes that depend on it. Pruning keeps only what the output needs.
 */
import { DataType, type AttributeValue, type OnnxNode, type OnnxTensor } from './onnx-proto.js';

export const INPUT_NAME = 'input';
export const OUTPUT_NAME = 'logits';

/** One dimension of a shape attribute: a fixed size, or `perBatch` × the batch size. */
export type Dim = number | { perBatch: number };

export class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers = new Map<string, OnnxTensor>();
  private counter = 0;
  private batchName: string | null = null;

  constructor(readonly opset: number) {}

  /** Adds a node with one output and returns the output's name. */
  node(opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}): string {
    const output = `${opType.toLowerCase()}_${this.counter++}`;
    this.nodes.push({ opType, inputs, outputs: [output], name: output, attributes });
    return output;
  }

  /** A float32 initialiser (idempotent by name). */
  floats(name: string, dims: readonly number[], data: Float32Array): string {
    if (!this.initializers.has(name)) {
      const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      this.initializers.set(name, { name, dims: [...dims], dataType: DataType.FLOAT, raw });
    }
    return name;
  }

  /** A float32 scalar constant (rank 0). */
  scalar(value: number): string {
    return this.floats(`const_f_${value}`, [], Float32Array.of(value));
  }

  /** A 1-D int64 constant. */
  int64s(values: readonly number[]): string {
    const name = `const_i_${values.join('_').replace(/-/g, 'm')}`;
    if (!this.initializers.has(name)) {
      const data = BigInt64Array.from(values.map((v) => BigInt(v)));
      this.initializers.set(name, { name, dims: [values.length], dataType: DataType.INT64, raw: new Uint8Array(data.buffer) });
    }
    return name;
  }

  /** A 1-D int64 shape tensor; batch-dependent dims are computed from the input's batch size. */
  shape(dims: readonly Dim[]): string {
    if (dims.every((d) => typeof d === 'number')) return this.int64s(dims as number[]);
    const pieces: string[] = [];
    let run: number[] = [];
    for (const d of dims) {
      if (typeof d === 'number') { run.push(d); continue; }
      if (run.length) { pieces.push(this.int64s(run)); run = []; }
      pieces.push(d.perBatch === 1 ? this.batchSize() : this.node('Mul', [this.batchSize(), this.int64s([d.perBatch])]));
    }
    if (run.length) pieces.push(this.int64s(run));
    return this.node('Concat', pieces, { axis: 0 });
  }

  /** [N], the input's batch size as a 1-D int64 tensor (made once). */
  private batchSize(): string {
    this.batchName ??= this.node('Shape', [INPUT_NAME], { start: 0, end: 1 });
    return this.batchName;
  }

  /** Renames the value `from` (an output of some node) to `to`. */
  rename(from: string, to: string): void {
    for (const n of this.nodes) {
      n.inputs = n.inputs.map((i) => (i === from ? to : i));
      n.outputs = n.outputs.map((o) => (o === from ? to : o));
    }
  }

  /** Drops nodes and initialisers that `output` does not depend on. */
  prune(output: string): { nodes: OnnxNode[]; initializers: OnnxTensor[] } {
    const needed = new Set([output]);
    const kept: OnnxNode[] = [];
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i]!;
      if (!n.outputs.some((o) => needed.has(o))) continue;
      kept.push(n);
      for (const input of n.inputs) needed.add(input);
    }
    return { nodes: kept.reverse(), initializers: [...this.initializers.values()].filter((t) => needed.has(t.name)) };
  }
}
