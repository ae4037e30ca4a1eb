/**
 * The host's `users` table behind the router's `UserStore` interface: a user the exchange creates
 * becomes a row of the host's table (with the host's own `usr_…` id), and a user the host already
 * has is found through the identities it linked.
 *
 * The table has columns for `email`, `email_verified` and `name` only: other profile attributes
 * an action sets are not kept, as a real schema would not keep them either.
 */
import type {
  NewConnectionUser,
  User,
  UserProfile,
  UserStore,
  UserUpdate,
} from '../../lib/index.js';
import type { HostUser, HostUsers } from './host-db.js';

export class HostUserStore implements UserStore {
  readonly #users: HostUsers;

  constructor(users: HostUsers) {
    this.#users = users;
  }

  getById(userId: string): User | undefined {
    const row = this.#users.rows.get(userId);
    return row && toRouterUser(row);
  }

  getByIdentity(connection: string, connectionUserId: string): User | undefined {
    const row = this.#users.findByIdentity(connection, connectionUserId);
    return row && toRouterUser(row);
  }

  create(user: NewConnectionUser): User {
    const now = new Date();
    const row: HostUser = {
      id: this.#users.nextId(),
      ...profileColumns(user.profile),
      passwordHash: null,
      blocked: false,
      identities: [{ connection: user.connection, externalId: user.connection_user_id }],
      appMetadata: mergeMetadata({}, user.app_metadata),
      userMetadata: mergeMetadata({}, user.user_metadata),
      loginCount: 0,
      createdAt: now,
      updatedAt: now,
    };
    this.#users.insert(row); // throws if the identity is taken: the router then fails closed
    return toRouterUser(row);
  }

  update(userId: string, update: UserUpdate): User {
    const row = this.#users.rows.get(userId);
    if (row === undefined) throw new Error(`no user ${userId}`);
    if (update.profile !== undefined) Object.assign(row, profileColumns(update.profile));
    row.appMetadata = mergeMetadata(row.appMetadata, update.app_metadata);
    row.userMetadata = mergeMetadata(row.userMetadata, update.user_metadata);
    if (update.recordLogin === true) row.loginCount += 1;
    row.updatedAt = new Date();
    return toRouterUser(row);
  }
}

/** A fresh object every time: nothing the router does to it reaches the table. */
function toRouterUser(row: HostUser): User {
  const user: User = {
    user_id: row.id,
    email_verified: row.emailVerified,
    identities: row.identities.map((identity) => ({
      connection: identity.connection,
      user_id: identity.externalId,
      provider: identity.connection,
      isSocial: false,
    })),
    app_metadata: structuredClone(row.appMetadata),
    user_metadata: structuredClone(row.userMetadata),
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
    logins_count: row.loginCount,
  };
  if (row.email !== null) user.email = row.email;
  if (row.name !== null) user.name = row.name;
  if (row.blocked) user.blocked = true;
  return user;
}

/** The profile as the table's columns; a field the profile lacks clears its column. */
function profileColumns(profile: UserProfile): Pick<HostUser, 'email' | 'emailVerified' | 'name'> {
  return {
    email: profile.email ?? null,
    emailVerified: profile.email_verified ?? false,
    name: profile.name ?? null,
  };
}

/** The UserStore contract: metadata is merged and a `null` value removes its key. */
function mergeMetadata(
  current: Record<string, unknown>,
  changes: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const merged = structuredClone(current);
  for (const [key, value] of Object.entries(changes ?? {})) {
    if (value === null) delete merged[key];
    else if (value !== undefined) {
      Object.defineProperty(merged, key, {
        value: structuredClone(value),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  return merged;
}
