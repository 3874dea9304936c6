/**
 * airbench94's network: its parameter count (1,972,792, the script's), the script's state-dict names, which
 * parameters are frozen, the Dirac init, and the whitening init: on a small synthetic image set the whitened
 * patches (the first half of the filters) have covariance ≈ identity.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.js';
import { Airbench94, createModel, patchCovariance, whiteningWeights } from '../../src/models/index.js';

const withReference = <T>(fn: () => T): T => E.withBackend(new E.ReferenceBackend(new E.Heap({ shared: false })), fn);

test('airbench94: 1,972,792 parameters, 10 classes from 3×32×32, names as the script', { timeout: 30_000 }, () => {
  withReference(() => {
    const m = createModel('airbench94');
    try {
      assert.equal(m.parameterCount(), 1_972_792);
      const names = [...m.namedParameters()].map(([n]) => n);
      assert.deepEqual(names.slice(0, 6), ['0.weight', '0.bias', '2.conv1.weight', '2.norm1.weight', '2.norm1.bias', '2.conv2.weight']);
      assert.equal(names.at(-1), '7.weight');
      const y = E.noGrad(() => E.tidy(() => m.eval().forward(E.zeros([2, 3, 32, 32])).shape));
      assert.deepEqual(y, [2, 10]);
    } finally {
      m.dispose();
    }
  });
});

test('airbench94: whitening weights and BN scales frozen, BN biases and conv weights trained; convs start as identity', { timeout: 30_000 }, () => {
  withReference(() => {
    const m = new Airbench94({ widths: [4, 8, 8] });
    try {
      const frozen = [...m.namedParameters()].filter(([, p]) => !p.requiresGrad).map(([n]) => n);
      assert.deepEqual(frozen, ['0.weight', '2.norm1.weight', '2.norm2.weight', '3.norm1.weight', '3.norm2.weight', '4.norm1.weight', '4.norm2.weight']);
      // conv1 of group 1 maps 24 → 4 channels: its 4 filters are all Dirac (output o copies input o).
      const w = [...m.namedState()].find(([n]) => n === '2.conv1.weight')![1].toFloat32();
      for (let o = 0; o < 4; o++) {
        for (let i = 0; i < 24; i++) for (let k = 0; k < 9; k++) assert.equal(w[(o * 24 + i) * 9 + k], o === i && k === 4 ? 1 : 0, `w[${o}][${i}][${k}]`);
      }
    } finally {
      m.dispose();
    }
  });
});

test('whiteningWeights: the whitened patches of correlated images have covariance ≈ identity', { timeout: 30_000 }, () => {
  // Smooth random images: neighbouring pixels and channels are strongly correlated, so whitening has work to do.
  const n = 20, c = 3, h = 8, w = 8;
  let s = 3;
  const rand = (): number => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return s / 2 ** 32 - 0.5; };
  const images = new Float32Array(n * c * h * w);
  for (let i = 0; i < n; i++) {
    const base = Array.from({ length: h * w }, rand);
    for (let ch = 0; ch < c; ch++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const smooth = base[y * w + x]! + (x > 0 ? base[y * w + x - 1]! : 0) + (y > 0 ? base[(y - 1) * w + x]! : 0);
          images[((i * c + ch) * h + y) * w + x] = smooth * (1 + ch) + 0.3 * rand();
        }
      }
    }
  }
  const eps = 1e-9;
  const filters = whiteningWeights(images, n, c, h, w, eps);
  const cov = patchCovariance(images, n, c, h, w);
  const d = 12;
  let worst = 0;
  // Covariance of the whitened patches: F Σ Fᵀ over the first 12 filters (the other 12 are their negatives).
  for (let a = 0; a < d; a++) {
    for (let b = 0; b < d; b++) {
      let v = 0;
      for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) v += filters[a * d + i]! * cov[i * d + j]! * filters[b * d + j]!;
      worst = Math.max(worst, Math.abs(v - (a === b ? 1 : 0)));
      if (a < d) assert.equal(filters[(a + d) * d + b], -filters[a * d + b]!, 'second half negates the first');
    }
  }
  assert.ok(worst < 1e-4, `largest deviation from the identity: ${worst}`);
  // And the raw patches are far from white, so the check above is not vacuous.
  assert.ok(Math.abs(cov[0]! - 1) > 0.1 || Math.abs(cov[1]!) > 0.1, 'raw covariance is not already the identity');
});
