import { isProxy } from 'node:util/types';
import { InvalidArgument } from './action-api-error.js';

/**
 * Nesting deeper than this is refused before the copy can exhaust the stack; real metadata and
 * actors are a few levels deep.
 */
export const MAX_PLAIN_DATA_DEPTH = 64;

/**
 * Deep-copies an argument an action passed to `api.*`, refusing anything that is not JSON-like
 * plain data: functions, symbols, bigints, `NaN`/`Infinity`, class instances (`Date`, `Map`, ...),
 * proxies, getters, symbol keys, `__proto__` keys, holes or `undefined` in arrays, and cycles.
 * Object properties whose value is `undefined` are dropped, as `JSON.stringify` does.
 *
 * Copying while checking means the recorded value is read exactly once: the action cannot change
 * it afterwards, and a getter cannot answer differently to the check and to the copy.
 *
 * @param value - the argument as the action passed it
 * @param path - how the action's author calls it (`value`, `attributes`), used in messages
 * @returns a copy that shares nothing with `value`; `undefined` when `value` is `undefined`
 * @throws InvalidArgument naming the path of the first offending value
 */
export function copyPlainData(value: unknown, path: string): unknown {
  return copy(value, path, new Map(), 0);
}

/** True for `{}`-like objects of any realm (prototype `Object.prototype` or `null`). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  // A cross-realm Object.prototype is not ours but, like ours, has no prototype itself.
  return proto === null || Object.getPrototypeOf(proto) === null;
}

/** A short description of a value's kind for messages: `a string`, `null`, `an instance of Date`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'undefined':
      return 'undefined';
    case 'string':
      return 'a string';
    case 'boolean':
      return 'a boolean';
    case 'number':
      return Number.isFinite(value) ? 'a number' : String(value);
    case 'bigint':
      return 'a bigint';
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
    default:
      if (isProxy(value)) return 'a Proxy';
      return isPlainObject(value) ? 'an object' : `an instance of ${constructorName(value)}`;
  }
}

/** `path.key` for identifier-like keys, `path["odd key"]` otherwise. */
export function childPath(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function copy(
  value: unknown,
  path: string,
  ancestors: Map<object, string>,
  depth: number,
): unknown {
  switch (typeof value) {
    case 'undefined':
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value))
        throw new InvalidArgument(`${path} is ${value}, which is not JSON data`);
      return value;
    case 'function':
    case 'symbol':
    case 'bigint':
      throw new InvalidArgument(`${path} is ${describeValue(value)}, not plain data`);
  }
  if (value === null) return null;
  const object = value as object;
  if (isProxy(object)) throw new InvalidArgument(`${path} is a Proxy, not plain data`);
  const cycleStart = ancestors.get(object);
  if (cycleStart !== undefined) {
    throw new InvalidArgument(`${path} refers back to ${cycleStart} (a cycle), not plain data`);
  }
  if (depth >= MAX_PLAIN_DATA_DEPTH) {
    throw new InvalidArgument(`${path} is nested deeper than ${MAX_PLAIN_DATA_DEPTH} levels`);
  }
  ancestors.set(object, path);
  try {
    return Array.isArray(object)
      ? copyArray(object, path, ancestors, depth)
      : copyObject(object, path, ancestors, depth);
  } finally {
    // Only ancestors make a cycle: the same object twice side by side is fine (and copied twice).
    ancestors.delete(object);
  }
}

function copyArray(array: unknown[], path: string, ancestors: Map<object, string>, depth: number) {
  const result: unknown[] = [];
  for (let index = 0; index < array.length; index++) {
    const itemPath = `${path}[${index}]`;
    const descriptor = Object.getOwnPropertyDescriptor(array, index);
    if (descriptor === undefined || descriptor.value === undefined) {
      if (descriptor?.get || descriptor?.set)
        throw new InvalidArgument(`${itemPath} is a getter, not plain data`);
      throw new InvalidArgument(`${itemPath} is undefined, which is not JSON data`);
    }
    result.push(copy(descriptor.value, itemPath, ancestors, depth + 1));
  }
  return result;
}

function copyObject(object: object, path: string, ancestors: Map<object, string>, depth: number) {
  if (!isPlainObject(object)) {
    throw new InvalidArgument(`${path} is ${describeValue(object)}, not plain data`);
  }
  if (Object.getOwnPropertySymbols(object).length > 0) {
    throw new InvalidArgument(`${path} has a symbol key, not plain data`);
  }
  const result: Record<string, unknown> = {};
  for (const key of Object.keys(object)) {
    const keyPath = childPath(path, key);
    // Refused rather than copied: a host merging this naively would replace a prototype.
    if (key === '__proto__') throw new InvalidArgument(`${keyPath} is not an allowed key`);
    const descriptor = Object.getOwnPropertyDescriptor(object, key);
    if (descriptor?.get || descriptor?.set)
      throw new InvalidArgument(`${keyPath} is a getter, not plain data`);
    const item = copy(descriptor?.value, keyPath, ancestors, depth + 1);
    if (item !== undefined) result[key] = item;
  }
  return result;
}

function constructorName(value: object): string {
  const proto: unknown = Object.getPrototypeOf(value);
  if (typeof proto !== 'object' || proto === null) return 'non-plain';
  const ctor: unknown = Object.getOwnPropertyDescriptor(proto, 'constructor')?.value;
  return typeof ctor === 'function' && ctor.name !== '' ? ctor.name : 'non-plain';
}
