import crypto, { type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { ManagementError } from '../errors.js';
import { SIGNING_ALGS, createJwsSigner, verifyJwsSignature } from './jws.js';
import type { SigningAlg, SigningKey } from './jws.js';

export { SIGNING_ALGS } from './jws.js';
export type { SigningAlg, SigningKey } from './jws.js';

/**
 * A signing key handed in by the host: a private JWK with a `kid` and an `alg` (`RS256` and
 * `PS256` need `kty: RSA` of at least 2048 bits, `ES256` `kty: EC` on `P-256`, `EdDSA`
 * `kty: OKP` on `Ed25519`).
 */
export type SigningKeyInput = JWK & { kid: string; alg: SigningAlg };

/** A published JWK: public members only, plus `kid`, `alg` and `use: 'sig'`. */
export interface PublicJwk {
  readonly kty: 'RSA' | 'EC' | 'OKP';
  readonly kid: string;
  readonly alg: SigningAlg;
  readonly use: 'sig';
  /** RSA modulus. */
  readonly n?: string;
  /** RSA public exponent. */
  readonly e?: string;
  /** EC or OKP curve. */
  readonly crv?: string;
  /** EC x coordinate, or the OKP public key. */
  readonly x?: string;
  /** EC y coordinate. */
  readonly y?: string;
}

/** A public key the router can check its own tokens with (node:crypto, no JWK import per call). */
export interface VerificationKey {
  readonly kid: string;
  readonly alg: SigningAlg;
  readonly publicKey: KeyObject;
}

/**
 * Where a key is in its life: `next` is published but does not sign yet, `current` signs (one per
 * alg), `retired` no longer signs but stays published for the grace period.
 */
export type KeyStatus = 'current' | 'next' | 'retired';

/** What `KeySet.list()` tells about a key: metadata only, never key material. */
export interface KeyInfo {
  kid: string;
  alg: SigningAlg;
  status: KeyStatus;
  /** ISO 8601 time of retirement; only for `retired` keys. */
  retired_at?: string;
}

/** Where a key is in its life, in epoch ms: what a health check reports of it. */
export interface KeyLifecycle {
  kid: string;
  alg: SigningAlg;
  status: KeyStatus;
  /**
   * When the key took its status: when the set got it (the router's start for `options.keys`),
   * or when a rotation made it `current` or `retired`.
   */
  since: number;
  /** When a `retired` key leaves the JWKS (its grace period ends). */
  expiresAt?: number;
}

/** What one alg's rotation did. */
export interface KeyRotation {
  alg: SigningAlg;
  /** The kid that signs from now on. */
  current: string;
  /** The kid that stopped signing; absent when the alg had no current key. */
  retired?: string;
  /** The kid published to sign after the following rotation, when there is one. */
  next?: string;
}

/** Options of {@link KeySet}. */
export interface KeySetOptions {
  /**
   * The host's signing keys. The first key of each alg signs; later keys of the same alg are
   * published as `next`. Absent: development mode, where the set generates its own keys (they
   * die with the process, so tokens do not survive a restart).
   */
  keys?: readonly SigningKeyInput[];
  /** How long a retired key stays in the JWKS, in seconds. Default 86400 (one day). */
  gracePeriodSeconds?: number;
  /** Clock in milliseconds since the epoch; default `Date.now`. For tests. */
  now?: () => number;
}

const DEFAULT_GRACE_PERIOD_SECONDS = 86_400;
const MIN_RSA_BITS = 2048;
const ALG_LIST = SIGNING_ALGS.join(', ');
const PROBE = Buffer.from('customTokenExchange signing key self-test');

const KEY_SHAPES: Readonly<Record<SigningAlg, { kty: PublicJwk['kty']; crv?: string }>> = {
  RS256: { kty: 'RSA' },
  PS256: { kty: 'RSA' },
  ES256: { kty: 'EC', crv: 'P-256' },
  EdDSA: { kty: 'OKP', crv: 'Ed25519' },
};

interface ImportedKey {
  readonly kid: string;
  readonly alg: SigningAlg;
  readonly signer: SigningKey;
  readonly publicKey: KeyObject;
  readonly publicJwk: PublicJwk;
}

interface KeyEntry extends ImportedKey {
  status: KeyStatus;
  retiredAt: number | undefined;
  /** When the key took its status (ms): joined the set, started signing, or was retired. */
  since: number;
}

/**
 * Keys parsed by {@link parseSigningKeys}, so that a `KeySet` built from its result does not
 * import them a second time. Keyed by the frozen copies it returns.
 */
const importedKeys = new WeakMap<object, ImportedKey>();

/**
 * Validates the host's signing keys and imports each one once.
 *
 * @param input - an array of private JWKs, or a JWKS `{ keys: [...] }`.
 * @param path - the option path named in error messages; default `options.keys`.
 * @returns frozen copies of the keys, in order, ready for `new KeySet({ keys })` (which then
 *   reuses the imported key objects).
 * @throws TypeError naming the exact path when the input is not an array or JWKS, is empty, or a
 *   key is not an object, lacks a `kid`, has an `alg` outside RS256, PS256, ES256, EdDSA, a
 *   `kty`/`crv` that does not fit its `alg`, no private part, a `use` other than `sig`, an RSA
 *   modulus under 2048 bits, private and public members of different keys, or a `kid` already used.
 */
export function parseSigningKeys(input: unknown, path = 'options.keys'): SigningKeyInput[] {
  const fail = (message: string): TypeError => new TypeError(`customTokenExchange: ${message}`);
  let list: unknown[];
  let listPath: string;
  if (Array.isArray(input)) {
    list = input;
    listPath = path;
  } else if (isObject(input) && Array.isArray(input.keys)) {
    list = input.keys;
    listPath = `${path}.keys`;
  } else {
    throw fail(`${path} must be an array of private JWKs or a JWKS ({ keys: [...] })`);
  }
  if (list.length === 0) throw fail(`${listPath} must contain at least one key`);

  const pathOfKid = new Map<string, string>();
  return list.map((raw, index) => {
    const keyPath = `${listPath}[${index}]`;
    const imported = importSigningKey(raw, keyPath, fail);
    const earlier = pathOfKid.get(imported.kid);
    if (earlier !== undefined) {
      throw fail(`${keyPath}.kid "${imported.kid}" is already used by ${earlier}`);
    }
    pathOfKid.set(imported.kid, keyPath);
    const copy = Object.freeze({ ...(raw as SigningKeyInput) });
    importedKeys.set(copy, imported);
    return copy;
  });
}

/**
 * The router's signing keys and their rotation. Every key is imported into node:crypto once, when
 * it enters the set; signing is then a single `crypto.sign` call.
 *
 * Rotation follows the usual JWKS discipline: a key is published as `next` before it signs, so
 * verifiers that cache the JWKS already know it when the first token signed with it arrives; a
 * retired key stays published for `gracePeriodSeconds` so tokens it signed keep verifying. The
 * grace period should therefore be at least the longest token lifetime, and the next key should
 * be published at least one JWKS cache lifetime (`max-age`) before `rotate()`.
 */
export class KeySet {
  /** `true` when the set generates its own keys (no `keys` option was given). */
  readonly development: boolean;

  readonly #now: () => number;
  readonly #graceMs: number;
  /** Insertion order; `jwks()` and `list()` sort by status. */
  #entries: KeyEntry[] = [];
  readonly #current = new Map<SigningAlg, KeyEntry>();
  #jwks: { keys: PublicJwk[] } | undefined;
  /** When the next retired key falls out of its grace period (ms); the JWKS cache ends there. */
  #nextExpiry = Infinity;

  /**
   * @param options - see {@link KeySetOptions}.
   * @throws TypeError when `keys` is invalid (see {@link parseSigningKeys}) or
   *   `gracePeriodSeconds` is not a non-negative number.
   */
  constructor(options: KeySetOptions = {}) {
    const grace = options.gracePeriodSeconds ?? DEFAULT_GRACE_PERIOD_SECONDS;
    if (typeof grace !== 'number' || !Number.isFinite(grace) || grace < 0) {
      throw new TypeError(
        'customTokenExchange: gracePeriodSeconds must be a non-negative number of seconds',
      );
    }
    this.#graceMs = grace * 1000;
    this.#now = options.now ?? Date.now;
    this.development = options.keys === undefined;
    if (options.keys === undefined) return;

    // Keys straight from parseSigningKeys are already imported; anything else is validated here.
    const keys = options.keys.every((key) => importedKeys.has(key))
      ? options.keys
      : parseSigningKeys(options.keys);
    for (const imported of keys.map((key) => importedKeys.get(key) as ImportedKey)) {
      // Two separate parseSigningKeys() results can still share a kid.
      if (this.#find(imported.kid) !== undefined) {
        throw new TypeError(`customTokenExchange: options.keys: kid "${imported.kid}" is repeated`);
      }
      this.#insert(imported, this.#current.has(imported.alg) ? 'next' : 'current');
    }
  }

  /**
   * Makes sure `alg` can sign. Called at configuration time for every API's `signing_alg` and
   * every client's ID-token alg (except HS256, which signs with the client secret and is refused
   * here), so a missing key fails the router's construction, not a request.
   * In development mode it generates a `current` and a `next` key for an alg seen for the first
   * time.
   *
   * @throws TypeError when the host's keys include none with this alg.
   */
  ensure(alg: SigningAlg): void {
    if (this.#current.has(alg)) return;
    if (!SIGNING_ALGS.includes(alg)) {
      throw new TypeError(
        `customTokenExchange: cannot sign with alg "${String(alg)}": must be one of ${ALG_LIST}`,
      );
    }
    if (!this.development) {
      throw new TypeError(
        `customTokenExchange: no signing key with alg ${alg} was configured in options.keys`,
      );
    }
    this.#insert(generateKey(alg), 'current');
    if (this.#nextOf(alg) === undefined) this.#insert(generateKey(alg), 'next');
  }

  /**
   * The key that currently signs for `alg`.
   *
   * @throws TypeError as {@link KeySet.ensure} when the alg has no key.
   */
  signingKey(alg: SigningAlg): SigningKey {
    const entry = this.#current.get(alg);
    if (entry !== undefined) return entry.signer;
    this.ensure(alg);
    return (this.#current.get(alg) as KeyEntry).signer;
  }

  /**
   * The JWKS document: current, next, then retired keys still in their grace period. The result
   * is cached and frozen until the set changes or a retired key expires, so serving it per
   * request is cheap; it can be handed to jose's `createLocalJWKSet` as is.
   */
  jwks(): { keys: PublicJwk[] } {
    const now = this.#now();
    if (now >= this.#nextExpiry) this.#dropExpired(now);
    if (this.#jwks === undefined) {
      const keys = this.#byStatus().map((entry) => entry.publicJwk);
      this.#jwks = Object.freeze({ keys: Object.freeze(keys) as PublicJwk[] });
    }
    return this.#jwks;
  }

  /**
   * The public key published under `kid`, for checking tokens the router issued without a JWK
   * import per call.
   *
   * @returns `undefined` when no published key (current, next, or retired within its grace
   *   period) has this kid.
   */
  verificationKey(kid: string): VerificationKey | undefined {
    const now = this.#now();
    if (now >= this.#nextExpiry) this.#dropExpired(now);
    const entry = this.#find(kid);
    if (entry === undefined) return undefined;
    return { kid: entry.kid, alg: entry.alg, publicKey: entry.publicKey };
  }

  /**
   * Rotates the keys of `alg`, or of every alg that has a current key: the oldest `next` key
   * starts signing and the `current` one is retired (published for the grace period). In
   * development mode a fresh `next` key is generated and published at once.
   *
   * @returns one entry per rotated alg.
   * @throws ManagementError `invalid_body` for an unknown alg, `not_found` when the alg has no
   *   key, `conflict` when host keys have no `next` key for an alg (call `add()` first). Nothing
   *   changes when it throws.
   */
  rotate(alg?: SigningAlg): KeyRotation[] {
    const now = this.#now();
    this.#dropExpired(now);
    let algs: SigningAlg[];
    if (alg === undefined) {
      algs = [...this.#current.keys()];
    } else {
      if (!SIGNING_ALGS.includes(alg)) {
        throw new ManagementError('invalid_body', `alg must be one of ${ALG_LIST}`);
      }
      if (!this.#current.has(alg) && this.#nextOf(alg) === undefined) {
        throw new ManagementError('not_found', `no signing key with alg ${alg} to rotate`);
      }
      algs = [alg];
    }
    if (!this.development) {
      // Checked for every alg before any changes, so a failed rotate() leaves the set as it was.
      const stuck = algs.find((a) => this.#nextOf(a) === undefined);
      if (stuck !== undefined) {
        throw new ManagementError(
          'conflict',
          `no next key with alg ${stuck} to rotate to: keys.add() one first (it is published ` +
            'at once and starts signing at the following rotate())',
        );
      }
    }

    const rotations = algs.map((a): KeyRotation => {
      const promoted = this.#nextOf(a) ?? this.#insert(generateKey(a), 'next');
      const retired = this.#current.get(a);
      if (retired !== undefined) {
        retired.status = 'retired';
        retired.retiredAt = now;
        retired.since = now;
      }
      promoted.status = 'current';
      promoted.since = now;
      this.#current.set(a, promoted);
      const upcoming = this.development
        ? (this.#nextOf(a) ?? this.#insert(generateKey(a), 'next'))
        : this.#nextOf(a);
      return {
        alg: a,
        current: promoted.kid,
        ...(retired !== undefined && { retired: retired.kid }),
        ...(upcoming !== undefined && { next: upcoming.kid }),
      };
    });
    this.#changed();
    return rotations;
  }

  /**
   * Adds a host key as `next`: published in the JWKS at once, signing from the next
   * {@link KeySet.rotate}. Validated like the `keys` option.
   *
   * @param jwk - a private JWK with `kid` and `alg`.
   * @returns the new key's metadata.
   * @throws ManagementError `invalid_body` for an invalid key, `conflict` for a kid already in
   *   the set.
   */
  add(jwk: unknown): KeyInfo {
    const imported = importSigningKey(
      jwk,
      'key',
      (message) => new ManagementError('invalid_body', message),
    );
    this.#dropExpired(this.#now());
    if (this.#find(imported.kid) !== undefined) {
      throw new ManagementError(
        'conflict',
        `a key with kid "${imported.kid}" is already in the set`,
      );
    }
    return info(this.#insert(imported, 'next'));
  }

  /** Every key in the set, current first, then next, then retired: metadata only. */
  list(): KeyInfo[] {
    this.#dropExpired(this.#now());
    return this.#byStatus().map(info);
  }

  /** Every key's status, since when, and a retired key's end: for health checks. */
  lifecycle(): KeyLifecycle[] {
    this.#dropExpired(this.#now());
    return this.#byStatus().map((entry) => ({
      kid: entry.kid,
      alg: entry.alg,
      status: entry.status,
      since: entry.since,
      ...(entry.retiredAt !== undefined && { expiresAt: entry.retiredAt + this.#graceMs }),
    }));
  }

  #insert(imported: ImportedKey, status: 'current' | 'next'): KeyEntry {
    const entry: KeyEntry = { ...imported, status, retiredAt: undefined, since: this.#now() };
    this.#entries.push(entry);
    if (status === 'current') this.#current.set(entry.alg, entry);
    this.#changed();
    return entry;
  }

  #find(kid: string): KeyEntry | undefined {
    return this.#entries.find((entry) => entry.kid === kid);
  }

  #nextOf(alg: SigningAlg): KeyEntry | undefined {
    return this.#entries.find((entry) => entry.alg === alg && entry.status === 'next');
  }

  #byStatus(): KeyEntry[] {
    const order: readonly KeyStatus[] = ['current', 'next', 'retired'];
    return order.flatMap((status) => this.#entries.filter((entry) => entry.status === status));
  }

  #dropExpired(now: number): void {
    if (now < this.#nextExpiry) return;
    this.#entries = this.#entries.filter(
      (entry) => entry.retiredAt === undefined || now < entry.retiredAt + this.#graceMs,
    );
    this.#changed();
  }

  #changed(): void {
    this.#jwks = undefined;
    let nextExpiry = Infinity;
    for (const entry of this.#entries) {
      if (entry.retiredAt !== undefined) {
        nextExpiry = Math.min(nextExpiry, entry.retiredAt + this.#graceMs);
      }
    }
    this.#nextExpiry = nextExpiry;
  }
}

function info(entry: KeyEntry): KeyInfo {
  return {
    kid: entry.kid,
    alg: entry.alg,
    status: entry.status,
    ...(entry.retiredAt !== undefined && { retired_at: new Date(entry.retiredAt).toISOString() }),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSigningAlg(value: unknown): value is SigningAlg {
  return typeof value === 'string' && (SIGNING_ALGS as readonly string[]).includes(value);
}

/**
 * Checks one host key and imports it. `fail` builds the error to throw, so the same checks serve
 * the option (TypeError) and `KeySet.add()` (ManagementError).
 */
function importSigningKey(
  raw: unknown,
  path: string,
  fail: (message: string) => Error,
): ImportedKey {
  if (!isObject(raw)) throw fail(`${path} must be a private JWK object`);
  const { kid, alg, kty, crv, d, use } = raw;
  if (typeof kid !== 'string' || kid.length === 0) {
    throw fail(`${path}.kid must be a non-empty string`);
  }
  if (!isSigningAlg(alg)) throw fail(`${path}.alg must be one of ${ALG_LIST}`);
  const shape = KEY_SHAPES[alg];
  if (kty !== shape.kty) throw fail(`${path}.kty must be "${shape.kty}" for alg ${alg}`);
  if (shape.crv !== undefined && crv !== shape.crv) {
    throw fail(`${path}.crv must be "${shape.crv}" for alg ${alg}`);
  }
  if (d === undefined) {
    throw fail(`${path} is a public key: signing needs a private JWK (with "d")`);
  }
  if (use !== undefined && use !== 'sig') throw fail(`${path}.use must be "sig" when present`);

  let privateKey: KeyObject;
  let declaredPublicKey: KeyObject;
  try {
    privateKey = crypto.createPrivateKey({ key: raw as crypto.JsonWebKey, format: 'jwk' });
    declaredPublicKey = crypto.createPublicKey({
      key: publicMembers(raw as crypto.JsonWebKey, shape.kty) as crypto.JsonWebKey,
      format: 'jwk',
    });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw fail(`${path} is not a valid private JWK (${reason})`);
  }
  const bits = privateKey.asymmetricKeyDetails?.modulusLength;
  if (shape.kty === 'RSA' && (bits === undefined || bits < MIN_RSA_BITS)) {
    throw fail(
      `${path} is a ${String(bits)}-bit RSA key: at least ${MIN_RSA_BITS} bits are required`,
    );
  }

  // node:crypto does not check that "d" belongs to the published members (an EC key with a
  // foreign "d" imports fine); a token signed with such a key would never verify, so find out now.
  const sign = createJwsSigner(alg, privateKey);
  if (!verifyJwsSignature(alg, declaredPublicKey, PROBE, sign(PROBE))) {
    throw fail(`${path} has private and public members of different keys`);
  }
  return toImportedKey(kid, alg, sign, declaredPublicKey);
}

function generateKey(alg: SigningAlg): ImportedKey {
  let privateKey: KeyObject;
  switch (alg) {
    case 'RS256':
    case 'PS256':
      ({ privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: MIN_RSA_BITS }));
      break;
    case 'ES256':
      ({ privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }));
      break;
    case 'EdDSA':
      ({ privateKey } = crypto.generateKeyPairSync('ed25519'));
      break;
  }
  const publicKey = crypto.createPublicKey(privateKey);
  const members = publicMembers(publicKey.export({ format: 'jwk' }), KEY_SHAPES[alg].kty);
  // RFC 7638 thumbprint: a stable kid that says which key it is, without a registry of names.
  const kid = crypto.createHash('sha256').update(JSON.stringify(members)).digest('base64url');
  return toImportedKey(kid, alg, createJwsSigner(alg, privateKey), publicKey);
}

function toImportedKey(
  kid: string,
  alg: SigningAlg,
  sign: (data: Buffer) => Buffer,
  publicKey: KeyObject,
): ImportedKey {
  // Re-exported from the KeyObject rather than copied from the input, so whatever else the input
  // carried (d, p, q, dp, dq, qi, k, x5c, ...) can never reach the JWKS.
  const members = publicMembers(publicKey.export({ format: 'jwk' }), KEY_SHAPES[alg].kty);
  const publicJwk: PublicJwk = Object.freeze({ ...members, kid, alg, use: 'sig' });
  return {
    kid,
    alg,
    signer: Object.freeze({ kid, alg, sign }),
    publicKey,
    publicJwk,
  };
}

/** The public members of a JWK, in RFC 7638 (lexicographic) order. */
function publicMembers(
  jwk: crypto.JsonWebKey,
  kty: PublicJwk['kty'],
): Pick<PublicJwk, 'kty' | 'n' | 'e' | 'crv' | 'x' | 'y'> {
  const member = (name: string): string => {
    const value = jwk[name];
    return typeof value === 'string' ? value : '';
  };
  switch (kty) {
    case 'RSA':
      return { e: member('e'), kty, n: member('n') };
    case 'EC':
      return { crv: member('crv'), kty, x: member('x'), y: member('y') };
    case 'OKP':
      return { crv: member('crv'), kty, x: member('x') };
  }
}
