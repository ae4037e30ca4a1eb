/**
 * Auth0's documented defaults, written out here independently of lib/ so that tests comparing
 * against them check the router's defaults rather than repeat them.
 */

/** A client's `refresh_token` settings when none are given: rotating, 30 days, 15 days idle. */
export const REFRESH_TOKEN_DEFAULTS = {
  rotation_type: 'rotating',
  leeway: 0,
  token_lifetime: 2592000,
  idle_token_lifetime: 1296000,
  infinite_token_lifetime: false,
  infinite_idle_token_lifetime: false,
};

/** A resource server's fields when only its identifier is given (its name is the identifier). */
export const RESOURCE_SERVER_DEFAULTS = {
  scopes: [],
  signing_alg: 'RS256',
  allow_offline_access: false,
  skip_consent_for_verifiable_first_party_clients: true,
  token_lifetime: 86400,
};
