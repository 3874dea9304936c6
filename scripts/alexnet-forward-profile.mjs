// AlexNet-CIFAR inference: per-kernel best-of times over repeated forwards. usage: node scripts/alexnet-forward-profile.mjs [DIST] [THREADS] [BATCH]
const root = process.argv[2] || new URL('../dist', import.meta.url).pathname, threads = Number(process.argv[3] ?? 1), B = Number(process.argv[4] ?? 64);
const E = await import(`${root}/src/engine/index.js`);
const { initEngine } = await import(`${root}/src/engine/engine.js`);
const { createModel } = await import(`${root}/src/models/index.js`);
await initEngine({ threads });
E.manualSeed(0);
const model = createModel('alexnet-cifar', { numClasses: 10, inChannels: 3, imageSize: 32 });
model.eval();
const x = E.randNormal([B, 3, 32, 32]).keep();
const fwd = () => E.noGrad(() => E.tidy(() => { model.forward(x); }));
fwd(); fwd();
const best = new Map(); let bestTotal = Infinity;
const t0 = performance.now();
while (performance.now() - t0 < Number(process.env.MS ?? 8000)) {
  const prof = new Map(); E.getBackend().profile = prof;
  const s = performance.now(); fwd(); bestTotal = Math.min(bestTotal, performance.now() - s);
  for (const [k, v] of prof) best.set(k, Math.min(best.get(k) ?? Infinity, v.ms));
}
E.getBackend().profile = undefined;
let sum = 0; for (const v of best.values()) sum += v;
console.log(`best forward ${bestTotal.toFixed(1)} ms (${(B / bestTotal * 1000).toFixed(0)} img/s); per-kernel best sum ${sum.toFixed(1)} ms`);
for (const [k, v] of [...best].sort((a, b) => b[1] - a[1])) console.log(`  ${k.padEnd(24)} ${v.toFixed(2)} ms ${(100 * v / sum).toFixed(1)} %`);
process.exit(0);
