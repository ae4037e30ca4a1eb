import type { JWK } from 'jose';

/** How a client authenticates at the token endpoint (Auth0's `token_endpoint_auth_method`). */
export type TokenEndpointAuthMethod =
  | 'client_secret_basic'
  | 'client_secret_post'
  | 'private_key_jwt'
  | 'none';

/** Algorithms for ID tokens (`jwt_configuration.alg`); HS256 signs with the client secret. */
export type IdTokenSigningAlg = 'RS256' | 'PS256' | 'ES256' | 'EdDSA' | 'HS256';

/**
 * An application, with Auth0's Management API field names so existing definitions paste in.
 * Defaults are Auth0's where Auth0 has one.
 */
export interface ClientDefinition {
  client_id: string;
  /** Required for `client_secret_basic`/`client_secret_post` and for HS256 ID tokens. */
  client_secret?: string;
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
}

/** A client as the router uses it: every default applied, frozen. */
export interface Client {
  readonly client_id: string;
  readonly client_secret: string | undefined;
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
}
