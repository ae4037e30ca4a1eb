import type { ProfileRegistry } from '../profiles/profile-registry.js';
import type { Profile, ProfileDefinition, ProfilePatch } from '../profiles/profile.js';
import type { ManagementHandle } from './management-handle.js';

/**
 * Token exchange profiles (`cte.profiles`), with the rules and messages of Auth0's
 * `/api/v2/token-exchange-profiles`: `create` rejects with `invalid_body`, `action_not_deployed`,
 * `limit_exceeded` or `conflict` (the `subject_token_type` is taken); only `name`,
 * `subject_token_type`, `max_token_length` and `enforce_may_act` change after creation.
 */
export type ProfilesHandle = ManagementHandle<Profile, ProfileDefinition, ProfilePatch>;

/** The `profiles` handle over the router's registry: its management methods only. */
export function profilesHandle(registry: ProfileRegistry): ProfilesHandle {
  return Object.freeze({
    create: (definition: ProfileDefinition) => registry.create(definition),
    get: (id: string) => registry.get(id),
    list: () => registry.list(),
    update: (id: string, patch: ProfilePatch) => registry.update(id, patch),
    delete: (id: string) => registry.delete(id),
  });
}
