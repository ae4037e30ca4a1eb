import type { AttemptStore } from '../../lib/stores/attempt-store.js';

/** `store`, recording the name of every call made to it, in order. */
export function countingAttemptStore(store: AttemptStore): {
  store: AttemptStore;
  calls: string[];
} {
  const calls: string[] = [];
  return {
    calls,
    store: {
      peek: (key, policy) => (calls.push('peek'), store.peek(key, policy)),
      take: (key, policy, holdId) => (calls.push('take'), store.take(key, policy, holdId)),
      reserve: (key, policy, hold) => (calls.push('reserve'), store.reserve(key, policy, hold)),
      release: (key, holdId) => (calls.push('release'), store.release(key, holdId)),
      reset: (key) => (calls.push('reset'), store.reset(key)),
    },
  };
}
