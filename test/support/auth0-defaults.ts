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
} as const;

/** A resource server's fields when only its identifier is given (its name is the identifier). */
export const RESOURCE_SERVER_DEFAULTS = {
  scopes: [],
  signing_alg: 'RS256',
  allow_offline_access: false,
  skip_consent_for_verifiable_first_party_clients: true,
  token_lifetime: 86400,
};

/** A client's fields, in its stored and its shown form alike, when none of them is given. */
export const CLIENT_DEFAULTS = {
  client_metadata: {},
  organization_usage: 'deny',
  mfa_policy: 'never',
  is_token_endpoint_ip_header_trusted: false,
  refresh_token: REFRESH_TOKEN_DEFAULTS,
  dpop_bound_access_tokens: false,
  allowed_origins: [],
  web_origins: [],
} as const;

/** A stored client's authentication and ID token fields when none of them is given. */
export const STORED_CLIENT_DEFAULTS = {
  is_first_party: true,
  oidc_conformant: true,
  token_endpoint_auth_method: 'client_secret_post',
  jwks: undefined,
  id_token_alg: 'RS256',
  id_token_lifetime: 36000,
} as const;
