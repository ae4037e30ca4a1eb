/** Algorithms for access tokens (`signing_alg`). */
export type AccessTokenSigningAlg = 'RS256' | 'PS256' | 'ES256' | 'EdDSA';

/** An API, with Auth0's Management API field names. */
export interface ResourceServerDefinition {
  /** The `audience` value clients ask for; becomes the access token's `aud`. */
  identifier: string;
  name?: string;
  scopes?: Array<{ value: string; description?: string }>;
  /** Default `RS256` (Auth0's); ES256 signs about ten times cheaper. */
  signing_alg?: AccessTokenSigningAlg;
  /** Default `false`. */
  allow_offline_access?: boolean;
  /** Default `true`. Token exchange needs it: consent cannot be collected. */
  skip_consent_for_verifiable_first_party_clients?: boolean;
  /** Access token lifetime in seconds; default 86400. */
  token_lifetime?: number;
}

/** A resource server as the router uses it: every default applied, frozen. */
export interface ResourceServer {
  readonly identifier: string;
  readonly name: string;
  readonly scopes: readonly string[];
  readonly signing_alg: AccessTokenSigningAlg;
  readonly allow_offline_access: boolean;
  readonly skip_consent_for_verifiable_first_party_clients: boolean;
  readonly token_lifetime: number;
}

/** Which APIs and scopes a client may request (Auth0's client grant). */
export interface ClientGrantDefinition {
  client_id: string;
  audience: string;
  scope: string[];
}
