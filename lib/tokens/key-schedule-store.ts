import { ManagementError } from '../errors.js';
import type { KeySchedule, KeyStore, StoredSigningKey } from './key-store.js';

/** Rounds of load and compare-and-set a change of the schedule tries before giving up. */
const MAX_CHANGE_ATTEMPTS = 5;

/**
 * Applies `change` to the schedule as the store holds it now, by compare-and-set: when another
 * instance changed it in between, it is read again and `change` applied to what it became.
 * Resolves to the schedule saved and what `change` returned with it.
 *
 * @throws ManagementError `conflict` when the schedule changed on every attempt.
 */
export async function changeSchedule<T>(
  store: KeyStore,
  now: () => number,
  change: (
    keys: readonly StoredSigningKey[],
    now: number,
  ) => { keys: StoredSigningKey[]; result: T },
): Promise<{ schedule: KeySchedule; result: T }> {
  for (let attempt = 0; attempt < MAX_CHANGE_ATTEMPTS; attempt++) {
    const loaded = await store.load();
    const { keys, result } = change(loaded.keys, now());
    if (await store.save(loaded.revision, keys)) {
      return { schedule: { revision: loaded.revision + 1, keys }, result };
    }
  }
  throw new ManagementError(
    'conflict',
    `the key schedule changed ${MAX_CHANGE_ATTEMPTS} times while this change was made; try again`,
  );
}

/**
 * Reads the store's schedule and, when `complete` adds to it (the host's keys, keys to
 * generate), saves the completed one by compare-and-set; `complete` returns the keys it was
 * given when nothing is missing, and the schedule is then taken as read.
 *
 * @throws Error when the schedule changed on every attempt to save it.
 */
export async function loadCompleted(
  store: KeyStore,
  complete: (keys: readonly StoredSigningKey[]) => readonly StoredSigningKey[],
): Promise<KeySchedule> {
  for (let attempt = 0; ; attempt++) {
    const loaded = await store.load();
    const completed = complete(loaded.keys);
    if (completed === loaded.keys) return loaded;
    if (await store.save(loaded.revision, completed)) {
      return { revision: loaded.revision + 1, keys: completed };
    }
    if (attempt + 1 >= MAX_CHANGE_ATTEMPTS) {
      throw new Error('the key schedule kept changing while it was being completed');
    }
  }
}
