/**
 * Construction-time checks for client authentication options. Misconfiguration throws a
 * `TypeError` naming the option path, so it surfaces when the router is built rather than as a
 * 500 on the first token request.
 */

/** Throws unless `value` is a function. */
export function assertFunction(value: unknown, path: string): void {
  if (typeof value !== 'function') throw new TypeError(`${path} must be a function`);
}

/** Throws unless `value` is a finite number of seconds, at least `min`. */
export function assertSeconds(value: unknown, path: string, min: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new TypeError(`${path} must be a finite number of seconds, at least ${min}`);
  }
}

/** Throws unless `value` is a non-empty array of non-empty strings; returns a frozen copy. */
export function nonEmptyStrings(value: unknown, path: string): readonly string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new TypeError(`${path} must be a non-empty array of strings`);
  }
  value.forEach((item: unknown, i) => {
    if (typeof item !== 'string' || item === '') {
      throw new TypeError(`${path}[${i}] must be a non-empty string`);
    }
  });
  return Object.freeze([...(value as string[])]);
}
