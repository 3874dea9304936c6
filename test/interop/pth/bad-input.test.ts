/**
 * Damaged and hostile .pth files: each is one line naming the file and the problem (table-driven, exact messages).
 * The files are built from the torch-written fixtures (cut short) or by hand, opcode by opcode.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPth } from '../../../src/interop/pth/index.js';
import { tempDir } from '../../train/helpers.js';
import { floats, op, pthFixture, statePickle, str, writeZip } from './helpers.js';

const TIMEOUT = { timeout: 20_000 };
const DIR = tempDir('convlab-pth-bad-');
const VERSION: [string, Uint8Array] = ['archive/version', op('3\n')];
const w = (numel: number, shape: number[], more: Partial<{ storageClass: string; offset: number; stride: number[] }> = {}) => ({ name: 'w', numel, shape, ...more });

/** Where the central directory ends: its offset plus its size, from the end record (the last 22 bytes, no comment). */
const centralDirectoryEnd = (zip: Buffer): number => zip.readUInt32LE(zip.length - 6) + zip.readUInt32LE(zip.length - 10);

interface Case { name: string; make: (file: string) => void; problem: string }

const CASES: Case[] = [
  {
    name: 'a zip cut short (no central directory)',
    make: (f) => writeFileSync(f, readFileSync(pthFixture('dtypes.pth')).subarray(0, 1500)),
    problem: 'truncated zip (no end of central directory record)',
  },
  {
    name: 'a zip whose central directory points past the end',
    make: (f) => { const b = readFileSync(pthFixture('views.pth')); const cut = Buffer.concat([b.subarray(0, 200), b.subarray(b.length - 200)]); writeFileSync(f, cut); },
    problem: `truncated zip (needs bytes up to ${centralDirectoryEnd(readFileSync(pthFixture('views.pth')))}, the file has 400)`,
  },
  {
    name: 'a central directory entry larger than the file',
    make: (f) => { const b = Buffer.from(readFileSync(pthFixture('views.pth'))); const cd = b.readUInt32LE(b.length - 6); b.writeUInt32LE(0x7fffffff, cd + 20); b.writeUInt32LE(0x7fffffff, cd + 24); writeFileSync(f, b); },
    problem: `truncated zip (entry views/data.pkl needs bytes up to ${30 + 0x7fffffff}, the file has ${readFileSync(pthFixture('views.pth')).length})`,
  },
  {
    name: 'no data.pkl',
    make: (f) => writeZip(f, [VERSION]),
    problem: 'no data.pkl in the zip (not a torch.save file)',
  },
  {
    name: 'a missing storage record',
    make: (f) => writeZip(f, [['archive/data.pkl', statePickle([w(2, [2])])], VERSION]),
    problem: 'missing storage record archive/data/0 (tensor w)',
  },
  {
    name: 'a storage record shorter than its storage',
    make: (f) => writeZip(f, [['archive/data.pkl', statePickle([w(6, [6])])], ['archive/data/0', floats(1, 2)], VERSION]),
    problem: 'storage record archive/data/0 holds 8 bytes, its FloatStorage of 6 elements needs 24',
  },
  {
    name: 'a tensor reaching past its storage',
    make: (f) => writeZip(f, [['archive/data.pkl', statePickle([w(2, [2], { offset: 1 })])], ['archive/data/0', floats(1, 2)], VERSION]),
    problem: 'tensor w: storage 0 is too short (2 float32 elements, the tensor reaches element 2)',
  },
  {
    name: 'a broadcast (stride 0) tensor of more elements than an array holds',
    make: (f) => writeZip(f, [['archive/data.pkl', statePickle([w(1, [65535, 65535, 2], { stride: [0, 0, 0] })])], ['archive/data/0', floats(1)], VERSION]),
    problem: 'tensor w: 8589672450 elements, more than a typed array holds (2147483647)',
  },
  {
    name: 'an unknown storage class (dtype)',
    make: (f) => writeZip(f, [['archive/data.pkl', statePickle([w(1, [1], { storageClass: 'ComplexFloatStorage' })])], ['archive/data/0', floats(1, 2)], VERSION]),
    problem: 'unknown storage class torch.ComplexFloatStorage (dtype not supported; expected one of FloatStorage, HalfStorage, BFloat16Storage, DoubleStorage, LongStorage, IntStorage, ShortStorage, CharStorage, ByteStorage, BoolStorage)',
  },
  {
    name: 'an unknown pickle opcode',
    make: (f) => writeZip(f, [['archive/data.pkl', op('\x80\x02}\xff.')], VERSION]),
    problem: 'unknown pickle opcode 0xff at byte 3',
  },
  {
    name: 'a pickle cut short',
    // Bytes 30–35 are BINUNICODE 'w'; the cut falls inside its length.
    make: (f) => writeZip(f, [['archive/data.pkl', statePickle([w(2, [2])]).subarray(0, 33)], VERSION]),
    problem: 'truncated pickle (opcode at byte 30 runs past the end)',
  },
  {
    name: 'a pickle without STOP',
    make: (f) => writeZip(f, [['archive/data.pkl', op('\x80\x02}')], VERSION]),
    problem: 'truncated pickle (no STOP opcode)',
  },
  {
    name: 'a whole pickled nn.Module (torch.save(model))',
    make: (f) => writeZip(f, [['archive/data.pkl', op('\x80\x02ctorch.nn.modules.conv\nConv2d\n)\x81.')], VERSION]),
    problem: "refusing pickle global torch.nn.modules.conv.Conv2d (only a state dict's globals are allowed)",
  },
  {
    name: 'builtins.eval through STACK_GLOBAL (protocol 4)',
    make: (f) => writeZip(f, [['archive/data.pkl', Buffer.concat([op('\x80\x04'), str('builtins'), str('eval'), op('\x93'), op('('), str('1'), op('tR.')])], VERSION]),
    problem: "refusing pickle global builtins.eval (only a state dict's globals are allowed)",
  },
  {
    name: 'a dict without a state dict',
    make: (f) => writeZip(f, [['archive/data.pkl', op('\x80\x02}(X\x05\x00\x00\x00epochK\x03u.')], VERSION]),
    problem: 'no state dict found (a dict with keys epoch; a checkpoint\'s state dict is looked for under state_dict, model_state_dict, model, net, state_dict_ema, model_ema)',
  },
  {
    name: 'an int64 value beyond 32 bits',
    make: (f) => writeZip(f, [['archive/data.pkl', statePickle([w(1, [1], { storageClass: 'LongStorage' })])], ['archive/data/0', new Uint8Array(BigInt64Array.of(1n << 40n).buffer)], VERSION]),
    problem: 'tensor w: int64 value 1099511627776 at index 0 does not fit in 32 bits',
  },
  {
    name: 'not a zip at all',
    make: (f) => writeFileSync(f, 'hello, world'),
    problem: 'not a PyTorch zip file (no zip signature)',
  },
  {
    name: 'an empty file',
    make: (f) => writeFileSync(f, ''),
    problem: 'file is empty (0 bytes), expected a PyTorch .pth file',
  },
];

CASES.forEach((c, i) => {
  test(`bad .pth: ${c.name} is one line naming the file`, TIMEOUT, () => {
    const file = join(DIR, `case${i}.pth`);
    c.make(file);
    assert.throws(() => readPth(file), { message: `${file}: ${c.problem}` });
  });
});
