import crypto from 'node:crypto';
import type { SigningAlg } from '../../tokens/jws.js';
import type { KeySchedule, KeyStore, StoredSigningKey } from '../../tokens/key-store.js';
import { connectDatabase, type DatabaseLike, type DatabaseOptions } from './connect-database.js';
import type { SqlDatabase } from './sql-database.js';

/** Options of {@link PostgresKeyStore}. */
export interface PostgresKeyStoreOptions extends DatabaseOptions {
  /** A `pg.Pool`, a PGlite database or a `SqlDatabase`, migrated by `migrate()`. */
  database: DatabaseLike;
  /**
   * 32 bytes (from your secret manager, not from the database) that seal the private JWKs the
   * store keeps, with AES-256-GCM: a dump of the database then holds no usable signing key. Give
   * every instance the same. Keys saved before it was set are read as they are, and sealed at the
   * next save. Absent: private JWKs are stored as they are.
   */
  encryptionKey?: Uint8Array;
}

/** A row of `cte_signing_keys`, as {@link PostgresKeyStore.load} reads it. */
interface KeyRow {
  revision: unknown;
  kid: string | null;
  alg: SigningAlg;
  public_jwk: Record<string, string>;
  private_jwk: Record<string, string> | null;
  published_at: unknown;
  signs_from: unknown;
  retired_at: unknown;
  expires_at: unknown;
}

/**
 * The signing-key schedule on PostgreSQL (tables `cte_signing_key_schedule` and
 * `cte_signing_keys`), so every router instance signs with the same current key and serves the
 * same JWKS: give it to `options.stores.keys`. A load is one statement (one snapshot of the
 * schedule); a save is one transaction that moves the revision on only from the expected one, so
 * two instances rotating at once cannot both write.
 */
export class PostgresKeyStore implements KeyStore {
  readonly #db: SqlDatabase;
  readonly #sealing: Buffer | undefined;

  constructor(options: PostgresKeyStoreOptions) {
    const { database, encryptionKey, ...databaseOptions } = options ?? {};
    this.#db = connectDatabase(database, databaseOptions);
    if (encryptionKey !== undefined) {
      if (!(encryptionKey instanceof Uint8Array) || encryptionKey.byteLength !== 32) {
        throw new TypeError('PostgresKeyStore: options.encryptionKey must be 32 bytes');
      }
      this.#sealing = Buffer.from(encryptionKey);
    }
  }

  /** {@inheritDoc KeyStore.ping} */
  async ping(): Promise<void> {
    await this.#db.query('SELECT 1');
  }

  /** {@inheritDoc KeyStore.load} */
  async load(): Promise<KeySchedule> {
    const { rows } = await this.#db.query<KeyRow>(
      `SELECT COALESCE(s.revision, 0) AS revision, k.kid, k.alg, k.public_jwk, k.private_jwk,
              k.published_at, k.signs_from, k.retired_at, k.expires_at
       FROM (SELECT 1) AS one
       LEFT JOIN cte_signing_key_schedule s ON true
       LEFT JOIN cte_signing_keys k ON true
       ORDER BY k.position`,
    );
    const keys = rows
      .filter((row) => row.kid !== null)
      .map((row): StoredSigningKey => {
        const time = (value: unknown) => (value === null ? null : Number(value));
        return {
          kid: row.kid!,
          alg: row.alg,
          public_jwk: row.public_jwk,
          ...(row.private_jwk === null
            ? {}
            : { private_jwk: this.#open(row.kid!, row.private_jwk) }),
          published_at: Number(row.published_at),
          signs_from: time(row.signs_from),
          retired_at: time(row.retired_at),
          expires_at: time(row.expires_at),
        };
      });
    return { revision: Number(rows[0]?.revision ?? 0), keys };
  }

  /** {@inheritDoc KeyStore.save} */
  save(expectedRevision: number, keys: readonly StoredSigningKey[]): Promise<boolean> {
    const rows = keys.map((key, position) => ({
      kid: key.kid,
      position,
      alg: key.alg,
      public_jwk: key.public_jwk,
      private_jwk: key.private_jwk === undefined ? null : this.#seal(key.kid, key.private_jwk),
      published_at: key.published_at,
      signs_from: key.signs_from,
      retired_at: key.retired_at,
      expires_at: key.expires_at,
    }));
    return this.#db.transaction(async (session) => {
      await session.query(
        `INSERT INTO cte_signing_key_schedule (id, revision) VALUES (true, 0)
         ON CONFLICT (id) DO NOTHING`,
      );
      const { rowCount } = await session.query(
        `UPDATE cte_signing_key_schedule SET revision = revision + 1 WHERE revision = $1`,
        [expectedRevision],
      );
      if (rowCount !== 1) return false;
      await session.query('DELETE FROM cte_signing_keys');
      await session.query(
        `INSERT INTO cte_signing_keys
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS k(
           kid text, position integer, alg text, public_jwk jsonb, private_jwk jsonb,
           published_at bigint, signs_from bigint, retired_at bigint, expires_at bigint)`,
        [JSON.stringify(rows)],
      );
      return true;
    });
  }

  /** The private JWK as stored: sealed under the encryption key, bound to its kid. */
  #seal(kid: string, jwk: Readonly<Record<string, string>>): Record<string, string> {
    if (this.#sealing === undefined) return { ...jwk };
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.#sealing, iv);
    cipher.setAAD(Buffer.from(kid));
    const sealed = Buffer.concat([cipher.update(JSON.stringify(jwk)), cipher.final()]);
    return {
      sealed: Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url'),
    };
  }

  #open(kid: string, stored: Record<string, string>): Record<string, string> {
    if (stored.sealed === undefined) return stored;
    if (this.#sealing === undefined) {
      throw new Error(
        `the private key of "${kid}" is sealed: give PostgresKeyStore the encryptionKey it was sealed with`,
      );
    }
    const bytes = Buffer.from(stored.sealed, 'base64url');
    try {
      const decipher = crypto.createDecipheriv('aes-256-gcm', this.#sealing, bytes.subarray(0, 12));
      decipher.setAAD(Buffer.from(kid));
      decipher.setAuthTag(bytes.subarray(12, 28));
      const jwk = Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]);
      return JSON.parse(jwk.toString('utf8')) as Record<string, string>;
    } catch {
      throw new Error(
        `the private key of "${kid}" does not open with this encryptionKey (another key, or altered)`,
      );
    }
  }
}
