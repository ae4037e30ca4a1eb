import { fail } from '../definition-checks.js';
import type { Client } from './clients.js';
import type { ResourceServer } from './resource-servers.js';

/** What the checks look at: the registered clients and APIs, and the client grants. */
export interface RegistrationContext {
  clients(): readonly Client[];
  resourceServers(): readonly ResourceServer[];
  /** Whether the client grants let `clientId` request `audience` (always, without grants). */
  mayRequest(clientId: string, audience: string): boolean;
}

/** ID-token algorithms the auth0 SDK's `AuthenticationClient` validates. */
const AUTH0_SDK_ID_TOKEN_ALGS: readonly string[] = ['RS256', 'HS256'];

/**
 * Warns (through `warn`, the router's logger) when a client signs ID tokens with an algorithm the auth0 SDK does
 * not validate and can receive refresh tokens: the SDK's `refreshTokenGrant` then throws after
 * the router already rotated the refresh token, and a retry with the old token is reuse, which
 * revokes the family. Receiving refresh tokens: allowed to exchange, and some API it may request
 * allows offline access (an API changed later is not checked again).
 */
export function warnIfAuth0SdkCannotRefresh(
  client: Client,
  path: string,
  context: RegistrationContext,
  warn: (message: string) => void,
): void {
  if (AUTH0_SDK_ID_TOKEN_ALGS.includes(client.id_token_alg)) return;
  if (!client.allow_any_profile_of_type.includes('custom_authentication')) return;
  const offline = context
    .resourceServers()
    .some(
      (api) => api.allow_offline_access && context.mayRequest(client.client_id, api.identifier),
    );
  if (!offline) return;
  warn(
    `customTokenExchange: ${path} (client ${JSON.stringify(client.client_id)}) signs ID tokens ` +
      `with ${client.id_token_alg} and can receive refresh tokens. The auth0 SDK validates only ` +
      'RS256 and HS256 ID tokens: its refreshTokenGrant throws after the refresh token was ' +
      'rotated, and retrying with the old token revokes the whole family. Use RS256 for clients ' +
      'that refresh through the auth0 SDK.',
  );
}

/** A client's id must not be the introspection `client_id` of a resource server. */
export function checkClientIdIsFree(
  client: Client,
  path: string,
  context: RegistrationContext,
): void {
  const api = context
    .resourceServers()
    .find((server) => server.introspection?.client_id === client.client_id);
  if (api !== undefined) {
    fail(
      `${path}.client_id`,
      `is the introspection client_id of resource server ${JSON.stringify(api.identifier)}`,
    );
  }
}

/** A resource server's introspection `client_id` must be no client's and no other API's. */
export function checkIntrospectionClientIdIsFree(
  server: ResourceServer,
  path: string,
  context: RegistrationContext,
): void {
  const clientId = server.introspection?.client_id;
  if (clientId === undefined) return;
  if (context.clients().some((client) => client.client_id === clientId)) {
    fail(`${path}.introspection.client_id`, `is the client_id of a client`);
  }
  const other = context
    .resourceServers()
    .find(
      (api) => api.identifier !== server.identifier && api.introspection?.client_id === clientId,
    );
  if (other !== undefined) {
    fail(
      `${path}.introspection.client_id`,
      `is the introspection client_id of resource server ${JSON.stringify(other.identifier)}`,
    );
  }
}

/**
 * A client whose `mfa_policy` is `always` needs the host's verifier: without `options.mfa` every
 * exchange of the client would fail.
 */
export function checkMfaPolicyHasVerifier(
  client: Client,
  path: string,
  hasVerifier: boolean,
): void {
  if (client.mfa_policy === 'always' && !hasVerifier) {
    fail(`${path}.mfa_policy`, 'is "always" but options.mfa (its verify function) is absent');
  }
}
