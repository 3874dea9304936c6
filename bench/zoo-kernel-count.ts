/**
 * Each zoo kernel of kernels-zoo.ts run once (depthwise 3×3 at a MobileNetV2-CIFAR layer, attention's GEMMs and
 * softmax, batch norm), for instruction counting under callgrind, never for timing:
 *   CONVLAB_THREADS=1 valgrind --tool=callgrind node dist/bench/zoo-kernel-count.js [kernel set]
 */
import { Heap } from '../src/engine/heap.js';
import { NativeBackend } from '../src/engine/backends/native.js';
import type { NativeIsa } from '../src/engine/backends/native-addon.js';
import { benchZooKernels } from './kernels-zoo.js';

const heap = new Heap();
const isa = process.argv[2] as NativeIsa | undefined;
const be = await NativeBackend.create(heap, { threads: 1, ...(isa ? { isa } : {}) });
let seed = 1;
function alloc(n: number, scale = 1): number {
  const p = heap.alloc(Math.max(1, n) * 4) / 4;
  for (let i = 0; i < n; i++) { seed = (seed * 1103515245 + 12345) >>> 0; heap.f[p + i] = (seed / 2 ** 32 - 0.5) * 2 * scale; }
  return p;
}
const rows = benchZooKernels(be, heap, { bestMs: (fn) => { fn(); return 1; }, alloc, free: (ptr) => heap.free(ptr * 4) });
process.stdout.write(`ran ${rows.map((r) => `${r.kernel}/${r.pass}`).join(', ')} once on native ${be.isa}\n`);
be.dispose();
