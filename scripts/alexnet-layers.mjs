// Per-layer AlexNet-CIFAR inference on the native backend: best-of time of each conv forward beside a plain GEMM of the same
// shape, and of a Linear layer slice. usage: N=64 node scripts/alexnet-layers.mjs [DIST] [THREADS]
const root = process.argv[2] || new URL('../dist', import.meta.url).pathname, threads = Number(process.argv[3] ?? 1);
const { Heap } = await import(`${root}/src/engine/heap.js`);
const { NativeBackend } = await import(`${root}/src/engine/backends/native.js`);
const heap = new Heap();
const be = await NativeBackend.create(heap, { threads });
const alloc = (n, s = 1) => { const p = heap.alloc(n * 4) / 4; const f = heap.f; for (let i = 0; i < n; i++) f[p + i] = (Math.random() - 0.5) * s; return p; };
const best = (fn, ms = 1500) => { fn(); fn(); let b = Infinity; const t = performance.now(); let r = 0; while (r < 5 || performance.now() - t < ms) { const t0 = performance.now(); fn(); b = Math.min(b, performance.now() - t0); r++; } return b; };
const N = Number(process.env.N ?? 4);
const conv = (name, c, h, oc) => ({ name, p: { n: N, c, h, w: h, oc, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1, groups: 1, oh: h, ow: h } });
const convs = [conv('conv1', 3, 32, 64), conv('conv2', 64, 16, 192), conv('conv3', 192, 8, 384), conv('conv4', 384, 8, 256), conv('conv5', 256, 8, 256)];
let total = 0, flopsTotal = 0;
for (const { name, p } of convs) {
  const x = alloc(p.n * p.c * p.h * p.w), w = alloc(p.oc * p.c * 9, 0.05), b = alloc(p.oc), y = alloc(p.n * p.oc * p.oh * p.ow);
  const ms = best(() => be.conv2d(p, x, w, b, y));
  const fl = 2 * p.n * p.oc * p.oh * p.ow * p.c * 9;
  total += ms; flopsTotal += fl;
  const k = p.c * 9, n = p.n * p.oh * p.ow, A = alloc(p.oc * k, 0.05), B = alloc(k * n), C = alloc(p.oc * n);
  const gms = best(() => be.gemm({ transA: false, transB: false, m: p.oc, n, k, a: A, lda: k, b: B, ldb: n, c: C, ldc: n, accumulate: false, batch: 1, strideA: 0, strideB: 0, strideC: 0 }));
  console.log(`${name} ${ms.toFixed(2)} ms ${(fl / ms / 1e6).toFixed(1)} GF/s; same-shape GEMM ${gms.toFixed(2)} ms ${(fl / gms / 1e6).toFixed(1)} GF/s`);
}
for (const [name, inF, outF] of [["fc1", 4096, 512], ['fc3', 4096, 10]]) {
  const M = 64; const x = alloc(M * inF), w = alloc(outF * inF, 0.02), y = alloc(M * outF);
  const p = { transA: false, transB: true, m: M, n: outF, k: inF, a: x, lda: inF, b: w, ldb: inF, c: y, ldc: outF, accumulate: false, batch: 1, strideA: 0, strideB: 0, strideC: 0 };
  const ms = best(() => be.gemm(p));
  const fl = 2 * M * inF * outF; total += ms; flopsTotal += fl;
  console.log(`${name} ${ms.toFixed(2)} ms ${(fl / ms / 1e6).toFixed(1)} GF/s`);
}
console.log(`total ${total.toFixed(2)} ms, ${(flopsTotal / total / 1e6).toFixed(1)} GF/s, ${(N / total * 1000).toFixed(0)} img/s`);
be.dispose?.();
process.exit(0);
