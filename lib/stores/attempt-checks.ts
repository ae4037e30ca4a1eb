import type { AttemptHold, AttemptPolicy } from './attempt-store.js';

/*
 * The argument checks of every AttemptStore method, run by each store of this package, so a
 * caller's mistake reads the same whichever store it reaches; `store` names the store in the
 * TypeError.
 */

/** `peek`'s arguments: the bucket's key and its policy. */
export function checkBucketArguments(store: string, key: unknown, policy: AttemptPolicy): void {
  checkAttemptKey(store, key);
  checkAttemptPolicy(store, policy);
}

/** `take`'s arguments: the bucket, and the id of the caller's hold when it has one. */
export function checkTakeArguments(
  store: string,
  key: unknown,
  policy: AttemptPolicy,
  holdId: unknown,
): void {
  checkBucketArguments(store, key, policy);
  if (holdId !== undefined) checkHoldId(store, holdId);
}

/** `reserve`'s arguments: the bucket, and the hold to place. */
export function checkReserveArguments(
  store: string,
  key: unknown,
  policy: AttemptPolicy,
  hold: AttemptHold,
): void {
  checkBucketArguments(store, key, policy);
  const { id, ttlMs } = hold ?? {};
  checkHoldId(store, id);
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1) {
    throw new TypeError(`${store}: hold.ttlMs must be a positive integer`);
  }
}

/** `release`'s arguments: the bucket's key and the id of the hold to release. */
export function checkReleaseArguments(store: string, key: unknown, holdId: unknown): void {
  checkAttemptKey(store, key);
  checkHoldId(store, holdId);
}

/** A bucket's key (all `reset` takes). */
export function checkAttemptKey(store: string, key: unknown): asserts key is string {
  if (typeof key !== 'string' || key === '') {
    throw new TypeError(`${store}: key must be a non-empty string`);
  }
}

function checkHoldId(store: string, id: unknown): asserts id is string {
  if (typeof id !== 'string' || id === '') {
    throw new TypeError(`${store}: the hold id must be a non-empty string`);
  }
}

function checkAttemptPolicy(store: string, policy: AttemptPolicy): void {
  const { maxAttempts, rate } = policy ?? {};
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) {
    throw new TypeError(`${store}: policy.maxAttempts must be a positive integer`);
  }
  if (!Number.isSafeInteger(rate) || rate < 1) {
    throw new TypeError(`${store}: policy.rate must be a positive integer`);
  }
}
