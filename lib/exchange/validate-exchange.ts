import { InvalidRequest, InvalidTarget } from '../errors.js';
import type { ProfileRegistry } from '../profiles/profile-registry.js';
import type { StoredProfile } from '../profiles/profile.js';
import type { Client } from '../registry/clients.js';
import type { ResourceServer, ResourceServerRegistry } from '../registry/resource-servers.js';
import type { ClientGrantIndex } from './client-grants.js';
import { checkClientMayExchange } from './client-rules.js';
import { grantScopes, parseScope } from './scopes.js';

export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
const REQUESTED_TOKEN_TYPES = new Set([ACCESS_TOKEN_TYPE, JWT_TOKEN_TYPE]);

/** What the exchange rules look things up in; built once per router. */
export interface ExchangeRules {
  profiles: Pick<ProfileRegistry, 'bySubjectTokenType'>;
  resourceServers: Pick<ResourceServerRegistry, 'get'>;
  clientGrants: ClientGrantIndex;
  /** The API of a request that names none. */
  defaultAudience: string | undefined;
  /** Longest subject or actor token, in characters, of a profile without its own limit. */
  maxTokenLength: number;
}

/** A token exchange request's parameters: single values, and every `audience` and `resource`. */
export interface ExchangeParameters {
  params: Readonly<Record<string, string>>;
  audiences: readonly string[];
  resources: readonly string[];
}

/** A request that passed every rule of the exchange: all an action and token issuance need. */
export interface ValidatedExchange {
  profile: Readonly<StoredProfile>;
  resourceServer: ResourceServer;
  requestedScopes: string[];
  grantedScopes: string[];
  requestedTokenType: string;
  subjectToken: string;
  subjectTokenType: string;
  actorToken: string | undefined;
  actorTokenType: string | undefined;
}

/**
 * The parameter rules of a custom token exchange for an authenticated client, in this order:
 * subject token and its type (which selects the profile), the tokens' length, the actor pair,
 * the target API, the scope, `requested_token_type`, the client rules, consent.
 * Every refusal happens here, before any action runs or any token is parsed.
 */
export function validateExchange(
  rules: ExchangeRules,
  client: Client,
  request: ExchangeParameters,
): ValidatedExchange {
  const { params } = request;
  const subjectToken = params.subject_token;
  if (subjectToken === undefined) throw new InvalidRequest('subject_token is required');
  const subjectTokenType = params.subject_token_type;
  if (subjectTokenType === undefined) throw new InvalidRequest('subject_token_type is required');
  const profile = rules.profiles.bySubjectTokenType(subjectTokenType);
  if (!profile) throw new InvalidRequest('subject_token_type is not supported');

  const actorToken = params.actor_token;
  const actorTokenType = params.actor_token_type;
  const maxTokenLength = profile.max_token_length ?? rules.maxTokenLength;
  checkTokenLength('subject_token', subjectToken, maxTokenLength);
  if (actorToken !== undefined) checkTokenLength('actor_token', actorToken, maxTokenLength);
  if ((actorToken === undefined) !== (actorTokenType === undefined)) {
    throw new InvalidRequest('actor_token and actor_token_type must be sent together');
  }

  const resourceServer = resolveTarget(rules, client, request);
  const requestedScopes = parseScope(params.scope);

  const requestedTokenType = params.requested_token_type ?? ACCESS_TOKEN_TYPE;
  if (!REQUESTED_TOKEN_TYPES.has(requestedTokenType)) {
    throw new InvalidRequest('requested_token_type is not supported');
  }

  checkClientMayExchange(client, profile.type);
  if (!resourceServer.skip_consent_for_verifiable_first_party_clients) {
    throw new InvalidRequest('consent_required');
  }

  const allowed = rules.clientGrants.scopesFor(client.client_id, resourceServer.identifier);
  // A refresh token is never issued when an actor token was sent.
  const offlineAccess = resourceServer.allow_offline_access && actorToken === undefined;
  const grantedScopes = grantScopes(
    requestedScopes,
    resourceServer.scopes,
    allowed ?? undefined,
    offlineAccess,
  );
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
  };
}

/**
 * A token longer than its profile allows is refused before anything reads it: a caller's
 * oversized input must cost the router no more than its length check.
 */
function checkTokenLength(name: string, token: string, maxLength: number): void {
  if (token.length > maxLength) {
    throw new InvalidRequest(`${name} is longer than ${maxLength} characters`, {
      privateCause: `${name} of ${token.length} characters`,
    });
  }
}

/** `audience`/`resource` (RFC 8707) to one API the client may use. */
function resolveTarget(
  rules: ExchangeRules,
  client: Client,
  { audiences, resources }: ExchangeParameters,
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
  const identifier = audience ?? resource ?? rules.defaultAudience;
  if (identifier === undefined) throw new InvalidRequest('audience is required');
  const resourceServer = rules.resourceServers.get(identifier);
  if (!resourceServer) throw new InvalidTarget('the requested audience is not known');
  if (rules.clientGrants.scopesFor(client.client_id, identifier) === null) {
    throw new InvalidTarget('the client is not allowed to access the requested audience');
  }
  return resourceServer;
}
