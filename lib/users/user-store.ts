/** Profile attributes a user carries (Auth0's normalized user profile fields). */
export interface UserProfile {
  email?: string;
  email_verified?: boolean;
  username?: string;
  phone_number?: string;
  phone_verified?: boolean;
  name?: string;
  given_name?: string;
  family_name?: string;
  nickname?: string;
  picture?: string;
}

/** The text fields of {@link UserProfile}. */
export const PROFILE_TEXT_FIELDS = [
  'email',
  'username',
  'phone_number',
  'name',
  'given_name',
  'family_name',
  'nickname',
  'picture',
] as const satisfies ReadonlyArray<keyof UserProfile>;

/** The boolean fields of {@link UserProfile}. */
export const PROFILE_BOOLEAN_FIELDS = [
  'email_verified',
  'phone_verified',
] as const satisfies ReadonlyArray<keyof UserProfile>;

/** Every field of {@link UserProfile}: the text ones, then the booleans. */
export const PROFILE_FIELDS = [...PROFILE_TEXT_FIELDS, ...PROFILE_BOOLEAN_FIELDS] as const;

/** One identity of a user at a connection (Auth0's `identities[]`). */
export interface UserIdentity {
  connection: string;
  /** The user's id within the connection. */
  user_id: string;
  provider: string;
  isSocial: boolean;
}

/** A user as the router reads and writes it. */
export interface User extends UserProfile {
  /** The id `setUserById` accepts and the `sub` of issued tokens. */
  user_id: string;
  blocked?: boolean;
  identities: UserIdentity[];
  app_metadata: Record<string, unknown>;
  user_metadata: Record<string, unknown>;
  created_at: string;
  updated_at: string;
  logins_count?: number;
}

/** What the router asks a store to create for `setUserByConnection` with `create_if_not_exists`. */
export interface NewConnectionUser {
  connection: string;
  /** The user's id within the connection (`attributes.user_id`). */
  connection_user_id: string;
  profile: UserProfile;
  app_metadata?: Record<string, unknown>;
  user_metadata?: Record<string, unknown>;
}

/** A change to a user: `profile` replaces the whole profile when present; metadata is merged. */
export interface UserUpdate {
  profile?: UserProfile;
  /** Merged; a `null` value removes the key. */
  app_metadata?: Record<string, unknown>;
  /** Merged; a `null` value removes the key. */
  user_metadata?: Record<string, unknown>;
  /** Adds one to `logins_count` and refreshes `updated_at`. */
  recordLogin?: boolean;
}

/**
 * The router's view of the host's user database. Implement it over your own table, or use
 * `MemoryUserStore`. Methods may be async; none of them may throw for a missing user (they
 * resolve `undefined`), so the router can answer with the right OAuth error.
 */
export interface UserStore {
  getById(userId: string): Promise<User | undefined> | User | undefined;
  getByIdentity(
    connection: string,
    connectionUserId: string,
  ): Promise<User | undefined> | User | undefined;
  /**
   * Creates a user with one identity. The store decides `user_id`; the default convention is
   * `{connection}|{connection_user_id}`.
   */
  create(user: NewConnectionUser): Promise<User> | User;
  /** Applies `update` and returns the user as stored afterwards. */
  update(userId: string, update: UserUpdate): Promise<User> | User;

  /**
   * Resolves when the store can answer calls and rejects when it cannot (its server is
   * unreachable): `cte.health()` reports the store `up` or `down`. Optional: a store without it
   * is reported `unknown`.
   */
  ping?(): Promise<void>;
}
