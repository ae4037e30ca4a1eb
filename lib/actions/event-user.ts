import { PROFILE_FIELDS } from '../users/user-store.js';
import type { User } from '../users/user-store.js';
import type { ActorTokenUser } from '../sandbox/action-types.js';
import { copyPlain } from '../plain-copy.js';

/**
 * A user as actions see it (`event.transaction.actor_token_user`, the post-exchange `event.user`):
 * Auth0's user fields, with nothing that only the router needs (`blocked`, `logins_count`).
 * Plain data sharing nothing with `user`, so it can be frozen or copied into the sandbox.
 */
export function toEventUser(user: User): ActorTokenUser {
  const eventUser: ActorTokenUser = {
    user_id: user.user_id,
    app_metadata: copyPlain(user.app_metadata ?? {}),
    user_metadata: copyPlain(user.user_metadata ?? {}),
    identities: (user.identities ?? []).map((identity) => ({
      connection: identity.connection,
      user_id: identity.user_id,
      provider: identity.provider,
      isSocial: identity.isSocial,
    })),
    created_at: user.created_at,
    updated_at: user.updated_at,
  };
  for (const field of PROFILE_FIELDS) {
    const value = user[field];
    if (value !== undefined) (eventUser as unknown as Record<string, unknown>)[field] = value;
  }
  return eventUser;
}
