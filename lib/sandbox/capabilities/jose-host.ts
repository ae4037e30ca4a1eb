import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  decodeProtectedHeader,
  importJWK,
  importSPKI,
  jwtVerify,
} from 'jose';
import type { CryptoKey, JWTVerifyGetKey } from 'jose';
import type { LookupFunction } from 'node:net';
import { BoundedLru } from './bounded-lru.js';
import { CapabilityError, invalidArgument } from './capability-error.js';
import { contentHash, isRecord, parseKeyDescriptor } from './key-descriptor.js';
import type { KeyDescriptor } from './key-descriptor.js';
import { parseFetchRequest } from './fetch-request.js';
import { safeFetch } from './safe-fetch.js';
import { hostMatches } from './host-allow-list.js';
import { observeFetch } from '../../observability/fetch-observation.js';
import type { Telemetry } from '../../observability/telemetry.js';
import { SyncKeySet, verifyJwtSync } from './sync-jwt-verify.js';
import { checkTokenSize, defaultAlgorithms, parseVerifyOptions } from './jwt-verify-options.js';

/** The part of a capability scope the JWT facade needs. */
export interface JoseScope {
  actionId: string;
  allowedHosts: readonly string[];
  allowedPrivateNetworks: readonly string[];
}

/** Settings of {@link JoseHost}; {@link HostCapabilities} fills them from its options. */
export interface JoseHostSettings {
  jwksCooldownMs: number;
  jwksCacheMaxAgeMs: number;
  fetchTimeoutMs: number;
  maxResponseBytes: number;
  lookup: LookupFunction;
  /** Aborted by `close()`: in-flight JWKS fetches stop. */
  signal: AbortSignal;
  /** Where the JWKS fetches' spans go; their requests carry the trace context. */
  telemetry: Telemetry;
}

/** Imported keys are small (a CryptoKey or an HMAC secret). */
const MAX_CACHED_KEYS = 512;
/** A local key set keeps a copy of its JWKS (up to the descriptor cap): fewer of those. */
const MAX_CACHED_LOCAL_SETS = 64;
/** Each remote set holds at most one JWKS of {@link MAX_JWKS_BYTES}: 16 MiB in all at worst. */
const MAX_REMOTE_SETS = 128;
/** A JWKS response larger than this is refused (real ones are a few kB, x5c chains included). */
export const MAX_JWKS_BYTES = 128 * 1024;
/** A remote JWKS never stays cached longer than a day, whatever the action asks. */
const MAX_JWKS_CACHE_AGE_MS = 24 * 60 * 60 * 1000;
/** After a failed JWKS fetch, further fetches of that set wait this long (at most the cooldown). */
const MAX_JWKS_FAILURE_BACKOFF_MS = 5000;

type VerificationKey = CryptoKey | Uint8Array | JWTVerifyGetKey;

/** jose's remote set, with the getters its function carries. */
type RemoteJwks = ReturnType<typeof createRemoteJWKSet>;

interface RemoteSetEntry {
  getKey: RemoteJwks;
  /** Fetches of this set started so far: a new one may bring other keys. */
  fetches: number;
  /** The keys of the JWKS jose holds, for {@link verifyJwtSync}, and the fetch they came from. */
  sync?: { fetches: number; keys: SyncKeySet };
}

/**
 * The host half of the sandbox's `jose` facade: jose's real `jwtVerify`, `decodeJwt` and
 * `decodeProtectedHeader` on data copied out of the sandbox. Imported keys and local key sets
 * are built once per distinct content (an LRU keyed by a SHA-256 of the descriptor). Remote key
 * sets are jose `createRemoteJWKSet`s kept per (action, URL, network policy, options), so jose's
 * cooldown spans executions, and they fetch through {@link safeFetch} under the action's
 * allow-list and address rules. jose never follows `jku`, `x5u` or an embedded `jwk`, and neither
 * does this facade.
 */
export class JoseHost {
  readonly #settings: JoseHostSettings;
  readonly #keys = new BoundedLru<string, Promise<VerificationKey>>(MAX_CACHED_KEYS);
  readonly #localSets = new BoundedLru<string, Promise<VerificationKey>>(MAX_CACHED_LOCAL_SETS);
  readonly #remoteSets = new BoundedLru<string, RemoteSetEntry>(MAX_REMOTE_SETS);
  /** The keys of local sets jose has accepted, by the same content hash as {@link #localSets}. */
  readonly #syncLocalSets = new BoundedLru<string, SyncKeySet>(MAX_CACHED_LOCAL_SETS);

  constructor(settings: JoseHostSettings) {
    this.#settings = settings;
  }

  /** `jwtVerify(token, key, options)` → `{ payload, protectedHeader }`. */
  async jwtVerify(scope: JoseScope, args: readonly unknown[]): Promise<unknown> {
    const [token, keyInput, optionsInput] = args;
    checkTokenSize(token);
    const descriptor = parseKeyDescriptor(keyInput);
    const options = parseVerifyOptions(optionsInput, defaultAlgorithms(descriptor));
    const key = await this.#resolveKey(scope, descriptor);
    // jwtVerify's overloads differ only in the key's type; the union is what it accepts.
    const result = await jwtVerify(token as string, key as CryptoKey, options);
    return { payload: result.payload, protectedHeader: result.protectedHeader };
  }

  /**
   * `jwtVerify` answered without waiting, when the key set's keys are at hand (a remote set jose
   * holds fresh, or a local set jose has accepted): see {@link verifyJwtSync}. `undefined` when it
   * cannot say yes by itself; then {@link jwtVerify} decides.
   */
  jwtVerifySync(scope: JoseScope, args: readonly unknown[]): unknown {
    const [token, keyInput, optionsInput] = args;
    checkTokenSize(token);
    const descriptor = parseKeyDescriptor(keyInput);
    const options = parseVerifyOptions(optionsInput, defaultAlgorithms(descriptor));
    const keys = this.#syncKeys(scope, descriptor);
    return keys === undefined ? undefined : verifyJwtSync(token as string, keys, options);
  }

  /** `decodeJwt(token)`: the claims, unverified. */
  decodeJwt(args: readonly unknown[]): unknown {
    checkTokenSize(args[0]);
    return decodeJwt(args[0] as string);
  }

  /** `decodeProtectedHeader(token)`: the header, unverified. */
  decodeProtectedHeader(args: readonly unknown[]): unknown {
    checkTokenSize(args[0]);
    return decodeProtectedHeader(args[0] as string);
  }

  /**
   * Lets the guest's `importJWK` / `importSPKI` / `createLocalJWKSet` / `createRemoteJWKSet` fail
   * early, with jose's error: imports the key (and caches it), or checks a remote URL against the
   * allow-list without fetching it.
   */
  async checkKey(scope: JoseScope, args: readonly unknown[]): Promise<{ ok: true }> {
    const descriptor = parseKeyDescriptor(args[0]);
    if (descriptor.kind === 'remote-jwks') this.#remoteUrl(scope, descriptor.url);
    else await this.#resolveKey(scope, descriptor);
    return { ok: true };
  }

  close(): void {
    this.#keys.clear();
    this.#localSets.clear();
    this.#syncLocalSets.clear();
    this.#remoteSets.clear();
  }

  #syncKeys(scope: JoseScope, descriptor: KeyDescriptor): SyncKeySet | undefined {
    if (descriptor.kind === 'local-jwks') return this.#syncLocalSets.get(contentHash(descriptor));
    if (descriptor.kind !== 'remote-jwks') return undefined;
    const entry = this.#remoteSet(scope, descriptor);
    const { getKey } = entry;
    // Stale or being fetched again: jose decides whether (and when) to fetch.
    if (!getKey.fresh || getKey.reloading) return undefined;
    if (entry.sync?.fetches !== entry.fetches) {
      const jwks = getKey.jwks();
      if (jwks === undefined) return undefined;
      entry.sync = { fetches: entry.fetches, keys: new SyncKeySet(jwks.keys) };
    }
    return entry.sync.keys;
  }

  #resolveKey(scope: JoseScope, descriptor: KeyDescriptor): Promise<VerificationKey> {
    if (descriptor.kind === 'remote-jwks') {
      return Promise.resolve(this.#remoteSet(scope, descriptor).getKey);
    }
    const cache = descriptor.kind === 'local-jwks' ? this.#localSets : this.#keys;
    const id = contentHash(descriptor);
    const cached = cache.get(id);
    if (cached) return cached;
    const pending = importKey(descriptor);
    cache.set(id, pending);
    pending.then(
      () => {
        if (descriptor.kind === 'local-jwks') {
          this.#syncLocalSets.set(id, new SyncKeySet(descriptor.jwks.keys));
        }
      },
      // A descriptor that does not import is not kept (the caller gets the rejection).
      () => {
        if (cache.get(id) === pending) cache.delete(id);
      },
    );
    return pending;
  }

  #remoteUrl(scope: JoseScope, text: string): URL {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new CapabilityError('ERR_FETCH_INVALID_URL', 'remote JWKS: the URL is not valid');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new CapabilityError('ERR_FETCH_INVALID_URL', 'remote JWKS: the URL must use https:');
    }
    if (url.username !== '' || url.password !== '') {
      throw new CapabilityError('ERR_FETCH_INVALID_URL', 'remote JWKS: the URL has credentials');
    }
    if (!hostMatches(url, scope.allowedHosts)) {
      const hostPort = url.port === '' ? url.hostname : `${url.hostname}:${url.port}`;
      throw new CapabilityError(
        'ERR_FETCH_HOST_NOT_ALLOWED',
        `remote JWKS: ${hostPort} is not in the action's allowed_hosts`,
      );
    }
    return url;
  }

  #remoteSet(
    scope: JoseScope,
    descriptor: Extract<KeyDescriptor, { kind: 'remote-jwks' }>,
  ): RemoteSetEntry {
    const settings = this.#settings;
    const requested = descriptor.options ?? {};
    // The action may lengthen the cooldown, never shorten it: it is what keeps random `kid`s
    // from turning each exchange into a JWKS fetch.
    const cooldownDuration = Math.max(
      requested.cooldownDuration ?? settings.jwksCooldownMs,
      settings.jwksCooldownMs,
    );
    const cacheMaxAge = Math.min(
      Math.max(requested.cacheMaxAge ?? settings.jwksCacheMaxAgeMs, cooldownDuration),
      MAX_JWKS_CACHE_AGE_MS,
    );
    const timeoutDuration = Math.floor(
      Math.min(requested.timeoutDuration ?? settings.fetchTimeoutMs, settings.fetchTimeoutMs),
    );
    // Built on every verification (the scope's part once per scope): plain text (no part holds a NUL: ids, a URL, host names, CIDRs
    // and numbers), hashed only when long (a URL may be 64 kB).
    const key = [
      scopeKey(scope),
      descriptor.url,
      cooldownDuration,
      cacheMaxAge,
      timeoutDuration,
    ].join('\u0000');
    const id = key.length <= 2048 ? key : contentHash(key);
    const cached = this.#remoteSets.get(id);
    if (cached) return cached;
    // A set is made only for a URL the action may reach; the key holds the allow-list it passed.
    const url = this.#remoteUrl(scope, descriptor.url);

    const policy = {
      allowedHosts: [...scope.allowedHosts],
      allowedPrivateNetworks: [...scope.allowedPrivateNetworks],
    };
    const failureBackoffMs = Math.min(cooldownDuration, MAX_JWKS_FAILURE_BACKOFF_MS);
    let lastFailureAt = Number.NEGATIVE_INFINITY;
    const fetchJwks = async (
      href: string,
      init: { headers: Headers; signal: AbortSignal },
    ): Promise<Response> => {
      if (Date.now() - lastFailureAt < failureBackoffMs) {
        throw new CapabilityError(
          'ERR_JWKS_UNAVAILABLE',
          `remote JWKS: the last fetch of ${url.origin} failed; retrying after ${failureBackoffMs} ms`,
          { name: 'JWKSUnavailable' },
        );
      }
      entry.fetches += 1;
      const headers: Array<[string, string]> = [];
      init.headers.forEach((value, name) => {
        if (name === 'accept' || name === 'user-agent') headers.push([name, value]);
      });
      try {
        const request = parseFetchRequest(href, { method: 'GET', headers, redirect: 'manual' });
        const response = await observeFetch(settings.telemetry, 'jwks', request, (traced) =>
          safeFetch(
            { ...request, headers: traced },
            {
              ...policy,
              plainHttp: 'private-networks-only',
              timeoutMs: timeoutDuration,
              timeoutCode: 'ERR_FETCH_TIMEOUT',
              maxResponseBytes: Math.min(settings.maxResponseBytes, MAX_JWKS_BYTES),
              maxRedirects: 0,
              lookup: settings.lookup,
              signal: AbortSignal.any([init.signal, settings.signal]),
            },
          ),
        );
        if (response.status !== 200 || !isJwksBody(response.body)) lastFailureAt = Date.now();
        return new Response(NULL_BODY_STATUSES.has(response.status) ? null : response.body, {
          status: response.status,
          headers: response.headers,
        });
      } catch (err) {
        lastFailureAt = Date.now();
        // jose turns a `TimeoutError` into its own JWKSTimeout (ERR_JWKS_TIMEOUT).
        if (err instanceof CapabilityError && err.code === 'ERR_FETCH_TIMEOUT') {
          throw new DOMException(err.message, 'TimeoutError');
        }
        throw err;
      }
    };
    const entry: RemoteSetEntry = {
      getKey: createRemoteJWKSet(url, {
        cooldownDuration,
        cacheMaxAge,
        timeoutDuration,
        [customFetch]: fetchJwks,
      }),
      fetches: 0,
    };
    this.#remoteSets.set(id, entry);
    return entry;
  }
}

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

async function importKey(descriptor: Exclude<KeyDescriptor, { kind: 'remote-jwks' }>) {
  switch (descriptor.kind) {
    case 'local-jwks':
      return createLocalJWKSet(descriptor.jwks as Parameters<typeof createLocalJWKSet>[0]);
    case 'secret':
      return new Uint8Array(Buffer.from(descriptor.base64url, 'base64url'));
    case 'spki':
      return importSPKI(descriptor.pem, descriptor.alg);
    case 'jwk': {
      const key = await importJWK(descriptor.jwk, descriptor.alg);
      if (!(key instanceof Uint8Array) && key.type === 'private') {
        throw invalidArgument('the JWK is a private key; verification needs the public key');
      }
      return key;
    }
  }
}

function isJwksBody(body: string): boolean {
  try {
    const parsed: unknown = JSON.parse(body);
    return isRecord(parsed) && Array.isArray(parsed.keys);
  } catch {
    return false;
  }
}

/** The part of a remote set's cache key that is the scope's, made once per scope object. */
const scopeKeys = new WeakMap<JoseScope, string>();

function scopeKey(scope: JoseScope): string {
  let key = scopeKeys.get(scope);
  if (key === undefined) {
    key = [
      scope.actionId,
      scope.allowedHosts.join(' '),
      scope.allowedPrivateNetworks.join(' '),
    ].join('\u0000');
    scopeKeys.set(scope, key);
  }
  return key;
}
