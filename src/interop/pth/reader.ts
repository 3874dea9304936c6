/**
 * Reads PyTorch's `.pth`/`.pt`/`.bin` files (torch.save's zip format, PyTorch ≥ 1.6) without Python: the zip's
 * `ARCHIVE/data.pkl` is unpickled by the restricted unpickler, whose persistent ids name storage records
 * (`ARCHIVE/data/KEY`); each storage is read once, straight from the file, and each tensor viewed or gathered from it.
 * A plain state dict or a checkpoint dict holding one under a documented key is accepted.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { DataFormatError, emptyFileError } from '../../data/index.js';
import type { StateEntry } from '../../nn/index.js';
import { AllowedGlobal, typeName, unpickle } from './pickle.js';
import { isTensorRef, materialise, STORAGE_CLASSES, type PthDtype, type StorageRef, type TensorRef } from './storage.js';
import { ZipReader } from './zip.js';

/**
 * Keys under which training scripts store the state dict in a checkpoint dict, in the order they are tried:
 * `state_dict` (PyTorch's ImageNet example, Lightning), `model_state_dict` (PyTorch's saving-and-loading tutorial),
 * `model` (torchvision's reference scripts, timm), `net`, then the EMA copies (`state_dict_ema`, `model_ema`).
 */
export const CHECKPOINT_KEYS = ['state_dict', 'model_state_dict', 'model', 'net', 'state_dict_ema', 'model_ema'] as const;

export interface PthStateDict {
  entries: Map<string, StateEntry>;
  /** Each tensor's dtype in the file (float16 and the like are read as float32, integers as int32). */
  dtypes: Map<string, PthDtype>;
  /** The checkpoint key the state dict was found under; undefined for a plain state dict. */
  checkpointKey?: string;
  /** True when a `module.` prefix (nn.DataParallel) was removed from every key. */
  strippedModulePrefix: boolean;
}

export type WeightsFileFormat = 'pth' | 'pth-legacy' | 'other';

/** The format by magic bytes: a zip (torch.save since 1.6), a bare pickle (legacy torch.save), or something else. */
export function sniffWeightsFormat(file: string): WeightsFileFormat {
  const head = new Uint8Array(4);
  const fd = openSync(file, 'r');
  let n: number;
  try { n = readSync(fd, head, 0, 4, 0); } finally { closeSync(fd); }
  if (n >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'pth';
  if (n >= 2 && head[0] === 0x80 && head[1]! <= 5) return 'pth-legacy';
  return 'other';
}

export const legacyMessage = (file: string): string =>
  `${file}: a legacy PyTorch file (saved before 1.6, not a zip); re-save it with torch.save(obj, f) in PyTorch ≥ 1.6 (_use_new_zipfile_serialization=True)`;

export function readPth(file: string): PthStateDict {
  const stat = statSync(file);
  if (stat.size === 0) throw emptyFileError(file, 'a PyTorch .pth file');
  const format = sniffWeightsFormat(file);
  if (format === 'pth-legacy') throw new DataFormatError(file, legacyMessage(file));
  if (format !== 'pth') throw new DataFormatError(file, `${file}: not a PyTorch zip file (no zip signature)`);
  const zip = new ZipReader(file);
  try {
    return readFromZip(zip, file);
  } finally {
    zip.close();
  }
}

function readFromZip(zip: ZipReader, file: string): PthStateDict {
  const fail = (problem: string): never => { throw new DataFormatError(file, `${file}: ${problem}`); };
  const pkl = [...zip.entries.values()].find((e) => e.name === 'data.pkl' || e.name.endsWith('/data.pkl'))
    ?? fail('no data.pkl in the zip (not a torch.save file)');
  const prefix = pkl.name.slice(0, -'data.pkl'.length);
  const byteorder = zip.entries.get(`${prefix}byteorder`);
  if (byteorder && new TextDecoder().decode(zip.read(byteorder)).trim() !== 'little') fail('big-endian storages are not supported');

  const top = unpickle(zip.read(pkl), { file, resolveGlobal: (m, n) => resolveGlobal(m, n, fail), persistentLoad: (pid) => storageRef(pid, fail) });
  const { state, key } = findStateDict(top, fail);
  let names = [...state.keys()];
  const strippedModulePrefix = names.length > 0 && names.every((n) => n.startsWith('module.'));
  if (strippedModulePrefix) names = names.map((n) => n.slice('module.'.length));

  // Each storage once, into a buffer of its own; tensors sharing a storage view or gather from the same bytes.
  const storages = new Map<string, Uint8Array>();
  const entries = new Map<string, StateEntry>(), dtypes = new Map<string, PthDtype>();
  [...state.values()].forEach((t, i) => {
    const name = names[i]!;
    let bytes = storages.get(t.storage.key);
    if (!bytes) {
      const record = `${prefix}data/${t.storage.key}`;
      const entry = zip.entries.get(record) ?? fail(`missing storage record ${record} (tensor ${name})`);
      const needed = t.storage.numel * t.storage.itemSize;
      if (entry.size < needed) fail(`storage record ${record} holds ${entry.size} bytes, its ${t.storage.className} of ${t.storage.numel} elements needs ${needed}`);
      bytes = zip.read(entry, new Uint8Array(entry.size));
      storages.set(t.storage.key, bytes);
    }
    entries.set(name, { data: materialise(t, bytes, file, name), shape: t.shape });
    dtypes.set(name, t.storage.dtype);
  });
  return { entries, dtypes, checkpointKey: key, strippedModulePrefix };
}

const isInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isIntList = (v: unknown): v is number[] => Array.isArray(v) && v.every(isInt);

function rebuildTensor(fail: (p: string) => never) {
  return (args: unknown[]): TensorRef => {
    const [storage, offset, size, stride] = args;
    if (typeof storage !== 'object' || storage === null || !('numel' in storage)) fail(`corrupt pickle (a tensor's storage is a ${typeName(storage)})`);
    if (!isInt(offset) || !isIntList(size) || !isIntList(stride) || size.length !== stride.length) fail('corrupt pickle (a tensor has a bad offset, size or stride)');
    return { storage: storage as StorageRef, offset: offset as number, shape: [...(size as number[])], stride: [...(stride as number[])] };
  };
}

/** The only globals a state dict needs; a storage class torch does not have is named as such. */
function resolveGlobal(module: string, name: string, fail: (p: string) => never): AllowedGlobal | undefined {
  const qualified = `${module}.${name}`;
  switch (qualified) {
    case 'collections.OrderedDict':
      return new AllowedGlobal(module, name, (args) => new Map(Array.isArray(args[0]) ? args[0].map((kv) => (Array.isArray(kv) ? [kv[0], kv[1]] : fail('corrupt pickle (OrderedDict item is not a pair)'))) : []));
    case 'torch._utils._rebuild_tensor_v2':
    case 'torch._utils._rebuild_tensor':
      return new AllowedGlobal(module, name, rebuildTensor(fail));
    case 'torch._utils._rebuild_parameter':
    case 'torch._utils._rebuild_parameter_with_state':
      return new AllowedGlobal(module, name, (args) => (isTensorRef(args[0]) ? args[0] : fail(`corrupt pickle (${name} of a ${typeName(args[0])})`)));
  }
  if (module === 'torch' && name.endsWith('Storage')) {
    if (!STORAGE_CLASSES.has(name)) fail(`unknown storage class torch.${name} (dtype not supported; expected one of ${[...STORAGE_CLASSES.keys()].join(', ')})`);
    return new AllowedGlobal(module, name);
  }
  return undefined;
}

/** A persistent id `('storage', storage class, key, location, numel)` → a reference read later. */
function storageRef(pid: unknown, fail: (p: string) => never): StorageRef {
  if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) return fail(`corrupt pickle (persistent id ${typeName(pid)} is not a storage record)`);
  const [, cls, key, , numel] = pid as unknown[];
  if (!(cls instanceof AllowedGlobal) || typeof key !== 'string' || !isInt(numel)) return fail('corrupt pickle (bad storage record in a persistent id)');
  const info = STORAGE_CLASSES.get(cls.name) ?? fail(`unknown storage class ${cls.qualifiedName}`);
  return { key, className: cls.name, dtype: info.dtype, itemSize: info.itemSize, numel: numel as number };
}

const isStateDict = (v: unknown): v is Map<string, TensorRef> =>
  v instanceof Map && v.size > 0 && [...v].every(([k, t]) => typeof k === 'string' && isTensorRef(t));

function findStateDict(top: unknown, fail: (p: string) => never): { state: Map<string, TensorRef>; key?: string } {
  if (isStateDict(top)) return { state: top };
  if (!(top instanceof Map)) return fail(`holds a ${typeName(top)}, not a state dict`);
  for (const key of CHECKPOINT_KEYS) {
    const v = top.get(key);
    if (isStateDict(v)) return { state: v, key };
  }
  const keys = [...top.keys()].map(String);
  return fail(`no state dict found (a dict with keys ${keys.slice(0, 8).join(', ')}${keys.length > 8 ? ', …' : ''}; a checkpoint's state dict is looked for under ${CHECKPOINT_KEYS.join(', ')})`);
}
