/**
 * A protobuf reader for the few ModelProto fields the tests check (IR version, opset, graph inputs/outputs with
 * their shapes, node op types, initialiser names, metadata). Written independently of the exporter's encoder, so
 * a field number wrong in both places would not cancel out unnoticed: onnxruntime reads the same bytes.
 */

interface Field { field: number; wire: number; value: bigint | Uint8Array }

function* fields(buf: Uint8Array): Generator<Field> {
  let at = 0;
  const varint = (): bigint => {
    let v = 0n, shift = 0n;
    for (;;) {
      const b = buf[at++];
      if (b === undefined) throw new Error('protobuf: truncated varint');
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return v;
      shift += 7n;
    }
  };
  while (at < buf.length) {
    const key = Number(varint()), field = key >> 3, wire = key & 7;
    if (wire === 0) yield { field, wire, value: varint() };
    else if (wire === 2) { const n = Number(varint()); yield { field, wire, value: buf.subarray(at, at + n) }; at += n; }
    else if (wire === 5) { yield { field, wire, value: buf.subarray(at, at + 4) }; at += 4; }
    else if (wire === 1) { yield { field, wire, value: buf.subarray(at, at + 8) }; at += 8; }
    else throw new Error(`protobuf: wire type ${wire} not expected`);
  }
}

const text = (v: bigint | Uint8Array): string => new TextDecoder().decode(v as Uint8Array);
const int = (v: bigint | Uint8Array): number => Number(BigInt.asIntN(64, v as bigint));

export interface ValueInfo { name: string; elemType: number; dims: (number | string)[] }

export interface ModelSummary {
  irVersion: number;
  opsets: { domain: string; version: number }[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  opTypes: string[];
  initializers: string[];
  metadata: Record<string, string>;
}

function valueInfo(buf: Uint8Array): ValueInfo {
  const out: ValueInfo = { name: '', elemType: 0, dims: [] };
  for (const f of fields(buf)) {
    if (f.field === 1) out.name = text(f.value);
    if (f.field !== 2) continue;
    for (const t of fields(f.value as Uint8Array)) {
      if (t.field !== 1) continue;
      for (const tt of fields(t.value as Uint8Array)) {
        if (tt.field === 1) out.elemType = int(tt.value);
        if (tt.field !== 2) continue;
        for (const d of fields(tt.value as Uint8Array)) {
          for (const dv of fields(d.value as Uint8Array)) out.dims.push(dv.field === 1 ? int(dv.value) : text(dv.value));
        }
      }
    }
  }
  return out;
}

export function readModel(buf: Uint8Array): ModelSummary {
  const s: ModelSummary = { irVersion: 0, opsets: [], inputs: [], outputs: [], opTypes: [], initializers: [], metadata: {} };
  for (const f of fields(buf)) {
    if (f.field === 1) s.irVersion = int(f.value);
    if (f.field === 8) {
      const o = { domain: '', version: 0 };
      for (const g of fields(f.value as Uint8Array)) { if (g.field === 1) o.domain = text(g.value); if (g.field === 2) o.version = int(g.value); }
      s.opsets.push(o);
    }
    if (f.field === 14) {
      let key = '', value = '';
      for (const g of fields(f.value as Uint8Array)) { if (g.field === 1) key = text(g.value); if (g.field === 2) value = text(g.value); }
      s.metadata[key] = value;
    }
    if (f.field !== 7) continue;
    for (const g of fields(f.value as Uint8Array)) {
      if (g.field === 1) for (const n of fields(g.value as Uint8Array)) { if (n.field === 4) s.opTypes.push(text(n.value)); }
      if (g.field === 5) for (const t of fields(g.value as Uint8Array)) { if (t.field === 8) s.initializers.push(text(t.value)); }
      if (g.field === 11) s.inputs.push(valueInfo(g.value as Uint8Array));
      if (g.field === 12) s.outputs.push(valueInfo(g.value as Uint8Array));
    }
  }
  return s;
}
