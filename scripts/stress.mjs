// `npm run stress -- --minutes N`: the worker-pool stress run (test/engine/stress.ts) for N minutes (default 5):
// kernel calls of every kind on two threads against the reference, with late workers and heap growth. Ends with
// one line giving the number of calls and kernels covered; a mismatch or a trap ends it with one line and exit 1.
const args = process.argv.slice(2);
let minutes = 5;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--minutes') {
    const raw = args[++i];
    const value = Number(raw);
    if (raw === undefined || raw.trim() === '' || !Number.isFinite(value) || value <= 0) {
      console.error(`stress: --minutes expects a positive number, got ${raw === undefined ? 'nothing' : `'${raw}'`}`);
      process.exit(1);
    }
    minutes = value;
  } else {
    console.error(`stress: unknown argument '${args[i]}' (expected --minutes N)`);
    process.exit(1);
  }
}

const { runStress, KERNEL_NAMES } = await import('../dist/test/engine/stress.js');
const deadline = Date.now() + minutes * 60_000;
const seed = Date.now() % 100_000;
try {
  const r = await runStress({ deadline, seed, hooks: { stallPerMille: 200, growPerMille: 20 } });
  console.log(`stress: seed ${seed}: ${r.calls} kernel calls on ${r.heaps} heaps, ${r.kernels.size} of ${KERNEL_NAMES.length} kernels covered, all matching the reference`);
  process.exit(0);
} catch (e) {
  console.error(`stress: seed ${seed}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  process.exit(1);
}
