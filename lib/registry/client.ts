import type { JWK } from 'jose';
import type {
  RefreshTokenSettings,
  RefreshTokenSettingsDefinition,
} from './refresh-token-settings.js';

/** How a client authenticates at the token endpoint (Auth0's `token_endpoint_auth_method`). */
export type TokenEndpointAuthMethod =
  'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';

/** Algorithms for ID tokens (`jwt_configuration.alg`); HS256 signs with the client secret. */
export type IdTokenSigningAlg = 'RS256' | 'PS256' | 'ES256' | 'EdDSA' | 'HS256';

/** Auth0's `organization_usage` values. */
export type OrganizationUsage = 'deny' | 'allow' | 'require';

/** Values of a client's `mfa_policy`. */
export type MfaPolicy = 'never' | 'always';

/**
 * An application, with Auth0's Management API field names so existing definitions paste in.
 * Defaults are Auth0's where Auth0 has one.
 */
export interface ClientDefinition {
  client_id: string;
  /**
   * The secret in clear (at least 16 characters), for `client_secret_basic`/`client_secret_post`
   * and HS256 ID tokens; or two during a rotation, `[current, previous]` (either is accepted;
   * HS256 ID tokens are signed with the first). A secret method needs one secret at least, in
   * clear or as a hash, and at most two in all.
   */
  client_secret?: string | string[];
  /**
   * The secret as a scrypt hash instead of in clear (`$scrypt$ln=…,r=…,p=…$salt$key`, made by
   * `hashClientSecret`), or two during a rotation. A hashed secret authenticates the client but
   * cannot sign HS256 ID tokens.
   */
  client_secret_hash?: string | string[];
  name: string;
  /** Default `true`. Third-party clients cannot use token exchange. */
  is_first_party?: boolean;
  /** Default `true`. Clients that are not OIDC conformant cannot use token exchange. */
  oidc_conformant?: boolean;
  /** Default `client_secret_post` (Auth0's default); the only method the client may use. */
  token_endpoint_auth_method?: TokenEndpointAuthMethod;
  /** Public keys for `private_key_jwt` client assertions. */
  jwks?: { keys: JWK[] };
  /** ID-token signing; default `{ alg: 'RS256' }`. */
  jwt_configuration?: { alg?: IdTokenSigningAlg; lifetime_in_seconds?: number };
  /** Must contain `custom_authentication` for the client to use token exchange. */
  token_exchange?: { allow_any_profile_of_type?: string[] };
  /** Up to 10 string values, passed to actions as `event.client.metadata`. */
  client_metadata?: Record<string, string>;
  /**
   * Whether the client's exchanges may (`allow`) or must (`require`) name an organization
   * (Auth0's field). Default `deny`: the `organization` parameter and `setOrganization` are
   * refused.
   */
  organization_usage?: OrganizationUsage;
  /**
   * Whether the client's exchanges need a second factor: `always` answers every exchange with
   * `403 mfa_required` and an `mfa_token` (redeemed through the `mfa-otp` or `mfa-oob` grant,
   * checked by `options.mfa.verify`), `never` (the default) leaves it to the post-exchange action's
   * `api.multifactor.enable`. The names of Auth0's "Require Multi-factor Auth" setting, per
   * client. `always` needs `options.mfa` and cannot go with an `organization_usage` other than
   * `deny` (Auth0 has no MFA policies with organizations).
   */
  mfa_policy?: MfaPolicy;
  /**
   * Default `false`. A server-side client that exchanges tokens on behalf of its users may name
   * the end user's IP in `attackProtection.forwardedIpHeader` (Auth0's `auth0-forwarded-for`):
   * that IP is then throttled, logged and shown to the action. Ignored for every other client.
   */
  is_token_endpoint_ip_header_trusted?: boolean;
  /**
   * Default `false`. `true`: every token request of the client must carry a DPoP proof (RFC 9449
   * section 5.2's client metadata), so its access tokens are always bound to its key.
   */
  dpop_bound_access_tokens?: boolean;
  /**
   * Origins (`https://app.example.com`, or `https://*.example.com` for its subdomains) whose
   * browser code may call the token, revocation and introspection endpoints as this client:
   * Auth0's "Allowed Origins (CORS)".
   */
  allowed_origins?: string[];
  /** Auth0's "Allowed Web Origins"; allowed for CORS like `allowed_origins`. */
  web_origins?: string[];
  /**
   * Refresh tokens issued to the client (when `offline_access` is granted): Auth0's fields
   * `rotation_type` (default `rotating` here), `leeway` (0), `token_lifetime` (2592000),
   * `idle_token_lifetime` (1296000), `infinite_token_lifetime`, `infinite_idle_token_lifetime`.
   */
  refresh_token?: RefreshTokenSettingsDefinition;
}

/** A client as the router uses it: every default applied, frozen. */
export interface Client {
  readonly client_id: string;
  /** The first secret in clear: what HS256 ID tokens are signed with. */
  readonly client_secret: string | undefined;
  /** Every secret in clear (at most two). */
  readonly client_secrets: readonly string[];
  /** Every hashed secret (at most two in all with {@link client_secrets}), checked as given. */
  readonly client_secret_hashes: readonly string[];
  readonly name: string;
  readonly is_first_party: boolean;
  readonly oidc_conformant: boolean;
  readonly token_endpoint_auth_method: TokenEndpointAuthMethod;
  readonly jwks: { readonly keys: readonly JWK[] } | undefined;
  readonly id_token_alg: IdTokenSigningAlg;
  /** ID token lifetime in seconds; default 36000 (Auth0's). */
  readonly id_token_lifetime: number;
  readonly allow_any_profile_of_type: readonly string[];
  readonly client_metadata: Readonly<Record<string, string>>;
  readonly organization_usage: OrganizationUsage;
  readonly mfa_policy: MfaPolicy;
  readonly is_token_endpoint_ip_header_trusted: boolean;
  readonly refresh_token: RefreshTokenSettings;
  readonly dpop_bound_access_tokens: boolean;
  readonly allowed_origins: readonly string[];
  readonly web_origins: readonly string[];
}
