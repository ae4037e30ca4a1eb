import { isIP } from 'node:net';
import type { NextFunction, Request, Response } from 'express';
import { TooManyAttempts, ManagementError } from '../errors.js';
import type { ProfileRegistry } from '../profiles/profile-registry.js';
import type { Client } from '../registry/clients.js';
import { asManagementError } from '../registry/registry-support.js';
import { MemoryAttemptStore } from '../stores/memory-attempt-store.js';
import type { AttackProtectionConfig, ProfileRateLimit } from './attack-protection-options.js';
import { parseProfileLimit } from './attack-protection-options.js';
import { resolveClientIp } from './client-ip.js';
import { ProfileRateLimits } from './profile-rate-limits.js';
import { StoreFailurePolicy } from './store-failure-policy.js';
import { SuspiciousIpThrottle } from './suspicious-ip-throttle.js';
import type { SuspiciousIpBlock, SuspiciousIpStatus } from './suspicious-ip-throttle.js';

/** `cte.attackProtection`: the run-time handle. */
export interface AttackProtectionHandle {
  /**
   * Whether `ip` is blocked by suspicious IP throttling, and how many attempts it has left.
   *
   * @throws ManagementError `invalid_body` when `ip` is not an IP address; the store's error
   * when it cannot answer.
   */
  status(ip: string): Promise<SuspiciousIpStatus>;
  /**
   * Gives `ip` all its attempts back (for IPv6, its whole `ipv6Subnet` network): Auth0's
   * "unblock" of a blocked IP address.
   *
   * @throws ManagementError `invalid_body` when `ip` is not an IP address.
   */
  unblock(ip: string): Promise<void>;
  /**
   * Gives a profile its own rate limit (`windowMs` and `limit` default to
   * `attackProtection.profileRateLimit`'s), replacing any earlier one and its counts; `null`
   * returns the profile to the default limit (or to none when the default is disabled). The
   * limiter is created here, once, never during a request.
   *
   * @throws ManagementError `not_found` for an unknown profile, `invalid_body` for a bad limit.
   */
  setProfileRateLimit(profileId: string, limit: Partial<ProfileRateLimit> | null): Promise<void>;
  /** The rate limit a profile runs under, or `undefined` when it has none. */
  getProfileRateLimit(profileId: string): ProfileRateLimit | undefined;
}

/** Dependencies of {@link AttackProtection}. */
export interface AttackProtectionDependencies {
  profiles: ProfileRegistry;
}

/**
 * Attack protection of the token endpoint: which IP a request counts under, suspicious
 * IP throttling, per-profile rate limits, and what a failing store does. The token endpoint's
 * steps call it; operators use {@link handle}.
 */
export class AttackProtection {
  readonly handle: AttackProtectionHandle;
  readonly #forwardedIpHeader: string;
  readonly #throttle: SuspiciousIpThrottle;
  readonly #rateLimits: ProfileRateLimits;
  readonly #storeFailures: StoreFailurePolicy;
  readonly #profiles: ProfileRegistry;

  constructor(config: AttackProtectionConfig, { profiles }: AttackProtectionDependencies) {
    this.#profiles = profiles;
    this.#forwardedIpHeader = config.forwardedIpHeader;
    this.#storeFailures = new StoreFailurePolicy({ mode: config.onStoreError });
    const throttling = config.suspiciousIpThrottling;
    this.#throttle = new SuspiciousIpThrottle({
      ...throttling,
      store: throttling.store ?? new MemoryAttemptStore(),
    });
    this.#rateLimits = new ProfileRateLimits({
      ...config.profileRateLimit,
      onStoreError: (error) => this.#storeFailures.failure('the profile rate limit store', error),
    });
    this.handle = Object.freeze({
      status: (ip: string) => this.#throttle.status(checkIp(ip)),
      unblock: (ip: string) => this.#throttle.unblock(checkIp(ip)),
      setProfileRateLimit: (profileId: string, limit: Partial<ProfileRateLimit> | null) =>
        this.#setProfileRateLimit(profileId, limit),
      getProfileRateLimit: (profileId: string) => this.#rateLimits.get(profileId),
    });
  }

  /** The end user's IP for a request from `client` (see `resolveClientIp`). */
  clientIp(req: Request, client: Client): string {
    return resolveClientIp(req, client, this.#forwardedIpHeader);
  }

  /**
   * Refuses a request from a blocked IP with `429 too_many_attempts` (or `503` when the store
   * fails closed). Runs before any action.
   */
  async refuseBlockedIp(ip: string): Promise<void> {
    let blocked: boolean;
    try {
      blocked = await this.#throttle.isBlocked(ip);
    } catch (err) {
      const failure = this.#storeFailures.failure('the suspicious IP throttling store', err);
      if (failure) throw failure;
      return;
    }
    if (blocked) {
      throw new TooManyAttempts(`suspicious IP throttling: ${this.#throttle.keyOf(ip)} is blocked`);
    }
  }

  /**
   * Counts an invalid subject token (`api.access.rejectInvalidSubjectToken`) against `ip`;
   * resolves the block when this attempt blocked the IP. Fail-closed store errors throw `503`.
   */
  async recordInvalidSubjectToken(ip: string): Promise<SuspiciousIpBlock | undefined> {
    try {
      return await this.#throttle.recordInvalidSubjectToken(ip);
    } catch (err) {
      const failure = this.#storeFailures.failure('the suspicious IP throttling store', err);
      if (failure) throw failure;
      return undefined;
    }
  }

  /** Applies the rate limit of `profileId` to the request from `ip`; see `ProfileRateLimits`. */
  limitProfileRate(
    req: Request,
    res: Response,
    next: NextFunction,
    profileId: string,
    ip: string,
  ): void {
    this.#rateLimits.limit(req, res, next, profileId, this.#throttle.keyOf(ip));
  }

  /** Shuts down the rate-limit stores the router made. */
  async close(): Promise<void> {
    await this.#rateLimits.close();
  }

  async #setProfileRateLimit(
    profileId: string,
    limit: Partial<ProfileRateLimit> | null,
  ): Promise<void> {
    await this.#profiles.get(profileId);
    const limits =
      limit === null
        ? null
        : asManagementError(() => parseProfileLimit(limit, 'limit', this.#rateLimits.defaults));
    asManagementError(() => this.#rateLimits.set(profileId, limits));
  }
}

function checkIp(ip: unknown): string {
  if (typeof ip !== 'string' || isIP(ip) === 0) {
    throw new ManagementError('invalid_body', 'ip must be an IPv4 or IPv6 address');
  }
  return ip;
}
