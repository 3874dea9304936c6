/**
 * Multiply-accumulate counting: conv2d, linear and matmul report their MACs here while a count is active,
 * which gives a model's FLOPs from one real forward pass instead of a separate per-layer formula table.
 */
let active: { macs: number } | null = null;

export function addMacs(n: number): void {
  if (active) active.macs += n;
}

export function countMacs(fn: () => void): number {
  const previous = active;
  active = { macs: 0 };
  try {
    fn();
    return active.macs;
  } finally {
    active = previous;
  }
}
