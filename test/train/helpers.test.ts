/** The byte-level comparison the resume tests rely on: it must find differences === cannot see, and always end. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { firstDifferentElement } from './helpers.js';

const nanWithPayload = (payload: number): number => {
  const f = new Float32Array(1);
  new Uint32Array(f.buffer)[0] = 0x7fc00000 | payload;
  return f[0]!;
};

test('firstDifferentElement: the first element whose bytes differ, or -1', () => {
  const quietNan = new Float32Array([1, nanWithPayload(0)]);
  const otherNan = new Float32Array(2);
  new Uint32Array(otherNan.buffer).set([new Uint32Array(new Float32Array([1]).buffer)[0]!, 0x7fc00001]);
  const cases: [string, Float32Array | Int32Array, Float32Array | Int32Array, number][] = [
    ['identical', new Float32Array([1, 2, 3]), new Float32Array([1, 2, 3]), -1],
    ['a plain difference', new Float32Array([1, 2, 3]), new Float32Array([1, 2, 4]), 2],
    ['+0 against -0 (=== calls them equal)', new Float32Array([5, 0, 7]), new Float32Array([5, -0, 7]), 1],
    ['NaNs with different payloads', quietNan, otherNan, 1],
    ['integers', new Int32Array([1, 2, 3, 4]), new Int32Array([1, 2, 3, 5]), 3],
    ['a shorter second array', new Float32Array([1, 2, 3]), new Float32Array([1, 2]), 2],
  ];
  for (const [name, a, b, expected] of cases) assert.equal(firstDifferentElement(a, b), expected, name);
});
