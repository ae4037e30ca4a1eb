/**
 * One grant of refresh tokens: the first token issued by an exchange and every token rotation
 * produced from it (RFC 9700 §4.14.2 "token family"). What a token may do is decided here, at the
 * family level: the client, user, API and scope it is bound to, its lifetimes, whether it was
 * revoked. All times are milliseconds since the epoch.
 */
export interface RefreshTokenFamily {
  /** `rtf_…`; not a credential (it cannot be redeemed), safe to log and show. */
  readonly family_id: string;
  readonly client_id: string;
  readonly user_id: string;
  /** The API identifier every access token of the family is for. */
  readonly audience: string;
  /** The scope granted at issuance; it never changes (RFC 6749 §6). */
  readonly scope: readonly string[];
  /**
   * When the user was authenticated, in seconds since the epoch: the token exchange that started
   * the family. Every ID token of the family carries it as `auth_time`. A family stored without
   * it (by an older version) uses `created_at`.
   */
  readonly auth_time?: number;
  /**
   * The JWK SHA-256 thumbprint of the DPoP key the family is bound to (RFC 9449 §5: a public
   * client's refresh tokens): each redemption needs a DPoP proof signed with that key. Absent:
   * not bound.
   */
  readonly dpop_jkt?: string;
  /**
   * The organization of the exchange that started the family: every token refreshed from it is
   * issued in that organization, once the user is found still a member.
   */
  readonly organization_id?: string;
  /** The client's `rotation_type` when the family was issued. */
  readonly rotating: boolean;
  /** The client's `leeway` when the family was issued, in seconds. */
  readonly leeway: number;
  readonly created_at: number;
  /** Absolute end of the family; `null`: no absolute lifetime. */
  readonly expires_at: number | null;
  /** Idle lifetime in seconds; `null`: none. The family ends at `last_used_at` + this. */
  readonly idle_lifetime: number | null;
  /** The last redemption (or the issuance): where the idle lifetime counts from. */
  readonly last_used_at: number;
  /**
   * The generation of the tokens that may be redeemed now. A rotation issues the next
   * generation; a token of an older generation is reuse (except the previous generation within
   * the leeway).
   */
  readonly generation: number;
  /** When the current generation began (the last rotation); `null` before the first. */
  readonly rotated_at: number | null;
  /** When the family was revoked; `null` while it is not. */
  readonly revoked_at: number | null;
  /**
   * Changes with every write; {@link RefreshTokenStore.compareAndSet} only writes over the
   * revision it was given, which is what makes a rotation atomic.
   */
  readonly revision: number;
}

/** One issued refresh token. The token itself is never stored: only its hash. */
export interface RefreshTokenRecord {
  /** SHA-256 of the token, base64url: the key the token is found by. */
  readonly token_hash: string;
  readonly family_id: string;
  /** The family generation the token belongs to. */
  readonly generation: number;
  readonly created_at: number;
}

/** A token and its family, as {@link RefreshTokenStore.find} answers them. */
export interface StoredRefreshToken {
  readonly token: RefreshTokenRecord;
  readonly family: RefreshTokenFamily;
}

/** The fields of a family a redemption changes. */
export interface RefreshTokenFamilyUpdate {
  readonly last_used_at: number;
  readonly generation?: number;
  readonly rotated_at?: number;
}

/**
 * Where the router keeps the refresh tokens it issued: families, and the hashes of their tokens.
 *
 * Implement it over a store every instance of the router shares (a database with a families
 * table and a tokens table; Redis with a Lua script or `WATCH`/`MULTI` for the compare-and-set):
 * a store kept per process means a token issued by one instance is unknown to the others, which
 * then hand it to the host. `MemoryRefreshTokenStore` is the single-process default.
 *
 * Methods never throw for a missing token or family; they answer `undefined` or `false`.
 *
 * A store may forget a family once it ended (see {@link familyEndsAt}), and may forget a revoked
 * family earlier to make room: its tokens are then unknown, so the router hands them to the host
 * instead of refusing them itself. The router keeps each user's live families per client bounded
 * (`maxRefreshTokensPerUserAndClient`), revoking the oldest.
 */
export interface RefreshTokenStore {
  /**
   * The token with this hash and its family, or `undefined` when the store does not know it.
   * `familyId` is the family the token names (a token carries its family's id), so a store may
   * keep a family's tokens with the family and look there only (Redis Cluster: one hash slot per
   * family); a token found in another family is unknown. A store indexing tokens by hash alone
   * may ignore it.
   */
  find(tokenHash: string, familyId: string): Promise<StoredRefreshToken | undefined>;

  /** Stores a new family with its first token (generation 0). */
  create(family: RefreshTokenFamily, token: RefreshTokenRecord): Promise<void>;

  /**
   * Atomic compare-and-set, the heart of rotation: when the family's `revision` is still
   * `expectedRevision` and it is not revoked, applies `update`, gives the family a new revision,
   * adds `successor` (when given) to the family, and resolves `true`. Otherwise it changes
   * nothing and resolves `false`.
   *
   * Two concurrent calls with the same `expectedRevision` must never both resolve `true`, also
   * when they reach different router instances: that is what lets exactly one of two concurrent
   * redemptions of one token succeed.
   */
  compareAndSet(
    familyId: string,
    expectedRevision: number,
    update: RefreshTokenFamilyUpdate,
    successor?: RefreshTokenRecord,
  ): Promise<boolean>;

  /**
   * Marks the family revoked at `revokedAt` and gives it a new revision (so a compare-and-set in
   * flight fails). Resolves `true` when the family existed and was not revoked yet.
   */
  revokeFamily(familyId: string, revokedAt: number): Promise<boolean>;

  /**
   * Every family of the user the store still holds, revoked ones included, in the order they
   * were created (families created in the same millisecond are told apart by this order: the
   * router revokes a user's oldest families first when they hold too many).
   */
  listFamilies(userId: string): Promise<RefreshTokenFamily[]>;

  /**
   * Resolves when the store can answer calls and rejects when it cannot (its server is
   * unreachable): `cte.health()` reports the store `up` or `down`. Optional: a store without it
   * is reported `unknown`.
   */
  ping?(): Promise<void>;
}

/**
 * When a family can no longer produce a token: its absolute end or its idle end, whichever comes
 * first (`Infinity` when it has neither). A store may forget a family, and its tokens, after it.
 */
export function familyEndsAt(family: RefreshTokenFamily): number {
  const idleEnd =
    family.idle_lifetime === null ? Infinity : family.last_used_at + family.idle_lifetime * 1000;
  return Math.min(family.expires_at ?? Infinity, idleEnd);
}

/** The family's `auth_time` in seconds: as stored, or its creation for a family stored without. */
export function familyAuthTime(family: RefreshTokenFamily): number {
  return family.auth_time ?? Math.floor(family.created_at / 1000);
}
