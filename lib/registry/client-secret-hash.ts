import crypto from 'node:crypto';

/**
 * Client secrets stored hashed: scrypt (node:crypto) in the PHC string format,
 *
 *   `$scrypt$ln=<log2 N>,r=<block size>,p=<parallelization>$<salt>$<key>`
 *
 * with the salt and the derived key in standard base64 without padding, as the PHC format
 * spells them (for example `$scrypt$ln=14,r=8,p=1$3ZsMqMwB…$Qm6p…`). The parameters travel with
 * the hash, so hashes made with different costs can sit side by side.
 */

/** Cost parameters of {@link hashClientSecret}. */
export interface ClientSecretHashOptions {
  /** log2 of scrypt's N (CPU and memory cost), 1–20. Default 14 (N = 16384). */
  logN?: number;
  /** scrypt's block size r, 1–32. Default 8. */
  r?: number;
  /** scrypt's parallelization p, 1–16. Default 1. */
  p?: number;
}

/** A parsed hash, ready for {@link verifyParsedHash}. */
export interface ParsedClientSecretHash {
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
  readonly key: Buffer;
}

const SHAPE =
  /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{11,86})\$([A-Za-z0-9+/]{22,86})$/;
/** The most memory one check may take (scrypt needs 128 × N × r bytes). */
const MAX_MEMORY = 256 * 1024 * 1024;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

/**
 * Hashes a client secret for `client_secret_hash`: scrypt with a random 16-byte salt and a
 * 32-byte key, in the format above. A client secret is a long random string, not a password a
 * person chose, so the default cost only has to make a stolen table useless for guessing; the
 * router checks a secret against its hash once per client and process, then remembers the
 * SHA-256 of the secret that matched.
 *
 * @throws TypeError for an empty secret or parameters out of range
 */
export async function hashClientSecret(
  secret: string,
  options: ClientSecretHashOptions = {},
): Promise<string> {
  if (typeof secret !== 'string' || secret === '') {
    throw new TypeError('hashClientSecret: secret must be a non-empty string');
  }
  const { logN = 14, r = 8, p = 1 } = options;
  checkParameters(logN, r, p, (message) => new TypeError(`hashClientSecret: ${message}`));
  const salt = crypto.randomBytes(SALT_BYTES);
  const key = await derive(secret, { N: 2 ** logN, r, p, salt, key: Buffer.alloc(KEY_BYTES) });
  return `$scrypt$ln=${logN},r=${r},p=${p}$${b64(salt)}$${b64(key)}`;
}

/**
 * Whether `secret` is the one `hash` was made from (a hash from {@link hashClientSecret}, or
 * any scrypt hash in the same format). The comparison is constant-time.
 *
 * @throws TypeError when `hash` is not in the format
 */
export async function verifyClientSecret(secret: string, hash: string): Promise<boolean> {
  return verifyParsedHash(secret, parseClientSecretHash(hash, 'hash'));
}

/** Checks a parsed hash; see {@link verifyClientSecret}. */
export async function verifyParsedHash(
  secret: string,
  hash: ParsedClientSecretHash,
): Promise<boolean> {
  const derived = await derive(secret, hash);
  return crypto.timingSafeEqual(derived, hash.key);
}

/**
 * Parses a hash in the format above.
 * @throws TypeError naming `path` when it is not in the format or its parameters are out of range
 */
export function parseClientSecretHash(value: unknown, path: string): ParsedClientSecretHash {
  const match = typeof value === 'string' ? SHAPE.exec(value) : null;
  const fail = (message: string) => new TypeError(`customTokenExchange: ${path} ${message}`);
  if (match === null) {
    throw fail(
      'must be a scrypt hash "$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<key>" (base64 without ' +
        'padding), as hashClientSecret() makes',
    );
  }
  const [, ln, r, p, salt, key] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  checkParameters(Number(ln), Number(r), Number(p), fail);
  const saltBytes = Buffer.from(salt, 'base64');
  const keyBytes = Buffer.from(key, 'base64');
  if (b64(saltBytes) !== salt || b64(keyBytes) !== key) throw fail('holds malformed base64');
  if (saltBytes.length < 8) throw fail('has a salt of fewer than 8 bytes');
  if (keyBytes.length < 16) throw fail('has a key of fewer than 16 bytes');
  return Object.freeze({
    N: 2 ** Number(ln),
    r: Number(r),
    p: Number(p),
    salt: saltBytes,
    key: keyBytes,
  });
}

function checkParameters(logN: number, r: number, p: number, fail: (m: string) => Error): void {
  const inRange = (value: number, min: number, max: number) =>
    Number.isSafeInteger(value) && value >= min && value <= max;
  if (!inRange(logN, 1, 20)) throw fail('ln (log2 N) must be an integer from 1 to 20');
  if (!inRange(r, 1, 32)) throw fail('r must be an integer from 1 to 32');
  if (!inRange(p, 1, 16)) throw fail('p must be an integer from 1 to 16');
  if (128 * 2 ** logN * r > MAX_MEMORY) {
    throw fail(`needs 128 × N × r = ${128 * 2 ** logN * r} bytes, more than ${MAX_MEMORY}`);
  }
}

function derive(secret: string, hash: ParsedClientSecretHash): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    crypto.scrypt(
      secret,
      hash.salt,
      hash.key.length,
      { N: hash.N, r: hash.r, p: hash.p, maxmem: 128 * hash.N * hash.r * 2 + 1024 * 1024 },
      (error, key) => (error ? reject(error) : resolve(key)),
    );
  });
}

function b64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}
