import type { NextFunction, Request, Response } from 'express';
import { MemoryStore, rateLimit } from 'express-rate-limit';
import type { RateLimitRequestHandler, Store } from 'express-rate-limit';
import { OAuthError, TooManyRequests } from '../errors.js';
import type { ProfileRateLimit } from './attack-protection-options.js';

/** Settings of {@link ProfileRateLimits} (validated by the options). */
export interface ProfileRateLimitSettings {
  /** Whether profiles without a limit of their own get `windowMs`/`limit`. */
  enabled: boolean;
  windowMs: number;
  limit: number;
  /** Makes the store of one limiter; default express-rate-limit's `MemoryStore`. */
  store: ((name: string) => Store) | undefined;
  /** Told about a store that threw; returns the error to end the request with, if any. */
  onStoreError: (error: unknown) => OAuthError | undefined;
}

interface Limiter {
  limits: ProfileRateLimit;
  middleware: RateLimitRequestHandler;
  store: Store;
}

/**
 * Stores handed to a limiter, across every router of the process, so a store factory returning
 * one instance twice is caught with a clear error (express-rate-limit's own check keeps every
 * store alive in a global set; this one does not).
 */
const storesInUse = new WeakSet<object>();

/**
 * Per-profile rate limits: one express-rate-limit instance for the default limit (keys carry the
 * profile id) and one per profile with a limit of its own. Every instance is created at
 * construction or by {@link set}, never while a request is handled.
 *
 * Responses carry the IETF draft-8 `RateLimit` and `RateLimit-Policy` headers; over the limit,
 * `Retry-After` too and `429 too_many_requests` through the router's error handler.
 */
export class ProfileRateLimits {
  readonly #settings: ProfileRateLimitSettings;
  readonly #default: Limiter | undefined;
  readonly #byProfile = new Map<string, Limiter>();
  /** The key of the request being limited, read by the limiters' key generator. */
  readonly #keys = new WeakMap<Request, string>();

  constructor(settings: ProfileRateLimitSettings) {
    this.#settings = settings;
    this.#default = settings.enabled
      ? this.#create('default', { windowMs: settings.windowMs, limit: settings.limit }, true)
      : undefined;
  }

  /** The defaults a profile limit given without `windowMs` or `limit` takes them from. */
  get defaults(): ProfileRateLimit {
    return { windowMs: this.#settings.windowMs, limit: this.#settings.limit };
  }

  /** The limit a profile runs under, or `undefined` when it has none. */
  get(profileId: string): ProfileRateLimit | undefined {
    const limiter = this.#byProfile.get(profileId) ?? this.#default;
    return limiter ? { ...limiter.limits } : undefined;
  }

  /**
   * Gives `profileId` a limiter of its own (replacing any previous one and its counts), or with
   * `null` returns it to the default.
   */
  set(profileId: string, limits: ProfileRateLimit | null): void {
    const previous = this.#byProfile.get(profileId);
    if (limits === null) this.#byProfile.delete(profileId);
    else this.#byProfile.set(profileId, this.#create(profileId, limits, false));
    if (previous) void shutdown(previous.store);
  }

  /**
   * Counts the request against its profile's limit for `ipKey`, then calls `next()`, or
   * `next(error)` with `429 too_many_requests` over the limit or the store failure (fail-closed).
   */
  limit(req: Request, res: Response, next: NextFunction, profileId: string, ipKey: string): void {
    const limiter = this.#byProfile.get(profileId) ?? this.#default;
    if (!limiter) return next();
    this.#keys.set(req, `${profileId}:${ipKey}`);
    const done = (err?: unknown): void => {
      if (err === undefined || err instanceof OAuthError) return next(err);
      const failure = this.#settings.onStoreError(err);
      return failure ? next(failure) : next();
    };
    void limiter.middleware(req, res, done as NextFunction);
  }

  /** Shuts down the stores this object made. */
  async close(): Promise<void> {
    const limiters = [...this.#byProfile.values(), ...(this.#default ? [this.#default] : [])];
    this.#byProfile.clear();
    await Promise.all(limiters.map((limiter) => shutdown(limiter.store)));
  }

  #create(name: string, limits: ProfileRateLimit, atConstruction: boolean): Limiter {
    const store = this.#settings.store ? this.#settings.store(name) : new MemoryStore();
    if (typeof store !== 'object' || store === null || typeof store.increment !== 'function') {
      throw new TypeError(
        `customTokenExchange: options.attackProtection.profileRateLimit.store must return an express-rate-limit Store (got ${typeof store} for ${name})`,
      );
    }
    if (storesInUse.has(store)) {
      throw new TypeError(
        'customTokenExchange: options.attackProtection.profileRateLimit.store must return a new Store for each limiter (it returned one already in use)',
      );
    }
    storesInUse.add(store);
    const middleware = rateLimit({
      windowMs: limits.windowMs,
      limit: limits.limit,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      requestPropertyName: 'cteRateLimit',
      store,
      keyGenerator: (request) => this.#keyOf(request),
      handler: (_request, _response, next) => {
        next(
          new TooManyRequests(`rate limit of ${name} (${limits.limit} per ${limits.windowMs} ms)`),
        );
      },
      // Store errors go to onStoreError instead (fail-closed or fail-open, and the log).
      passOnStoreError: false,
      validate: {
        // Replaced by the WeakSet check above, which does not keep every store alive.
        unsharedStore: false,
        // A limit set through the handle may come from an admin route: the limiter is made
        // there once and kept, which is exactly what this check wants, but it cannot tell.
        creationStack: atConstruction,
      },
    });
    return { limits: { ...limits }, middleware, store };
  }

  #keyOf(request: Request): string {
    const key = this.#keys.get(request);
    if (key === undefined) throw new Error('profile rate limit used outside the token endpoint');
    return key;
  }
}

/** Stops a store's timers; a store failing to shut down has nothing left to protect. */
async function shutdown(store: Store): Promise<void> {
  try {
    await store.shutdown?.();
  } catch {
    // Nothing to do: the limiter is no longer used.
  }
}
