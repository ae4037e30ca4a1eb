import { InvalidRequest, InvalidTarget, UnauthorizedClient } from '../errors.js';
import type { TokenRequest } from '../http/token-request.js';
import type { Profile } from '../profiles/profile-registry.js';
import type { Client } from '../registry/clients.js';
import type { ResourceServer } from '../registry/resource-servers.js';
import type { ExchangeServices } from './exchange-services.js';
import { grantScopes, parseScope } from './scopes.js';

export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
const REQUESTED_TOKEN_TYPES = new Set([ACCESS_TOKEN_TYPE, JWT_TOKEN_TYPE]);

/** A request that passed every rule of spec §1: all an action and token issuance need. */
export interface ValidatedExchange {
  profile: Profile;
  resourceServer: ResourceServer;
  requestedScopes: string[];
  grantedScopes: string[];
  requestedTokenType: string;
  subjectToken: string;
  subjectTokenType: string;
  actorToken: string | undefined;
  actorTokenType: string | undefined;
  /** Parameters the router does not consume, for `event.request.body`. */
  extensionParameters: Record<string, string>;
}

/** Parameters the router consumes itself; the rest reach the action as `event.request.body`. */
const CONSUMED = new Set([
  'grant_type',
  'subject_token',
  'subject_token_type',
  'actor_token',
  'actor_token_type',
  'audience',
  'resource',
  'scope',
  'requested_token_type',
  'organization',
  'client_id',
  'client_secret',
  'client_assertion',
  'client_assertion_type',
]);

/**
 * The parameter rules of spec §1 for an authenticated client, in the spec's order; every refusal
 * happens here, before any action runs.
 */
export function validateExchange(
  services: ExchangeServices,
  client: Client,
  request: TokenRequest,
): ValidatedExchange {
  const { params } = request;
  const subjectToken = params.subject_token;
  if (subjectToken === undefined) throw new InvalidRequest('subject_token is required');
  const subjectTokenType = params.subject_token_type;
  if (subjectTokenType === undefined) throw new InvalidRequest('subject_token_type is required');
  const profile = services.profiles.bySubjectTokenType(subjectTokenType);
  if (!profile) throw new InvalidRequest('subject_token_type is not supported');

  const actorToken = params.actor_token;
  const actorTokenType = params.actor_token_type;
  if ((actorToken === undefined) !== (actorTokenType === undefined)) {
    throw new InvalidRequest('actor_token and actor_token_type must be sent together');
  }
  if (params.organization !== undefined)
    throw new InvalidRequest('organizations are not supported');

  const resourceServer = resolveTarget(services, client, request);
  const requestedScopes = parseScope(params.scope);

  const requestedTokenType = params.requested_token_type ?? ACCESS_TOKEN_TYPE;
  if (!REQUESTED_TOKEN_TYPES.has(requestedTokenType)) {
    throw new InvalidRequest('requested_token_type is not supported');
  }

  if (!client.is_first_party) {
    throw new UnauthorizedClient('third-party clients cannot use token exchange');
  }
  if (!client.oidc_conformant) {
    throw new UnauthorizedClient('the client must be OIDC conformant to use token exchange');
  }
  if (!client.allow_any_profile_of_type.includes(profile.type)) {
    throw new UnauthorizedClient('the client is not allowed to use custom token exchange');
  }
  if (!resourceServer.skip_consent_for_verifiable_first_party_clients) {
    throw new InvalidRequest('consent_required');
  }

  const allowed = services.clientGrants.scopesFor(client.client_id, resourceServer.identifier);
  // A refresh token is never issued when an actor token was sent (spec §2).
  const offlineAccess = resourceServer.allow_offline_access && actorToken === undefined;
  const grantedScopes = grantScopes(
    requestedScopes,
    resourceServer.scopes,
    allowed ?? undefined,
    offlineAccess,
  );

  const extensionParameters: Record<string, string> = {};
  for (const [name, value] of Object.entries(params)) {
    if (!CONSUMED.has(name)) extensionParameters[name] = value;
  }
  return {
    profile,
    resourceServer,
    requestedScopes,
    grantedScopes,
    requestedTokenType,
    subjectToken,
    subjectTokenType,
    actorToken,
    actorTokenType,
    extensionParameters,
  };
}

/** `audience`/`resource` (RFC 8707) to one API the client may use. */
function resolveTarget(
  services: ExchangeServices,
  client: Client,
  { audiences, resources }: TokenRequest,
): ResourceServer {
  if (audiences.length > 1 || resources.length > 1) {
    throw new InvalidTarget('only one target API can be requested');
  }
  const resource = resources[0];
  if (resource !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(resource);
    } catch {
      url = undefined;
    }
    if (!url || resource.includes('#')) {
      throw new InvalidTarget('resource must be an absolute URI without a fragment');
    }
  }
  const audience = audiences[0];
  if (audience !== undefined && resource !== undefined && audience !== resource) {
    throw new InvalidTarget('audience and resource name different APIs');
  }
  const identifier = audience ?? resource ?? services.config.defaultAudience;
  if (identifier === undefined) throw new InvalidRequest('audience is required');
  const resourceServer = services.resourceServers.get(identifier);
  if (!resourceServer) throw new InvalidTarget('the requested audience is not known');
  if (services.clientGrants.scopesFor(client.client_id, identifier) === null) {
    throw new InvalidTarget('the client is not allowed to access the requested audience');
  }
  return resourceServer;
}
