import { ManagementError, ServerError, TemporarilyUnavailable } from '../errors.js';
import { describeError, rateLimitedWarning } from '../rate-limited-warning.js';
import { SIGNING_ALGS } from './jws.js';
import type { SigningAlg, SigningKey } from './jws.js';
import { generateKey, importHostKeys, importKey, isSigningAlg } from './key-import.js';
import type { ImportedKey, PublicJwk } from './key-import.js';
import { addToSchedule, describeKey, describeKeys, rotateSchedule } from './key-schedule.js';
import type { KeyInfo, KeyRotation, RotationPolicy } from './key-schedule.js';
import type { KeySetOptions, VerificationKey } from './key-set-options.js';
import { MemoryKeyStore } from './key-store.js';
import { changeSchedule, loadCompleted } from './key-schedule-store.js';
import type { KeySchedule, KeyStore, StoredSigningKey } from './key-store.js';
import {
  KeyImports,
  algsWithoutKey,
  storedKey,
  withGeneratedKeys,
  withHostKeys,
} from './key-state.js';
import type { KeyState } from './key-state.js';
import { isSigner } from './signer.js';

export { SIGNING_ALGS } from './jws.js';
export type { SigningAlg, SigningKey } from './jws.js';
export { parseSigningKeys } from './key-import.js';
export type { PublicJwk, SigningKeyInput } from './key-import.js';
export type { KeyInfo, KeyRotation, KeyStatus } from './key-schedule.js';

const DEFAULT_GRACE_PERIOD_SECONDS = 86_400;
const ALG_LIST = SIGNING_ALGS.join(', ');

/**
 * The router's signing keys on a key schedule: which key signs for each alg, which are published,
 * from when to when (see `StoredSigningKey`). Every key is imported into node:crypto once, when it
 * enters the set; signing is then a single `crypto.sign` call, or the `Signer`'s own.
 *
 * The schedule lives in a {@link KeyStore}: given one, every instance reads the same schedule (at
 * start, then every `refreshIntervalMs` in the background: no request waits on the store once it
 * was read), so all sign with the same current key and serve the same JWKS; without one, an
 * in-process store holds it. Rotation follows the usual JWKS discipline: a key is published before
 * it signs, for at least the JWKS cache lifetime, so verifiers that cache the JWKS (and instances
 * that read the schedule in the background) know it when the first token signed with it arrives;
 * a retired key stays published for the longest token lifetime, so tokens it signed keep
 * verifying.
 */
export class KeySet {
  /** `true` when the set generates keys in this process only (no `keys`, no store). */
  readonly development: boolean;

  readonly #store: KeyStore;
  readonly #hostKeys = new Map<string, ImportedKey>();
  readonly #hostAlgs = new Set<SigningAlg>();
  /** Whether the set makes the keys it needs (development, or a store without `keys`). */
  readonly #generates: boolean;
  readonly #now: () => number;
  readonly #graceMs: number;
  readonly #publishAheadMs: number;
  readonly #warn: (message: string) => void;
  #longestLifetimeMs = 0;
  #schedule: KeySchedule | undefined;
  #state: KeyState | undefined;
  readonly #imports: KeyImports;
  /** Algs something signs with: a store without `keys` gets a key made for each. */
  readonly #required = new Set<SigningAlg>();
  #loading: Promise<void> | undefined;
  #lastLoadError: unknown;
  #timer: NodeJS.Timeout | undefined;

  /**
   * @param options - see {@link KeySetOptions}.
   * @throws TypeError when `keys` is invalid (see `parseSigningKeys`) or a duration is not a
   *   non-negative number.
   */
  constructor(options: KeySetOptions = {}) {
    const grace = options.gracePeriodSeconds ?? DEFAULT_GRACE_PERIOD_SECONDS;
    const ahead = options.publishAheadSeconds ?? 0;
    for (const [value, name] of [
      [grace, 'gracePeriodSeconds'],
      [ahead, 'publishAheadSeconds'],
    ] as const) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
        throw new TypeError(
          `customTokenExchange: ${name} must be a non-negative number of seconds`,
        );
      }
    }
    this.#graceMs = grace * 1000;
    this.#publishAheadMs = ahead * 1000;
    this.#now = options.now ?? Date.now;
    const warn = options.warn ?? ((message: string) => console.warn(message));
    const rateLimited = rateLimitedWarning({ warn });
    this.#warn = (message) => rateLimited(this, message);
    this.#imports = new KeyImports(this.#hostKeys, this.#warn);
    this.development = options.keys === undefined && options.store === undefined;
    this.#generates = options.keys === undefined;

    if (options.keys !== undefined) {
      for (const imported of importHostKeys(options.keys)) {
        this.#hostKeys.set(imported.kid, imported);
        this.#hostAlgs.add(imported.alg);
      }
    }

    if (options.store === undefined) {
      this.#store = new MemoryKeyStore();
      this.#saveLocally(withHostKeys([], this.#hostKeys.values(), this.#now()));
    } else {
      this.#store = options.store;
      const interval = options.refreshIntervalMs ?? 60_000;
      this.#timer = setInterval(() => this.#refresh(), interval);
      this.#timer.unref();
      void this.whenReady()?.catch(() => undefined);
    }
  }

  /**
   * Makes sure `alg` can sign. Called at configuration time for every API's `signing_alg` and
   * every client's ID-token alg (except HS256, which signs with the client secret and is refused
   * here), so a missing key fails the router's construction, not a request. A development set
   * generates a `current` and a `next` key for an alg seen for the first time; a store without
   * `keys` gets them made once its schedule is read.
   *
   * @throws TypeError when the host's keys include none with this alg.
   */
  ensure(alg: SigningAlg): void {
    if (!isSigningAlg(alg)) {
      throw new TypeError(
        `customTokenExchange: cannot sign with alg "${String(alg)}": must be one of ${ALG_LIST}`,
      );
    }
    this.#required.add(alg);
    if (this.#hasCurrent(alg)) return;
    // The host's key of the alg seeds a store that has none once its schedule is read.
    if (this.#hostAlgs.has(alg)) return;
    if (!this.#generates) {
      throw new TypeError(
        `customTokenExchange: no signing key with alg ${alg} was configured in options.keys`,
      );
    }
    if (this.development) {
      const schedule = this.#schedule!;
      this.#saveLocally(withGeneratedKeys(schedule.keys, [alg], this.#now()));
    } else if (this.#schedule !== undefined) {
      void this.#reload().catch(() => undefined);
    }
  }

  /**
   * Makes retired keys stay published for at least `seconds` after they stop signing: the
   * router calls it with every token lifetime it may sign (APIs' and clients' ID tokens).
   */
  coverLifetime(seconds: number): void {
    this.#longestLifetimeMs = Math.max(this.#longestLifetimeMs, seconds * 1000);
  }

  /**
   * `undefined` once the schedule has been read; before, a promise that settles when it is (it
   * rejects while the store cannot be read, and the next call tries again).
   */
  whenReady(): Promise<void> | undefined {
    if (this.#schedule !== undefined) return undefined;
    return this.#reload();
  }

  /**
   * The key that currently signs for `alg`.
   *
   * @throws TypeError as {@link KeySet.ensure} when the alg has no key;
   *   `TemporarilyUnavailable` (503) while a store's schedule has not been read, or its key for the
   *   alg is being made; `ServerError` when this instance has no private part for the current key.
   */
  signingKey(alg: SigningAlg): SigningKey {
    let key = this.#stateNow().current.get(alg);
    if (key === undefined) {
      this.ensure(alg);
      key = this.#stateNow().current.get(alg);
      if (key === undefined) {
        throw new TemporarilyUnavailable(
          1,
          `the ${alg} signing key is being made in the key store`,
        );
      }
    }
    if (key.signer === undefined) {
      throw new ServerError(
        `the current ${alg} key "${key.kid}" has no private part on this instance: give every ` +
          'instance the same options.keys (the private JWK or the Signer with this kid)',
      );
    }
    return key.signer;
  }

  /**
   * The JWKS document: current, next, then retired keys still published. Cached and frozen until
   * the schedule changes, so serving it per request is cheap; it can be handed to jose's
   * `createLocalJWKSet` as is.
   *
   * @throws TemporarilyUnavailable while a store's schedule has not been read
   */
  jwks(): { keys: PublicJwk[] } {
    return this.#stateNow().jwks;
  }

  /**
   * The public key published under `kid`, for checking tokens the router issued without a JWK
   * import per call; `undefined` when no published key has this kid (or the schedule has not been
   * read yet).
   */
  verificationKey(kid: string): VerificationKey | undefined {
    if (this.#schedule === undefined) return undefined;
    const key = this.#stateNow().verification.get(kid);
    return key && { kid: key.kid, alg: key.alg, publicKey: key.publicKey };
  }

  /**
   * The algs the set signs with: those something was configured to sign with, and those of the
   * published keys once the schedule has been read. Known without the store.
   */
  signingAlgs(): SigningAlg[] {
    const algs = new Set(this.#required);
    if (this.#schedule !== undefined) {
      for (const key of this.#stateNow().verification.values()) algs.add(key.alg);
    }
    return [...algs];
  }

  /** Every published key, current first, then next, then retired: metadata only. */
  async list(): Promise<KeyInfo[]> {
    await this.whenReady();
    return describeKeys(this.#schedule!.keys, this.#now());
  }

  /**
   * Rotates the keys of `alg`, or of every alg that has a current key (see `rotateSchedule`).
   * @throws ManagementError `invalid_body`, `not_found` or `conflict`; nothing changes then.
   */
  rotate(alg?: SigningAlg): Promise<KeyRotation[]> {
    return this.#change((keys, now) => {
      const rotated = rotateSchedule(keys, alg, now, this.#policy());
      return { keys: rotated.keys, result: rotated.rotations };
    });
  }

  /**
   * Adds a private JWK or a `Signer` as `next` (published at once, signing from the next
   * rotation), validated like the `keys` option; a signer signs once now, to check it.
   * @throws ManagementError `invalid_body` for an invalid key, `conflict` for a kid in the set
   */
  async add(raw: unknown): Promise<KeyInfo> {
    const invalid = (message: string) => new ManagementError('invalid_body', message);
    const imported = importKey(raw, 'key', invalid, true);
    if (isSigner(raw)) {
      try {
        await imported.signer!.sign(Buffer.from('customTokenExchange signer check'));
      } catch (err) {
        throw invalid(`key: ${describeError(err)}`);
      }
    }
    const stored: Omit<
      StoredSigningKey,
      'published_at' | 'signs_from' | 'retired_at' | 'expires_at'
    > = {
      kid: imported.kid,
      alg: imported.alg,
      public_jwk: imported.members,
      ...(imported.privateJwk === undefined ? {} : { private_jwk: imported.privateJwk }),
    };
    const info = await this.#change((keys, now) => {
      const added = addToSchedule(keys, stored, now);
      return { keys: added, result: describeKey(added.at(-1)!, 'next') };
    });
    // Only this instance holds a signer's private part (every other needs it in options.keys).
    if (isSigner(raw)) {
      this.#hostKeys.set(imported.kid, imported);
      this.#imports.forget(imported.kid);
      this.#state = undefined;
    }
    return info;
  }

  /** Where the schedule lives: the store given, else the set's in-process one. */
  get store(): KeyStore {
    return this.#store;
  }

  /** Stops reading the store in the background. */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #policy(): RotationPolicy {
    return {
      publishAheadMs: this.#publishAheadMs,
      graceMs: Math.max(this.#graceMs, this.#longestLifetimeMs),
      ...(this.#generates && {
        generate: (alg, now) => storedKey(generateKey(alg), now, null, true),
      }),
    };
  }

  /**
   * Applies `change` to the schedule as the store holds it now, by compare-and-set: when another
   * instance changed it in between, it is read again and `change` applied to what it became.
   */
  async #change<T>(
    change: (
      keys: readonly StoredSigningKey[],
      now: number,
    ) => { keys: StoredSigningKey[]; result: T },
  ): Promise<T> {
    await this.whenReady();
    const { schedule, result } = await changeSchedule(this.#store, this.#now, change);
    this.#adopt(schedule);
    return result;
  }

  /** Reads the store's schedule (or joins the read in progress), completing it as needed. */
  #reload(): Promise<void> {
    this.#loading ??= (async () => {
      try {
        const schedule = await loadCompleted(this.#store, (keys) => {
          const now = this.#now();
          const missing =
            this.#required.size > 0 && this.#generates
              ? algsWithoutKey(keys, this.#required, now)
              : [];
          return withGeneratedKeys(withHostKeys(keys, this.#hostKeys.values(), now), missing, now);
        });
        this.#adopt(schedule);
      } catch (error) {
        this.#lastLoadError = error;
        throw new TemporarilyUnavailable(
          5,
          `the signing-key schedule could not be read from the key store: ${messageOf(error)}`,
        );
      } finally {
        this.#loading = undefined;
      }
    })();
    return this.#loading;
  }

  #refresh(): void {
    this.#reload().catch(() =>
      this.#warn(
        `customTokenExchange: reading the signing-key schedule failed ` +
          `(${describeError(this.#lastLoadError)}); signing goes on with the schedule read before.`,
      ),
    );
  }

  #hasCurrent(alg: SigningAlg): boolean {
    return this.#schedule !== undefined && this.#stateNow().current.has(alg);
  }

  /** For a set without a store: saves into its in-process store, which answers at once. */
  #saveLocally(keys: readonly StoredSigningKey[]): void {
    const revision = this.#schedule?.revision ?? 0;
    void this.#store.save(revision, keys);
    this.#adopt({ revision: revision + 1, keys });
  }

  #adopt(schedule: KeySchedule): void {
    if (schedule.revision === this.#schedule?.revision && this.#state !== undefined) return;
    this.#schedule = schedule;
    this.#state = undefined;
  }

  #stateNow(): KeyState {
    const schedule = this.#schedule;
    if (schedule === undefined) {
      throw new TemporarilyUnavailable(
        5,
        `the signing-key schedule has not been read from the key store yet` +
          (this.#lastLoadError === undefined ? '' : ` (${describeError(this.#lastLoadError)})`),
      );
    }
    const now = this.#now();
    const state = this.#state;
    if (state !== undefined && now >= state.from && now < state.validUntil) return state;
    return (this.#state = this.#imports.stateAt(schedule.keys, now));
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
