// Per-shape timings of the layers the native backend's special paths serve, for A/B comparisons in one build:
// run it twice, alternating, with and without CONVLAB_CONV_CL=0 CONVLAB_NT_BROADCAST=0 (the paths switched off).
// Best of repeated calls, batch 64, 2 threads. usage: node scripts/native-ab.mjs [conv|linear|pool ...]
// CONV='[[c, oc, size, k, pad], …]' and POOL='[[n, c, h, w], …]' replace the default shapes (AlexNet-CIFAR's).
const root = new URL('../dist', import.meta.url).pathname;
const E = await import(`${root}/src/engine/index.js`);
const { initEngine } = await import(`${root}/src/engine/engine.js`);
const nn = await import(`${root}/src/nn/index.js`);
await initEngine({ threads: Number(process.env.THREADS ?? 2) });
const B = 64;
const parts = process.argv.slice(2).length ? process.argv.slice(2) : ['conv', 'linear', 'pool'];
const off = process.env.CONVLAB_CONV_CL === '0' || process.env.CONVLAB_NT_BROADCAST === '0';

/** Best time in ms of f over about `ms` milliseconds, after two warm-up calls. */
function best(f, ms = 1500) {
  f(); f();
  let t = Infinity;
  const start = performance.now();
  while (performance.now() - start < ms) { const s = performance.now(); f(); t = Math.min(t, performance.now() - s); }
  return t;
}
const forward = (m, x) => () => E.noGrad(() => E.tidy(() => { m.forward(x); }));
const lines = [];

if (parts.includes('conv')) {
  const shapes = JSON.parse(process.env.CONV ?? '[[64,192,16,3,1],[192,384,8,3,1],[384,256,8,3,1],[256,256,8,3,1]]');
  for (const [c, oc, size, k, pad] of shapes) {
    const x = E.randNormal([B, c, size, size]).keep();
    const t = best(forward(new nn.Conv2d(c, oc, k, { padding: pad }), x));
    lines.push(`conv ${c}->${oc} at ${size}x${size}, ${k}x${k}: ${t.toFixed(2)} ms, ${(2 * B * oc * c * k * k * size * size / t / 1e6).toFixed(0)} GFLOP/s`);
    x.dispose();
  }
}
if (parts.includes('linear')) {
  const fc1 = new nn.Linear(4096, 4096), fc2 = new nn.Linear(4096, 4096);
  const x = E.randNormal([B, 4096]).keep();
  const t = best(() => E.noGrad(() => E.tidy(() => { fc2.forward(fc1.forward(x)); })), 2000);
  lines.push(`two 4096x4096 Linear layers: ${t.toFixed(2)} ms, ${(4 * B * 4096 * 4096 / t / 1e6).toFixed(0)} GFLOP/s`);
}
if (parts.includes('pool')) {
  for (const s of JSON.parse(process.env.POOL ?? '[[64,64,32,32],[64,192,16,16],[64,256,8,8],[64,64,28,28]]')) {
    const x = E.randNormal(s).keep();
    lines.push(`max pool 2x2 on ${s.join('x')}: ${best(forward(nn.MaxPool2d(2), x), 500).toFixed(3)} ms`);
    x.dispose();
  }
}
console.log(`${off ? 'paths off' : 'paths on '} | ${lines.join(' | ')}`);
process.exit(0);
