import { InvalidRequest, ServerError, UserBlocked } from '../errors.js';
import { PROFILE_FIELDS } from './user-store.js';
import type { User, UserProfile, UserStore, UserUpdate } from './user-store.js';
import type { UserAttributes, UserDecision } from './user-selection.js';

/**
 * Attributes that identify a user to the connection; `replace` may not change them (Auth0). Given
 * with the stored value they are accepted; absent they are kept.
 */
export const IMMUTABLE_ATTRIBUTES = [
  'email',
  'email_verified',
  'phone_number',
  'phone_verified',
  'username',
] as const satisfies ReadonlyArray<keyof UserProfile>;

/**
 * Finds (or creates) the user an action selected, applies the profile change its options ask for,
 * its metadata, and one login, then returns the user as stored.
 *
 * - `setUserById`: the user must exist (`400 invalid_request` "user does not exist").
 * - `setUserByConnection`: looked up by `(connection, attributes.user_id)`. Missing: `none` is
 *   `400 invalid_request` "user does not exist", `create_if_not_exists` creates it from the
 *   attributes with `email_verified`/`phone_verified` defaulting to `false`. Existing: `replace`
 *   makes the profile exactly the attributes given, except that {@link IMMUTABLE_ATTRIBUTES} are
 *   kept when absent and fail closed (`500 server_error`, the attribute named in the private
 *   cause) when given with another value; `none` leaves the profile alone.
 * - Either way a blocked user is `401 unauthorized` "user is blocked".
 *
 * Metadata (`null` removes a key) and `recordLogin` go through a single `store.update`, so a store
 * over a database writes once per exchange.
 *
 * @throws OAuthError as above; errors of the store propagate (the router answers `server_error`)
 */
export async function resolveUser(store: UserStore, outcome: UserDecision): Promise<User> {
  const { selection } = outcome;
  let user: User;
  /** Whether `setUserByConnection` found an existing user, whose profile its options may change. */
  let existing = false;
  if (selection.type === 'id') {
    const found = await store.getById(selection.user_id);
    if (found === undefined) {
      throw new InvalidRequest('user does not exist', {
        privateCause: `setUserById: no user with user_id ${JSON.stringify(selection.user_id)}`,
      });
    }
    user = found;
  } else {
    const { connection, attributes, options } = selection;
    const found = await store.getByIdentity(connection, attributes.user_id);
    if (found !== undefined) {
      user = found;
      existing = true;
    } else if (options.creationBehavior === 'none') {
      throw new InvalidRequest('user does not exist', {
        privateCause: `setUserByConnection: no user at ${where(selection)} and creationBehavior is none`,
      });
    } else {
      const created = await createOrFind(store, connection, attributes);
      user = created.user;
      // Another exchange created it meanwhile: it is now an existing user like any other.
      existing = !created.created;
    }
  }
  // Before any profile check: a blocked user gets the same answer whatever the action passed.
  if (user.blocked === true) {
    throw new UserBlocked(user.user_id);
  }
  const profile =
    existing && selection.type === 'connection'
      ? updatedProfile(
          user,
          selection.attributes,
          selection.options.updateBehavior,
          where(selection),
        )
      : undefined;
  const update: UserUpdate = { recordLogin: true };
  if (profile !== undefined) update.profile = profile;
  if (Object.keys(outcome.app_metadata).length > 0) update.app_metadata = outcome.app_metadata;
  if (Object.keys(outcome.user_metadata).length > 0) update.user_metadata = outcome.user_metadata;
  return store.update(user.user_id, update);
}

async function createOrFind(
  store: UserStore,
  connection: string,
  attributes: UserAttributes,
): Promise<{ user: User; created: boolean }> {
  const profile = profileFromAttributes(attributes);
  profile.email_verified ??= false;
  profile.phone_verified ??= false;
  try {
    return {
      user: await store.create({ connection, connection_user_id: attributes.user_id, profile }),
      created: true,
    };
  } catch (err) {
    // Two first exchanges of one new user race to create it; the loser uses the winner's user.
    const existing = await store.getByIdentity(connection, attributes.user_id);
    if (existing === undefined) throw err;
    return { user: existing, created: false };
  }
}

/** The profile `replace` stores, or `undefined` for `none` (nothing to write). */
function updatedProfile(
  user: User,
  attributes: UserAttributes,
  updateBehavior: 'replace' | 'none',
  where: string,
): UserProfile | undefined {
  if (updateBehavior === 'none') return undefined;
  const profile = profileFromAttributes(attributes);
  for (const key of IMMUTABLE_ATTRIBUTES) {
    if (attributes[key] === undefined) {
      if (user[key] !== undefined) setProfileField(profile, key, user[key]);
    } else if (attributes[key] !== user[key]) {
      throw new ServerError(
        `setUserByConnection with updateBehavior replace may not change ${key} of the existing user (${where})`,
      );
    }
  }
  return profile;
}

function profileFromAttributes(attributes: UserAttributes): UserProfile {
  const profile: UserProfile = {};
  for (const key of PROFILE_FIELDS) {
    if (attributes[key] !== undefined) setProfileField(profile, key, attributes[key]);
  }
  return profile;
}

function setProfileField<K extends keyof UserProfile>(
  profile: UserProfile,
  key: K,
  value: UserProfile[K],
): void {
  profile[key] = value;
}

function where(selection: { connection: string; attributes: UserAttributes }): string {
  return `connection ${JSON.stringify(selection.connection)}, user_id ${JSON.stringify(selection.attributes.user_id)}`;
}
