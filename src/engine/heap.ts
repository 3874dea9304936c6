/**
 * One linear memory holds every tensor's data: a WebAssembly.Memory, shared between worker threads when the
 * platform allows it. Tensors refer to it by byte address, so WASM kernels and TypeScript kernels see the same
 * bytes. Allocation is explicit and deterministic: training steps allocate the same sizes again and again, so
 * freed blocks are kept in exact-size free lists and handed back first.
 */
export type FloatArray = Float32Array | Float64Array;

const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB, wasm32's limit
const ALIGN = 64; // one cache line; also keeps every SIMD load 16-byte aligned

export interface HeapOptions {
  /** 4 for float32 (the engine), 8 for the float64 reference heap used by gradient checks. */
  floatBytes?: 4 | 8;
  shared?: boolean;
  /** Bytes reserved at the bottom for the kernels' own static data and scratch. */
  reservedBytes?: number;
  initialBytes?: number;
  /**
   * Most bytes the memory may grow to (default and upper bound 4 GiB). A shared memory reserves its maximum up
   * front, and some browsers (mobile Safari) refuse a large one.
   */
  maximumBytes?: number;
}

/** The tensor heap cannot grow further (WebAssembly's 32-bit memory stops at 4 GiB): a smaller batch may fit. */
export class HeapExhausted extends Error {
  override name = 'HeapExhausted';
}

export class Heap {
  readonly memory: WebAssembly.Memory;
  readonly floatBytes: 4 | 8;
  readonly shared: boolean;
  readonly maximumBytes: number;
  private top: number;
  private readonly freeBySize = new Map<number, number[]>();
  private readonly sizeOf = new Map<number, number>();
  private viewBuffer: ArrayBuffer | SharedArrayBuffer | null = null;
  private fView!: FloatArray;
  private iView!: Int32Array;
  private uView!: Uint8Array;
  liveBytes = 0;
  peakBytes = 0;

  constructor(opts: HeapOptions = {}) {
    this.floatBytes = opts.floatBytes ?? 4;
    const wantShared = opts.shared ?? true;
    const maximumPages = Math.min(MAX_PAGES, Math.ceil((opts.maximumBytes ?? MAX_PAGES * PAGE) / PAGE));
    const initialPages = Math.min(maximumPages, Math.ceil((opts.initialBytes ?? 16 * 2 ** 20) / PAGE));
    if (!(maximumPages >= 1)) throw new Error(`heap: maximumBytes must be at least 64 KiB, got ${opts.maximumBytes}`);
    this.maximumBytes = maximumPages * PAGE;
    let memory: WebAssembly.Memory | null = null;
    if (wantShared && typeof SharedArrayBuffer !== 'undefined') {
      try {
        memory = new WebAssembly.Memory({ initial: initialPages, maximum: maximumPages, shared: true });
      } catch {
        memory = null; // shared memory unavailable (e.g. a page without cross-origin isolation)
      }
    }
    this.shared = memory !== null;
    this.memory = memory ?? new WebAssembly.Memory({ initial: initialPages, maximum: maximumPages });
    this.top = alignUp(opts.reservedBytes ?? 1 << 20);
  }

  /** Number of live allocations: the figure the leak tests and the benchmark track. */
  get liveBuffers(): number {
    return this.sizeOf.size;
  }

  alloc(bytes: number): number {
    const size = alignUp(Math.max(bytes, ALIGN));
    const list = this.freeBySize.get(size);
    let ptr = list && list.length > 0 ? list.pop()! : -1;
    if (ptr < 0) ptr = this.bump(size);
    this.sizeOf.set(ptr, size);
    this.liveBytes += size;
    if (this.liveBytes > this.peakBytes) this.peakBytes = this.liveBytes;
    return ptr;
  }

  free(ptr: number): void {
    const size = this.sizeOf.get(ptr);
    if (size === undefined) throw new Error(`heap: free of unknown address ${ptr}`);
    this.sizeOf.delete(ptr);
    this.liveBytes -= size;
    let list = this.freeBySize.get(size);
    if (!list) this.freeBySize.set(size, (list = []));
    list.push(ptr);
  }

  /** A new block at the top of the heap; when the heap cannot grow, free blocks are merged and reused first. */
  private bump(size: number): number {
    if (this.top + size > this.memory.buffer.byteLength) {
      try {
        this.grow(this.top + size);
      } catch (err) {
        if (!(err instanceof HeapExhausted)) throw err;
        const reused = this.defragment(size);
        if (reused < 0) throw err;
        return reused;
      }
    }
    const ptr = this.top;
    this.top += size;
    return ptr;
  }

  /**
   * Free blocks are kept by exact size, so a workload whose sizes change (a smaller batch after a failed large one,
   * a DenseNet's many widths) can fill the heap with blocks it never reuses. Merges adjacent free blocks, gives
   * those at the top back, and returns a block of `size` (best fit, split) or -1 when none is left.
   */
  private defragment(size: number): number {
    const blocks: [number, number][] = [];
    for (const [blockSize, list] of this.freeBySize) for (const ptr of list) blocks.push([ptr, blockSize]);
    blocks.sort((a, b) => a[0] - b[0]);
    const merged: [number, number][] = [];
    for (const block of blocks) {
      const last = merged.at(-1);
      if (last && last[0] + last[1] === block[0]) last[1] += block[1];
      else merged.push([block[0], block[1]]);
    }
    const highest = merged.at(-1);
    if (highest && highest[0] + highest[1] === this.top) {
      this.top = highest[0];
      merged.pop();
    }
    this.freeBySize.clear();
    let best = -1;
    for (let i = 0; i < merged.length; i++) if (merged[i]![1] >= size && (best < 0 || merged[i]![1] < merged[best]![1])) best = i;
    let ptr = -1;
    if (this.top + size <= this.memory.buffer.byteLength || this.tryGrow(this.top + size)) {
      ptr = this.top;
      this.top += size;
    } else if (best >= 0) {
      const [at, blockSize] = merged[best]!;
      ptr = at;
      merged[best] = [at + size, blockSize - size];
    }
    for (const [at, blockSize] of merged) {
      if (blockSize === 0) continue;
      let list = this.freeBySize.get(blockSize);
      if (!list) this.freeBySize.set(blockSize, (list = []));
      list.push(at);
    }
    return ptr;
  }

  private tryGrow(neededBytes: number): boolean {
    try {
      this.grow(neededBytes);
      return true;
    } catch (err) {
      if (err instanceof HeapExhausted) return false;
      throw err;
    }
  }

  private grow(neededBytes: number): void {
    const have = this.memory.buffer.byteLength;
    // Grow geometrically so that a model's first step does not grow page by page.
    const geometric = Math.min(have * 2, have + 512 * 2 ** 20, this.maximumBytes);
    const target = Math.max(neededBytes, geometric);
    const pages = Math.ceil((target - have) / PAGE);
    try {
      this.memory.grow(pages);
    } catch {
      throw new HeapExhausted(`heap: out of memory growing from ${mb(have)} to ${mb(target)} MiB (limit ${mb(this.maximumBytes)} MiB)`);
    }
  }

  private refresh(): void {
    const buffer = this.memory.buffer;
    if (buffer === this.viewBuffer && this.uView.byteLength === buffer.byteLength) return;
    this.viewBuffer = buffer;
    this.fView = this.floatBytes === 4 ? new Float32Array(buffer) : new Float64Array(buffer);
    this.iView = new Int32Array(buffer);
    this.uView = new Uint8Array(buffer);
  }

  /** The float view of the whole heap; index = byteAddress / floatBytes. Re-read it after any allocation. */
  get f(): FloatArray {
    this.refresh();
    return this.fView;
  }

  get i(): Int32Array {
    this.refresh();
    return this.iView;
  }

  get u8(): Uint8Array {
    this.refresh();
    return this.uView;
  }
}

function alignUp(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}

function mb(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(0);
}
