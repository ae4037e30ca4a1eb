import { describeError } from '../logs/rate-limited-warning.js';
import type { SigningAlg } from './jws.js';
import { generateKey, importKey, importPublicKey } from './key-import.js';
import type { ImportedKey, PublicJwk } from './key-import.js';
import { scheduleState, withoutExpired } from './key-schedule.js';
import type { StoredSigningKey } from './key-store.js';

/** The schedule at one moment, with its keys imported: what signing and verifying read. */
export interface KeyState {
  /** When it was worked out, and until when it holds (the schedule's next change). */
  readonly from: number;
  readonly validUntil: number;
  readonly current: ReadonlyMap<SigningAlg, ImportedKey>;
  readonly verification: ReadonlyMap<string, ImportedKey>;
  readonly jwks: { keys: PublicJwk[] };
}

/**
 * Imports the keys of a schedule into node:crypto once each, across reads of the schedule (a key
 * is imported again only when what is stored of it changed). A key whose private JWK the store
 * keeps signs; one whose private part is in this process's `options.keys` (same kid, same public
 * key) signs with that; any other is published and verifies, but cannot sign here.
 */
export class KeyImports {
  readonly #imported = new Map<string, { readonly stored: string; readonly key?: ImportedKey }>();

  constructor(
    private readonly hostKeys: ReadonlyMap<string, ImportedKey>,
    private readonly warn: (message: string) => void,
  ) {}

  /** The state of `keys` at `now`. */
  stateAt(keys: readonly StoredSigningKey[], now: number): KeyState {
    const schedule = scheduleState(keys, now);
    const current = new Map<SigningAlg, ImportedKey>();
    for (const [alg, key] of schedule.current) {
      const imported = this.#import(key);
      if (imported !== undefined) current.set(alg, imported);
    }
    const verification = new Map<string, ImportedKey>();
    const published: PublicJwk[] = [];
    for (const { key } of schedule.published) {
      const imported = this.#import(key);
      if (imported === undefined) continue;
      verification.set(imported.kid, imported);
      published.push(imported.publicJwk);
    }
    return {
      from: now,
      validUntil: schedule.validUntil,
      current,
      verification,
      jwks: Object.freeze({ keys: Object.freeze(published) as PublicJwk[] }),
    };
  }

  /** Imports `kid` afresh next time (this process just got its private part). */
  forget(kid: string): void {
    this.#imported.delete(kid);
  }

  /** A stored key imported once (`undefined`, with a warning, when it cannot be). */
  #import(key: StoredSigningKey): ImportedKey | undefined {
    const text = JSON.stringify(key.private_jwk ?? key.public_jwk);
    const cached = this.#imported.get(key.kid);
    if (cached !== undefined && cached.stored === text) return cached.key;
    let imported: ImportedKey | undefined;
    try {
      const host = this.hostKeys.get(key.kid);
      if (key.private_jwk !== undefined) {
        imported = importKey(
          { ...key.private_jwk, kid: key.kid, alg: key.alg },
          `the key store's key "${key.kid}"`,
          (message) => new Error(message),
          true,
        );
      } else if (host !== undefined && sameMembers(host.members, key.public_jwk)) {
        imported = host;
      } else {
        imported = importPublicKey(key.kid, key.alg, key.public_jwk, `key "${key.kid}"`);
      }
    } catch (error) {
      this.warn(
        `customTokenExchange: the signing key "${key.kid}" is left out: ${describeError(error)}`,
      );
    }
    this.#imported.set(
      key.kid,
      imported === undefined ? { stored: text } : { stored: text, key: imported },
    );
    return imported;
  }
}

/**
 * `keys` seeded with `hostKeys` for every alg it has no key of, published at `now`: the first
 * key of such an alg signs from `now`, the others of it wait as `next`. Only public parts go in.
 * An alg the schedule has keys of is left as it is: keys enter it through `keys.add()` from then
 * on, so a retired key still listed in an instance's `options.keys` never comes back.
 */
export function withHostKeys(
  keys: readonly StoredSigningKey[],
  hostKeys: Iterable<ImportedKey>,
  now: number,
): readonly StoredSigningKey[] {
  const live = withoutExpired(keys, now);
  const scheduled = new Set(live.map((key) => key.alg));
  const seeded: StoredSigningKey[] = [];
  for (const key of hostKeys) {
    if (scheduled.has(key.alg) || keys.some((entry) => entry.kid === key.kid)) continue;
    const first = !seeded.some((entry) => entry.alg === key.alg);
    seeded.push(storedKey(key, now, first ? now : null, false));
  }
  return seeded.length === 0 ? keys : [...live, ...seeded];
}

/** `keys` with a current and a next key made for each of `algs` (private JWKs kept). */
export function withGeneratedKeys(
  keys: readonly StoredSigningKey[],
  algs: readonly SigningAlg[],
  now: number,
): readonly StoredSigningKey[] {
  if (algs.length === 0) return keys;
  const made = algs.flatMap((alg) => [
    storedKey(generateKey(alg), now, now, true),
    storedKey(generateKey(alg), now, null, true),
  ]);
  return [...withoutExpired(keys, now), ...made];
}

/** Which of `algs` have neither a current key nor one scheduled to sign. */
export function algsWithoutKey(
  keys: readonly StoredSigningKey[],
  algs: Iterable<SigningAlg>,
  now: number,
): SigningAlg[] {
  const current = scheduleState(keys, now).current;
  return [...algs].filter(
    (alg) =>
      !current.has(alg) &&
      !keys.some((key) => key.alg === alg && key.signs_from !== null && key.signs_from > now),
  );
}

/** `key` as a schedule entry published at `now`; with `withPrivate`, its private JWK kept. */
export function storedKey(
  key: ImportedKey,
  now: number,
  signsFrom: number | null,
  withPrivate: boolean,
): StoredSigningKey {
  return {
    kid: key.kid,
    alg: key.alg,
    public_jwk: key.members,
    ...(withPrivate && key.privateJwk !== undefined ? { private_jwk: key.privateJwk } : {}),
    published_at: now,
    signs_from: signsFrom,
    retired_at: null,
    expires_at: null,
  };
}

function sameMembers(
  a: Readonly<Record<string, string>>,
  b: Readonly<Record<string, string>>,
): boolean {
  const names = Object.keys(a);
  return names.length === Object.keys(b).length && names.every((name) => a[name] === b[name]);
}
