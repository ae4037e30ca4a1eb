import type { LogEntry } from './log-entry.js';

/**
 * Characters kept of each top-level field of an entry; a field not listed keeps
 * {@link DEFAULT_LOG_STRING_LIMIT}. Most of these values reach the log from the request
 * (`client_id` of a failed authentication, `user_agent`, `hostname`, `audience`, `scope`), so
 * none may be larger than an entry needs.
 */
export const LOG_FIELD_LIMITS: Readonly<Record<string, number>> = Object.freeze({
  description: 1024,
  client_id: 256,
  client_name: 256,
  ip: 64,
  user_agent: 512,
  hostname: 256,
  audience: 512,
  scope: 1024,
  user_id: 512,
  user_name: 512,
  connection: 512,
  organization_id: 256,
});

/**
 * Characters kept of each string field of `details`; every other string in `details`, at any
 * depth (the actor's properties, console lines, anything a caller adds), keeps
 * {@link DEFAULT_LOG_STRING_LIMIT}.
 */
export const LOG_DETAIL_LIMITS: Readonly<Record<string, number>> = Object.freeze({
  subject_token_type: 256,
  error: 128,
  error_description: 1024,
  cause: 2048,
});

/** Characters kept of a string field without a limit of its own. */
export const DEFAULT_LOG_STRING_LIMIT = 256;

/**
 * Most bytes one entry may take: the UTF-8 length of its JSON text. An entry over it after every
 * field was cut (an action's 100 console lines of multi-byte characters, say) is cut further, all
 * its limits shrinking together until it fits.
 */
export const MAX_LOG_ENTRY_BYTES = 32 * 1024;

/** Characters kept of a property name. */
const MAX_KEY_LENGTH = 64;
/** Items kept of an array (an entry's `console` lines: 100, plus the line counting the rest). */
const MAX_ARRAY_ITEMS = 128;
/** Properties kept of an object. */
const MAX_OBJECT_KEYS = 32;
/** Objects nested deeper than this (counting the entry as 1) become a marker string. */
const MAX_DEPTH = 8;
/**
 * Values (strings, numbers, objects, ...) copied of one entry; the properties and items past it
 * are counted in their object's marker. Bounds the work of a copy whatever the entry's shape
 * (one object shared many times over, say).
 */
const MAX_VALUES = 4096;
/** The smallest any string limit becomes while an entry is shrunk to fit. */
const MIN_STRING_LIMIT = 16;
/** The smallest scale of the limits tried to bring an entry under the cap. */
const MIN_SCALE = 1 / 64;

/** What one copy of an entry may still spend. */
interface Budget {
  values: number;
}

/**
 * Entries made by {@link boundedEntry}, with their size: a holder can keep them as they are
 * (they are deep-frozen) and knows their size without serializing them again.
 */
const boundedSizes = new WeakMap<object, number>();

/**
 * A deep-frozen copy of `entry` within the log's bounds: every string cut to the limit of its
 * field ({@link LOG_FIELD_LIMITS}, {@link LOG_DETAIL_LIMITS}, otherwise
 * {@link DEFAULT_LOG_STRING_LIMIT}), property names to 64 characters, arrays to 128 items,
 * objects to 32 properties and 8 levels, 4096 values in all, and the whole to
 * {@link MAX_LOG_ENTRY_BYTES}: an entry over it is copied again with every limit (and the number
 * of values) a quarter as large, down to a 64th, which always fits.
 *
 * What was cut says so: a string ends with `…[+N]` (N the characters cut), an array with one
 * `…[+N items]` item, an object with a `…` property `[+N properties]` (also for those past the
 * last value allowed), and a value nested too deep is the string `…[nested too deep]`.
 *
 * The copy follows JSON's rules (a `toJSON` method is called, other objects are copied by their
 * own enumerable properties; a bigint becomes its decimal text) except that `undefined` values
 * are kept.
 *
 * @throws TypeError for a function or symbol in the entry: no sink could write it.
 */
export function boundedEntry(entry: LogEntry): LogEntry {
  let copy: LogEntry;
  let size: number;
  let scale = 1;
  for (;;) {
    const budget: Budget = { values: Math.max(64, Math.floor(MAX_VALUES * scale)) };
    copy = copyWithin(entry, 1, scale, budget, undefined, LOG_FIELD_LIMITS) as LogEntry;
    size = Buffer.byteLength(JSON.stringify(copy));
    // At the smallest scale an entry always fits: 64 values of at most 16 characters, named in
    // at most 16, even were every character escaped as \uXXXX.
    if (size <= MAX_LOG_ENTRY_BYTES || scale <= MIN_SCALE) break;
    scale /= 4;
  }
  boundedSizes.set(copy, size);
  return copy;
}

/** True for a result of {@link boundedEntry}. */
export function isBoundedEntry(value: unknown): value is LogEntry {
  return typeof value === 'object' && value !== null && boundedSizes.has(value);
}

/** The size of a result of {@link boundedEntry}: the UTF-8 bytes of its JSON text. */
export function boundedEntrySize(entry: LogEntry): number {
  const size = boundedSizes.get(entry);
  if (size === undefined) throw new TypeError('boundedEntrySize: not a bounded entry');
  return size;
}

/**
 * Cuts `text` to at most `limit` characters, ending with `…[+N]` when it was longer. Never
 * splits a surrogate pair.
 */
export function cutLogString(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const markerLength = (cut: number): number => `…[+${cut}]`.length;
  let kept = Math.max(0, limit - markerLength(text.length));
  // Fewer characters cut may take a shorter count: keep as many as the limit allows.
  while (kept + 1 + markerLength(text.length - kept - 1) <= limit) kept += 1;
  const last = text.charCodeAt(kept - 1);
  if (kept > 0 && last >= 0xd800 && last <= 0xdbff) kept -= 1;
  return `${text.slice(0, kept)}…[+${text.length - kept}]`;
}

/**
 * @param inherited the string limit below a field that has one (its nested values share it).
 * @param limits the string limits of this object's own properties (the entry's fields, then
 *   `details`'), `undefined` below them.
 */
function copyWithin(
  value: unknown,
  depth: number,
  scale: number,
  budget: Budget,
  inherited: number | undefined,
  limits?: Readonly<Record<string, number>>,
): unknown {
  budget.values -= 1;
  switch (typeof value) {
    case 'string':
      return cutLogString(value, scaled(inherited ?? DEFAULT_LOG_STRING_LIMIT, scale));
    case 'bigint':
      return cutLogString(value.toString(), scaled(inherited ?? DEFAULT_LOG_STRING_LIMIT, scale));
    case 'function':
    case 'symbol':
      throw new TypeError(`a log entry cannot hold a ${typeof value}`);
    case 'object':
      break;
    default:
      return value;
  }
  if (value === null) return null;
  const json = (value as { toJSON?: unknown }).toJSON;
  if (typeof json === 'function') {
    return copyWithin((json as () => unknown).call(value), depth + 1, scale, budget, inherited);
  }
  if (depth > MAX_DEPTH) return '…[nested too deep]';
  if (Array.isArray(value)) {
    return Object.freeze(copyArray(value, depth, scale, budget, inherited));
  }
  const keys = Object.keys(value);
  const object: Record<string, unknown> = {};
  let kept = 0;
  for (; kept < keys.length && kept < MAX_OBJECT_KEYS && budget.values > 0; kept += 1) {
    const key = keys[kept]!;
    const item = (value as Record<string, unknown>)[key];
    const copied =
      limits === LOG_FIELD_LIMITS && key === 'details'
        ? copyWithin(item, depth + 1, scale, budget, undefined, LOG_DETAIL_LIMITS)
        : copyWithin(item, depth + 1, scale, budget, limits?.[key] ?? inherited);
    const name = cutLogString(key, scaled(MAX_KEY_LENGTH, scale));
    // An own "__proto__" key stays data: assigning it would set the copy's prototype. Any other
    // name is assigned: defining each property costs several times more.
    if (name === '__proto__') {
      Object.defineProperty(object, name, {
        value: copied,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else {
      object[name] = copied;
    }
  }
  if (kept < keys.length) object['…'] = `[+${keys.length - kept} properties]`;
  return Object.freeze(object);
}

function copyArray(
  items: unknown[],
  depth: number,
  scale: number,
  budget: Budget,
  inherited: number | undefined,
): unknown[] {
  const copy: unknown[] = [];
  while (copy.length < items.length && copy.length < MAX_ARRAY_ITEMS && budget.values > 0) {
    copy.push(copyWithin(items[copy.length], depth + 1, scale, budget, inherited));
  }
  if (copy.length < items.length) copy.push(`…[+${items.length - copy.length} items]`);
  return copy;
}

function scaled(limit: number, scale: number): number {
  return Math.max(MIN_STRING_LIMIT, Math.floor(limit * scale));
}
