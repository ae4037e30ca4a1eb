import {
  checkKnownKeys,
  checkObject,
  checkOneOf,
  checkOptionalBoolean,
  checkOptionalInteger,
  fail,
} from '../definition-checks.js';

/** Whether redeeming a refresh token replaces it with a new one (Auth0's `rotation_type`). */
export type RefreshTokenRotationType = 'rotating' | 'non-rotating';

/**
 * A client's refresh token settings, with Auth0's field names (`refresh_token` of a client in the
 * Management API) so existing definitions paste in. All times are in seconds.
 */
export interface RefreshTokenSettingsDefinition {
  /**
   * Default `rotating` (a decision: Auth0 defaults to `non-rotating`; RFC 9700 section 2.2.2 asks
   * rotation of public clients): each redemption answers a new refresh token and retires the one
   * presented; presenting a retired one again revokes the whole family.
   */
  rotation_type?: RefreshTokenRotationType;
  /**
   * Auth0's `expiring` (default) or `non-expiring`; `non-expiring` is the same as both
   * `infinite_token_lifetime` and `infinite_idle_token_lifetime`.
   */
  expiration_type?: 'expiring' | 'non-expiring';
  /**
   * Default 0. Seconds after a rotation during which the token just retired may be redeemed again
   * (each time for a new token) without counting as reuse; for apps that may refresh twice at once.
   */
  leeway?: number;
  /** Absolute lifetime of a token family from its first issuance. Default 2592000 (30 days). */
  token_lifetime?: number;
  /**
   * A family ends when no token of it was redeemed for this long. Default 1296000 (15 days), or
   * `token_lifetime` when that is shorter; never longer than `token_lifetime`.
   */
  idle_token_lifetime?: number;
  /** Default `false`. `true`: no absolute lifetime (`token_lifetime` is ignored). */
  infinite_token_lifetime?: boolean;
  /** Default `false`. `true`: no idle lifetime (`idle_token_lifetime` is ignored). */
  infinite_idle_token_lifetime?: boolean;
  /** Auth0's multi-resource refresh token policies: only `null` or `[]` (not supported). */
  policies?: null | [];
}

/** A client's refresh token settings with every default applied. */
export interface RefreshTokenSettings {
  readonly rotation_type: RefreshTokenRotationType;
  readonly leeway: number;
  readonly token_lifetime: number;
  readonly idle_token_lifetime: number;
  readonly infinite_token_lifetime: boolean;
  readonly infinite_idle_token_lifetime: boolean;
}

const SETTINGS_KEYS = [
  'rotation_type',
  'expiration_type',
  'leeway',
  'token_lifetime',
  'idle_token_lifetime',
  'infinite_token_lifetime',
  'infinite_idle_token_lifetime',
  'policies',
] as const;

/** Auth0's upper bound for `token_lifetime` (five years), used for every duration here. */
const MAX_SECONDS = 157_788_000;
const DEFAULT_TOKEN_LIFETIME = 2_592_000;
const DEFAULT_IDLE_TOKEN_LIFETIME = 1_296_000;

/** The settings of a client without `refresh_token`. */
export const DEFAULT_REFRESH_TOKEN_SETTINGS: RefreshTokenSettings = Object.freeze({
  rotation_type: 'rotating',
  leeway: 0,
  token_lifetime: DEFAULT_TOKEN_LIFETIME,
  idle_token_lifetime: DEFAULT_IDLE_TOKEN_LIFETIME,
  infinite_token_lifetime: false,
  infinite_idle_token_lifetime: false,
});

/**
 * Validates a client's `refresh_token` and applies the defaults; throws a TypeError naming `path`
 * (`options.clients[0].refresh_token.leeway must be an integer ...`).
 */
export function parseRefreshTokenSettings(input: unknown, path: string): RefreshTokenSettings {
  if (input === undefined) return DEFAULT_REFRESH_TOKEN_SETTINGS;
  const def = checkObject(input, path);
  checkKnownKeys(def, SETTINGS_KEYS, path);
  if (def.policies !== undefined && def.policies !== null) {
    if (!Array.isArray(def.policies) || def.policies.length > 0) {
      fail(`${path}.policies`, 'is not supported (multi-resource refresh tokens): use null or []');
    }
  }
  const expiration = checkOneOf(
    def.expiration_type,
    `${path}.expiration_type`,
    ['expiring', 'non-expiring'],
    'expiring',
  );
  const range = { min: 1, max: MAX_SECONDS };
  const token_lifetime = checkOptionalInteger(
    def.token_lifetime,
    `${path}.token_lifetime`,
    DEFAULT_TOKEN_LIFETIME,
    range,
  );
  const idle_token_lifetime = checkOptionalInteger(
    def.idle_token_lifetime,
    `${path}.idle_token_lifetime`,
    Math.min(DEFAULT_IDLE_TOKEN_LIFETIME, token_lifetime),
    range,
  );
  const infinite_token_lifetime =
    checkOptionalBoolean(def.infinite_token_lifetime, `${path}.infinite_token_lifetime`, false) ||
    expiration === 'non-expiring';
  const infinite_idle_token_lifetime =
    checkOptionalBoolean(
      def.infinite_idle_token_lifetime,
      `${path}.infinite_idle_token_lifetime`,
      false,
    ) || expiration === 'non-expiring';
  if (!infinite_token_lifetime && !infinite_idle_token_lifetime) {
    if (idle_token_lifetime > token_lifetime) {
      fail(`${path}.idle_token_lifetime`, 'must not be longer than token_lifetime');
    }
  }
  return Object.freeze({
    rotation_type: checkOneOf(
      def.rotation_type,
      `${path}.rotation_type`,
      ['rotating', 'non-rotating'],
      'rotating',
    ),
    leeway: checkOptionalInteger(def.leeway, `${path}.leeway`, 0, { min: 0, max: MAX_SECONDS }),
    token_lifetime,
    idle_token_lifetime,
    infinite_token_lifetime,
    infinite_idle_token_lifetime,
  });
}
