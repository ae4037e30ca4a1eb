import { expect } from 'chai';
import type {
  RefreshTokenFamily,
  RefreshTokenRecord,
  RefreshTokenStore,
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

/**
 * Rotates family `familyId` of `store`, created with its generation-0 token, `generations` times
 * at `now()`: generation n's token is `g<n>`. Fails the test when a write does not land.
 */
export async function rotateFamily(
  store: RefreshTokenStore,
  familyId: string,
  generations: number,
  token: (hash: string, familyId: string, generation: number) => RefreshTokenRecord,
  now: () => number,
): Promise<void> {
  for (let generation = 1; generation <= generations; generation += 1) {
    const update = { last_used_at: now(), generation, rotated_at: now() };
    const successor = token(`g${generation}`, familyId, generation);
    expect(await store.compareAndSet(familyId, generation - 1, update, successor)).to.equal(true);
  }
}
