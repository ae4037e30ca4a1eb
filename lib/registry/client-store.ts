import { ServerError, TemporarilyUnavailable } from '../errors.js';
import { checkKnownKeys, checkObject, checkOptionalInteger } from '../definition-checks.js';
import type { Client, ClientDefinition } from './clients.js';

/**
 * Turns what the store answered into a client, or throws a TypeError naming what is wrong: the
 * registry's validation of a definition (the same as for `options.clients`) and its checks.
 */
export type ClientParser = (definition: unknown) => Client;

/**
 * The host's own registry of applications, read one client at a time: what `options.clients`
 * takes instead of an array when the clients live in the host's database. `get` answers the
 * client's definition with the fields of `options.clients` (Auth0's), validated as those are, or
 * `undefined` when there is no such client. The router caches what it answers (see
 * {@link ClientCacheOptions}); a store need not cache.
 */
export interface ClientStore {
  get(clientId: string): Promise<ClientDefinition | undefined>;

  /**
   * Resolves when the store can answer calls and rejects when it cannot (its server is
   * unreachable): `cte.health()` reports the store `up` or `down`. Optional: a store without it
   * is reported `unknown`.
   */
  ping?(): Promise<void>;
}

/** How the router caches what a {@link ClientStore} answers (`options.clientCache`). */
export interface ClientCacheOptions {
  /** How long a client is used before it is read again, in ms. 0–86400000, default 60000. */
  ttlMs?: number;
  /**
   * How long a client id the store does not know (or whose definition is invalid) is answered
   * from the cache, in ms, so requests naming it do not reach the store each time.
   * 0–86400000, default 10000.
   */
  negativeTtlMs?: number;
  /** Clients cached at most; the least recently used go first. 1–1000000, default 10000. */
  maxEntries?: number;
  /** Unknown client ids cached at most, apart from the clients. 1–1000000, default 10000. */
  maxNegativeEntries?: number;
  /**
   * Store reads in flight at most. Beyond it a request needing a read is refused at once with
   * `503 temporarily_unavailable` (`Retry-After: 1`), so a flood of client ids nobody has
   * (each one a read) cannot take the store's capacity. 1–10000, default 32.
   */
  maxReadsInFlight?: number;
}

/** The cache's configuration, defaults applied. */
export type ClientCacheConfig = Required<ClientCacheOptions>;

const DAY_MS = 86_400_000;

/** Validates `options.clientCache`; a mistake throws a TypeError naming the path. */
export function parseClientCacheOptions(input: unknown, path: string): ClientCacheConfig {
  const options = input === undefined ? {} : checkObject(input, path);
  checkKnownKeys(
    options,
    ['ttlMs', 'negativeTtlMs', 'maxEntries', 'maxNegativeEntries', 'maxReadsInFlight'],
    path,
  );
  const integer = (name: keyof ClientCacheOptions, fallback: number, min: number, max: number) =>
    checkOptionalInteger(options[name], `${path}.${name}`, fallback, { min, max });
  return {
    ttlMs: integer('ttlMs', 60_000, 0, DAY_MS),
    negativeTtlMs: integer('negativeTtlMs', 10_000, 0, DAY_MS),
    maxEntries: integer('maxEntries', 10_000, 1, 1_000_000),
    maxNegativeEntries: integer('maxNegativeEntries', 10_000, 1, 1_000_000),
    maxReadsInFlight: integer('maxReadsInFlight', 32, 1, 10_000),
  };
}

/** Whether `value` is a {@link ClientStore} rather than an array of definitions. */
export function isClientStore(value: unknown): value is ClientStore {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as { get?: unknown }).get === 'function'
  );
}

interface Entry {
  readonly client: Client;
  /** The definition as the store answered it, to keep the same record while it is unchanged. */
  readonly json: string;
  readonly expiresAt: number;
}

/** A client id the store did not know, or answered with an invalid definition (`problem`). */
interface Miss {
  readonly problem: string | undefined;
  readonly expiresAt: number;
}

/** The longest client id a definition may have: longer ids are unknown without a read. */
const MAX_CLIENT_ID_LENGTH = 128;

/**
 * The clients of a {@link ClientStore}, cached: a client is read once per `ttlMs` (its record is
 * kept while its definition is unchanged, so what hangs off it, such as the check of a hashed
 * secret that already matched, is kept too), an id the store does not know is remembered for
 * `negativeTtlMs` apart from the clients (a flood of random ids cannot push real clients out),
 * concurrent requests for one id share one read, and reads in flight are bounded. A definition
 * is validated as `options.clients` are; an invalid one answers `500 server_error` with the
 * reason in the log, and a store that fails answers `503 temporarily_unavailable`.
 */
export class ClientCache {
  readonly #store: ClientStore;
  readonly #config: ClientCacheConfig;
  readonly #parse: ClientParser;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  readonly #misses = new Map<string, Miss>();
  readonly #reading = new Map<string, Promise<Client | undefined>>();

  constructor(
    store: ClientStore,
    config: ClientCacheConfig,
    parse: ClientParser,
    now: () => number = Date.now,
  ) {
    this.#store = store;
    this.#config = config;
    this.#parse = parse;
    this.#now = now;
  }

  /** The client, at once when it is cached, else once the store answered. */
  find(clientId: string): Client | undefined | Promise<Client | undefined> {
    if (
      typeof clientId !== 'string' ||
      clientId === '' ||
      clientId.length > MAX_CLIENT_ID_LENGTH ||
      hasControlCharacter(clientId)
    ) {
      return undefined;
    }
    const now = this.#now();
    const entry = this.#entries.get(clientId);
    if (entry !== undefined && entry.expiresAt > now) {
      // Most recently used last, so the map's first entry is the one to evict.
      this.#entries.delete(clientId);
      this.#entries.set(clientId, entry);
      return entry.client;
    }
    const miss = this.#misses.get(clientId);
    if (miss !== undefined && miss.expiresAt > now) {
      if (miss.problem !== undefined) throw invalidClient(clientId, miss.problem);
      return undefined;
    }
    return this.#reading.get(clientId) ?? this.#read(clientId, entry);
  }

  /** Forgets `clientId` (or every client), so the next request reads the store again. */
  invalidate(clientId?: string): void {
    if (clientId === undefined) {
      this.#entries.clear();
      this.#misses.clear();
      this.#reading.clear();
      return;
    }
    this.#entries.delete(clientId);
    this.#misses.delete(clientId);
    this.#reading.delete(clientId);
  }

  #read(clientId: string, previous: Entry | undefined): Promise<Client | undefined> {
    if (this.#reading.size >= this.#config.maxReadsInFlight) {
      throw new TemporarilyUnavailable(
        1,
        `${this.#reading.size} client store reads in flight, the most clientCache.maxReadsInFlight allows`,
      );
    }
    let answer: Promise<ClientDefinition | undefined>;
    try {
      answer = Promise.resolve(this.#store.get(clientId));
    } catch (error) {
      answer = Promise.reject(error as Error);
    }
    const reading: Promise<Client | undefined> = answer
      .then(
        (definition) => {
          // Invalidated while it was read: answer, but leave the cache to the next read.
          const current = this.#reading.get(clientId) === reading;
          return this.#accept(clientId, definition, previous, current);
        },
        (error: unknown) => {
          throw new TemporarilyUnavailable(5, `the client store failed: ${describe(error)}`);
        },
      )
      .finally(() => {
        if (this.#reading.get(clientId) === reading) this.#reading.delete(clientId);
      });
    this.#reading.set(clientId, reading);
    return reading;
  }

  #accept(
    clientId: string,
    definition: ClientDefinition | undefined,
    previous: Entry | undefined,
    cache: boolean,
  ): Client | undefined {
    const now = this.#now();
    if (definition === undefined || definition === null) {
      if (cache)
        this.#remember(
          this.#misses,
          clientId,
          { problem: undefined, expiresAt: now + this.#config.negativeTtlMs },
          this.#config.maxNegativeEntries,
        );
      this.#entries.delete(clientId);
      return undefined;
    }
    let client: Client;
    let json: string;
    try {
      json = JSON.stringify(definition);
      if (previous !== undefined && previous.json === json) {
        client = previous.client;
      } else {
        client = this.#parse(definition);
        if (client.client_id !== clientId) {
          throw new TypeError(`client.client_id is ${JSON.stringify(client.client_id)}`);
        }
      }
    } catch (error) {
      const problem = describe(error).replace(/^customTokenExchange: /, '');
      if (cache)
        this.#remember(
          this.#misses,
          clientId,
          { problem, expiresAt: now + this.#config.negativeTtlMs },
          this.#config.maxNegativeEntries,
        );
      this.#entries.delete(clientId);
      throw invalidClient(clientId, problem);
    }
    if (cache) {
      this.#misses.delete(clientId);
      this.#remember(
        this.#entries,
        clientId,
        { client, json, expiresAt: now + this.#config.ttlMs },
        this.#config.maxEntries,
      );
    }
    return client;
  }

  #remember<T>(map: Map<string, T>, clientId: string, value: T, max: number): void {
    map.delete(clientId);
    map.set(clientId, value);
    while (map.size > max) map.delete(map.keys().next().value as string);
  }
}

function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

function invalidClient(clientId: string, problem: string): ServerError {
  return new ServerError(
    `the client store answered an invalid definition for client ${JSON.stringify(clientId)}: ${problem}`,
  );
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
