/**
 * What a study measures once per model and input rather than per run: parameters, multiply-adds, activation
 * memory per image and the receptive field from one traced forward, and inference latency at batch 1 and 64 on
 * this machine (report/summary.ts). Cached in the study directory, so a resumed study does not measure again.
 */
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { getDatasetSpec } from '../data/index.js';
import { createModel } from '../models/index.js';
import { Conv2d, probeForward, type Module } from '../nn/index.js';
import { initEngine } from '../engine/index.js';
import { summarizeModel } from '../report/summary.js';
import { writeJsonAtomic } from '../util/atomic-file.js';

export interface ModelMeasurement {
  model: string;
  input: [number, number, number];
  numClasses: number;
  params: number;
  macs: number;
  activationBytes: number;
  /** Leaf layers with parameters (convolutions, linear layers, norms). */
  layers: number;
  /** Of the last spatial feature map, in input pixels, for chains of convolutions and pools; null otherwise. */
  receptiveField: number | null;
  latency1Ms: number | null;
  latency64Ms: number | null;
}

export interface MeasureRequest { model: string; dataset: string; modelExtra?: Record<string, unknown> }

export const measurementKey = (r: MeasureRequest): string => `${r.model}@${r.dataset}${r.modelExtra ? JSON.stringify(r.modelExtra) : ''}`;

/** The machine the latencies were measured on, written beside them. */
export function machineInfo(threads?: number): { cpu: string; threads: number; cores: number } {
  const c = cpus();
  return { cpu: c[0]?.model.trim() ?? 'unknown', threads: threads ?? Number(process.env.CONVLAB_THREADS ?? c.length), cores: c.length };
}

/**
 * Receptive field along a chain: each Conv2d adds (k − 1)·dilation·jump; a drop of the spatial size between or
 * inside other layers (pooling, functional or not) is counted as a pool with kernel = stride = the ratio.
 */
export function receptiveField(model: Module, input: [number, number, number], name: string): number | null {
  const modules = new Map<string, Module>();
  const walk = (m: Module, prefix: string): void => {
    for (const [n, child] of m.namedChildren()) { const q = prefix ? `${prefix}.${n}` : n; modules.set(q, child); walk(child, q); }
  };
  walk(model, '');
  let rf = 1, jump = 1, size = input[1], seenSpatial = false;
  const pool = (from: number, to: number): void => {
    if (to >= from || to < 1) return;
    const ratio = Math.round(from / to);
    rf += (ratio - 1) * jump;
    jump *= ratio;
  };
  for (const call of probeForward(model, input, name).calls) {
    if (!call.leaf || call.inputShape.length !== 4) continue;
    if (call.inputShape[1] !== undefined && call.inputShape.length === 4) pool(size, call.inputShape[2]!);
    const m = modules.get(call.name);
    if (m instanceof Conv2d) {
      const stride = Number(m.opts.stride ?? 1), dilation = Number(m.opts.dilation ?? 1);
      rf += (m.kernel[0] - 1) * dilation * jump;
      jump *= stride;
    } else if (call.outputShape.length === 4) {
      pool(call.inputShape[2]!, call.outputShape[2]!);
    }
    if (call.outputShape.length === 4) { size = call.outputShape[2]!; seenSpatial = true; }
  }
  return seenSpatial ? rf : null;
}

async function measureOne(r: MeasureRequest, repeats: number, threads?: number): Promise<ModelMeasurement> {
  const spec = getDatasetSpec(r.dataset);
  const input: [number, number, number] = [spec.channels, spec.height, spec.width];
  const numClasses = spec.classes.length;
  await initEngine({ threads });
  const model = createModel(r.model, { inChannels: input[0], imageSize: input[1], numClasses, extra: r.modelExtra });
  let rfield: number | null, layers: number;
  try {
    const calls = probeForward(model, input, r.model).calls;
    layers = calls.filter((c) => c.leaf && c.params > 0).length;
    rfield = receptiveField(model, input, r.model);
  } finally {
    model.dispose();
  }
  const sized = await summarizeModel(r.model, { input, numClasses, repeats, threads, extra: r.modelExtra });
  return {
    model: r.model, input, numClasses, params: sized.totalParams, macs: sized.macs, activationBytes: sized.activationBytes, layers, receptiveField: rfield,
    latency1Ms: sized.latency?.batch1Ms ?? null, latency64Ms: sized.latency?.batch64Ms ?? null,
  };
}

/** Measures each distinct model × input once, reusing `<dir>/measurements.json` from an earlier run of the study. */
export async function measureModels(requests: MeasureRequest[], o: { dir?: string; repeats?: number; threads?: number; onLog?: (line: string) => void } = {}): Promise<Map<string, ModelMeasurement>> {
  const file = o.dir ? join(o.dir, 'measurements.json') : undefined;
  const cached: Record<string, ModelMeasurement> = file && existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) as Record<string, ModelMeasurement> : {};
  const out = new Map<string, ModelMeasurement>();
  for (const r of requests) {
    const key = measurementKey(r);
    if (out.has(key)) continue;
    let m = cached[key];
    if (!m) {
      o.onLog?.(`measuring ${r.model} on ${r.dataset}'s input: parameters, multiply-adds, latency at batch 1 and 64`);
      try {
        m = await measureOne(r, o.repeats ?? 5, o.threads);
      } catch (err) {
        o.onLog?.(`warning: could not measure ${r.model} on ${r.dataset}: ${(err as Error).message}`);
        continue;
      }
      cached[key] = m;
      if (file) writeJsonAtomic(file, cached);
    }
    out.set(key, m);
  }
  return out;
}
