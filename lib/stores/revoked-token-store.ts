import { StoreFullError } from './store-full-error.js';

/**
 * Remembers the access tokens the router issued and then revoked (RFC 7009), by `jti`, until they
 * expire: introspection answers `active: false` for them. Unlike a {@link ReplayStore}, whose
 * check is also its write, a revoked `jti` is looked up many times without being recorded.
 *
 * Implement it over a store every instance of the router shares (Redis `SET key 1 EXAT exp` and
 * `EXISTS key`, a database table keyed by jti with an expiry column, ...): a store kept per
 * process means a token revoked through one instance is still active at the others.
 * `MemoryRevokedTokenStore` is the single-process default.
 *
 * @see ReplayStore
 */
export interface RevokedTokenStore {
  /**
   * Records `jti` as revoked until `expiresAtSeconds` (a Unix time in seconds: the token's
   * `exp`, after which the token is refused anyway and the store may forget it). Revoking a jti
   * again keeps the later expiry. A store that cannot record it (full, unreachable) must reject:
   * the router then answers `503`, and the client retries, rather than being told the token is
   * revoked when it is not. Reject with an error carrying `retryAfterSeconds` (such as
   * {@link RevokedTokenStoreFullError}) for a `Retry-After` other than 1 second.
   */
  revoke(jti: string, expiresAtSeconds: number): Promise<void>;

  /** Whether `jti` was revoked and its expiry has not passed. Writes nothing. */
  isRevoked(jti: string): Promise<boolean>;

  /**
   * Resolves when the store can answer calls and rejects when it cannot (its server is
   * unreachable): `cte.health()` reports the store `up` or `down`. Optional: a store without it
   * is reported `unknown`.
   */
  ping?(): Promise<void>;
}

/**
 * Thrown by a {@link RevokedTokenStore} that is full of unexpired entries and so cannot record a
 * new revocation. The router turns it into `503 temporarily_unavailable` with `Retry-After`.
 */
export class RevokedTokenStoreFullError extends StoreFullError {}
