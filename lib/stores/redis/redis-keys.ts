/**
 * Checks a key prefix. It may not contain `{` or `}`: the stores put the part of a key that
 * decides its cluster hash slot between braces, and a brace in the prefix would move it.
 */
export function checkPrefix(prefix: unknown, path: string): string {
  if (typeof prefix !== 'string' || /[{}]/.test(prefix)) {
    throw new TypeError(`${path} must be a string without { or }`);
  }
  return prefix;
}
