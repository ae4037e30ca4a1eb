import { describeError } from '../../rate-limited-warning.js';
import { StoreUnavailableError } from '../store-deadline.js';

/** Clients whose servers were checked (or are being checked) already. */
const CHECKED = new WeakSet<object>();

/**
 * Warns, once per client, when a master may evict keys: with any `maxmemory-policy` but
 * `noeviction`, a server that reaches `maxmemory` deletes keys to make room (the `volatile-*`
 * policies too: every key of these stores has a TTL), and an evicted bucket or replay key lets
 * through what it held back. With `noeviction` a full server refuses writes instead, which the
 * stores report as failures. Runs in the background; a server that refuses `INFO` is warned
 * about too, since nothing then says it is safe; one that cannot be reached is checked again on
 * a later call.
 */
export function checkMemoryPolicyOnce(
  client: object,
  adapter: { memoryPolicies(): Promise<string[]> },
  warn: (message: string) => void,
): void {
  if (CHECKED.has(client)) return;
  CHECKED.add(client);
  adapter.memoryPolicies().then(
    (policies) => {
      const evicting = [...new Set(policies.filter((policy) => policy !== 'noeviction'))];
      if (evicting.length === 0) return;
      warn(
        `express-custom-token-exchange: Redis maxmemory-policy is ${evicting.join(', ')}: ` +
          'a server that reaches maxmemory then evicts keys, and an evicted attempt bucket or ' +
          'replay key silently lets through what it held back. Set maxmemory-policy noeviction ' +
          '(a full server then refuses writes, and the stores fail closed).',
      );
    },
    (error: unknown) => {
      // Not reachable yet: check again on a later call rather than warn about an outage.
      if (error instanceof StoreUnavailableError) {
        CHECKED.delete(client);
        return;
      }
      warn(
        `express-custom-token-exchange: could not read the Redis maxmemory-policy ` +
          `(${describeError(error)}); make sure it is noeviction.`,
      );
    },
  );
}
