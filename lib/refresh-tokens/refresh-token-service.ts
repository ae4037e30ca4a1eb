import { InvalidRefreshToken, TemporarilyUnavailable } from '../errors.js';
import type { Client } from '../registry/clients.js';
import type {
  RefreshTokenFamily,
  RefreshTokenFamilyUpdate,
  RefreshTokenStore,
  StoredRefreshToken,
} from '../stores/refresh-token-store.js';
import { familyEndsAt } from '../stores/refresh-token-store.js';
import {
  hashRefreshToken,
  newFamilyId,
  newRefreshToken,
  readRefreshToken,
} from './opaque-refresh-token.js';
import { summarizeFamily } from './refresh-tokens-handle.js';
import type { RefreshTokenFamilySummary, RefreshTokensHandle } from './refresh-tokens-handle.js';

/** What a new family is bound to. */
export interface IssueRefreshTokenParams {
  /** The client the token is issued to; its `refresh_token` settings apply to the family. */
  client: Client;
  userId: string;
  /** The API identifier. */
  audience: string;
  /** The granted scope, `offline_access` included; it never changes. */
  scope: readonly string[];
  /** When the exchange authenticated the user, in seconds since the epoch (`auth_time`). */
  authTime: number;
  /** Binds the family to this DPoP key thumbprint (a public client's tokens, RFC 9449 section 5). */
  dpopJkt?: string | undefined;
  /** The organization the exchange was made in (`org_id`). */
  organizationId?: string | undefined;
}

/** A refresh token just issued. */
export interface IssuedRefreshToken {
  /** The opaque token for the response; nowhere else. */
  token: string;
  familyId: string;
  /**
   * Set when the new family took its user past the live families allowed per user and client:
   * the oldest were revoked to make room.
   */
  cleanup?: RefreshTokenCleanup;
}

/** Families revoked because a user held more live ones with one client than allowed. */
export interface RefreshTokenCleanup {
  /**
   * Live families of the user with the client before the cleanup: the new one and those issued
   * before it.
   */
  live: number;
  /** The families revoked, oldest first. */
  revoked: RefreshTokenFamily[];
}

/** A redemption that went through. */
export interface RefreshTokenRedemption {
  /** The family as it is now. */
  family: RefreshTokenFamily;
  /** The successor token when the family rotates; `undefined` for a non-rotating one. */
  refreshToken: string | undefined;
}

/** Options of {@link RefreshTokenService}. */
export interface RefreshTokenServiceOptions {
  store: RefreshTokenStore;
  /**
   * Live families (not revoked, not ended) one user may hold with one client; issuing one more
   * revokes the user's oldest with that client. Default
   * {@link DEFAULT_MAX_REFRESH_TOKENS_PER_USER_AND_CLIENT}.
   */
  maxFamiliesPerUserAndClient?: number;
  /** Clock in milliseconds since the epoch; default `Date.now`. */
  now?: () => number;
}

/**
 * Default {@link RefreshTokenServiceOptions.maxFamiliesPerUserAndClient}: Auth0's limit of
 * active refresh tokens per user and application.
 */
export const DEFAULT_MAX_REFRESH_TOKENS_PER_USER_AND_CLIENT = 200;

/** Rounds of compare-and-set a redemption tries before answering `503` (only under contention). */
const MAX_ATTEMPTS = 5;

type Assessment = 'current' | 'leeway';

/**
 * Issues, redeems and revokes the router's refresh tokens over a
 * {@link RefreshTokenStore}. Redemption is two calls so the caller can check the request between
 * them: {@link inspect} refuses a token that cannot be used (and revokes its family on reuse),
 * {@link redeem} commits the redemption atomically.
 */
export class RefreshTokenService implements RefreshTokensHandle {
  readonly #store: RefreshTokenStore;
  readonly #maxFamilies: number;
  readonly #now: () => number;

  constructor({
    store,
    maxFamiliesPerUserAndClient = DEFAULT_MAX_REFRESH_TOKENS_PER_USER_AND_CLIENT,
    now = () => Date.now(),
  }: RefreshTokenServiceOptions) {
    this.#store = store;
    this.#maxFamilies = maxFamiliesPerUserAndClient;
    this.#now = now;
  }

  /** Whether the store knows `token` (routing: only such a refresh request is ours). */
  async knows(token: string): Promise<boolean> {
    return (await this.#find(token)) !== undefined;
  }

  /**
   * Starts a family bound to the client, user, API and scope, with the client's settings. When
   * the user then holds more live families with the client than allowed, the oldest are revoked
   * (one user exchanging in a loop only ends their own sessions, and storage stays bounded).
   */
  async issue({
    client,
    userId,
    audience,
    scope,
    authTime,
    dpopJkt,
    organizationId,
  }: IssueRefreshTokenParams): Promise<IssuedRefreshToken> {
    const settings = client.refresh_token;
    const now = this.#now();
    const familyId = newFamilyId();
    const token = newRefreshToken(familyId);
    const family: RefreshTokenFamily = {
      family_id: familyId,
      client_id: client.client_id,
      user_id: userId,
      audience,
      scope: [...scope],
      auth_time: authTime,
      ...(dpopJkt === undefined ? {} : { dpop_jkt: dpopJkt }),
      ...(organizationId === undefined ? {} : { organization_id: organizationId }),
      rotating: settings.rotation_type === 'rotating',
      leeway: settings.leeway,
      created_at: now,
      expires_at: settings.infinite_token_lifetime ? null : now + settings.token_lifetime * 1000,
      idle_lifetime: settings.infinite_idle_token_lifetime ? null : settings.idle_token_lifetime,
      last_used_at: now,
      generation: 0,
      rotated_at: null,
      revoked_at: null,
      revision: 0,
    };
    await this.#store.create(family, {
      token_hash: hashRefreshToken(token),
      family_id: family.family_id,
      generation: 0,
      created_at: now,
    });
    const cleanup = await this.#revokeExcess(family, now);
    return cleanup === undefined
      ? { token, familyId: family.family_id }
      : { token, familyId: family.family_id, cleanup };
  }

  /**
   * The token and its family, when `clientId` may redeem it now. Otherwise `400 invalid_grant`:
   * unknown, issued to another client, revoked, past its absolute or idle lifetime, or a rotated
   * token presented again outside the leeway, which first revokes the whole family
   * (RFC 9700 section 4.14.2).
   */
  async inspect(token: string, clientId: string): Promise<StoredRefreshToken> {
    const stored = await this.#find(token);
    if (!stored)
      throw new InvalidRefreshToken('the refresh token is not known (ended or forgotten)');
    if (stored.family.client_id !== clientId) {
      // Not reuse: whoever holds the token cannot use it with this client, so nothing is revoked.
      throw new InvalidRefreshToken(
        `the refresh token was issued to client ${JSON.stringify(stored.family.client_id)}`,
      );
    }
    await this.#assess(stored, this.#now());
    return stored;
  }

  /**
   * Commits the redemption of an inspected token: with rotation, retires it and issues the next
   * generation; without, records the use (the idle lifetime counts from it). The write is a
   * compare-and-set on the family's revision: when another redemption got there first the token
   * is assessed again, so of two concurrent redemptions with leeway 0 exactly one succeeds and the
   * other is reuse (the family is revoked).
   */
  async redeem(inspected: StoredRefreshToken): Promise<RefreshTokenRedemption> {
    let stored = inspected;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      const now = this.#now();
      const assessment = await this.#assess(stored, now);
      const { family, token } = stored;
      const rotate = family.rotating && assessment === 'current';
      const update: RefreshTokenFamilyUpdate = rotate
        ? { last_used_at: now, generation: family.generation + 1, rotated_at: now }
        : { last_used_at: now };
      // Within the leeway the retired token gets a sibling of the current generation.
      const successor = family.rotating ? newRefreshToken(family.family_id) : undefined;
      const written = await this.#store.compareAndSet(
        family.family_id,
        family.revision,
        update,
        successor === undefined
          ? undefined
          : {
              token_hash: hashRefreshToken(successor),
              family_id: family.family_id,
              generation: update.generation ?? family.generation,
              created_at: now,
            },
      );
      if (written) {
        return {
          family: { ...family, ...update, revision: family.revision + 1 },
          refreshToken: successor,
        };
      }
      const fresh = await this.#store.find(token.token_hash, family.family_id);
      if (!fresh)
        throw new InvalidRefreshToken('the refresh token was forgotten while it was redeemed');
      stored = fresh;
    }
    throw new TemporarilyUnavailable(
      1,
      `refresh token family ${stored.family.family_id} changed ${MAX_ATTEMPTS} times during one redemption`,
    );
  }

  /** {@inheritDoc RefreshTokensHandle.revoke} */
  async revoke(token: string): Promise<boolean> {
    const stored = await this.#find(token);
    if (!stored) return false;
    return this.#store.revokeFamily(stored.family.family_id, this.#now());
  }

  /**
   * RFC 7009 for `clientId`: revokes the family of `token` when it was issued to that client.
   * Resolves the family it revoked, or `undefined` (unknown, another client's, revoked already).
   */
  async revokeForClient(token: string, clientId: string): Promise<RefreshTokenFamily | undefined> {
    const stored = await this.#find(token);
    if (!stored || stored.family.client_id !== clientId) return undefined;
    const revoked = await this.#store.revokeFamily(stored.family.family_id, this.#now());
    return revoked ? stored.family : undefined;
  }

  /** {@inheritDoc RefreshTokensHandle.revokeFamily} */
  revokeFamily(familyId: string): Promise<boolean> {
    if (typeof familyId !== 'string' || familyId === '') {
      return Promise.reject(new TypeError('refreshTokens.revokeFamily: familyId must be a string'));
    }
    return this.#store.revokeFamily(familyId, this.#now());
  }

  /** {@inheritDoc RefreshTokensHandle.revokeForUser} */
  async revokeForUser(userId: string, filter: { client_id?: string } = {}): Promise<number> {
    if (typeof userId !== 'string' || userId === '') {
      throw new TypeError('refreshTokens.revokeForUser: userId must be a string');
    }
    const now = this.#now();
    let revoked = 0;
    for (const family of await this.#store.listFamilies(userId)) {
      if (filter.client_id !== undefined && family.client_id !== filter.client_id) continue;
      if (family.revoked_at === null && (await this.#store.revokeFamily(family.family_id, now))) {
        revoked += 1;
      }
    }
    return revoked;
  }

  /** {@inheritDoc RefreshTokensHandle.listForUser} */
  async listForUser(userId: string): Promise<RefreshTokenFamilySummary[]> {
    const now = this.#now();
    const families = await this.#store.listFamilies(userId);
    return families
      .sort((a, b) => a.created_at - b.created_at)
      .map((family) => summarizeFamily(family, now));
  }

  /** The stored token and family of `token`; `undefined` when it is not of the router's shape. */
  #find(token: unknown): Promise<StoredRefreshToken | undefined> {
    const key = readRefreshToken(token);
    return key === undefined
      ? Promise.resolve(undefined)
      : this.#store.find(key.hash, key.familyId);
  }

  /**
   * Revokes the oldest live families of `issued`'s user and client beyond the limit. Only the
   * families issued before `issued` count and may be revoked (by creation time; within one
   * millisecond, by the store's listing order): concurrent issuances then never revoke each
   * other's new family, and together leave the newest families live.
   */
  async #revokeExcess(
    issued: RefreshTokenFamily,
    now: number,
  ): Promise<RefreshTokenCleanup | undefined> {
    const families = await this.#store.listFamilies(issued.user_id);
    const position = families.findIndex((family) => family.family_id === issued.family_id);
    const earlier = families
      .filter(
        (family, i) =>
          family.client_id === issued.client_id &&
          family.revoked_at === null &&
          familyEndsAt(family) > now &&
          (family.created_at < issued.created_at ||
            (family.created_at === issued.created_at && i < position)),
      )
      // Stable: families created in one millisecond keep the store's order.
      .sort((a, b) => a.created_at - b.created_at);
    const live = earlier.length + 1;
    if (live <= this.#maxFamilies) return undefined;
    const revoked: RefreshTokenFamily[] = [];
    for (const family of earlier.slice(0, live - this.#maxFamilies)) {
      if (await this.#store.revokeFamily(family.family_id, now)) revoked.push(family);
    }
    return revoked.length === 0 ? undefined : { live, revoked };
  }

  /** Resolves how the token may be used, or throws `invalid_grant` (revoking on reuse). */
  async #assess(stored: StoredRefreshToken, now: number): Promise<Assessment> {
    const verdict = judge(stored, now);
    if (typeof verdict === 'string') return verdict;
    const { family } = stored;
    if (!verdict.reuse) throw new InvalidRefreshToken(verdict.reason);
    await this.#store.revokeFamily(family.family_id, now);
    throw new InvalidRefreshToken(
      `${verdict.reason}: refresh token family ${family.family_id} of user ` +
        `${JSON.stringify(family.user_id)} revoked`,
    );
  }

  /**
   * The token and its family when the token could be redeemed now (RFC 7662 `active`), for
   * introspection: unlike {@link inspect}, it changes nothing, not even on reuse.
   */
  async findActive(token: string): Promise<StoredRefreshToken | undefined> {
    const stored = await this.#find(token);
    if (stored === undefined) return undefined;
    return typeof judge(stored, this.#now()) === 'string' ? stored : undefined;
  }
}

/**
 * How a token may be used at `now`, or why it may not (and whether that is the reuse of a rotated
 * token, which revokes the family when it is redeemed). Decides nothing and writes nothing.
 */
function judge(
  { token, family }: StoredRefreshToken,
  now: number,
): Assessment | { reason: string; reuse: boolean } {
  const name = `refresh token family ${family.family_id}`;
  if (family.revoked_at !== null) return { reason: `${name} was revoked`, reuse: false };
  if (family.expires_at !== null && now >= family.expires_at) {
    return { reason: `${name} reached its absolute lifetime (token_lifetime)`, reuse: false };
  }
  if (family.idle_lifetime !== null && now >= family.last_used_at + family.idle_lifetime * 1000) {
    return { reason: `${name} was idle past its idle_token_lifetime`, reuse: false };
  }
  if (token.generation === family.generation) return 'current';
  const previous = token.generation === family.generation - 1;
  if (
    previous &&
    family.leeway > 0 &&
    family.rotated_at !== null &&
    now <= family.rotated_at + family.leeway * 1000
  ) {
    return 'leeway';
  }
  return {
    reason:
      `reuse of a rotated refresh token (generation ${token.generation}, current ` +
      `${family.generation}${previous ? ', outside the leeway' : ''})`,
    reuse: true,
  };
}
