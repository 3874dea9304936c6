/**
 * MultiheadAttention: torch's parameter names and initialisation, a forward against a per-head loop written
 * out by hand, the input gradient (gradcheck), and its error for a wrong input shape. Parity with torch's
 * nn.MultiheadAttention runs inside the ViT fixture (test/models/vit.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.js';
import { MultiheadAttention } from '../../src/nn/index.js';
import { gradcheck } from '../engine/gradcheck.js';

const TIMEOUT = { timeout: 30_000 };

function fresh(fn: () => void): () => void {
  return () => E.withBackend(new E.ReferenceBackend(new E.Heap({ shared: false })), () => { E.tidy(fn); });
}

test('state-dict names and shapes are torch\'s; in_proj is xavier-uniform, biases zero', TIMEOUT, fresh(() => {
  const mha = new MultiheadAttention(16, 4);
  assert.deepEqual([...mha.namedState()].map(([k, t]) => [k, [...t.shape]]),
    [['in_proj_weight', [48, 16]], ['in_proj_bias', [48]], ['out_proj.weight', [16, 16]], ['out_proj.bias', [16]]]);
  const bound = Math.sqrt(6 / (16 + 48));
  const w = [...mha.inProjWeight.toArray()];
  assert.ok(w.every((v) => Math.abs(v) <= bound) && Math.max(...w.map(Math.abs)) > 0.9 * bound, 'U(±√(6/(fan_in+fan_out)))');
  assert.ok([...mha.inProjBias.toArray(), ...mha.outProj.bias!.toArray()].every((v) => v === 0));
}));

test('forward equals softmax(q·kᵀ/√d)·v per head, heads concatenated, then out_proj', TIMEOUT, fresh(() => {
  const [b, t, e, h] = [2, 3, 4, 2], d = e / h;
  const mha = new MultiheadAttention(e, h, { rng: new E.Rng(4) });
  E.init.uniform_(mha.inProjBias, -0.5, 0.5, new E.Rng(5));
  const x = E.randNormal([b, t, e], 0, 1, { rng: new E.Rng(6) });
  const got = mha.forward(x).toArray();
  const X = x.toArray(), W = mha.inProjWeight.toArray(), B = mha.inProjBias.toArray();
  const Wo = mha.outProj.weight.toArray(), Bo = mha.outProj.bias!.toArray();
  const proj = (n: number, i: number, row: number): number => { // row of the packed projection for token i of sample n
    let s = B[row]!;
    for (let c = 0; c < e; c++) s += W[row * e + c]! * X[(n * t + i) * e + c]!;
    return s;
  };
  for (let n = 0; n < b; n++) {
    const concat: number[][] = Array.from({ length: t }, () => new Array<number>(e).fill(0));
    for (let hd = 0; hd < h; hd++) {
      for (let i = 0; i < t; i++) {
        const scores = Array.from({ length: t }, (_, j) => {
          let s = 0;
          for (let k = 0; k < d; k++) s += proj(n, i, hd * d + k) * proj(n, j, e + hd * d + k);
          return s / Math.sqrt(d);
        });
        const m = Math.max(...scores), ex = scores.map((s) => Math.exp(s - m)), z = ex.reduce((a, c) => a + c, 0);
        for (let k = 0; k < d; k++) concat[i]![hd * d + k] = ex.reduce((a, w, j) => a + (w / z) * proj(n, j, 2 * e + hd * d + k), 0);
      }
    }
    for (let i = 0; i < t; i++) {
      for (let o = 0; o < e; o++) {
        let want = Bo[o]!;
        for (let c = 0; c < e; c++) want += Wo[o * e + c]! * concat[i]![c]!;
        const at = (n * t + i) * e + o;
        assert.ok(Math.abs(got[at]! - want) < 1e-5, `sample ${n} token ${i} feature ${o}: ${got[at]} vs ${want}`);
      }
    }
  }
}));

test('the input gradient passes gradcheck (float64)', TIMEOUT, () => {
  let mha: MultiheadAttention | null = null;
  const { maxError, worst } = gradcheck({
    name: 'mha', shapes: [[2, 3, 4]],
    fn: (x) => (mha ??= new MultiheadAttention(4, 2, { rng: new E.Rng(9) })).forward(x),
  });
  assert.ok(maxError < 1e-6, worst);
});

test('a wrong input shape or head count is refused with the shapes', TIMEOUT, fresh(() => {
  assert.throws(() => new MultiheadAttention(10, 3), { message: 'MultiheadAttention: embedding size 10 is not divisible by 3 heads' });
  assert.throws(() => new MultiheadAttention(8, 2).forward(E.zeros([2, 8])), { message: 'MultiheadAttention: expected input [batch, tokens, 8], got [2, 8]' });
}));
