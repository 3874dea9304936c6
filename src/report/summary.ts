/**
 * A model summary like torchinfo's or Keras's: one row per module call of a real eval-mode forward at batch 1
 * (qualified name, type, output shape, parameters, multiply-adds), totals, and measured inference latency.
 */
import * as E from '../engine/index.js';
import { initEngine } from '../engine/index.js';
import { createModel, getModelSpec } from '../models/index.js';
import { probeForward, type Module, type ModuleCall } from '../nn/index.js';
import { applyWeights, readWeightsFile, type LoadWeightsResult } from '../train/weights.js';

export interface SummaryOptions {
  /** [channels, height, width]; default: the checkpoint's input with `weights`, else the model's design input. */
  input?: [number, number, number];
  /** Default: the checkpoint's with `weights`, else createModel's default (10). */
  numClasses?: number;
  weights?: string;
  strict?: boolean;
  /** Fold modules deeper than this into their ancestor at this depth (0: the model alone). Default: every module. */
  depth?: number;
  /** Timed forward passes per batch size after one warm-up; 0 skips the latency measurement. Default 5. */
  repeats?: number;
  threads?: number;
  /** Family-specific model options (e.g. { width: 0.5 }); default: the checkpoint's with `weights`. */
  extra?: Record<string, unknown>;
}

export interface SummaryRow {
  name: string;
  type: string;
  depth: number;
  outputShape: number[];
  /** Parameters the row's module holds itself, plus those of the modules folded into it. */
  params: number;
  /** Multiply-adds of the row's module outside its shown children (folded modules included). */
  macs: number;
}

export interface Latency {
  /** Median wall time of one eval-mode forward pass, in milliseconds. */
  batch1Ms: number;
  batch64Ms: number;
  repeats: number;
}

export interface ModelSummary {
  model: string;
  input: [number, number, number];
  numClasses: number;
  outputShape: number[];
  rows: SummaryRow[];
  totalParams: number;
  trainableParams: number;
  macs: number;
  paramBytes: number;
  /** Sum of the leaf modules' outputs at batch 1, float32: a forward pass's activation memory, roughly. */
  activationBytes: number;
  latency?: Latency;
  weights?: Omit<LoadWeightsResult, 'checkpoint'>;
}

/** The rows of `calls`, with calls deeper than `depth` folded (parameters and MACs) into their shown ancestor. */
export function summaryRows(calls: readonly ModuleCall[], depth = Infinity): SummaryRow[] {
  const rows: SummaryRow[] = [];
  let shown: SummaryRow | undefined;
  for (const c of calls) {
    if (c.depth <= depth || !shown) {
      shown = { name: c.name, type: c.type, depth: c.depth, outputShape: c.outputShape, params: c.params, macs: c.selfMacs };
      rows.push(shown);
    } else {
      shown.params += c.params;
      shown.macs += c.selfMacs;
    }
  }
  return rows;
}

export async function summarizeModel(name: string, opts: SummaryOptions = {}): Promise<ModelSummary> {
  await initEngine({ threads: opts.threads });
  const spec = getModelSpec(name);
  const read = opts.weights !== undefined ? readWeightsFile(opts.weights) : undefined;
  const saved = read?.checkpoint?.model;
  const input = opts.input ?? (saved ? [saved.inChannels, saved.imageSize, saved.imageSize] : spec.defaultInput);
  const model = createModel(name, { numClasses: opts.numClasses ?? saved?.numClasses, inChannels: input[0], imageSize: input[1], extra: opts.extra ?? saved?.extra });
  try {
    let weights: ModelSummary['weights'];
    if (read && opts.weights !== undefined) {
      const { checkpoint: _, ...result } = applyWeights(model, opts.weights, read, { strict: opts.strict, modelName: name });
      weights = result;
    }
    const probe = probeForward(model, input, name);
    const params = model.parameters();
    const leafOutputs = probe.calls.filter((c) => c.leaf).reduce((n, c) => n + E.shapeSize(c.outputShape), 0);
    const repeats = opts.repeats ?? 5;
    return {
      model: name, input, numClasses: probe.outputShape.at(-1) ?? 0, outputShape: probe.outputShape,
      rows: summaryRows(probe.calls, opts.depth), totalParams: model.parameterCount(),
      trainableParams: params.filter((p) => p.requiresGrad).reduce((n, p) => n + p.size, 0),
      macs: probe.macs, paramBytes: 4 * model.parameterCount(), activationBytes: 4 * leafOutputs,
      latency: repeats > 0 ? { batch1Ms: medianForwardMs(model, [1, ...input], repeats), batch64Ms: medianForwardMs(model, [64, ...input], repeats), repeats } : undefined,
      weights,
    };
  } finally {
    model.dispose();
  }
}

/** Median wall time of `repeats` eval-mode forward passes without gradients, after one untimed warm-up pass. */
function medianForwardMs(model: Module, shape: number[], repeats: number): number {
  model.eval();
  const times: number[] = [];
  E.noGrad(() => E.tidy(() => {
    const x = E.zeros(shape);
    for (let i = 0; i <= repeats; i++) {
      const start = performance.now();
      E.tidy(() => { model.forward(x); });
      if (i > 0) times.push(performance.now() - start);
    }
  }));
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  return times.length % 2 ? times[mid]! : (times[mid - 1]! + times[mid]!) / 2;
}

const thousands = (n: number): string => n.toLocaleString('en-US');
const megabytes = (bytes: number): string => `${(bytes / 1e6).toFixed(2)} MB`;
const scaled = (n: number): string => (n >= 1e9 ? `${(n / 1e9).toFixed(3)} G` : n >= 1e6 ? `${(n / 1e6).toFixed(3)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(3)} k` : `${n}`);

/** The human-readable table and totals. */
export function formatSummary(s: ModelSummary): string {
  const table = [['Layer (type)', 'Output shape', 'Params', 'MACs'], ...s.rows.map((r) => [
    `${'  '.repeat(r.depth)}${r.name === '' ? r.type : `${r.name} (${r.type})`}`, r.outputShape.join('×'), thousands(r.params), thousands(r.macs),
  ])];
  const widths = [0, 1, 2, 3].map((i) => Math.max(...table.map((row) => row[i]!.length)));
  const line = (row: string[]): string => row.map((cell, i) => (i === 0 || i === 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd();
  const rule = '─'.repeat(widths.reduce((a, b) => a + b, 0) + 6);
  const out = [rule, line(table[0]!), rule, ...table.slice(1).map(line), rule,
    `Input: ${s.input.join('×')} (batch 1), output ${s.outputShape.join('×')}`,
    `Total params: ${thousands(s.totalParams)} (${megabytes(s.paramBytes)} as float32)`,
    `Trainable params: ${thousands(s.trainableParams)}`,
    `Multiply-adds: ${thousands(s.macs)} (${scaled(s.macs)}MACs)`,
    `Activations (forward, batch 1): ${megabytes(s.activationBytes)}`,
  ];
  if (s.latency) {
    const l = s.latency;
    out.push(`Latency (eval, median of ${l.repeats} after a warm-up): batch 1 ${l.batch1Ms.toFixed(2)} ms, batch 64 ${l.batch64Ms.toFixed(1)} ms (${Math.round(64000 / l.batch64Ms)} images/s)`);
  }
  if (s.weights) out.push(`Weights: ${s.weights.file} (${s.weights.kind}, ${s.weights.loaded} tensors)`);
  return out.join('\n');
}

/** The --json form: snake_case like the other commands' JSON. */
export function summaryJson(s: ModelSummary): Record<string, unknown> {
  return {
    model: s.model, input: s.input, num_classes: s.numClasses, output_shape: s.outputShape,
    layers: s.rows.map((r) => ({ name: r.name, type: r.type, depth: r.depth, output_shape: r.outputShape, params: r.params, macs: r.macs })),
    total_params: s.totalParams, trainable_params: s.trainableParams, macs: s.macs, param_bytes: s.paramBytes, activation_bytes: s.activationBytes,
    latency: s.latency ? { batch1_ms: s.latency.batch1Ms, batch64_ms: s.latency.batch64Ms, repeats: s.latency.repeats } : null,
    weights: s.weights ? { file: s.weights.file, kind: s.weights.kind, loaded: s.weights.loaded, missing: s.weights.missing, unexpected: s.weights.unexpected } : null,
  };
}
