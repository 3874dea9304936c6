/**
 * A seeded mutation fuzzer for the file readers (not a test file itself; fuzz.test.ts runs it briefly in CI,
 * scripts/fuzz.mjs for longer). Each target parses bytes; mutations of valid seed files (bit flips, truncation,
 * byte insertion and deletion, corrupted length fields, spliced chunks) must end either in a parsed result or in
 * the project's own DataFormatError. Anything else — a TypeError, a RangeError, a plain Error — is a finding.
 */
import { gzipSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { DataFormatError, decodeImage, encodeIdx, maybeGunzip, mulberry32, parseCifarBatch, parseIdx, readTar, CIFAR_RECORD_BYTES } from '../../src/data/index.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/train/safetensors.js';

/** The data layer's seeded generator, so every failure is reproducible from its seed. */
export const rng = mulberry32;

const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];

/** One random mutation of `input` (a new array). */
export function mutate(input: Uint8Array, random: () => number): Uint8Array {
  const int = (n: number): number => Math.floor(random() * n);
  const buf = input.slice();
  switch (int(6)) {
    case 0: { // flip 1–8 bits
      for (let k = 1 + int(8); k > 0 && buf.length > 0; k--) buf[int(buf.length)]! ^= 1 << int(8);
      return buf;
    }
    case 1: // truncate
      return buf.subarray(0, int(buf.length + 1));
    case 2: { // insert 1–16 random bytes
      const at = int(buf.length + 1), extra = Uint8Array.from({ length: 1 + int(16) }, () => int(256));
      const out = new Uint8Array(buf.length + extra.length);
      out.set(buf.subarray(0, at)); out.set(extra, at); out.set(buf.subarray(at), at + extra.length);
      return out;
    }
    case 3: { // delete a run of bytes
      const at = int(buf.length + 1), n = 1 + int(16);
      const head = buf.subarray(0, at), tail = buf.subarray(Math.min(buf.length, at + n));
      const out = new Uint8Array(head.length + tail.length);
      out.set(head); out.set(tail, head.length);
      return out;
    }
    case 4: { // corrupt a length field: a 32-bit word in the first 64 bytes, either byte order
      if (buf.length < 4) return buf;
      const at = int(Math.min(buf.length - 3, 61));
      const v = random() < 0.6 ? INTERESTING[int(INTERESTING.length)]! : int(2 ** 32);
      new DataView(buf.buffer, buf.byteOffset, buf.byteLength).setUint32(at, v >>> 0, random() < 0.5);
      return buf;
    }
    default: { // splice: copy a chunk of the file over another place
      if (buf.length < 2) return buf;
      const from = int(buf.length), to = int(buf.length), n = 1 + int(Math.min(64, buf.length));
      buf.copyWithin(to, from, from + n);
      return buf;
    }
  }
}

function png(width: number, height: number, colour: boolean): Uint8Array {
  const img = new pngjs.PNG({ width, height });
  for (let i = 0; i < width * height; i++) {
    img.data[4 * i] = (i * 37) & 255;
    img.data[4 * i + 1] = colour ? (i * 11) & 255 : img.data[4 * i]!;
    img.data[4 * i + 2] = colour ? (i * 5) & 255 : img.data[4 * i]!;
    img.data[4 * i + 3] = 255;
  }
  return new Uint8Array(pngjs.PNG.sync.write(img));
}

function jpg(width: number, height: number): Uint8Array {
  const data = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) data.writeUInt32BE(((i * 2654435761) >>> 8) | 0xff, 4 * i);
  return new Uint8Array(jpeg.encode({ data, width, height }, 80).data);
}

/** A minimal ustar archive of `files` (what the CIFAR archive reader walks). */
function tar(files: [string, Uint8Array][]): Uint8Array {
  const blocks: Uint8Array[] = [];
  for (const [name, data] of files) {
    const h = new Uint8Array(512);
    const put = (s: string, at: number): void => { h.set(new TextEncoder().encode(s), at); };
    put(name, 0); put('0000644\0', 100); put('0000000\0', 108); put('0000000\0', 116);
    put(data.length.toString(8).padStart(11, '0') + '\0', 124); put('00000000000\0', 136);
    put('        ', 148); put('0', 156); put('ustar\0', 257); put('00', 263);
    const sum = h.reduce((a, b) => a + b, 0);
    put(sum.toString(8).padStart(6, '0') + '\0 ', 148);
    blocks.push(h, data, new Uint8Array((512 - (data.length % 512)) % 512));
  }
  blocks.push(new Uint8Array(1024));
  const out = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of blocks) { out.set(b, at); at += b.length; }
  return out;
}

export interface FuzzTarget {
  name: string;
  seeds: Uint8Array[];
  parse(bytes: Uint8Array): unknown;
}

export function targets(): FuzzTarget[] {
  const cifar = new Uint8Array(3 * CIFAR_RECORD_BYTES).map((_, i) => (i % CIFAR_RECORD_BYTES === 0 ? i % 10 : (i * 7) & 255));
  const tensors = new Map([
    ['model.w', { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }],
    ['optim.0.momentum', { shape: [6], data: new Float32Array(6) }],
    ['n', { shape: [2], data: Int32Array.from([7, 8]) }],
  ]);
  return [
    { name: 'IDX', seeds: [encodeIdx([3, 4, 4], new Uint8Array(48).fill(3)), encodeIdx([5], Uint8Array.from([0, 1, 2, 3, 4]))], parse: (b) => parseIdx(b, 'fuzz.idx') },
    { name: 'IDX.gz', seeds: [new Uint8Array(gzipSync(encodeIdx([2, 3, 3], new Uint8Array(18).fill(1))))], parse: (b) => parseIdx(maybeGunzip(b, 'fuzz.idx.gz'), 'fuzz.idx.gz') },
    { name: 'CIFAR', seeds: [cifar], parse: (b) => parseCifarBatch(b, 'fuzz.bin') },
    { name: 'tar', seeds: [tar([['cifar-10-batches-bin/test_batch.bin', cifar.subarray(0, 600)], ['cifar-10-batches-bin/batches.meta.txt', new TextEncoder().encode('a\nb\n')]])], parse: (b) => readTar(b, 'fuzz.tar') },
    { name: 'PNG', seeds: [png(7, 5, false), png(6, 6, true)], parse: (b) => decodeImage(b, 'fuzz.png') },
    { name: 'JPEG', seeds: [jpg(8, 8), jpg(17, 9)], parse: (b) => decodeImage(b, 'fuzz.jpg') },
    { name: 'safetensors', seeds: [encodeSafetensors(tensors, { convlab: '{"model":{}}' })], parse: (b) => decodeSafetensors(b, 'fuzz.safetensors') },
  ];
}

export interface Finding { target: string; iteration: number; seed: number; error: string; input: Uint8Array }

/**
 * `iterations` mutated inputs per target (each built by 1–4 stacked mutations of a seed file). Returns the
 * inputs that raised anything but a DataFormatError, and how many mutants were rejected cleanly.
 */
export function fuzz(seed: number, iterations: number, list: FuzzTarget[] = targets()): { findings: Finding[]; rejected: Record<string, number>; parsed: Record<string, number> } {
  const findings: Finding[] = [];
  const rejected: Record<string, number> = {}, parsed: Record<string, number> = {};
  for (const t of list) {
    const random = rng(seed ^ (t.name.length * 0x9e3779b9));
    rejected[t.name] = 0; parsed[t.name] = 0;
    for (let i = 0; i < iterations; i++) {
      let input = t.seeds[Math.floor(random() * t.seeds.length)]!;
      for (let k = 1 + Math.floor(random() * 4); k > 0; k--) input = mutate(input, random);
      try {
        t.parse(input);
        parsed[t.name]!++;
      } catch (err) {
        if (err instanceof DataFormatError && err.message.startsWith(err.file)) rejected[t.name]!++;
        else findings.push({ target: t.name, iteration: i, seed, error: err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err), input });
      }
    }
  }
  return { findings, rejected, parsed };
}
