import crypto, { type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { SIGNING_ALGS, createJwsSigner, verifyJwsSignature } from './jws.js';
import type { SigningAlg, SigningKey } from './jws.js';
import { isSigner, type Signer } from './signer.js';

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

/** The public members of a key (`kty` and `n`, `e` or `crv`, `x`, `y`), in RFC 7638 order. */
export type PublicMembers = Readonly<Record<string, string>>;

/** A key imported into node:crypto once, ready to sign (when this process can) and to verify. */
export interface ImportedKey {
  readonly kid: string;
  readonly alg: SigningAlg;
  /** `undefined` for a key this process only publishes: its private part is elsewhere. */
  readonly signer: SigningKey | undefined;
  readonly publicKey: KeyObject;
  readonly publicJwk: PublicJwk;
  readonly members: PublicMembers;
  /** The private JWK, for a key whose private part a key store may keep. */
  readonly privateJwk?: Readonly<Record<string, string>>;
}

const MIN_RSA_BITS = 2048;
const ALG_LIST = SIGNING_ALGS.join(', ');
const PROBE = Buffer.from('customTokenExchange signing key self-test');

const KEY_SHAPES: Readonly<Record<SigningAlg, { kty: PublicJwk['kty']; crv?: string }>> = {
  RS256: { kty: 'RSA' },
  PS256: { kty: 'RSA' },
  ES256: { kty: 'EC', crv: 'P-256' },
  EdDSA: { kty: 'OKP', crv: 'Ed25519' },
};
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/**
 * Keys parsed by {@link parseSigningKeys}, so that what is built from its result does not import
 * them a second time. Keyed by the frozen copies (or the signers) it returns.
 */
const importedKeys = new WeakMap<object, ImportedKey>();

/**
 * Validates the host's signing keys and imports each one once.
 *
 * @param input - an array of private JWKs and {@link Signer}s, or a JWKS `{ keys: [...] }`.
 * @param path - the option path named in error messages; default `options.keys`.
 * @returns frozen copies of the JWKs and the signers themselves, in order (what is built from
 *   them then reuses the imported key objects).
 * @throws TypeError naming the exact path when the input is not an array or JWKS, is empty, or a
 *   key is not an object, lacks a `kid`, has an `alg` outside RS256, PS256, ES256, EdDSA, a
 *   `kty`/`crv` that does not fit its `alg`, no private part, a `use` other than `sig`, an RSA
 *   modulus under 2048 bits, private and public members of different keys, or a `kid` already used.
 */
export function parseSigningKeys(
  input: unknown,
  path = 'options.keys',
): Array<SigningKeyInput | Signer> {
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
    const imported = importKey(raw, keyPath, fail, false);
    const earlier = pathOfKid.get(imported.kid);
    if (earlier !== undefined) {
      throw fail(`${keyPath}.kid "${imported.kid}" is already used by ${earlier}`);
    }
    pathOfKid.set(imported.kid, keyPath);
    const kept = isSigner(raw) ? raw : Object.freeze({ ...(raw as SigningKeyInput) });
    importedKeys.set(kept, imported);
    return kept;
  });
}

/**
 * The host's keys (`options.keys`), each imported once: the results of {@link parseSigningKeys}
 * are already, anything else is validated by it here.
 *
 * @throws TypeError as {@link parseSigningKeys} does, and when a `kid` is repeated.
 */
export function importHostKeys(keys: ReadonlyArray<SigningKeyInput | Signer>): ImportedKey[] {
  const parsed = keys.every((key) => alreadyImported(key) !== undefined)
    ? keys
    : parseSigningKeys(keys);
  const kids = new Set<string>();
  return parsed.map((key) => {
    const imported = alreadyImported(key)!;
    // Two separate parseSigningKeys() results can still share a kid.
    if (kids.has(imported.kid)) {
      throw new TypeError(`customTokenExchange: options.keys: kid "${imported.kid}" is repeated`);
    }
    kids.add(imported.kid);
    return imported;
  });
}

/** The key {@link parseSigningKeys} imported for one of its results, if it is one. */
export function alreadyImported(key: object): ImportedKey | undefined {
  return importedKeys.get(key);
}

/**
 * Checks one key (a private JWK or a {@link Signer}) and imports it. `fail` builds the error to
 * throw, so the same checks serve the option (TypeError) and `keys.add()` (ManagementError).
 * With `keepPrivate`, a JWK's private members are kept for a key store.
 */
export function importKey(
  raw: unknown,
  path: string,
  fail: (message: string) => Error,
  keepPrivate: boolean,
): ImportedKey {
  if (isSigner(raw)) return importSigner(raw, path, fail);
  if (!isObject(raw)) throw fail(`${path} must be a private JWK object or a Signer`);
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
      key: publicMembers(raw, shape.kty) as crypto.JsonWebKey,
      format: 'jwk',
    });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw fail(`${path} is not a valid private JWK (${reason})`);
  }
  checkRsaSize(declaredPublicKey, shape.kty, path, fail);

  // node:crypto does not check that "d" belongs to the published members (an EC key with a
  // foreign "d" imports fine); a token signed with such a key would never verify, so find out now.
  const sign = createJwsSigner(alg, privateKey);
  if (!verifyJwsSignature(alg, declaredPublicKey, PROBE, sign(PROBE))) {
    throw fail(`${path} has private and public members of different keys`);
  }
  return toImportedKey(
    kid,
    alg,
    sign,
    declaredPublicKey,
    keepPrivate ? privateJwkOf(privateKey) : undefined,
  );
}

/**
 * A {@link Signer}, checked for its shape now; its first signature is checked against its public
 * key when it is made (a remote signer cannot be asked here, synchronously).
 */
function importSigner(signer: Signer, path: string, fail: (message: string) => Error): ImportedKey {
  const { kid, alg } = signer;
  if (typeof kid !== 'string' || kid.length === 0) {
    throw fail(`${path}.kid must be a non-empty string`);
  }
  if (!isSigningAlg(alg)) throw fail(`${path}.alg must be one of ${ALG_LIST}`);
  const publicKey = importPublicJwk(signer.publicJwk, alg, `${path}.publicJwk`, fail);
  let checked = false;
  const sign = async (data: Buffer): Promise<Buffer> => {
    const answer = await signer.sign(data);
    const signature = Buffer.from(answer.buffer, answer.byteOffset, answer.byteLength);
    if (!checked) {
      if (!verifyJwsSignature(alg, publicKey, data, signature)) {
        throw new Error(
          `signer ${JSON.stringify(kid)} answered a signature its publicJwk does not verify ` +
            `(${alg} wants the raw JWS form${alg === 'ES256' ? ': 64 bytes r || s, not DER' : ''})`,
        );
      }
      checked = true;
    }
    return signature;
  };
  return toImportedKey(kid, alg, sign, publicKey, undefined);
}

/** A key this process only publishes and verifies with: its private part is elsewhere. */
export function importPublicKey(
  kid: string,
  alg: SigningAlg,
  jwk: unknown,
  path: string,
): ImportedKey {
  const publicKey = importPublicJwk(jwk, alg, path, (message) => new Error(message));
  return toImportedKey(kid, alg, undefined, publicKey, undefined);
}

/**
 * A key `generate` made: a new key pair whose private JWK a key store may keep. Its kid is the
 * RFC 7638 thumbprint, stable and unique without a registry of names.
 */
export function generateKey(alg: SigningAlg): ImportedKey {
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
  const kid = crypto.createHash('sha256').update(JSON.stringify(members)).digest('base64url');
  return toImportedKey(
    kid,
    alg,
    createJwsSigner(alg, privateKey),
    publicKey,
    privateJwkOf(privateKey),
  );
}

function importPublicJwk(
  jwk: unknown,
  alg: SigningAlg,
  path: string,
  fail: (message: string) => Error,
): KeyObject {
  if (!isObject(jwk)) throw fail(`${path} must be a public JWK object`);
  const shape = KEY_SHAPES[alg];
  if (jwk.kty !== shape.kty) throw fail(`${path}.kty must be "${shape.kty}" for alg ${alg}`);
  if (shape.crv !== undefined && jwk.crv !== shape.crv) {
    throw fail(`${path}.crv must be "${shape.crv}" for alg ${alg}`);
  }
  if (PRIVATE_MEMBERS.some((member) => member in jwk)) {
    throw fail(`${path} must be a public key (it has private members)`);
  }
  let publicKey: KeyObject;
  try {
    publicKey = crypto.createPublicKey({
      key: publicMembers(jwk, shape.kty) as crypto.JsonWebKey,
      format: 'jwk',
    });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw fail(`${path} is not a valid public JWK (${reason})`);
  }
  checkRsaSize(publicKey, shape.kty, path, fail);
  return publicKey;
}

function checkRsaSize(
  key: KeyObject,
  kty: PublicJwk['kty'],
  path: string,
  fail: (message: string) => Error,
): void {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (kty === 'RSA' && (bits === undefined || bits < MIN_RSA_BITS)) {
    throw fail(
      `${path} is a ${String(bits)}-bit RSA key: at least ${MIN_RSA_BITS} bits are required`,
    );
  }
}

function toImportedKey(
  kid: string,
  alg: SigningAlg,
  sign: SigningKey['sign'] | undefined,
  publicKey: KeyObject,
  privateJwk: Readonly<Record<string, string>> | undefined,
): ImportedKey {
  // Re-exported from the KeyObject rather than copied from the input, so whatever else the input
  // carried (d, p, q, dp, dq, qi, k, x5c, ...) can never reach the JWKS.
  const members = Object.freeze(
    publicMembers(publicKey.export({ format: 'jwk' }), KEY_SHAPES[alg].kty),
  );
  const publicJwk: PublicJwk = Object.freeze({ ...members, kid, alg, use: 'sig' });
  return {
    kid,
    alg,
    signer: sign === undefined ? undefined : Object.freeze({ kid, alg, sign }),
    publicKey,
    publicJwk,
    members: members,
    ...(privateJwk === undefined ? {} : { privateJwk }),
  };
}

function privateJwkOf(privateKey: KeyObject): Readonly<Record<string, string>> {
  return Object.freeze(privateKey.export({ format: 'jwk' }) as Record<string, string>);
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

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isSigningAlg(value: unknown): value is SigningAlg {
  return typeof value === 'string' && (SIGNING_ALGS as readonly string[]).includes(value);
}
