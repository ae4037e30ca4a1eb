import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** One key of the ring that encrypts action secrets at rest: 32 bytes for AES-256-GCM. */
export interface ConfigSecretKey {
  /** Names the key in every value it sealed, so the ring finds it again (1 to 64 of `[\w.-]`). */
  kid: string;
  /** 32 bytes: a Buffer, or their base64 / base64url text. */
  key: Buffer | string;
}

const PREFIX = 'aes256gcm';
const KID = /^[\w.-]{1,64}$/;

/**
 * Seals and opens secret values with AES-256-GCM (node:crypto): the first key of the ring seals,
 * every key opens, so a new key goes first and the old ones stay until every value was written
 * again (each write seals with the first key). A sealed value reads
 * `aes256gcm:<kid>:<iv>:<tag>:<ciphertext>` (base64url parts; a fresh 96-bit IV each time).
 */
export class SecretSealer {
  readonly #keys: ReadonlyMap<string, Buffer>;
  readonly #primary: string;

  /** @throws TypeError naming `path` when the ring is empty or a key is not 32 bytes. */
  constructor(keys: readonly ConfigSecretKey[], path: string) {
    if (!Array.isArray(keys) || keys.length === 0) {
      throw new TypeError(
        `${path} must hold at least one key { kid, key } to encrypt action secrets at rest`,
      );
    }
    const ring = new Map<string, Buffer>();
    keys.forEach((entry, i) => {
      if (typeof entry?.kid !== 'string' || !KID.test(entry.kid) || ring.has(entry.kid)) {
        throw new TypeError(`${path}[${i}].kid must be a distinct name of 1 to 64 [A-Za-z0-9_.-]`);
      }
      const key = typeof entry.key === 'string' ? Buffer.from(entry.key, 'base64url') : entry.key;
      if (!Buffer.isBuffer(key) || key.length !== 32) {
        throw new TypeError(`${path}[${i}].key must be 32 bytes (a Buffer or base64 text)`);
      }
      ring.set(entry.kid, Buffer.from(key));
    });
    this.#keys = ring;
    this.#primary = keys[0]!.kid;
  }

  seal(value: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#keys.get(this.#primary)!, iv);
    const data = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    const parts = [iv, cipher.getAuthTag(), data].map((part) => part.toString('base64url'));
    return [PREFIX, this.#primary, ...parts].join(':');
  }

  /** @throws Error when no key of the ring sealed `sealed`, or it was altered. */
  open(sealed: string): string {
    const [prefix, kid, iv, tag, data, extra] = sealed.split(':');
    const key = kid === undefined ? undefined : this.#keys.get(kid);
    if (prefix !== PREFIX || extra !== undefined || data === undefined || key === undefined) {
      throw new Error(
        `a secret sealed with key ${JSON.stringify(kid)} cannot be opened: that key is not in the ring`,
      );
    }
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv!, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag!, 'base64url'));
    return Buffer.concat([
      decipher.update(Buffer.from(data, 'base64url')),
      decipher.final(),
    ]).toString('utf8');
  }
}
