import { InvalidArgument } from './action-api-error.js';
import { describeValue, isPlainObject } from './plain-data.js';

/**
 * Length in characters as JSON Schema's `maxLength` counts them (Unicode code points), so an
 * emoji counts once, as it does in Auth0's validator.
 */
export function charLength(text: string): number {
  let length = 0;
  for (const _ of text) length++;
  return length;
}

/**
 * Checks a string argument and its length in characters.
 * @throws InvalidArgument `<path> must be a string, got …`, `<path> must not be empty`,
 *   `<path> exceeds <max> characters`
 */
export function checkString(value: unknown, path: string, min: number, max: number): string {
  if (typeof value !== 'string') {
    throw new InvalidArgument(`${path} must be a string, got ${describeValue(value)}`);
  }
  const length = charLength(value);
  if (length < min) {
    throw new InvalidArgument(
      min === 1 ? `${path} must not be empty` : `${path} must be at least ${min} characters`,
    );
  }
  if (length > max) throw new InvalidArgument(`${path} exceeds ${max} characters`);
  return value;
}

/** @throws InvalidArgument `<path> must be a boolean, got …` */
export function checkBoolean(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') {
    throw new InvalidArgument(`${path} must be a boolean, got ${describeValue(value)}`);
  }
  return value;
}

/** @throws InvalidArgument `<path> must be <what>, got …` */
export function checkPlainObject(
  value: unknown,
  path: string,
  what: string,
): Record<string, unknown> {
  if (!isPlainObject(value)) {
    throw new InvalidArgument(`${path} must be ${what}, got ${describeValue(value)}`);
  }
  return value;
}
