import { InvalidRequest } from '../errors.js';

/** Parameters RFC 8693 lets repeat (one value per target API). */
const REPEATABLE = new Set(['audience', 'resource']);
/** Parameter names an extension may use: no brackets, no prototype keys. */
const PARAMETER_NAME = /^[A-Za-z0-9_.~-]{1,128}$/;
const FORBIDDEN_NAMES = new Set(['__proto__', 'constructor', 'prototype']);
/** Control characters, and U+FFFD that decoding leaves for bytes that were not UTF-8. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const BAD_VALUE = /[\u0000-\u001f\u007f\ufffd]/;

/** The strict view of one of our token requests: single string values, empty = absent. */
export interface TokenRequest {
  params: Readonly<Record<string, string>>;
  /** Every `audience` value, in order, duplicates removed. */
  audiences: readonly string[];
  /** Every `resource` value, in order, duplicates removed. */
  resources: readonly string[];
}

/** Values of a body parameter whatever its shape, for routing decisions before strict checks. */
export function valuesOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

/**
 * RFC 6749 section 3.2 request hygiene for requests that are ours: a parameter sent twice (other than
 * `audience`/`resource`), a value that is not a string, bracket or prototype keys and control
 * characters are `400 invalid_request`. Empty values count as absent.
 */
export function readTokenRequest(body: Record<string, unknown>): TokenRequest {
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  // Sets keep the order sent and drop repeats in constant time (a JSON body may carry a huge array).
  const audiences = new Set<string>();
  const resources = new Set<string>();
  for (const name of Object.keys(body)) {
    if (!PARAMETER_NAME.test(name) || FORBIDDEN_NAMES.has(name)) {
      throw new InvalidRequest('the request has a parameter with an invalid name', {
        privateCause: `parameter name ${JSON.stringify(name.slice(0, 64))}`,
      });
    }
    const raw = body[name];
    if (typeof raw === 'string') {
      // The common case: one value.
      checkValue(name, raw);
      if (raw === '') continue;
      if (name === 'audience') audiences.add(raw);
      else if (name === 'resource') resources.add(raw);
      else params[name] = raw;
      continue;
    }
    if (!Array.isArray(raw)) throw new InvalidRequest(`parameter ${name} must be a string`);
    if (!REPEATABLE.has(name)) {
      throw new InvalidRequest(
        raw.length > 1 ? `parameter ${name} is repeated` : `parameter ${name} must be a string`,
      );
    }
    for (const value of raw as unknown[]) {
      if (typeof value !== 'string') throw new InvalidRequest(`parameter ${name} must be a string`);
      checkValue(name, value);
    }
    const values = name === 'audience' ? audiences : resources;
    for (const value of raw as string[]) if (value !== '') values.add(value);
  }
  return { params, audiences: [...audiences], resources: [...resources] };
}

function checkValue(name: string, value: string): void {
  if (BAD_VALUE.test(value))
    throw new InvalidRequest(`parameter ${name} contains invalid characters`);
}

/** The parameters of `request` not in `consumed`, for the action's `event.request.body`. */
export function extensionParameters(
  { params }: TokenRequest,
  consumed: ReadonlySet<string>,
): Record<string, string> {
  const extension: Record<string, string> = {};
  for (const [name, value] of Object.entries(params)) {
    if (!consumed.has(name)) extension[name] = value;
  }
  return extension;
}
