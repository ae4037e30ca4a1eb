import { CapabilityError } from './capability-error.js';
import { DEFAULT_PORTS } from './host-allow-list.js';

/** The `init` an action passes to `fetch`, after validation. */
export interface SafeFetchRequest {
  url: URL;
  method: string;
  /** Lower-case names; repeated names joined as `fetch` does. */
  headers: Array<[string, string]>;
  body: string | undefined;
  redirect: 'follow' | 'manual' | 'error';
}

/** Request bodies are capped at 1 MiB. */
export const MAX_REQUEST_BODY_BYTES = 1024 * 1024;

const MAX_URL_LENGTH = 8192;
const MAX_HEADERS = 64;
const MAX_HEADER_VALUE_LENGTH = 8192;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Headers an action may not set: routing, framing and hop-by-hop headers the host owns, and
 * `accept-encoding` (responses are read uncompressed, so the size cap means what it says).
 */
const FORBIDDEN_REQUEST_HEADERS = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'content-length',
  'expect',
  'http2-settings',
  'accept-encoding',
]);
const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);
const STANDARD_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT']);

/** Validates what an action passed to `fetch(url, init)`; throws `ERR_FETCH_INVALID_*`. */
export function parseFetchRequest(url: unknown, init: unknown): SafeFetchRequest {
  if (typeof url !== 'string' || url.length > MAX_URL_LENGTH) {
    throw new CapabilityError('ERR_FETCH_INVALID_URL', 'fetch: the URL must be a string');
  }
  const target = parseTargetUrl(url, 'fetch: the URL');
  if (init !== undefined && init !== null && !isPlainObject(init)) {
    throw invalidRequest('fetch: init must be an object');
  }
  const options = init ?? {};

  const method = options.method === undefined ? 'GET' : options.method;
  if (typeof method !== 'string' || !HEADER_NAME.test(method)) {
    throw invalidRequest('fetch: init.method must be an HTTP method name');
  }
  const upperMethod = method.toUpperCase();
  if (FORBIDDEN_METHODS.has(upperMethod)) {
    throw invalidRequest(`fetch: the ${upperMethod} method is not allowed`);
  }
  const normalizedMethod = STANDARD_METHODS.has(upperMethod) ? upperMethod : method;

  const redirect = options.redirect === undefined ? 'follow' : options.redirect;
  if (redirect !== 'follow' && redirect !== 'manual' && redirect !== 'error') {
    throw invalidRequest("fetch: init.redirect must be 'follow', 'manual' or 'error'");
  }

  const body = options.body === undefined || options.body === null ? undefined : options.body;
  if (body !== undefined) {
    if (typeof body !== 'string') throw invalidRequest('fetch: init.body must be a string');
    if (normalizedMethod === 'GET' || normalizedMethod === 'HEAD') {
      throw invalidRequest(`fetch: a ${normalizedMethod} request cannot have a body`);
    }
    if (Buffer.byteLength(body, 'utf8') > MAX_REQUEST_BODY_BYTES) {
      throw new CapabilityError(
        'ERR_FETCH_TOO_LARGE',
        `fetch: the request body is larger than ${MAX_REQUEST_BODY_BYTES} bytes`,
      );
    }
  }

  return {
    url: target,
    method: normalizedMethod,
    headers: parseHeaders(options.headers),
    body,
    redirect,
  };
}

/** Parses a request or redirect target: `http:`/`https:` only, no credentials, no fragment. */
export function parseTargetUrl(text: string, what: string, base?: URL): URL {
  let url: URL;
  try {
    url = new URL(text, base);
  } catch {
    throw new CapabilityError('ERR_FETCH_INVALID_URL', `${what} is not a valid URL`);
  }
  if (DEFAULT_PORTS[url.protocol] === undefined) {
    throw new CapabilityError(
      'ERR_FETCH_INVALID_URL',
      `${what} must use http: or https:, not ${url.protocol}`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new CapabilityError(
      'ERR_FETCH_INVALID_URL',
      `${what} must not contain credentials; send an Authorization header instead`,
    );
  }
  url.hash = '';
  return url;
}

function parseHeaders(input: unknown): Array<[string, string]> {
  if (input === undefined || input === null) return [];
  let pairs: unknown[];
  if (Array.isArray(input)) pairs = input;
  else if (isPlainObject(input)) pairs = Object.entries(input);
  else throw invalidRequest('fetch: init.headers must be an object or an array of [name, value]');
  if (pairs.length > MAX_HEADERS) throw invalidRequest(`fetch: more than ${MAX_HEADERS} headers`);
  const merged = new Map<string, string>();
  for (const pair of pairs) {
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw invalidRequest('fetch: each header must be a [name, value] pair of strings');
    }
    const [name, value] = pair as [unknown, unknown];
    if (typeof name !== 'string' || !HEADER_NAME.test(name)) {
      throw invalidRequest('fetch: a header name is not a valid HTTP token');
    }
    if (
      typeof value !== 'string' ||
      value.length > MAX_HEADER_VALUE_LENGTH ||
      /[^\t\x20-\x7e\x80-\xff]/.test(value)
    ) {
      throw invalidRequest(`fetch: the value of header "${name}" is not a valid header value`);
    }
    const lower = name.toLowerCase();
    if (FORBIDDEN_REQUEST_HEADERS.has(lower) || lower.startsWith('proxy-')) {
      throw invalidRequest(`fetch: the "${name}" header is set by the host and cannot be set`);
    }
    const trimmed = value.trim();
    const previous = merged.get(lower);
    merged.set(
      lower,
      previous === undefined ? trimmed : `${previous}${lower === 'cookie' ? '; ' : ', '}${trimmed}`,
    );
  }
  return [...merged];
}

function invalidRequest(message: string): CapabilityError {
  return new CapabilityError('ERR_FETCH_INVALID_REQUEST', message, { name: 'TypeError' });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
