/**
 * A restricted unpickler for the pickles torch.save writes (protocol 2; protocol 3–5 opcodes are read too). Nothing
 * is ever executed: a GLOBAL resolves only to the few names a state dict needs, each mapped to a plain function
 * here, and any other global stops the read at that opcode, naming it. Dicts become Maps, tuples and lists arrays.
 */
import { DataFormatError } from '../../data/index.js';

/**
 * A global the unpickler allows: `module.name` and, for callables, what calling it (REDUCE) builds. Storage
 * classes have no `call`: they are only named inside a persistent id.
 */
export class AllowedGlobal {
  constructor(readonly module: string, readonly name: string, readonly call?: (args: unknown[]) => unknown) {}
  get qualifiedName(): string { return `${this.module}.${this.name}`; }
}

export interface UnpickleOptions {
  file: string;
  /** The global `module.name` stands for; undefined refuses it. */
  resolveGlobal: (module: string, name: string) => AllowedGlobal | undefined;
  /** Resolves BINPERSID's id (torch: a storage record). */
  persistentLoad: (pid: unknown) => unknown;
}

type Value = unknown;

export function unpickle(bytes: Uint8Array, o: UnpickleOptions): Value {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const decoder = new TextDecoder();
  const fail = (problem: string): never => { throw new DataFormatError(o.file, `${o.file}: ${problem}`); };
  let stack: Value[] = [];
  const marks: Value[][] = [];
  const memo = new Map<number, Value>();
  let p = 0, opAt = 0;

  const need = (n: number): void => { if (p + n > bytes.length) fail(`truncated pickle (opcode at byte ${opAt} runs past the end)`); };
  const u8 = (): number => { need(1); return bytes[p++]!; };
  const u16 = (): number => { need(2); const v = view.getUint16(p, true); p += 2; return v; };
  const u32 = (): number => { need(4); const v = view.getUint32(p, true); p += 4; return v; };
  const i32 = (): number => { need(4); const v = view.getInt32(p, true); p += 4; return v; };
  const u64 = (): number => { need(8); const v = Number(view.getBigUint64(p, true)); p += 8; return v; };
  const take = (n: number): Uint8Array => { need(n); const b = bytes.subarray(p, p + n); p += n; return b; };
  const text = (n: number): string => decoder.decode(take(n));
  const line = (): string => {
    const end = bytes.indexOf(0x0a, p);
    if (end < 0) fail(`truncated pickle (opcode at byte ${opAt} runs past the end)`);
    const s = decoder.decode(bytes.subarray(p, end));
    p = end + 1;
    return s;
  };
  const pop = (): Value => { if (!stack.length) fail(`corrupt pickle (stack underflow at byte ${opAt})`); return stack.pop(); };
  const top = (): Value => { if (!stack.length) fail(`corrupt pickle (stack underflow at byte ${opAt})`); return stack[stack.length - 1]; };
  const popMark = (): Value[] => {
    const items = stack;
    const prev = marks.pop();
    if (!prev) fail(`corrupt pickle (no MARK before byte ${opAt})`);
    stack = prev!;
    return items;
  };
  const resolve = (module: string, name: string): Value => o.resolveGlobal(module, name)
    ?? fail(`refusing pickle global ${module}.${name} (only a state dict's globals are allowed)`);
  const asMap = (v: Value, op: string): Map<Value, Value> => (v instanceof Map ? v : fail(`corrupt pickle (${op} on a ${typeName(v)}, not a dict)`));
  const asList = (v: Value, op: string): Value[] => (Array.isArray(v) ? v : fail(`corrupt pickle (${op} on a ${typeName(v)}, not a list)`));
  const call = (fn: Value, args: Value): Value => {
    if (!Array.isArray(args)) fail('corrupt pickle (REDUCE arguments are not a tuple)');
    if (!(fn instanceof AllowedGlobal)) return fail(`corrupt pickle (REDUCE on a ${typeName(fn)})`);
    if (!fn.call) return fail(`refusing to call pickle global ${fn.qualifiedName} (only a state dict's globals are allowed)`);
    return fn.call(args as unknown[]);
  };

  for (;;) {
    opAt = p;
    if (p >= bytes.length) fail('truncated pickle (no STOP opcode)');
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: u64(); break; // FRAME (protocol 4): framing only
      case 0x2e: return pop(); // STOP
      case 0x28: marks.push(stack); stack = []; break; // MARK
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x74: case 0x6c: { const items = popMark(); stack.push(items); break; } // TUPLE, LIST (popMark replaces `stack`)
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(), a = pop(); stack.push([a, b]); break; } // TUPLE2
      case 0x87: { const c = pop(), b = pop(), a = pop(); stack.push([a, b, c]); break; } // TUPLE3
      case 0x64: { const items = popMark(); const d = new Map(); for (let i = 0; i + 1 < items.length; i += 2) d.set(items[i], items[i + 1]); stack.push(d); break; } // DICT
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x4a: stack.push(i32()); break; // BININT
      case 0x8a: stack.push(readLong(take(u8()))); break; // LONG1
      case 0x8b: stack.push(readLong(take(u32()))); break; // LONG4
      case 0x47: { need(8); stack.push(view.getFloat64(p, false)); p += 8; break; } // BINFLOAT (big-endian)
      case 0x58: stack.push(text(u32())); break; // BINUNICODE
      case 0x8c: stack.push(text(u8())); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(text(u64())); break; // BINUNICODE8
      case 0x54: stack.push(text(u32())); break; // BINSTRING
      case 0x55: stack.push(text(u8())); break; // SHORT_BINSTRING
      case 0x42: stack.push(take(u32()).slice()); break; // BINBYTES
      case 0x43: stack.push(take(u8()).slice()); break; // SHORT_BINBYTES
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: case 0x6a: { // BINGET, LONG_BINGET
        const key = op === 0x68 ? u8() : u32();
        if (!memo.has(key)) fail(`corrupt pickle (memo entry ${key} read before it was written)`);
        stack.push(memo.get(key));
        break;
      }
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x63: { const module = line(); stack.push(resolve(module, line())); break; } // GLOBAL
      case 0x93: { const name = pop(), module = pop(); stack.push(resolve(String(module), String(name))); break; } // STACK_GLOBAL
      case 0x52: { const args = pop(); stack.push(call(pop(), args)); break; } // REDUCE
      case 0x81: { const args = pop(); stack.push(call(pop(), args)); break; } // NEWOBJ: the allowed classes build the same way
      case 0x51: stack.push(o.persistentLoad(pop())); break; // BINPERSID
      case 0x73: { const v = pop(), k = pop(); asMap(top(), 'SETITEM').set(k, v); break; } // SETITEM
      case 0x75: { const items = popMark(); const d = asMap(top(), 'SETITEMS'); for (let i = 0; i + 1 < items.length; i += 2) d.set(items[i], items[i + 1]); break; } // SETITEMS
      case 0x61: { const v = pop(); asList(top(), 'APPEND').push(v); break; } // APPEND
      case 0x65: { const items = popMark(); const list = asList(top(), 'APPENDS'); for (const v of items) list.push(v); break; } // APPENDS (no spread: a long list would overflow the call stack)
      // BUILD sets instance state: an OrderedDict's `_metadata` (module versions), which a state dict does not need.
      case 0x62: pop(); break;
      default: fail(`unknown pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${opAt}`);
    }
  }
}

/** A little-endian two's-complement integer (LONG1/LONG4), as a number when it is safe, else a bigint. */
function readLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

export function typeName(v: unknown): string {
  if (v === null) return 'None';
  if (v instanceof Map) return 'dict';
  if (Array.isArray(v)) return 'tuple';
  if (v instanceof AllowedGlobal) return `global ${v.qualifiedName}`;
  return typeof v;
}
