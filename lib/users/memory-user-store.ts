import type {
  NewConnectionUser,
  User,
  UserIdentity,
  UserProfile,
  UserStore,
  UserUpdate,
} from './user-store.js';
import { PROFILE_BOOLEAN_FIELDS, PROFILE_FIELDS, PROFILE_TEXT_FIELDS } from './user-store.js';
import { copyPlain } from '../plain-copy.js';

/** A user given to {@link MemoryUserStore}: only `user_id` is required. */
export interface SeedUser extends UserProfile {
  /** Required: the id `setUserById` accepts and the `sub` of issued tokens. */
  user_id: string;
  /** Default `false`; stored users carry `blocked: true` only while blocked. */
  blocked?: boolean;
  /** Default `[]`. `provider` defaults to the connection, `isSocial` to `false`. */
  identities?: Array<Pick<UserIdentity, 'connection' | 'user_id'> & Partial<UserIdentity>>;
  /** Default `{}`. */
  app_metadata?: Record<string, unknown>;
  /** Default `{}`. */
  user_metadata?: Record<string, unknown>;
  /** ISO 8601; default now. */
  created_at?: string;
  /** ISO 8601; default `created_at`. */
  updated_at?: string;
  /** Default 0. */
  logins_count?: number;
}

/** Options of {@link MemoryUserStore}. */
export interface MemoryUserStoreOptions {
  /** The clock for `created_at`/`updated_at`, in ms since the epoch. Default `Date.now`. */
  now?: () => number;
}

const SEED_KEYS: ReadonlySet<string> = new Set([
  ...PROFILE_FIELDS,
  'user_id',
  'blocked',
  'identities',
  'app_metadata',
  'user_metadata',
  'created_at',
  'updated_at',
  'logins_count',
]);

/**
 * A {@link UserStore} in memory: the router's default when no `users` option is given, and the
 * store of tests and demos. Lookups by id and by (connection, connection user id) are O(1); every
 * read returns a deep copy, so callers cannot change the store by mutating what they got.
 * State is lost on restart and not shared between processes.
 */
export class MemoryUserStore implements UserStore {
  readonly #users = new Map<string, User>();
  /** connection → connection user id → user_id. */
  readonly #identities = new Map<string, Map<string, string>>();
  readonly #now: () => number;

  /**
   * @param users - users to start with, validated like {@link MemoryUserStore.add}
   * @throws TypeError naming the path of the first invalid field, e.g. `users[1].identities[0].connection`
   */
  constructor(users: Iterable<SeedUser> = [], options: MemoryUserStoreOptions = {}) {
    this.#now = options.now ?? Date.now;
    let index = 0;
    for (const user of users) {
      const path = `users[${index++}]`;
      this.#insert(parseSeedUser(user, path, this.#nowIso()), path);
    }
  }

  /** Always resolves: memory is always reachable. */
  ping(): Promise<void> {
    return Promise.resolve();
  }

  /** The user with this `user_id`, or `undefined`. */
  getById(userId: string): User | undefined {
    const user = this.#users.get(userId);
    return user === undefined ? undefined : copyPlain(user);
  }

  /** The user holding the identity `connectionUserId` at `connection`, or `undefined`. */
  getByIdentity(connection: string, connectionUserId: string): User | undefined {
    const userId = this.#identities.get(connection)?.get(connectionUserId);
    return userId === undefined ? undefined : this.getById(userId);
  }

  /**
   * Creates `{connection}|{connection_user_id}` with one identity at `connection`, no logins yet.
   * Metadata `null` values are dropped, as in an update.
   * @throws Error when the identity or the user id is taken
   */
  create(user: NewConnectionUser): User {
    const connection = requireText(user.connection, 'user.connection');
    const connectionUserId = requireText(user.connection_user_id, 'user.connection_user_id');
    const now = this.#nowIso();
    const created: User = {
      user_id: `${connection}|${connectionUserId}`,
      ...copyProfile(user.profile),
      identities: [
        { connection, user_id: connectionUserId, provider: connection, isSocial: false },
      ],
      app_metadata: mergeMetadata({}, user.app_metadata),
      user_metadata: mergeMetadata({}, user.user_metadata),
      created_at: now,
      updated_at: now,
      logins_count: 0,
    };
    this.#insert(created);
    return copyPlain(created);
  }

  /**
   * Applies `update`: `profile` replaces every profile field, metadata is merged with `null`
   * removing a key, `recordLogin` adds one login; `updated_at` becomes now.
   * @throws Error when there is no such user
   */
  update(userId: string, update: UserUpdate): User {
    const user = this.#require(userId);
    if (update.profile !== undefined) {
      for (const key of PROFILE_FIELDS) delete user[key];
      Object.assign(user, copyProfile(update.profile));
    }
    user.app_metadata = mergeMetadata(user.app_metadata, update.app_metadata);
    user.user_metadata = mergeMetadata(user.user_metadata, update.user_metadata);
    if (update.recordLogin === true) user.logins_count = (user.logins_count ?? 0) + 1;
    user.updated_at = this.#nowIso();
    return copyPlain(user);
  }

  /**
   * Adds one user, with the defaults of {@link SeedUser}.
   * @throws TypeError naming the invalid field (`user.email`) or the taken id or identity
   */
  add(user: SeedUser): User {
    const parsed = parseSeedUser(user, 'user', this.#nowIso());
    this.#insert(parsed, 'user');
    return copyPlain(parsed);
  }

  /** Every user, in insertion order, as copies. */
  list(): User[] {
    return [...this.#users.values()].map((user) => copyPlain(user));
  }

  /** Removes a user and its identities; `false` when there was none. */
  delete(userId: string): boolean {
    const user = this.#users.get(userId);
    if (user === undefined) return false;
    for (const identity of user.identities) {
      this.#identities.get(identity.connection)?.delete(identity.user_id);
    }
    return this.#users.delete(userId);
  }

  /**
   * Blocks or unblocks a user; a blocked user cannot be selected by an action.
   * @throws Error when there is no such user
   */
  setBlocked(userId: string, blocked: boolean): User {
    const user = this.#require(userId);
    if (blocked) user.blocked = true;
    else delete user.blocked;
    user.updated_at = this.#nowIso();
    return copyPlain(user);
  }

  #require(userId: string): User {
    const user = this.#users.get(userId);
    if (user === undefined) throw new Error(`no user with user_id ${JSON.stringify(userId)}`);
    return user;
  }

  /**
   * Refuses a taken id or identity before changing anything, so a failed insert leaves no trace.
   * Given a `path` (seed data, a configuration mistake) it throws a TypeError naming it.
   */
  #insert(user: User, path?: string): void {
    const refuse = (field: string, problem: string): never => {
      if (path === undefined) throw new Error(problem);
      throw new TypeError(`${path}.${field}: ${problem}`);
    };
    if (this.#users.has(user.user_id)) {
      refuse('user_id', `a user with user_id ${JSON.stringify(user.user_id)} already exists`);
    }
    user.identities.forEach((identity, index) => {
      const owner = this.#identities.get(identity.connection)?.get(identity.user_id);
      if (owner !== undefined) {
        refuse(
          `identities[${index}]`,
          `identity ${JSON.stringify(identity.user_id)} at connection ${JSON.stringify(identity.connection)} already belongs to ${JSON.stringify(owner)}`,
        );
      }
    });
    this.#users.set(user.user_id, user);
    for (const identity of user.identities) {
      let byConnection = this.#identities.get(identity.connection);
      if (byConnection === undefined) {
        byConnection = new Map();
        this.#identities.set(identity.connection, byConnection);
      }
      byConnection.set(identity.user_id, user.user_id);
    }
  }

  #nowIso(): string {
    return new Date(this.#now()).toISOString();
  }
}

/** Copies the profile fields that are set, dropping `undefined` and anything that is not profile. */
function copyProfile(profile: UserProfile): UserProfile {
  const copy: Record<string, unknown> = {};
  for (const key of PROFILE_FIELDS) {
    if (profile[key] !== undefined) copy[key] = profile[key];
  }
  return copy;
}

/** Returns a merged copy; `null` removes a key. Never invokes a `__proto__` setter. */
function mergeMetadata(
  current: Record<string, unknown>,
  changes: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const merged = copyPlain(current);
  if (changes === undefined) return merged;
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete merged[key];
    else if (value !== undefined) {
      Object.defineProperty(merged, key, {
        value: copyPlain(value),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  return merged;
}

function requireText(value: unknown, path: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`${path} must be a non-empty string`);
  }
  return value;
}

function parseSeedUser(seed: SeedUser, path: string, now: string): User {
  if (typeof seed !== 'object' || seed === null || Array.isArray(seed)) {
    throw new TypeError(`${path} must be an object`);
  }
  for (const key of Object.keys(seed)) {
    if (!SEED_KEYS.has(key)) throw new TypeError(`${path}.${key} is not a user field`);
  }
  const user: User = {
    user_id: requireText(seed.user_id, `${path}.user_id`),
    identities: parseIdentities(seed.identities, `${path}.identities`),
    app_metadata: parseMetadata(seed.app_metadata, `${path}.app_metadata`),
    user_metadata: parseMetadata(seed.user_metadata, `${path}.user_metadata`),
    created_at: '',
    updated_at: '',
    logins_count: 0,
  };
  for (const key of PROFILE_TEXT_FIELDS) {
    const value = seed[key];
    if (value === undefined) continue;
    user[key] = requireText(value, `${path}.${key}`);
  }
  for (const key of PROFILE_BOOLEAN_FIELDS) {
    const value = seed[key];
    if (value === undefined) continue;
    if (typeof value !== 'boolean') throw new TypeError(`${path}.${key} must be a boolean`);
    user[key] = value;
  }
  if (seed.blocked !== undefined) {
    if (typeof seed.blocked !== 'boolean') throw new TypeError(`${path}.blocked must be a boolean`);
    if (seed.blocked) user.blocked = true;
  }
  user.created_at = parseTimestamp(seed.created_at, `${path}.created_at`) ?? now;
  user.updated_at = parseTimestamp(seed.updated_at, `${path}.updated_at`) ?? user.created_at;
  if (seed.logins_count !== undefined) {
    if (!Number.isSafeInteger(seed.logins_count) || seed.logins_count < 0) {
      throw new TypeError(`${path}.logins_count must be a non-negative integer`);
    }
    user.logins_count = seed.logins_count;
  }
  return user;
}

function parseIdentities(value: SeedUser['identities'], path: string): UserIdentity[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new TypeError(`${path} must be an array`);
  const seen = new Set<string>();
  return value.map((identity, index) => {
    const itemPath = `${path}[${index}]`;
    if (typeof identity !== 'object' || identity === null) {
      throw new TypeError(`${itemPath} must be an object`);
    }
    const connection = requireText(identity.connection, `${itemPath}.connection`);
    const userId = requireText(identity.user_id, `${itemPath}.user_id`);
    const key = JSON.stringify([connection, userId]);
    if (seen.has(key)) throw new TypeError(`${itemPath} repeats an identity of the same user`);
    seen.add(key);
    const provider =
      identity.provider === undefined
        ? connection
        : requireText(identity.provider, `${itemPath}.provider`);
    if (identity.isSocial !== undefined && typeof identity.isSocial !== 'boolean') {
      throw new TypeError(`${itemPath}.isSocial must be a boolean`);
    }
    return { connection, user_id: userId, provider, isSocial: identity.isSocial ?? false };
  });
}

function parseMetadata(value: unknown, path: string): Record<string, unknown> {
  if (value === undefined) return {};
  const proto: unknown =
    typeof value === 'object' && value !== null ? Object.getPrototypeOf(value) : undefined;
  if (Array.isArray(value) || (proto !== Object.prototype && proto !== null)) {
    throw new TypeError(`${path} must be a plain object`);
  }
  try {
    return copyPlain(value as Record<string, unknown>);
  } catch (err) {
    throw new TypeError(`${path} must hold only plain data: ${(err as Error).message}`);
  }
}

function parseTimestamp(value: unknown, path: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) {
    throw new TypeError(`${path} must be an ISO 8601 date string`);
  }
  return value;
}
