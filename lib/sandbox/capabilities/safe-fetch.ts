import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import type { LookupFunction } from 'node:net';
import { CapabilityError } from './capability-error.js';
import { parseTargetUrl, type SafeFetchRequest } from './fetch-request.js';
import { DEFAULT_PORTS, hostMatches, unbracket } from './host-allow-list.js';
import { classifyAddress, isAddressAllowed, isInNetworks } from './ip-policy.js';

/** What `fetch` resolves with inside the sandbox. */
export interface SafeFetchResponse {
  /** The URL of the final response (after redirects). */
  url: string;
  status: number;
  statusText: string;
  /** Lower-case names, in the order received; repeated headers stay separate. */
  headers: Array<[string, string]>;
  /** The body decoded as UTF-8 (invalid sequences replaced). */
  body: string;
  redirected: boolean;
}

/** Who may be reached, and how much and how long. */
export interface SafeFetchPolicy {
  allowedHosts: readonly string[];
  allowedPrivateNetworks: readonly string[];
  /**
   * `allowed`: `http:` URLs are fetched like `https:` ones. `private-networks-only`: an `http:`
   * URL must resolve to addresses inside `allowedPrivateNetworks` (remote JWKS: keys fetched in
   * clear text from the internet could be swapped on the way).
   */
  plainHttp: 'allowed' | 'private-networks-only';
  /** Whole-request timeout, redirects included. */
  timeoutMs: number;
  /** Code of the timeout error (`ERR_FETCH_TIMEOUT`, or `ERR_CAPABILITY_TIMEOUT` at the deadline). */
  timeoutCode: string;
  maxResponseBytes: number;
  maxRedirects: number;
  /** dns.lookup-compatible; called with `all: true`. */
  lookup: LookupFunction;
  /** Aborting it ends the request; the promise rejects with `signal.reason` when it is an Error. */
  signal?: AbortSignal;
}

/** Sent unless the action sets its own `User-Agent`. */
export const DEFAULT_USER_AGENT = 'express-custom-token-exchange (action fetch)';

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Dropped when a redirect changes the origin (the fetch standard drops `authorization`). */
const CREDENTIAL_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);
/** Dropped when a redirect turns the request into a GET without a body. */
const BODY_HEADERS = new Set([
  'content-type',
  'content-encoding',
  'content-language',
  'content-location',
]);

/**
 * Fetches `request` under `policy`: `http:`/`https:` only, every hop's host matched against the
 * allow-list, every connected address checked when the connection opens (the lookup refuses
 * non-public addresses, IP literals are checked before connecting), redirects followed by hand,
 * a fresh connection per request (no pooled socket crosses actions), the body streamed under a
 * cap, one timeout for the whole exchange.
 */
export async function safeFetch(
  request: SafeFetchRequest,
  policy: SafeFetchPolicy,
): Promise<SafeFetchResponse> {
  const controller = new AbortController();
  const external = policy.signal;
  const forward = (): void => controller.abort(abortError(external));
  if (external?.aborted) throw abortError(external);
  external?.addEventListener('abort', forward, { once: true });
  const timer = setTimeout(
    () =>
      controller.abort(
        new CapabilityError(
          policy.timeoutCode,
          `fetch to ${request.url.origin} timed out after ${Math.round(policy.timeoutMs)} ms`,
        ),
      ),
    Math.max(0, policy.timeoutMs),
  );
  try {
    return await followRedirects(request, policy, controller.signal);
  } finally {
    clearTimeout(timer);
    external?.removeEventListener('abort', forward);
  }
}

async function followRedirects(
  request: SafeFetchRequest,
  policy: SafeFetchPolicy,
  signal: AbortSignal,
): Promise<SafeFetchResponse> {
  let { url, method, headers, body } = request;
  let redirects = 0;
  for (;;) {
    checkTarget(url, policy, redirects > 0);
    const response = await send(url, method, headers, body, policy, signal);
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (REDIRECT_STATUSES.has(status) && location !== undefined && request.redirect !== 'manual') {
      response.destroy();
      if (request.redirect === 'error') {
        throw new CapabilityError(
          'ERR_FETCH_REDIRECT',
          `fetch to ${url.origin} was redirected and init.redirect is 'error'`,
        );
      }
      if (redirects >= policy.maxRedirects) {
        throw new CapabilityError(
          'ERR_FETCH_TOO_MANY_REDIRECTS',
          `fetch: more than ${policy.maxRedirects} redirects`,
        );
      }
      const next = parseTargetUrl(location, `fetch: the redirect from ${url.origin}`, url);
      if (next.origin !== url.origin) {
        headers = headers.filter(([name]) => !CREDENTIAL_HEADERS.has(name));
      }
      if (
        status === 303 ? method !== 'HEAD' : (status === 301 || status === 302) && method === 'POST'
      ) {
        method = 'GET';
        body = undefined;
        headers = headers.filter(([name]) => !BODY_HEADERS.has(name));
      }
      url = next;
      redirects += 1;
      continue;
    }
    const bytes = await readBody(response, policy.maxResponseBytes, url, signal);
    const responseHeaders: Array<[string, string]> = [];
    for (let i = 0; i + 1 < response.rawHeaders.length; i += 2) {
      responseHeaders.push([
        (response.rawHeaders[i] ?? '').toLowerCase(),
        response.rawHeaders[i + 1] ?? '',
      ]);
    }
    return {
      url: url.href,
      status,
      statusText: response.statusMessage ?? '',
      headers: responseHeaders,
      body: new TextDecoder('utf-8').decode(bytes),
      redirected: redirects > 0,
    };
  }
}

/** Scheme, allow-list and (for IP literals, which skip the lookup) address checks of one hop. */
function checkTarget(url: URL, policy: SafeFetchPolicy, isRedirect: boolean): void {
  if (!hostMatches(url, policy.allowedHosts)) {
    const hostPort = url.port === '' ? url.hostname : `${url.hostname}:${url.port}`;
    throw new CapabilityError(
      'ERR_FETCH_HOST_NOT_ALLOWED',
      `fetch: ${isRedirect ? 'redirect to ' : ''}${hostPort} is not in the action's allowed_hosts`,
    );
  }
  const literal = unbracket(url.hostname);
  if (isIP(literal) !== 0) checkAddress(literal, url, policy);
}

function checkAddress(address: string, url: URL, policy: SafeFetchPolicy): void {
  const nets = policy.allowedPrivateNetworks;
  if (url.protocol === 'http:' && policy.plainHttp === 'private-networks-only') {
    if (!isInNetworks(address, nets)) {
      throw new CapabilityError(
        'ERR_FETCH_ADDRESS_NOT_ALLOWED',
        `${url.hostname}: http: is only allowed to addresses in allowed_private_networks; use https:`,
      );
    }
    return;
  }
  if (!isAddressAllowed(address, nets)) {
    throw new CapabilityError(
      'ERR_FETCH_ADDRESS_NOT_ALLOWED',
      `fetch: ${url.hostname} resolves to a ${classifyAddress(address)} address, which actions may` +
        ` not reach unless its network is listed in allowed_private_networks`,
    );
  }
}

function send(
  url: URL,
  method: string,
  headers: ReadonlyArray<[string, string]>,
  body: string | undefined,
  policy: SafeFetchPolicy,
  signal: AbortSignal,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(abortError(signal));
      return;
    }
    const outgoing: Record<string, string> = {};
    for (const [name, value] of headers) outgoing[name] = value;
    if (outgoing['user-agent'] === undefined) outgoing['user-agent'] = DEFAULT_USER_AGENT;
    outgoing['accept-encoding'] = 'identity';
    if (body !== undefined) outgoing['content-length'] = String(Buffer.byteLength(body, 'utf8'));

    const client = url.protocol === 'https:' ? https : http;
    const req = client.request({
      protocol: url.protocol,
      hostname: unbracket(url.hostname),
      port: url.port === '' ? DEFAULT_PORTS[url.protocol] : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method,
      headers: outgoing,
      agent: false,
      lookup: guardedLookup(url, policy),
    });
    const onAbort = (): void => {
      req.destroy(abortError(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    req.once('response', (response) => {
      signal.removeEventListener('abort', onAbort);
      resolve(response);
    });
    req.on('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      reject(connectionError(err, url, signal));
    });
    req.end(body);
  });
}

/**
 * The lookup given to node:http. Resolves every address of the host and refuses the connection
 * when any of them is outside the policy: a host that resolves to an internal address (DNS
 * rebinding, a stale record) fails instead of connecting to the one public address among them.
 */
function guardedLookup(url: URL, policy: SafeFetchPolicy): LookupFunction {
  return (hostname, options, callback) => {
    const lookupOptions: LookupOptions = { all: true };
    if (options.family !== undefined) lookupOptions.family = options.family;
    if (options.hints !== undefined) lookupOptions.hints = options.hints;
    policy.lookup(hostname, lookupOptions, (err, result, family) => {
      if (err) {
        callback(err, '');
        return;
      }
      const addresses: LookupAddress[] =
        typeof result === 'string' ? [{ address: result, family: family ?? isIP(result) }] : result;
      if (addresses.length === 0) {
        callback(new CapabilityError('ERR_FETCH_FAILED', `fetch: ${hostname} has no address`), '');
        return;
      }
      try {
        for (const { address } of addresses) checkAddress(address, url, policy);
      } catch (refusal) {
        callback(refusal as CapabilityError, '');
        return;
      }
      const first = addresses[0] as LookupAddress;
      if (options.all) callback(null, addresses);
      else callback(null, first.address, first.family);
    });
  };
}

function readBody(
  response: IncomingMessage,
  maxBytes: number,
  url: URL,
  signal: AbortSignal,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tooLarge = (): CapabilityError =>
      new CapabilityError(
        'ERR_FETCH_TOO_LARGE',
        `fetch: the response from ${url.origin} is larger than ${maxBytes} bytes`,
      );
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      response.destroy();
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const finish = (err: Error | undefined, value?: Buffer): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (err) {
        response.destroy();
        reject(err);
      } else resolve(value as Buffer);
    };
    const onAbort = (): void => finish(abortError(signal));
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    response.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBytes) finish(tooLarge());
      else chunks.push(chunk);
    });
    response.once('end', () => finish(undefined, Buffer.concat(chunks)));
    response.on('error', (err) => finish(connectionError(err, url, signal)));
    response.once('close', () =>
      finish(
        new CapabilityError(
          'ERR_FETCH_FAILED',
          `fetch: the connection to ${url.origin} closed before the response ended`,
        ),
      ),
    );
  });
}

/** The reason an aborted signal carries, or a generic revocation when it carries none. */
function abortError(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error) return reason;
  return new CapabilityError('ERR_CAPABILITY_REVOKED', 'fetch: the request was cancelled');
}

function connectionError(err: unknown, url: URL, signal: AbortSignal): Error {
  if (signal.aborted) return abortError(signal);
  if (err instanceof CapabilityError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  let detail: string;
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      detail = `could not resolve ${url.hostname}`;
      break;
    case 'ECONNREFUSED':
      detail = 'connection refused';
      break;
    case 'ECONNRESET':
      detail = 'connection reset';
      break;
    case 'ETIMEDOUT':
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
      detail = `${url.hostname} is unreachable`;
      break;
    default:
      if (typeof code !== 'string' || !/^[A-Z0-9_]{2,64}$/.test(code)) detail = 'network error';
      else if (code.startsWith('HPE_')) detail = 'the response is not valid HTTP';
      else if (/CERT|SELF_SIGNED|TLS|SSL/.test(code)) detail = `TLS error (${code})`;
      else detail = `network error (${code})`;
  }
  return new CapabilityError('ERR_FETCH_FAILED', `fetch to ${url.origin} failed: ${detail}`);
}
