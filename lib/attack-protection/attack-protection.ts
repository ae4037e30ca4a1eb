import type { NextFunction, Request, Response } from 'express';
import { ManagementError, TemporarilyUnavailable, TooManyAttempts } from '../errors.js';
import type { OAuthError } from '../errors.js';
import type { ProfileRegistry } from '../profiles/profile-registry.js';
import { checkIfMatch, commitShared } from '../profiles/shared-records.js';
import type { SharedRecords } from '../profiles/shared-records.js';
import type { Client } from '../registry/clients.js';
import { asManagementError } from '../registry/registry-support.js';
import { MemoryAttemptStore } from '../stores/memory-attempt-store.js';
import type { AttackProtectionConfig, ProfileRateLimit } from './attack-protection-options.js';
import { parseProfileLimit } from './attack-protection-options.js';
import { isIpAddress, resolveClientIp } from './client-ip.js';
import { ProfileRateLimits } from './profile-rate-limits.js';
import { StoreFailurePolicy } from './store-failure-policy.js';
import { SuspiciousIpThrottle } from './suspicious-ip-throttle.js';
import {
  patchThrottlingSettings,
  throttlingSettingsTag,
  throttlingSettingsView,
} from './throttling-settings.js';
import type {
  SuspiciousIpThrottlingSettings,
  ThrottlingPolicySettings,
} from './throttling-settings.js';
import type {
  SuspiciousIpThrottleSettings,
  SuspiciousIpAttempt,
  SuspiciousIpBlock,
  SuspiciousIpRefusal,
  SuspiciousIpStatus,
} from './suspicious-ip-throttle.js';

/** `cte.attackProtection`: the run-time handle. */
export interface AttackProtectionHandle {
  /**
   * Whether `ip` is blocked by suspicious IP throttling, and how many attempts it has left.
   *
   * @throws ManagementError `invalid_body` when `ip` is not an IP address (an IPv6 zone id such
   * as `fe80::1%eth0` is not); the store's error when it cannot answer.
   */
  status(ip: string): Promise<SuspiciousIpStatus>;
  /**
   * Gives `ip` all its attempts back (for IPv6, its whole `ipv6Subnet` network): Auth0's
   * "unblock" of a blocked IP address.
   *
   * @throws ManagementError `invalid_body` when `ip` is not an IP address (nor one with a zone
   * id).
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
  /**
   * Suspicious IP throttling's settings in the shape of Auth0's Management API (`enabled`,
   * `shields`, `allowlist`, `stage['pre-custom-token-exchange']`'s `max_attempts` and `rate`).
   */
  getSuspiciousIpThrottling(): SuspiciousIpThrottlingSettings;
  /**
   * Changes the settings `patch` gives (same shape), from the next exchange on; the attempts
   * each IP has left are kept. Resolves to the settings now in force. With `ifMatch` (an entity
   * tag of {@link suspiciousIpThrottlingTag}), refused once the settings changed since.
   *
   * @throws ManagementError `invalid_body` naming the field, `precondition_failed`.
   */
  updateSuspiciousIpThrottling(
    patch: unknown,
    options?: { ifMatch?: string },
  ): Promise<SuspiciousIpThrottlingSettings>;
  /** The entity tag of the settings now in force (a digest of them: equal settings, one tag). */
  suspiciousIpThrottlingTag(): string;
}

/** Dependencies of {@link AttackProtection}. */
export interface AttackProtectionDependencies {
  profiles: ProfileRegistry;
  /** Where fail-open store warnings go; default `console.warn`. */
  warn?: (message: string) => void;
  /**
   * The shared configuration store that suspicious IP throttling settings changed at run time
   * are committed to, so every instance applies them. Without it, they stay in this process.
   */
  shared?: SharedRecords;
}

/** The id of the throttling settings' document in the shared configuration. */
const THROTTLING_DOCUMENT = 'suspicious_ip_throttling';

/**
 * Attack protection of the token endpoint: which IP a request counts under, suspicious
 * IP throttling, per-profile rate limits, and what a failing store does. The token endpoint's
 * steps call it; operators use {@link handle}.
 */
export class AttackProtection {
  readonly handle: AttackProtectionHandle;
  readonly #forwardedIpHeader: string;
  #throttle: SuspiciousIpThrottle;
  #throttleSettings: SuspiciousIpThrottleSettings;
  // Throttles replaced by new settings: exchanges may still wait in their queues until close().
  readonly #retiredThrottles: SuspiciousIpThrottle[] = [];
  readonly #rateLimits: ProfileRateLimits;
  readonly #storeFailures: StoreFailurePolicy;
  readonly #profiles: ProfileRegistry;

  readonly #shared: SharedRecords | undefined;
  // The settings of the options, which a deleted shared document returns to.
  readonly #configuredThrottling: ThrottlingPolicySettings;
  #throttlingRevision = 0;

  constructor(
    config: AttackProtectionConfig,
    { profiles, warn, shared }: AttackProtectionDependencies,
  ) {
    this.#shared = shared;
    this.#profiles = profiles;
    this.#forwardedIpHeader = config.forwardedIpHeader;
    this.#storeFailures = new StoreFailurePolicy({
      mode: config.onStoreError,
      ...(warn === undefined ? {} : { warn }),
    });
    const throttling = config.suspiciousIpThrottling;
    this.#throttleSettings = Object.freeze({
      ...throttling,
      allowlist: Object.freeze([...throttling.allowlist]),
      store: throttling.store ?? new MemoryAttemptStore(),
    });
    this.#throttle = new SuspiciousIpThrottle(this.#throttleSettings);
    this.#configuredThrottling = policyOf(this.#throttleSettings);
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
      getSuspiciousIpThrottling: () => throttlingSettingsView(this.#throttleSettings),
      updateSuspiciousIpThrottling: (patch: unknown, options?: { ifMatch?: string }) =>
        this.#updateThrottling(patch, options?.ifMatch),
      suspiciousIpThrottlingTag: () =>
        throttlingSettingsTag(throttlingSettingsView(this.#throttleSettings)),
    });
  }

  /** The end user's IP for a request from `client` (see `resolveClientIp`). */
  clientIp(req: Request, client: Client): string {
    return resolveClientIp(req, client, this.#forwardedIpHeader);
  }

  /**
   * Admits an exchange from `ip` to run its action, holding one attempt of the IP for it (see
   * `SuspiciousIpThrottle.admit`); the exchange must end it with `spend` (an invalid subject or
   * actor token) or `settle` (any other outcome).
   *
   * @throws OAuthError `429 too_many_attempts` when the IP is blocked; `503
   * temporarily_unavailable` when too many of its exchanges wait already, one waited too long,
   * or the store fails closed.
   */
  async admitExchange(ip: string): Promise<SuspiciousIpAttempt> {
    let admitted: SuspiciousIpAttempt | SuspiciousIpRefusal;
    try {
      admitted = await this.#throttle.admit(ip);
    } catch (err) {
      const failure = this.#storeFailures.failure('the suspicious IP throttling store', err);
      if (failure) throw failure;
      return this.#unheld(ip);
    }
    if ('refused' in admitted) throw refusal(admitted);
    return {
      spend: () => this.#countFailure(() => admitted.spend()),
      settle: () => admitted.settle(),
    };
  }

  /** What an exchange admitted without a hold (a store failing open) counts with. */
  #unheld(ip: string): SuspiciousIpAttempt {
    return {
      spend: () => this.#countFailure(() => this.#throttle.recordInvalidSubjectToken(ip)),
      settle: () => undefined,
    };
  }

  /** Counts an invalid token; a fail-closed store error throws `503` (it replaces the `400`). */
  async #countFailure(
    count: () => Promise<SuspiciousIpBlock | undefined>,
  ): Promise<SuspiciousIpBlock | undefined> {
    try {
      return await count();
    } catch (err) {
      const failure = this.#storeFailures.failure('the suspicious IP throttling store', err);
      if (failure) throw failure;
      return undefined;
    }
  }

  /**
   * The key `ip` is counted under (its IPv6 network): who an exchange is for, as far as limits are
   * concerned. The action runner suspends a runaway action per key (see runaway-policy.ts).
   */
  ipKey(ip: string): string {
    return this.#throttle.keyOf(ip);
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

  /**
   * Takes the throttling settings the shared store reports at `revision` (`null`: back to the
   * options' settings); an older report than the one applied is ignored.
   */
  applyStored(id: string, settings: ThrottlingPolicySettings | null, revision: number): void {
    if (id !== THROTTLING_DOCUMENT || revision <= this.#throttlingRevision) return;
    this.#throttlingRevision = revision;
    this.#replaceThrottle(settings ?? this.#configuredThrottling);
  }

  async #updateThrottling(
    patch: unknown,
    ifMatch: string | undefined,
  ): Promise<SuspiciousIpThrottlingSettings> {
    const unchangedSinceRead = () =>
      checkIfMatch(ifMatch, throttlingSettingsTag(throttlingSettingsView(this.#throttleSettings)));
    if (this.#shared === undefined) {
      unchangedSinceRead();
      this.#replaceThrottle(patchThrottlingSettings(this.#throttleSettings, patch));
    } else {
      // Computed against the settings at the revision committed from, as every shared change.
      await commitShared(this.#shared, () => {
        unchangedSinceRead();
        return {
          writes: [
            {
              kind: 'settings',
              id: THROTTLING_DOCUMENT,
              data: policyOf(patchThrottlingSettings(this.#throttleSettings, patch)),
            },
          ],
          result: undefined,
        };
      });
    }
    return throttlingSettingsView(this.#throttleSettings);
  }

  /**
   * A throttle with new settings over the same store, so every IP keeps its attempts. Exchanges
   * admitted by the old one end on it; its waiting queue drains as their attempts come back.
   */
  #replaceThrottle(
    settings: Pick<SuspiciousIpThrottleSettings, 'enabled' | 'maxAttempts' | 'rate' | 'allowlist'>,
  ): void {
    this.#throttleSettings = Object.freeze({
      ...this.#throttleSettings,
      ...settings,
      allowlist: Object.freeze([...settings.allowlist]),
    });
    this.#retiredThrottles.push(this.#throttle);
    this.#throttle = new SuspiciousIpThrottle(this.#throttleSettings);
  }

  /** Refuses exchanges still waiting for an attempt; shuts down the rate-limit stores it made. */
  async close(): Promise<void> {
    this.#throttle.close();
    for (const retired of this.#retiredThrottles) retired.close();
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

/** Seconds a client refused for waiting too long, or too many, is asked to wait. */
const QUEUE_RETRY_AFTER_SECONDS = 1;

function refusal(refused: SuspiciousIpRefusal): OAuthError {
  switch (refused.refused) {
    case 'blocked':
      return new TooManyAttempts(`suspicious IP throttling: ${refused.key} is blocked`);
    case 'queue-full':
      return new TemporarilyUnavailable(
        QUEUE_RETRY_AFTER_SECONDS,
        `suspicious IP throttling: too many exchanges from ${refused.key} wait for an attempt`,
      );
    case 'timeout':
      return new TemporarilyUnavailable(
        QUEUE_RETRY_AFTER_SECONDS,
        `suspicious IP throttling: no attempt of ${refused.key} came free in time`,
      );
    case 'closed':
      return new TemporarilyUnavailable(QUEUE_RETRY_AFTER_SECONDS, 'the router is closing');
  }
}

function policyOf(settings: ThrottlingPolicySettings): ThrottlingPolicySettings {
  const { enabled, maxAttempts, rate, allowlist } = settings;
  return { enabled, maxAttempts, rate, allowlist: [...allowlist] };
}

function checkIp(ip: unknown): string {
  if (typeof ip !== 'string' || !isIpAddress(ip)) {
    throw new ManagementError('invalid_body', 'ip must be an IPv4 or IPv6 address');
  }
  return ip;
}
