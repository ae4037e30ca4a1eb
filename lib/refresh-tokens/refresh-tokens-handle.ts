import type { RefreshTokenFamily } from '../stores/refresh-token-store.js';
import { familyEndsAt } from '../stores/refresh-token-store.js';

/** A refresh token family as the `refreshTokens` handle shows it; never a token. */
export interface RefreshTokenFamilySummary {
  family_id: string;
  client_id: string;
  user_id: string;
  audience: string;
  scope: string[];
  /** The organization the family was issued in; absent without one. */
  organization_id?: string;
  rotating: boolean;
  /** ISO 8601, like every date below. */
  created_at: string;
  last_used_at: string;
  /** Absolute end; `null` without one. */
  expires_at: string | null;
  /** When the family ends if it is not used again; `null` without an idle lifetime. */
  idle_expires_at: string | null;
  revoked_at: string | null;
  /** Not revoked and not ended: a token of it can still be redeemed. */
  active: boolean;
}

/**
 * The router's `refreshTokens` handle. Revoking always ends a whole family (the grant): with
 * rotation, a token just retired could otherwise still be redeemed within the leeway.
 */
export interface RefreshTokensHandle {
  /**
   * Revokes the family of `token` (as a user's "log out" would). Resolves `true` when an active
   * family was revoked, `false` when the token is unknown or its family was revoked already.
   */
  revoke(token: string): Promise<boolean>;
  /** Revokes a family by its `family_id` (from `listForUser` or a log entry's details). */
  revokeFamily(familyId: string): Promise<boolean>;
  /**
   * Revokes every family of a user ("log out everywhere"), or only those of one client. Resolves
   * how many families were revoked.
   */
  revokeForUser(userId: string, filter?: { client_id?: string }): Promise<number>;
  /** The user's families the store still holds, revoked and ended ones included. */
  listForUser(userId: string): Promise<RefreshTokenFamilySummary[]>;
}

/** Only what the handle is meant to offer, so `cte.refreshTokens` cannot issue or redeem. */
export function refreshTokensHandle(service: RefreshTokensHandle): RefreshTokensHandle {
  return Object.freeze({
    revoke: (token: string) => service.revoke(token),
    revokeFamily: (familyId: string) => service.revokeFamily(familyId),
    revokeForUser: (userId: string, filter?: { client_id?: string }) =>
      service.revokeForUser(userId, filter),
    listForUser: (userId: string) => service.listForUser(userId),
  });
}

/** A family as the handle shows it at `now`: dates in ISO 8601, no token, whether it is active. */
export function summarizeFamily(
  family: RefreshTokenFamily,
  now: number,
): RefreshTokenFamilySummary {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    family_id: family.family_id,
    client_id: family.client_id,
    user_id: family.user_id,
    audience: family.audience,
    scope: [...family.scope],
    ...(family.organization_id === undefined ? {} : { organization_id: family.organization_id }),
    rotating: family.rotating,
    created_at: iso(family.created_at)!,
    last_used_at: iso(family.last_used_at)!,
    expires_at: iso(family.expires_at),
    idle_expires_at: iso(
      family.idle_lifetime === null ? null : family.last_used_at + family.idle_lifetime * 1000,
    ),
    revoked_at: iso(family.revoked_at),
    active: family.revoked_at === null && familyEndsAt(family) > now,
  };
}
