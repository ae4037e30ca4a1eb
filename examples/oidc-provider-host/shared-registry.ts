/**
 * One table of applications and one table of APIs, from which both servers are configured: the
 * provider's `clients` and `getResourceServerInfo`, and the router's `clients` and
 * `resourceServers`. A client secret or an API's scopes changed here change for both grants.
 */
import { errors } from 'oidc-provider';
import type { ClientMetadata, ResourceServer } from 'oidc-provider';
import type { ClientDefinition, ResourceServerDefinition } from '../../lib/index.js';

/** Both servers sign with this algorithm only: one ES256 key covers everything. */
export const SIGNING_ALG = 'ES256';

/** ID token lifetime in seconds, for both servers (the provider's `ttl.IdToken`). */
export const ID_TOKEN_LIFETIME = 3600;

/** An application (a confidential client) as the host registers it once. */
export interface Application {
  client_id: string;
  client_secret: string;
  name: string;
  /** For the provider's authorization code flow. */
  redirect_uris: string[];
}

/** An API (resource server) as the host registers it once. */
export interface Api {
  identifier: string;
  name: string;
  scopes: string[];
  /** Access token lifetime in seconds, for both servers. */
  token_lifetime: number;
}

/** The provider's client metadata: its own grants, `client_secret_basic`, ES256 ID tokens. */
export function providerClients(applications: readonly Application[]): ClientMetadata[] {
  return applications.map((app) => ({
    client_id: app.client_id,
    client_secret: app.client_secret,
    client_name: app.name,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code', 'client_credentials'],
    response_types: ['code'],
    redirect_uris: app.redirect_uris,
    id_token_signed_response_alg: SIGNING_ALG,
  }));
}

/** The router's clients: the same credentials, allowed to use custom token exchange. */
export function routerClients(applications: readonly Application[]): ClientDefinition[] {
  return applications.map((app) => ({
    client_id: app.client_id,
    client_secret: app.client_secret,
    name: app.name,
    token_endpoint_auth_method: 'client_secret_basic',
    jwt_configuration: { alg: SIGNING_ALG, lifetime_in_seconds: ID_TOKEN_LIFETIME },
    token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
  }));
}

/** The router's resource servers. */
export function routerResourceServers(apis: readonly Api[]): ResourceServerDefinition[] {
  return apis.map((api) => ({
    identifier: api.identifier,
    name: api.name,
    scopes: api.scopes.map((value) => ({ value })),
    signing_alg: SIGNING_ALG,
    token_lifetime: api.token_lifetime,
  }));
}

/**
 * The provider's `features.resourceIndicators.getResourceServerInfo`: JWT access tokens
 * (RFC 9068, like the router's) for a known API, `invalid_target` for anything else.
 */
export function resourceServerInfo(
  apis: readonly Api[],
): (ctx: unknown, resourceIndicator: string) => ResourceServer {
  return (_ctx, resourceIndicator) => {
    const api = apis.find((candidate) => candidate.identifier === resourceIndicator);
    if (!api) throw new errors.InvalidTarget();
    return {
      audience: api.identifier,
      scope: api.scopes.join(' '),
      accessTokenTTL: api.token_lifetime,
      accessTokenFormat: 'jwt',
      jwt: { sign: { alg: SIGNING_ALG } },
    };
  };
}
