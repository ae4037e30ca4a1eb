import type {
  RefreshTokenFamily,
  RefreshTokenRecord,
} from '../../lib/stores/refresh-token-store.js';

/** A rotating family of alice's with the app, created at `createdAt`: an hour, 10 min idle. */
export function testFamily(
  id: string,
  createdAt: number,
  fields: Partial<RefreshTokenFamily> = {},
): RefreshTokenFamily {
  return {
    family_id: id,
    client_id: 'app',
    user_id: 'auth0|alice',
    audience: 'https://api.example.com/',
    scope: ['openid', 'offline_access'],
    rotating: true,
    leeway: 0,
    created_at: createdAt,
    expires_at: createdAt + 3_600_000,
    idle_lifetime: 600,
    last_used_at: createdAt,
    generation: 0,
    rotated_at: null,
    revoked_at: null,
    revision: 0,
    ...fields,
  };
}

/** A token of `familyId`'s `generation`. */
export function testToken(
  hash: string,
  familyId: string,
  createdAt: number,
  generation = 0,
): RefreshTokenRecord {
  return { token_hash: hash, family_id: familyId, generation, created_at: createdAt };
}
