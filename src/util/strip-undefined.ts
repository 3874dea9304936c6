/** Object helpers for merging options over defaults. */

/** A copy of `o` without its undefined-valued keys, so that spreading it over defaults keeps the defaults. */
export function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const key in o) if (Object.hasOwn(o, key) && o[key] !== undefined) out[key] = o[key];
  return out;
}
