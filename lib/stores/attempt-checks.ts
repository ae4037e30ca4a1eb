import type { AttemptHold, AttemptPolicy } from './attempt-store.js';

/*
 * The argument checks every AttemptStore of this package runs, so a caller's mistake reads the
 * same whichever store it reaches; `store` names the store in the TypeError.
 */

export function checkAttemptKey(store: string, key: unknown): asserts key is string {
  if (typeof key !== 'string' || key === '') {
    throw new TypeError(`${store}: key must be a non-empty string`);
  }
}

export function checkHoldId(store: string, id: unknown): asserts id is string {
  if (typeof id !== 'string' || id === '') {
    throw new TypeError(`${store}: the hold id must be a non-empty string`);
  }
}

export function checkHold(store: string, hold: AttemptHold): void {
  const { id, ttlMs } = hold ?? {};
  checkHoldId(store, id);
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1) {
    throw new TypeError(`${store}: hold.ttlMs must be a positive integer`);
  }
}

export function checkAttemptPolicy(store: string, policy: AttemptPolicy): void {
  const { maxAttempts, rate } = policy ?? {};
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) {
    throw new TypeError(`${store}: policy.maxAttempts must be a positive integer`);
  }
  if (!Number.isSafeInteger(rate) || rate < 1) {
    throw new TypeError(`${store}: policy.rate must be a positive integer`);
  }
}
