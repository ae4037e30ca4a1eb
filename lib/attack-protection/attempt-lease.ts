import type { AttemptBucket, AttemptTake } from '../stores/attempt-store.js';

/** An exchange admitted to run with one attempt of its key held. */
export interface AttemptLease {
  /**
   * The subject (or actor) token was invalid: takes the held attempt. Resolves the bucket after
   * the take; rejects when the store cannot answer. Once per lease, instead of {@link settle}.
   */
  spend(): Promise<AttemptTake>;
  /** Any other outcome: gives the attempt back. Idempotent, never throws, nothing after spend. */
  settle(): void;
}

/** Why an exchange was not admitted. */
export type AttemptRefusal =
  /** The key has no attempt left. */
  | { refused: 'blocked'; bucket: AttemptBucket }
  /** `queueLimit` exchanges of the key were already waiting. */
  | { refused: 'queue-full' }
  /** No attempt came free within `queueTimeoutMs`. */
  | { refused: 'timeout' }
  /** The router was closed while the exchange waited. */
  | { refused: 'closed' };
