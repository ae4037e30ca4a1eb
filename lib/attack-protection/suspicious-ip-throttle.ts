import type { AttemptPolicy, AttemptStore, AttemptTake } from '../stores/attempt-store.js';
import { AttemptGate } from './attempt-gate.js';
import type { AttemptRefusal } from './attempt-lease.js';
import { ipCountingKey, normalizeIp } from './client-ip.js';
import { IpAllowList } from './ip-allow-list.js';

/** Settings of {@link SuspiciousIpThrottle} (validated by the options). */
export interface SuspiciousIpThrottleSettings {
  enabled: boolean;
  maxAttempts: number;
  rate: number;
  allowlist: readonly string[];
  ipv6Subnet: number;
  queueLimit: number;
  queueTimeoutMs: number;
  store: AttemptStore;
}

/** What `cte.attackProtection.status(ip)` reports about one IP. */
export interface SuspiciousIpStatus {
  /** The IP asked about (an IPv4-mapped IPv6 address as its IPv4 address). */
  ip: string;
  /** The bucket it counts in: the IPv4 address, or its IPv6 network (`2001:db8::/64`). */
  key: string;
  /** `false` when throttling is disabled: nothing is counted or blocked. */
  enabled: boolean;
  /** On the allow-list: never counted, never blocked. */
  allowlisted: boolean;
  /** Every custom token exchange from this IP is answered `429 too_many_attempts`. */
  blocked: boolean;
  /** Invalid subject tokens this IP may still send before it is blocked. */
  remaining_attempts: number;
  max_attempts: number;
  /** Milliseconds per attempt regained. */
  rate: number;
  /** ISO 8601 time the next attempt comes back; `null` when none has been used. */
  next_attempt_at: string | null;
}

/** An exchange from one IP admitted to run its action, an attempt of the IP held for it. */
export interface SuspiciousIpAttempt {
  /**
   * The subject or actor token was invalid: takes the attempt held. Resolves the block when this
   * took the IP's last attempt (once per block, also across instances sharing the store),
   * otherwise `undefined`. Rejects when the store cannot answer.
   */
  spend(): Promise<SuspiciousIpBlock | undefined>;
  /** Any other outcome: the attempt goes back. Idempotent; never throws. */
  settle(): void;
}

/** Why an exchange from an IP may not run its action now (see `AttemptGate`). */
export type SuspiciousIpRefusal = AttemptRefusal & { key: string };

/** The moment an IP became blocked, for its log entry. */
export interface SuspiciousIpBlock {
  key: string;
  maxAttempts: number;
  rate: number;
  /** When the IP gets an attempt back, so it is no longer blocked. */
  nextAttemptAt: Date | undefined;
}

/**
 * Suspicious IP throttling: a token bucket of `maxAttempts` per IP key, refilled by one every
 * `rate` ms, drained only by invalid subject tokens. An exchange runs its action only with an
 * attempt of its IP held for it ({@link admit}), so concurrent exchanges cannot outnumber the
 * attempts left. Store errors propagate: the caller decides (see `onStoreError`).
 */
export class SuspiciousIpThrottle {
  readonly enabled: boolean;
  readonly policy: AttemptPolicy;
  readonly #allowlist: IpAllowList;
  readonly #ipv6Subnet: number;
  readonly #store: AttemptStore;
  readonly #gate: AttemptGate;

  constructor(settings: SuspiciousIpThrottleSettings) {
    this.enabled = settings.enabled;
    this.policy = Object.freeze({ maxAttempts: settings.maxAttempts, rate: settings.rate });
    this.#allowlist = new IpAllowList(settings.allowlist);
    this.#ipv6Subnet = settings.ipv6Subnet;
    this.#store = settings.store;
    this.#gate = new AttemptGate({
      store: settings.store,
      policy: this.policy,
      queueLimit: settings.queueLimit,
      queueTimeoutMs: settings.queueTimeoutMs,
    });
  }

  /** The bucket key of `ip`. */
  keyOf(ip: string): string {
    return ipCountingKey(normalizeIp(ip), this.#ipv6Subnet);
  }

  /** Whether `ip` is counted at all (throttling enabled, not allow-listed). */
  applies(ip: string): boolean {
    return this.enabled && !this.#allowlist.has(ip);
  }

  /**
   * Admits an exchange from `ip` to run its action: an attempt of the IP is held for it (after
   * waiting, when every attempt left is held by exchanges in flight), or why not. An IP that is
   * not counted is admitted at once, with nothing held.
   *
   * @throws the store's error when it cannot answer.
   */
  async admit(ip: string): Promise<SuspiciousIpAttempt | SuspiciousIpRefusal> {
    if (!this.applies(ip)) return UNCOUNTED;
    const key = this.keyOf(ip);
    const admitted = await this.#gate.admit(key);
    if ('refused' in admitted) return { ...admitted, key };
    return {
      spend: async () => this.#block(key, await admitted.spend()),
      settle: () => admitted.settle(),
    };
  }

  /**
   * Counts an invalid subject token against `ip` without a hold (when holding failed and
   * `onStoreError` let the exchange run anyway). Resolves the block as {@link
   * SuspiciousIpAttempt.spend} does.
   */
  async recordInvalidSubjectToken(ip: string): Promise<SuspiciousIpBlock | undefined> {
    if (!this.applies(ip)) return undefined;
    const key = this.keyOf(ip);
    return this.#block(key, await this.#store.take(key, this.policy));
  }

  /** The state of `ip` (a valid IP address, checked by the handle). */
  async status(ip: string): Promise<SuspiciousIpStatus> {
    const normalized = normalizeIp(ip);
    const key = this.keyOf(normalized);
    const allowlisted = this.#allowlist.has(normalized);
    const base = {
      ip: normalized,
      key,
      enabled: this.enabled,
      allowlisted,
      max_attempts: this.policy.maxAttempts,
      rate: this.policy.rate,
    };
    if (!this.enabled || allowlisted) {
      return {
        ...base,
        blocked: false,
        remaining_attempts: this.policy.maxAttempts,
        next_attempt_at: null,
      };
    }
    const bucket = await this.#store.peek(key, this.policy);
    return {
      ...base,
      blocked: bucket.remaining < 1,
      remaining_attempts: bucket.remaining,
      next_attempt_at: bucket.nextAttemptAt?.toISOString() ?? null,
    };
  }

  /** Gives the bucket of `ip` (its whole IPv6 network) every attempt back. */
  async unblock(ip: string): Promise<void> {
    const key = this.keyOf(ip);
    await this.#store.reset(key);
    this.#gate.forget(key);
  }

  /** Refuses the exchanges still waiting for an attempt and stops the gate's timers. */
  close(): void {
    this.#gate.close();
  }

  #block(key: string, take: AttemptTake): SuspiciousIpBlock | undefined {
    if (!take.taken || take.remaining >= 1) return undefined;
    return { key, ...this.policy, nextAttemptAt: take.nextAttemptAt };
  }
}

/** The attempt of an exchange from an IP that is not counted: nothing held, nothing spent. */
const UNCOUNTED: SuspiciousIpAttempt = Object.freeze({
  spend: async () => undefined,
  settle: () => undefined,
});
