import { lookup as dnsLookup } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { observeFetch } from '../../observability/fetch-observation.js';
import { NO_TELEMETRY, type Telemetry } from '../../observability/telemetry.js';
import { CapabilityError, invalidArgument, toCapabilityError } from './capability-error.js';
import { JoseHost } from './jose-host.js';
import type { JoseScope } from './jose-host.js';
import { parseFetchRequest, type SafeFetchRequest } from './fetch-request.js';
import { safeFetch } from './safe-fetch.js';

export { CapabilityError } from './capability-error.js';
export type { CapabilityErrorJSON } from './capability-error.js';
export type { KeyDescriptor, RemoteJwksOptions } from './key-descriptor.js';
export type { SafeFetchResponse } from './safe-fetch.js';
export { isAddressAllowed } from './ip-policy.js';
export { hostMatches } from './host-allow-list.js';

/** What one execution of one action may do; the runner builds one per execution. */
export interface CapabilityScope {
  actionId: string;
  /** Hosts `fetch` and remote JWKS may reach: `idp.example.com`, `idp.example.com:8443`, `*.example.com`. */
  allowedHosts: readonly string[];
  /** CIDRs that resolved addresses may be in although non-public (loopback, RFC 1918, ...). */
  allowedPrivateNetworks: readonly string[];
  /** Epoch ms: every operation settles (rejects) by then. */
  deadline: number;
  /** Aborted when the execution ends: pending and later calls fail with `ERR_CAPABILITY_REVOKED`. */
  signal: AbortSignal;
}

/** The capabilities the sandbox may call, by name. */
export type CapabilityName =
  'jose.jwtVerify' | 'jose.decodeJwt' | 'jose.decodeProtectedHeader' | 'jose.checkKey' | 'fetch';

/** Options of {@link HostCapabilities}; every field has a default. */
export interface HostCapabilitiesOptions {
  /**
   * Time after a successful remote JWKS fetch before an unknown `kid` may fetch again, in ms; an
   * action can lengthen it, never shorten it. Default 30000 (jose's default).
   */
  jwksCooldownMs?: number;
  /** How long fetched JWKS keys are used before they are fetched again, in ms. Default 600000. */
  jwksCacheMaxAgeMs?: number;
  /** Timeout of one `fetch` (redirects included) or JWKS fetch, in ms, capped by the deadline. Default 5000. */
  fetchTimeoutMs?: number;
  /** Responses larger than this fail with `ERR_FETCH_TOO_LARGE`, in bytes. Default 1 MiB. */
  maxResponseBytes?: number;
  /** Redirects one `fetch` follows before `ERR_FETCH_TOO_MANY_REDIRECTS`. Default 5. */
  maxRedirects?: number;
  /** dns.lookup-compatible resolver (called with `all: true`). Default `dns.lookup`. */
  lookup?: LookupFunction;
  /** `fetch` calls one execution may make in all. Default 20. */
  maxFetchesPerExecution?: number;
  /** `fetch` calls of one execution in flight at once. Default 4. */
  maxConcurrentFetchesPerExecution?: number;
  /** `fetch` calls of one action's executions in flight at once, all together. Default 32. */
  maxConcurrentFetchesPerAction?: number;
  /** The clock deadlines are compared with (epoch ms). Default `Date.now`. */
  now?: () => number;
  /**
   * Where the spans of `fetch` and remote JWKS fetches go; their requests carry the trace
   * context. Default: none.
   */
  telemetry?: Telemetry;
}

interface Settings {
  jwksCooldownMs: number;
  jwksCacheMaxAgeMs: number;
  fetchTimeoutMs: number;
  maxResponseBytes: number;
  maxRedirects: number;
  lookup: LookupFunction;
  maxFetchesPerExecution: number;
  maxConcurrentFetchesPerExecution: number;
  maxConcurrentFetchesPerAction: number;
  now: () => number;
  telemetry: Telemetry;
}

/** An execution's `fetch` calls so far. */
interface FetchCount {
  total: number;
  inFlight: number;
}

/** setTimeout's largest delay; later deadlines are re-armed (in practice never reached). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The host side of every capability a sandboxed action can reach. The runner forwards each call
 * coming out of the sandbox to {@link HostCapabilities.invoke} (plain data in, plain data out) with
 * the execution's {@link CapabilityScope}. Each call is refused once the scope's signal is
 * aborted and settles by the scope's deadline whatever the underlying operation does (isolated-vm's
 * own timeout does not cover awaiting host promises). One instance serves every action: it holds
 * the imported-key and remote-JWKS caches.
 *
 * `fetch` is capped per execution (calls in all, calls at once) and per action (calls at once over
 * all its executions), so that no action can open sockets by the hundred; a request in flight when
 * its execution ends is aborted and its socket destroyed (requests never share pooled sockets).
 */
export class HostCapabilities {
  readonly #settings: Settings;
  readonly #jose: JoseHost;
  readonly #closed = new AbortController();
  /** Per execution (its scope). */
  readonly #fetches = new WeakMap<CapabilityScope, FetchCount>();
  /** Per action: fetch calls in flight. */
  readonly #actionFetches = new Map<string, number>();

  constructor(options: HostCapabilitiesOptions = {}) {
    this.#settings = parseOptions(options);
    this.#jose = new JoseHost({
      jwksCooldownMs: this.#settings.jwksCooldownMs,
      jwksCacheMaxAgeMs: this.#settings.jwksCacheMaxAgeMs,
      fetchTimeoutMs: this.#settings.fetchTimeoutMs,
      maxResponseBytes: this.#settings.maxResponseBytes,
      lookup: this.#settings.lookup,
      signal: this.#closed.signal,
      telemetry: this.#settings.telemetry,
    });
  }

  /** Resolves a JSON-copyable result or rejects with a {@link CapabilityError}. */
  invoke(scope: CapabilityScope, name: CapabilityName, args: readonly unknown[]): Promise<unknown> {
    if (this.#closed.signal.aborted || scope.signal.aborted) {
      return Promise.reject(revoked(name));
    }
    if (typeof scope.deadline !== 'number' || Number.isNaN(scope.deadline)) {
      return Promise.reject(invalidArgument('scope.deadline must be epoch milliseconds'));
    }
    if (this.#settings.now() >= scope.deadline) return Promise.reject(deadlineReached(name));
    if (!Array.isArray(args))
      return Promise.reject(invalidArgument(`${name}: arguments must be an array`));

    const call = new AbortController();
    return new Promise<unknown>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const cleanup = (): void => {
        clearTimeout(timer);
        stopWatchingScope();
        stopWatchingHost();
      };
      const fail = (err: CapabilityError): void => {
        cleanup();
        call.abort(err);
        reject(err);
      };
      const onRevoke = (): void => fail(revoked(name));
      const arm = (): void => {
        const remaining = scope.deadline - this.#settings.now();
        if (remaining <= 0) fail(deadlineReached(name));
        else timer = setTimeout(arm, Math.min(remaining, MAX_TIMER_MS));
      };
      const stopWatchingScope = whenAborted(scope.signal, onRevoke);
      const stopWatchingHost = whenAborted(this.#closed.signal, onRevoke);
      arm();

      this.#dispatch(scope, name, args, call.signal).then(
        (value) => {
          cleanup();
          resolve(value);
        },
        (err: unknown) => {
          cleanup();
          reject(toCapabilityError(err, name));
        },
      );
    });
  }

  /**
   * The answer of a call that can be given at once, inside the sandbox entry that made it: today
   * `jose.jwtVerify` with a key set whose keys are at hand (see {@link JoseHost.jwtVerifySync}).
   * `undefined` when the call needs {@link invoke}.
   * @throws CapabilityError as {@link invoke} would reject
   */
  invokeSync(
    scope: JoseScope,
    name: CapabilityName,
    args: readonly unknown[],
  ): { value: unknown } | undefined {
    if (name !== 'jose.jwtVerify' || this.#closed.signal.aborted) return undefined;
    try {
      const value = this.#jose.jwtVerifySync(scope, args);
      return value === undefined ? undefined : { value };
    } catch (err) {
      throw toCapabilityError(err, name);
    }
  }

  /** Aborts every pending call (`ERR_CAPABILITY_REVOKED`), refuses later ones, drops the caches. */
  close(): void {
    this.#closed.abort(new CapabilityError('ERR_CAPABILITY_REVOKED', 'host capabilities closed'));
    this.#jose.close();
  }

  async #dispatch(
    scope: CapabilityScope,
    name: CapabilityName,
    args: readonly unknown[],
    signal: AbortSignal,
  ): Promise<unknown> {
    switch (name) {
      case 'jose.jwtVerify':
        return this.#jose.jwtVerify(scope, args);
      case 'jose.decodeJwt':
        return this.#jose.decodeJwt(args);
      case 'jose.decodeProtectedHeader':
        return this.#jose.decodeProtectedHeader(args);
      case 'jose.checkKey':
        return this.#jose.checkKey(scope, args);
      case 'fetch':
        return this.#fetch(scope, args, signal);
      default:
        throw new CapabilityError('ERR_CAPABILITY_UNKNOWN', `unknown capability "${String(name)}"`);
    }
  }

  async #fetch(
    scope: CapabilityScope,
    args: readonly unknown[],
    signal: AbortSignal,
  ): Promise<unknown> {
    const request = parseFetchRequest(args[0], args[1]);
    const release = this.#countFetch(scope);
    try {
      return await this.#send(scope, request, signal);
    } finally {
      release();
    }
  }

  /**
   * Counts one `fetch` of `scope`'s execution against the caps, and returns what gives its place
   * back once it has settled.
   * @throws CapabilityError `ERR_FETCH_LIMIT` beyond a cap
   */
  #countFetch(scope: CapabilityScope): () => void {
    const settings = this.#settings;
    let count = this.#fetches.get(scope);
    if (count === undefined) {
      count = { total: 0, inFlight: 0 };
      this.#fetches.set(scope, count);
    }
    const actionInFlight = this.#actionFetches.get(scope.actionId) ?? 0;
    if (count.total >= settings.maxFetchesPerExecution) {
      throw fetchLimit(`at most ${settings.maxFetchesPerExecution} fetch calls per execution`);
    }
    if (count.inFlight >= settings.maxConcurrentFetchesPerExecution) {
      throw fetchLimit(
        `at most ${settings.maxConcurrentFetchesPerExecution} fetch calls of one execution at once`,
      );
    }
    if (actionInFlight >= settings.maxConcurrentFetchesPerAction) {
      throw fetchLimit(
        `at most ${settings.maxConcurrentFetchesPerAction} fetch calls of one action at once, all its executions together`,
      );
    }
    const counted = count;
    counted.total += 1;
    counted.inFlight += 1;
    this.#actionFetches.set(scope.actionId, actionInFlight + 1);
    return () => {
      counted.inFlight -= 1;
      const left = (this.#actionFetches.get(scope.actionId) ?? 1) - 1;
      if (left <= 0) this.#actionFetches.delete(scope.actionId);
      else this.#actionFetches.set(scope.actionId, left);
    };
  }

  #send(scope: CapabilityScope, request: SafeFetchRequest, signal: AbortSignal): Promise<unknown> {
    const remaining = scope.deadline - this.#settings.now();
    const deadlineBound = remaining <= this.#settings.fetchTimeoutMs;
    return observeFetch(this.#settings.telemetry, 'fetch', request, (headers) =>
      safeFetch(
        { ...request, headers },
        {
          allowedHosts: scope.allowedHosts,
          allowedPrivateNetworks: scope.allowedPrivateNetworks,
          plainHttp: 'allowed',
          timeoutMs: deadlineBound ? remaining : this.#settings.fetchTimeoutMs,
          timeoutCode: deadlineBound ? 'ERR_CAPABILITY_TIMEOUT' : 'ERR_FETCH_TIMEOUT',
          maxResponseBytes: this.#settings.maxResponseBytes,
          maxRedirects: this.#settings.maxRedirects,
          lookup: this.#settings.lookup,
          signal,
        },
      ),
    );
  }
}

/**
 * One 'abort' listener per signal, fanning out to every pending call on it: an execution (or the
 * host) may have hundreds of calls in flight, and a listener each would trip Node's
 * MaxListenersExceededWarning. Returns the function that unregisters `onAbort`.
 */
const pendingOnSignal = new WeakMap<AbortSignal, Set<() => void>>();
function whenAborted(signal: AbortSignal, onAbort: () => void): () => void {
  let pending = pendingOnSignal.get(signal);
  if (!pending) {
    const calls = new Set<() => void>();
    pending = calls;
    pendingOnSignal.set(signal, calls);
    signal.addEventListener(
      'abort',
      () => {
        for (const call of [...calls]) call();
        calls.clear();
      },
      { once: true },
    );
  }
  const calls = pending;
  calls.add(onAbort);
  return () => {
    calls.delete(onAbort);
  };
}

function revoked(name: string): CapabilityError {
  return new CapabilityError(
    'ERR_CAPABILITY_REVOKED',
    `${name} cannot be used: the action's execution has ended`,
  );
}

function fetchLimit(limit: string): CapabilityError {
  return new CapabilityError('ERR_FETCH_LIMIT', `fetch: ${limit} (a limit of the action sandbox)`);
}

function deadlineReached(name: string): CapabilityError {
  return new CapabilityError(
    'ERR_CAPABILITY_TIMEOUT',
    `${name} did not finish before the action's deadline`,
  );
}

function parseOptions(options: HostCapabilitiesOptions): Settings {
  const duration = (
    name: keyof HostCapabilitiesOptions,
    value: unknown,
    fallback: number,
  ): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new TypeError(`HostCapabilities: options.${name} must be a non-negative finite number`);
    }
    return value;
  };
  const positiveInteger = (
    name: keyof HostCapabilitiesOptions,
    value: unknown,
    fallback: number,
  ): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new TypeError(`HostCapabilities: options.${name} must be a non-negative integer`);
    }
    return value;
  };
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw new TypeError('HostCapabilities: options.now must be a function returning epoch ms');
  }
  if (options.lookup !== undefined && typeof options.lookup !== 'function') {
    throw new TypeError(
      'HostCapabilities: options.lookup must be a dns.lookup-compatible function',
    );
  }
  return {
    jwksCooldownMs: duration('jwksCooldownMs', options.jwksCooldownMs, 30_000),
    jwksCacheMaxAgeMs: duration('jwksCacheMaxAgeMs', options.jwksCacheMaxAgeMs, 600_000),
    fetchTimeoutMs: duration('fetchTimeoutMs', options.fetchTimeoutMs, 5_000),
    maxResponseBytes: positiveInteger('maxResponseBytes', options.maxResponseBytes, 1024 * 1024),
    maxRedirects: positiveInteger('maxRedirects', options.maxRedirects, 5),
    lookup: options.lookup ?? dnsLookup,
    maxFetchesPerExecution: positiveInteger(
      'maxFetchesPerExecution',
      options.maxFetchesPerExecution,
      20,
    ),
    maxConcurrentFetchesPerExecution: positiveInteger(
      'maxConcurrentFetchesPerExecution',
      options.maxConcurrentFetchesPerExecution,
      4,
    ),
    maxConcurrentFetchesPerAction: positiveInteger(
      'maxConcurrentFetchesPerAction',
      options.maxConcurrentFetchesPerAction,
      32,
    ),
    now: options.now ?? Date.now,
    telemetry: options.telemetry ?? NO_TELEMETRY,
  };
}
