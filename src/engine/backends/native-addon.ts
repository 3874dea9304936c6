/**
 * Loading the optional native addon (native/, built by scripts/build-native.mjs at npm install) and choosing its
 * kernel set. Kept apart from native.ts so that `convlab --version` can say what would run without starting
 * any threads.
 */

/** The addon's surface (native/src/binding.cc). */
export interface NativeAddon {
  /** Binds the heap: a Float32Array over the whole memory. Called again after the memory grows. */
  setHeap(view: Float32Array): void;
  /** Runs kernel `id` with its arguments at byte address `argsByte` of the heap, on up to `threads` threads. */
  run(id: number, argsByte: number, isa: number, threads: number): void;
  /** The kernel sets in preference order and whether this CPU runs each. */
  isaInfo(): { name: NativeIsa; supported: boolean }[];
}

export const NATIVE_ISAS = ['avx512', 'avx2', 'generic'] as const;
export type NativeIsa = (typeof NATIVE_ISAS)[number];

/** Either the addon, or why it is not there: 'missing' when it was never built, 'broken' when it failed to load. */
export type AddonLoad = { addon: NativeAddon } | { addon: null; missing: boolean; reason: string };

let cached: AddonLoad | null = null;

export async function loadNativeAddon(): Promise<AddonLoad> {
  if (cached) return cached;
  if (typeof process === 'undefined' || !process.versions?.node) return (cached = { addon: null, missing: true, reason: 'not running on Node' });
  const [{ createRequire }, { existsSync }, { fileURLToPath }] = await Promise.all([
    import('node:module'), import('node:fs'), import('node:url'),
  ]);
  // This file is dist/src/engine/backends/native-addon.js: the package root is four levels up.
  const path = fileURLToPath(new URL('../../../../native/build/Release/convlab_native.node', import.meta.url));
  if (!existsSync(path)) return (cached = { addon: null, missing: true, reason: 'the addon was not built (see npm install output)' });
  try {
    const addon = createRequire(import.meta.url)(path) as NativeAddon;
    return (cached = { addon });
  } catch (err) {
    return (cached = { addon: null, missing: false, reason: (err as Error).message.split('\n')[0]! });
  }
}

/**
 * The kernel set to run: `wanted` (from the isa option or, when `source` names it, CONVLAB_NATIVE_ISA) if this
 * CPU runs it, else the best one the CPU runs. Throws one line for an unknown or unsupported name.
 */
export function chooseIsa(addon: NativeAddon, wanted: string | undefined, source: string): { index: number; name: NativeIsa } {
  const info = addon.isaInfo();
  const supported = info.filter((i) => i.supported).map((i) => i.name);
  if (wanted === undefined || wanted === '') {
    const index = info.findIndex((i) => i.supported);
    return { index, name: info[index]!.name };
  }
  const index = NATIVE_ISAS.indexOf(wanted as NativeIsa);
  if (index < 0) throw new Error(`${source} '${wanted}' is invalid: expected one of ${NATIVE_ISAS.join(', ')}`);
  if (!info[index]!.supported) {
    throw new Error(`${source} '${wanted}' is not supported by this CPU (it runs: ${supported.join(', ')})`);
  }
  return { index, name: NATIVE_ISAS[index]! };
}
