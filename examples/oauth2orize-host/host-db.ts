/**
 * The host's own tables, in memory as plain maps: what a real oauth2orize app keeps in its
 * database. Nothing here knows about Custom Token Exchange; `host-user-store.ts` and `server.ts`
 * adapt these rows for the router.
 */
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import { hashClientSecret } from '../../lib/index.js';

const scrypt = promisify(crypto.scrypt) as (
  password: string,
  salt: Buffer,
  keyLength: number,
) => Promise<Buffer>;

/** The grant type URN the router serves; a client row lists it to be allowed token exchange. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';

/** A row of the host's `clients` table. */
export interface HostClient {
  client_id: string;
  /** The secret as a scrypt hash (`hashClientSecret`); the table never holds it in clear. */
  client_secret_hash: string;
  name: string;
  /** The grants this client may use, the token exchange URN included. */
  grant_types: string[];
  /** The scopes of the host's API this client may get. */
  scope: string[];
}

/** An identity a user holds at an external connection (a partner IdP, a social login). */
export interface HostIdentity {
  connection: string;
  /** The user's id at that connection. */
  externalId: string;
}

/** A row of the host's `users` table. */
export interface HostUser {
  id: string;
  email: string | null;
  emailVerified: boolean;
  name: string | null;
  /** scrypt, `salt:hash` in hex; `null` for users who only sign in through a connection. */
  passwordHash: string | null;
  blocked: boolean;
  identities: HostIdentity[];
  appMetadata: Record<string, unknown>;
  userMetadata: Record<string, unknown>;
  loginCount: number;
  createdAt: Date;
  updatedAt: Date;
}

/** A row of the host's `access_tokens` or `refresh_tokens` table. */
export interface HostTokenRow {
  clientId: string;
  /** `null` for a `client_credentials` token. */
  userId: string | null;
  scope: string[];
  expiresAt: Date;
}

export const API_SCOPES = ['read:books', 'write:orders'];

/**
 * The demo's client secrets, printed in the banner so its curl commands work: the table keeps
 * only their hashes, as a real one would.
 */
export const DEMO_CLIENT_SECRETS: Readonly<Record<string, string>> = {
  'bookshop-app': 'bookshop-app-secret-change-me',
  'stock-sync': 'stock-sync-secret-change-me',
};

/** The host's registered clients. */
export async function seedClients(): Promise<Map<string, HostClient>> {
  const hash = (clientId: string) => hashClientSecret(DEMO_CLIENT_SECRETS[clientId]!);
  const rows: HostClient[] = [
    {
      client_id: 'bookshop-app',
      client_secret_hash: await hash('bookshop-app'),
      name: 'Bookshop app',
      grant_types: ['client_credentials', 'password', 'refresh_token', TOKEN_EXCHANGE_GRANT],
      scope: ['read:books', 'write:orders'],
    },
    {
      client_id: 'stock-sync',
      client_secret_hash: await hash('stock-sync'),
      name: 'Stock sync job',
      grant_types: ['client_credentials'],
      scope: ['read:books'],
    },
  ];
  return new Map(rows.map((row) => [row.client_id, row]));
}

/**
 * The host's users before anyone signed in through the partner: Alice signs in with a password,
 * Bob and Carol have linked their partner accounts, and Carol is blocked.
 */
export async function seedUsers(): Promise<HostUsers> {
  const users = new HostUsers();
  const created = new Date('2025-01-15T09:00:00.000Z');
  const row = (fields: Partial<HostUser> & Pick<HostUser, 'email' | 'name'>): HostUser => ({
    id: users.nextId(),
    emailVerified: true,
    passwordHash: null,
    blocked: false,
    identities: [],
    appMetadata: {},
    userMetadata: {},
    loginCount: 0,
    createdAt: created,
    updatedAt: created,
    ...fields,
  });
  users.insert(
    row({
      email: 'alice@bookshop.example',
      name: 'Alice Reader',
      passwordHash: await hashPassword('alice-password-change-me'),
    }),
  );
  users.insert(
    row({
      email: 'bob@partner.example',
      name: 'Bob Partner',
      identities: [{ connection: 'partner-idp', externalId: 'p-bob-7' }],
      appMetadata: { plan: 'gold' },
    }),
  );
  users.insert(
    row({
      email: 'carol@partner.example',
      name: 'Carol Partner',
      blocked: true,
      identities: [{ connection: 'partner-idp', externalId: 'p-carol-9' }],
    }),
  );
  return users;
}

/** The `users` table: rows by id, plus the lookups the app needs. */
export class HostUsers {
  readonly rows = new Map<string, HostUser>();
  #sequence = 1000;

  /** The host's own id scheme: `usr_1001`, `usr_1002`, ... */
  nextId(): string {
    this.#sequence += 1;
    return `usr_${this.#sequence}`;
  }

  insert(user: HostUser): void {
    if (this.rows.has(user.id)) throw new Error(`user ${user.id} already exists`);
    for (const identity of user.identities) {
      const owner = this.findByIdentity(identity.connection, identity.externalId);
      if (owner) {
        throw new Error(
          `identity ${identity.connection}/${identity.externalId} belongs to ${owner.id}`,
        );
      }
    }
    this.rows.set(user.id, user);
  }

  findByEmail(email: string): HostUser | undefined {
    const wanted = email.toLowerCase();
    return [...this.rows.values()].find((user) => user.email?.toLowerCase() === wanted);
  }

  findByIdentity(connection: string, externalId: string): HostUser | undefined {
    return [...this.rows.values()].find((user) =>
      user.identities.some((i) => i.connection === connection && i.externalId === externalId),
    );
  }
}

/** Opaque bearer tokens, stored by their SHA-256 so a dump of the table leaks no usable token. */
export class HostTokens {
  readonly #rows = new Map<string, HostTokenRow>();

  issue(row: HostTokenRow): string {
    const token = crypto.randomBytes(32).toString('base64url');
    this.#rows.set(digest(token), row);
    return token;
  }

  /** The live row of `token`, or `undefined` (unknown or expired). */
  find(token: string): HostTokenRow | undefined {
    const row = this.#rows.get(digest(token));
    if (row === undefined || row.expiresAt.getTime() <= Date.now()) return undefined;
    return row;
  }

  delete(token: string): void {
    this.#rows.delete(digest(token));
  }
}

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.randomBytes(16);
  const hash = await scrypt(password, salt, 32);
  return `${salt.toString('hex')}:${hash.toString('hex')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [salt, hash] = stored.split(':');
  if (salt === undefined || hash === undefined) return false;
  const actual = await scrypt(password, Buffer.from(salt, 'hex'), 32);
  return crypto.timingSafeEqual(actual, Buffer.from(hash, 'hex'));
}

function digest(value: string): string {
  return crypto.createHash('sha256').update(value).digest('hex');
}
