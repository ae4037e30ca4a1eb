/**
 * Small checks shared by option validation and the run-time handles. Each throws a `TypeError`
 * whose message names the offending path (`customTokenExchange: options.clients[2].name ...`);
 * handles turn it into a `ManagementError`.
 */

export const PREFIX = 'customTokenExchange:';

export function fail(path: string, problem: string): never {
  throw new TypeError(`${PREFIX} ${path} ${problem}`);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

export function checkObject(value: unknown, path: string): Record<string, unknown> {
  if (!isPlainObject(value)) fail(path, 'must be a plain object');
  return value;
}

/** Refuses properties outside `allowed`, so a typo does not silently keep a default. */
export function checkKnownKeys(
  value: Record<string, unknown>,
  allowed: readonly string[],
  path: string,
): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) fail(`${path}.${key}`, `is not a known property`);
  }
}

export function checkString(
  value: unknown,
  path: string,
  { min = 1, max = 2048 }: { min?: number; max?: number } = {},
): string {
  if (typeof value !== 'string') fail(path, 'must be a string');
  if (value.length < min || value.length > max) {
    fail(path, `must be ${min}–${max} characters long`);
  }
  return value;
}

export function checkOptionalString(
  value: unknown,
  path: string,
  limits?: { min?: number; max?: number },
): string | undefined {
  return value === undefined ? undefined : checkString(value, path, limits);
}

export function checkOptionalBoolean(value: unknown, path: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(path, 'must be a boolean');
  return value;
}

export function checkOptionalInteger(
  value: unknown,
  path: string,
  fallback: number,
  { min, max }: { min: number; max: number },
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(path, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

export function checkOneOf<T extends string>(
  value: unknown,
  path: string,
  allowed: readonly T[],
  fallback?: T,
): T {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    fail(path, `must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

export function checkArray(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) fail(path, 'must be an array');
  return value;
}

/** An absolute URL; `https:` unless the host is a loopback name, where `http:` is allowed too. */
export function checkHttpsUrl(value: unknown, path: string): URL {
  const text = checkString(value, path);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    fail(path, 'must be an absolute URL');
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    fail(path, 'must be an https URL (http is accepted for localhost only)');
  }
  if (text.includes('?') || text.includes('#')) fail(path, 'must not have a query or fragment');
  if (url.username || url.password) fail(path, 'must not carry credentials');
  return url;
}
