import { createHash } from 'node:crypto';
import { ManagementError } from '../errors.js';
import { parseCidr } from '../sandbox/capabilities/ip-policy.js';
import { MAX_ALLOWLIST_ENTRIES } from './attack-protection-options.js';

/** The stage of Auth0's suspicious IP throttling that token exchanges count under. */
export const CUSTOM_TOKEN_EXCHANGE_STAGE = 'pre-custom-token-exchange';

/**
 * Suspicious IP throttling's settings in the shape of Auth0's
 * `/api/v2/attack-protection/suspicious-ip-throttling`, limited to what the router does: it
 * blocks (the one shield) and counts only token exchanges (the one stage).
 */
export interface SuspiciousIpThrottlingSettings {
  enabled: boolean;
  shields: ['block'];
  /** IP addresses and CIDR ranges never counted. */
  allowlist: string[];
  stage: {
    'pre-custom-token-exchange': {
      /** Invalid subject tokens an IP may send before it is blocked. */
      max_attempts: number;
      /** Milliseconds per attempt regained. */
      rate: number;
    };
  };
}

/** What `updateSuspiciousIpThrottling()` accepts: any part of the settings. */
export interface SuspiciousIpThrottlingPatch {
  enabled?: boolean;
  shields?: string[];
  allowlist?: string[];
  stage?: { 'pre-custom-token-exchange'?: { max_attempts?: number; rate?: number } };
}

/** The settings the throttle runs with (the options' names). */
export interface ThrottlingPolicySettings {
  enabled: boolean;
  maxAttempts: number;
  rate: number;
  allowlist: readonly string[];
}

const MAX_ATTEMPTS_RANGE = [1, 10_000] as const;
const RATE_RANGE = [1, 86_400_000] as const;

/** The settings in Auth0's shape (fresh copies). */
export function throttlingSettingsView(
  settings: Readonly<ThrottlingPolicySettings>,
): SuspiciousIpThrottlingSettings {
  return {
    enabled: settings.enabled,
    shields: ['block'],
    allowlist: [...settings.allowlist],
    stage: {
      [CUSTOM_TOKEN_EXCHANGE_STAGE]: { max_attempts: settings.maxAttempts, rate: settings.rate },
    },
  };
}

/**
 * The entity tag of the settings (an HTTP `ETag`): a digest of what they say, so every instance
 * gives equal settings the same tag without keeping one.
 */
export function throttlingSettingsTag(view: SuspiciousIpThrottlingSettings): string {
  const digest = createHash('sha256').update(JSON.stringify(view)).digest('base64url');
  return `"${digest.slice(0, 22)}"`;
}

/**
 * `current` with the changes of an Auth0-shaped `patch`, validated.
 *
 * @throws ManagementError `invalid_body` naming the field.
 */
export function patchThrottlingSettings(
  current: Readonly<ThrottlingPolicySettings>,
  patch: unknown,
): ThrottlingPolicySettings {
  const body = plainObject(patch, 'the body');
  knownKeys(body, ['enabled', 'shields', 'allowlist', 'stage'], '');
  const next: ThrottlingPolicySettings = { ...current, allowlist: [...current.allowlist] };
  if (body.enabled !== undefined) {
    if (typeof body.enabled !== 'boolean') invalid('enabled must be a boolean');
    next.enabled = body.enabled;
  }
  if (body.shields !== undefined) {
    const { shields } = body;
    if (!Array.isArray(shields) || shields.length !== 1 || shields[0] !== 'block') {
      invalid('shields must be ["block"]: blocking is the only shield of the router');
    }
  }
  if (body.allowlist !== undefined) next.allowlist = checkAllowlist(body.allowlist);
  if (body.stage !== undefined) {
    const stage = plainObject(body.stage, 'stage');
    knownKeys(stage, [CUSTOM_TOKEN_EXCHANGE_STAGE], 'stage.');
    const exchange = stage[CUSTOM_TOKEN_EXCHANGE_STAGE];
    if (exchange !== undefined) {
      const path = `stage.${CUSTOM_TOKEN_EXCHANGE_STAGE}`;
      const limits = plainObject(exchange, path);
      knownKeys(limits, ['max_attempts', 'rate'], `${path}.`);
      if (limits.max_attempts !== undefined) {
        next.maxAttempts = integer(limits.max_attempts, `${path}.max_attempts`, MAX_ATTEMPTS_RANGE);
      }
      if (limits.rate !== undefined) {
        next.rate = integer(limits.rate, `${path}.rate`, RATE_RANGE);
      }
    }
  }
  return next;
}

function checkAllowlist(value: unknown): string[] {
  if (!Array.isArray(value)) invalid('allowlist must be an array of IP addresses or CIDR ranges');
  if (value.length > MAX_ALLOWLIST_ENTRIES) {
    invalid(`allowlist must have at most ${MAX_ALLOWLIST_ENTRIES} entries`);
  }
  return value.map((entry: unknown, i) => {
    const valid = typeof entry === 'string' && entry.length <= 64 && isCidr(entry);
    if (!valid) {
      invalid(`allowlist[${i}] must be an IPv4 or IPv6 address or CIDR (e.g. 198.51.100.0/24)`);
    }
    return entry;
  });
}

function isCidr(text: string): boolean {
  try {
    parseCidr(text);
    return true;
  } catch {
    return false;
  }
}

function integer(value: unknown, path: string, [min, max]: readonly [number, number]): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    invalid(`${path} must be an integer from ${min} to ${max}`);
  }
  return value;
}

function plainObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    invalid(`${what} must be an object`);
  }
  return value as Record<string, unknown>;
}

function knownKeys(body: Record<string, unknown>, known: readonly string[], prefix: string): void {
  for (const key of Object.keys(body)) {
    if (!known.includes(key)) {
      invalid(`${prefix}${key} is not supported (supported: ${known.join(', ')})`);
    }
  }
}

function invalid(message: string): never {
  throw new ManagementError('invalid_body', `Invalid request body: ${message}.`);
}
