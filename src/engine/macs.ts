/**
 * Multiply-accumulate counting: conv2d, linear and matmul report their MACs here while a count is active,
 * which gives a model's FLOPs from one real forward pass instead of a separate per-layer formula table.
 */
let active: { macs: number } | null = null;

export function addMacs(n: number): void {
  if (active) active.macs += n;
}

/** The MACs of `fn`. Counts nest: an inner count's MACs also add to the enclosing count (per-layer tracing inside a whole-model count). */
export function countMacs(fn: () => void): number {
  const previous = active;
  const current = { macs: 0 };
  active = current;
  try {
    fn();
    return current.macs;
  } finally {
    active = previous;
    if (previous) previous.macs += current.macs;
  }
}
