import { ManagementError } from '../errors.js';
import { SIGNING_ALGS } from './jws.js';
import type { SigningAlg } from './jws.js';
import type { StoredSigningKey } from './key-store.js';

/**
 * Where a key is in its life: `next` is published but does not sign yet (it may be scheduled
 * to), `current` signs (one per alg), `retired` no longer signs but stays published until the
 * tokens it signed have expired.
 */
export type KeyStatus = 'current' | 'next' | 'retired';

/** What `keys.list()` tells about a key: metadata only, never key material. Times are ISO 8601. */
export interface KeyInfo {
  kid: string;
  alg: SigningAlg;
  status: KeyStatus;
  /** When it appeared in the JWKS. */
  published_at: string;
  /** When it starts (or started) signing; absent for a next key no rotation chose yet. */
  signs_from?: string;
  /** When it stops (or stopped) signing, once a rotation scheduled its successor. */
  retired_at?: string;
  /** When it leaves the JWKS: its retirement plus the longest token lifetime. */
  expires_at?: string;
}

/** What one alg's rotation did. */
export interface KeyRotation {
  alg: SigningAlg;
  /** The kid that signs once the rotation takes effect. */
  current: string;
  /**
   * When it starts signing (ISO 8601): at once when it has been published for the JWKS
   * `max-age` already, else that long after it was published, so that every verifier caching
   * the JWKS knows it before the first token it signs.
   */
  signs_from: string;
  /** The kid that stops signing then; absent when the alg had no current key. */
  retired?: string;
  /** The kid published to sign after the following rotation, when there is one. */
  next?: string;
}

/** The schedule at one moment. */
export interface ScheduleState {
  /** The key signing for each alg. */
  readonly current: ReadonlyMap<SigningAlg, StoredSigningKey>;
  /** The published keys with their status: current ones first, then next, then retired. */
  readonly published: ReadonlyArray<{ readonly key: StoredSigningKey; readonly status: KeyStatus }>;
  /** The first moment after `now` at which the state changes (`Infinity`: never). */
  readonly validUntil: number;
}

/** How a rotation places keys in time, and where new keys come from. */
export interface RotationPolicy {
  /** The JWKS `max-age` in ms: a key signs no sooner than this after it was published. */
  readonly publishAheadMs: number;
  /** How long a retired key stays published, in ms: the longest token lifetime at least. */
  readonly graceMs: number;
  /**
   * Makes a new key of `alg`, published at `now`, for schedules whose keys the router makes
   * itself. Absent, a rotation needs a `next` key that was added.
   */
  readonly generate?: (alg: SigningAlg, now: number) => StoredSigningKey;
}

const STATUS_ORDER: readonly KeyStatus[] = ['current', 'next', 'retired'];
const ALG_LIST = SIGNING_ALGS.join(', ');

/** The state of `keys` at `now`. */
export function scheduleState(keys: readonly StoredSigningKey[], now: number): ScheduleState {
  const current = new Map<SigningAlg, StoredSigningKey>();
  let validUntil = Infinity;
  for (const key of keys) {
    for (const time of [key.published_at, key.signs_from, key.retired_at, key.expires_at]) {
      if (time !== null && time > now && time < validUntil) validUntil = time;
    }
    const signing =
      key.signs_from !== null &&
      key.signs_from <= now &&
      (key.retired_at === null || now < key.retired_at);
    const chosen = current.get(key.alg);
    if (signing && (chosen === undefined || key.signs_from! > chosen.signs_from!)) {
      current.set(key.alg, key);
    }
  }
  const published = keys
    .filter((key) => isPublished(key, now))
    .map((key) => ({ key, status: statusOf(key, current, now) }));
  published.sort((a, b) => STATUS_ORDER.indexOf(a.status) - STATUS_ORDER.indexOf(b.status));
  return { current, published, validUntil };
}

/** What {@link KeyInfo} says of each published key at `now`. */
export function describeKeys(keys: readonly StoredSigningKey[], now: number): KeyInfo[] {
  return scheduleState(keys, now).published.map(({ key, status }) => describeKey(key, status));
}

export function describeKey(key: StoredSigningKey, status: KeyStatus): KeyInfo {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    kid: key.kid,
    alg: key.alg,
    status,
    published_at: iso(key.published_at),
    ...(key.signs_from !== null && { signs_from: iso(key.signs_from) }),
    ...(key.retired_at !== null && { retired_at: iso(key.retired_at) }),
    ...(key.expires_at !== null && { expires_at: iso(key.expires_at) }),
  };
}

/** `keys` without those that left the JWKS for good. */
export function withoutExpired(keys: readonly StoredSigningKey[], now: number): StoredSigningKey[] {
  return keys.filter((key) => key.expires_at === null || now < key.expires_at);
}

/**
 * Adds `key` as `next`: published at `now`, not signing before a rotation schedules it.
 * @throws ManagementError `conflict` for a kid the schedule holds
 */
export function addToSchedule(
  keys: readonly StoredSigningKey[],
  key: Omit<StoredSigningKey, 'published_at' | 'signs_from' | 'retired_at' | 'expires_at'>,
  now: number,
): StoredSigningKey[] {
  const kept = withoutExpired(keys, now);
  if (kept.some((existing) => existing.kid === key.kid)) {
    throw new ManagementError('conflict', `a key with kid "${key.kid}" is already in the set`);
  }
  return [
    ...kept,
    { ...key, published_at: now, signs_from: null, retired_at: null, expires_at: null },
  ];
}

/**
 * Rotates `alg` (or every alg that has a current key): its `next` key (the earliest published)
 * is scheduled to sign from `now`, or from the JWKS `max-age` after it was published if that is
 * later; the current key retires then and stays published for `graceMs` more. With
 * `policy.generate`, a missing next key is made, and a fresh one is published for the following
 * rotation. An alg whose rotation is already scheduled is answered as it stands.
 *
 * @throws ManagementError `invalid_body` for an unknown alg, `not_found` when the alg has no key,
 *   `conflict` when it has no next key and none can be made. Nothing changes when it throws.
 */
export function rotateSchedule(
  keys: readonly StoredSigningKey[],
  alg: SigningAlg | undefined,
  now: number,
  policy: RotationPolicy,
): { keys: StoredSigningKey[]; rotations: KeyRotation[] } {
  let list = withoutExpired(keys, now);
  const state = scheduleState(list, now);
  const pendingOf = (a: SigningAlg) =>
    list.find((key) => key.alg === a && key.signs_from !== null && key.signs_from > now);
  const nextOf = (a: SigningAlg, except?: string) =>
    list
      .filter((key) => key.alg === a && key.signs_from === null && key.kid !== except)
      .sort((x, y) => x.published_at - y.published_at)[0];

  let algs: SigningAlg[];
  if (alg === undefined) {
    algs = [...state.current.keys()];
  } else {
    if (!(SIGNING_ALGS as readonly string[]).includes(alg)) {
      throw new ManagementError('invalid_body', `alg must be one of ${ALG_LIST}`);
    }
    if (!list.some((key) => key.alg === alg)) {
      throw new ManagementError('not_found', `no signing key with alg ${alg} to rotate`);
    }
    algs = [alg];
  }
  if (policy.generate === undefined) {
    // Checked for every alg before any change, so a refused rotation leaves the schedule as it was.
    const stuck = algs.find((a) => pendingOf(a) === undefined && nextOf(a) === undefined);
    if (stuck !== undefined) {
      throw new ManagementError(
        'conflict',
        `no next key with alg ${stuck} to rotate to: keys.add() one first (it is published ` +
          'at once and starts signing at the following rotate())',
      );
    }
  }

  const replace = (kid: string, change: Partial<StoredSigningKey>): StoredSigningKey => {
    let changed: StoredSigningKey | undefined;
    list = list.map((key) => (key.kid === kid ? (changed = { ...key, ...change }) : key));
    return changed!;
  };
  const make = (a: SigningAlg): StoredSigningKey => {
    const made = policy.generate!(a, now);
    list = [...list, made];
    return made;
  };
  const iso = (ms: number) => new Date(ms).toISOString();

  const rotations = algs.map((a): KeyRotation => {
    const current = state.current.get(a);
    const pending = pendingOf(a);
    if (pending !== undefined) {
      const upcoming = nextOf(a);
      return {
        alg: a,
        current: pending.kid,
        signs_from: iso(pending.signs_from!),
        ...(current !== undefined && { retired: current.kid }),
        ...(upcoming !== undefined && { next: upcoming.kid }),
      };
    }
    const chosen = nextOf(a) ?? make(a);
    const at = Math.max(now, chosen.published_at + policy.publishAheadMs);
    replace(chosen.kid, { signs_from: at });
    if (current !== undefined) {
      replace(current.kid, { retired_at: at, expires_at: at + policy.graceMs });
    }
    const upcoming = nextOf(a, chosen.kid) ?? (policy.generate === undefined ? undefined : make(a));
    return {
      alg: a,
      current: chosen.kid,
      signs_from: iso(at),
      ...(current !== undefined && { retired: current.kid }),
      ...(upcoming !== undefined && { next: upcoming.kid }),
    };
  });
  return { keys: list, rotations };
}

function isPublished(key: StoredSigningKey, now: number): boolean {
  return key.published_at <= now && (key.expires_at === null || now < key.expires_at);
}

function statusOf(
  key: StoredSigningKey,
  current: ReadonlyMap<SigningAlg, StoredSigningKey>,
  now: number,
): KeyStatus {
  if (current.get(key.alg) === key) return 'current';
  if (key.retired_at !== null && key.retired_at <= now) return 'retired';
  return 'next';
}
