import type { AttemptPolicy, AttemptStore } from '../stores/attempt-store.js';
import { ipCountingKey, normalizeIp } from './client-ip.js';
import { IpAllowList } from './ip-allow-list.js';

/** Settings of {@link SuspiciousIpThrottle} (validated by the options). */
export interface SuspiciousIpThrottleSettings {
  enabled: boolean;
  maxAttempts: number;
  rate: number;
  allowlist: readonly string[];
  ipv6Subnet: number;
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
 * `rate` ms, drained only by invalid subject tokens. Store errors propagate: the caller decides
 * (see `onStoreError`).
 */
export class SuspiciousIpThrottle {
  readonly enabled: boolean;
  readonly policy: AttemptPolicy;
  readonly #allowlist: IpAllowList;
  readonly #ipv6Subnet: number;
  readonly #store: AttemptStore;

  constructor(settings: SuspiciousIpThrottleSettings) {
    this.enabled = settings.enabled;
    this.policy = Object.freeze({ maxAttempts: settings.maxAttempts, rate: settings.rate });
    this.#allowlist = new IpAllowList(settings.allowlist);
    this.#ipv6Subnet = settings.ipv6Subnet;
    this.#store = settings.store;
  }

  /** The bucket key of `ip`. */
  keyOf(ip: string): string {
    return ipCountingKey(normalizeIp(ip), this.#ipv6Subnet);
  }

  /** Whether `ip` is counted at all (throttling enabled, not allow-listed). */
  applies(ip: string): boolean {
    return this.enabled && !this.#allowlist.has(ip);
  }

  /** Whether `ip` has no attempt left. Allow-listed IPs never are. */
  async isBlocked(ip: string): Promise<boolean> {
    if (!this.applies(ip)) return false;
    const bucket = await this.#store.peek(this.keyOf(ip), this.policy);
    return bucket.remaining < 1;
  }

  /**
   * Counts one invalid subject token against `ip`. Resolves the block when this very attempt
   * took the IP's last one (exactly once per block, also across instances sharing an atomic
   * store), otherwise `undefined`.
   */
  async recordInvalidSubjectToken(ip: string): Promise<SuspiciousIpBlock | undefined> {
    if (!this.applies(ip)) return undefined;
    const key = this.keyOf(ip);
    const result = await this.#store.take(key, this.policy);
    if (!result.taken || result.remaining >= 1) return undefined;
    return { key, ...this.policy, nextAttemptAt: result.nextAttemptAt };
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
    await this.#store.reset(this.keyOf(ip));
  }
}
