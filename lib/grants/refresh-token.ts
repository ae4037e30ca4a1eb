import type { ClientGrantIndex } from '../exchange/client-grants.js';
import type { User } from '../users/user-store.js';
import type { Organization } from '../organizations/organization-store.js';
import type { OrganizationsConfig } from '../organizations/organization-options.js';
import { checkClientMayExchange } from '../exchange/client-rules.js';
import { grantScopes, parseScope } from '../exchange/scopes.js';
import {
  InvalidRefreshToken,
  InvalidRequest,
  InvalidScope,
  InvalidTarget,
  UserBlocked,
} from '../errors.js';
import { authorizeScopes } from '../permissions/authorize-scopes.js';
import { CUSTOM_AUTHENTICATION } from '../profiles/profile.js';
import { hasRefreshTokenShape } from '../refresh-tokens/opaque-refresh-token.js';
import type { Client } from '../registry/clients.js';
import type { ResourceServer, ResourceServerRegistry } from '../registry/resource-servers.js';
import type { RefreshTokenFamily } from '../stores/refresh-token-store.js';
import { familyAuthTime } from '../stores/refresh-token-store.js';
import type { DpopProof } from '../tokens/dpop-proof.js';
import type { Grant, GrantRequest, GrantServices } from './grant.js';
import { CLIENT_AUTHENTICATION_PARAMETERS } from './grant.js';
import { mintTokens, tokenOrganization } from './issuance.js';
import type { TokenResponse } from './issuance.js';
import { nextTurn } from './next-turn.js';
import { refreshSuccessEntry } from './request-log.js';
import type { TokenRequest } from './token-request.js';
import { valuesOf } from './token-request.js';

/** The RFC 6749 section 6 `grant_type` the router answers for the refresh tokens it issued. */
export const REFRESH_TOKEN_GRANT = 'refresh_token';

const PARAMETERS: ReadonlySet<string> = new Set([
  'grant_type',
  'refresh_token',
  'scope',
  'audience',
  'resource',
  ...CLIENT_AUTHENTICATION_PARAMETERS,
]);

/**
 * `grant_type=refresh_token` for the refresh tokens the router issued. Ours only when the store
 * knows the token: tokens without the router's prefix are never looked up, so the host's own
 * refresh tokens cost nothing and reach it untouched (a store failure while looking one of ours
 * up is ours to answer, and to log as a failed refresh).
 *
 * In order, for an authenticated client: the token must be usable by this client (bound to it,
 * not revoked, within its lifetimes; a rotated token reused outside the leeway revokes its
 * family), the request must stay within the token (same API; a `scope` only narrows), the client
 * and API must still allow it, the user must still exist and not be blocked; only then is the
 * token redeemed (rotated, atomically) and new tokens signed. No action runs.
 */
export function refreshTokenGrant(services: GrantServices): Grant {
  const { refreshTokens, users, log } = services;
  const signer = { issuer: services.config.issuer, keys: services.keys };

  async function isOurs(body: Record<string, unknown>): Promise<boolean> {
    for (const token of valuesOf(body.refresh_token)) {
      if (hasRefreshTokenShape(token) && (await refreshTokens.knows(token))) return true;
    }
    return false;
  }

  async function refresh({
    req,
    params,
    client,
    trail,
    dpop,
  }: GrantRequest): Promise<TokenResponse> {
    // In stages, as a token exchange (see nextTurn): the requests that arrived with this one read
    // and authenticate before any looks up its refresh token...
    await nextTurn();
    const token = params.params.refresh_token;
    if (token === undefined) throw new InvalidRequest('refresh_token is required');
    const narrowed =
      params.params.scope === undefined ? undefined : parseScope(params.params.scope);
    if (narrowed) trail.scope = narrowed;

    const inspected = await refreshTokens.inspect(token, client.client_id);
    const { family } = inspected;
    checkDpopBinding(family, dpop);
    trail.scope = narrowed ?? family.scope;
    checkTarget(params, family);
    const resourceServer = checkClientAndApi(services, client, family);
    trail.audience = resourceServer.identifier;
    const extra = (narrowed ?? []).filter((scope) => !family.scope.includes(scope));
    if (extra.length > 0) {
      throw new InvalidScope('the requested scope exceeds the scope granted to the refresh token', {
        privateCause: `scopes not granted to the refresh token: ${extra.join(' ')}`,
      });
    }

    const user = await users.getById(family.user_id);
    if (user === undefined) {
      throw new InvalidRefreshToken(`user ${JSON.stringify(family.user_id)} no longer exists`);
    }
    trail.user = user;
    // The answer of a custom token exchange for a blocked user.
    if (user.blocked === true) throw new UserBlocked(user.user_id);
    const organization = await familyOrganization(
      services.config.organizations,
      client,
      family,
      user,
    );
    if (organization !== undefined) trail.organization = organization;

    // The API or the client's grant may have lost a scope since the token was issued, and the
    // user a permission: they are read now, and before the token is rotated, so a resolver
    // that fails costs the client nothing.
    const { scope, permissions } = await authorizeScopes(
      services.config.permissions,
      resourceServer,
      user,
      grantScopes(
        narrowed ?? family.scope,
        resourceServer.scopes,
        services.clientGrants.scopesFor(client.client_id, family.audience) ?? undefined,
        true,
      ),
    );

    // Keys that cannot sign now must fail the request before the token is rotated, not after.
    await services.keys.whenReady();
    const redemption = await refreshTokens.redeem(inspected);
    const { response, jti } = await services.telemetry.sign(resourceServer.signing_alg, () =>
      mintTokens(signer, {
        client,
        user,
        resourceServer,
        scope,
        authTime: familyAuthTime(family),
        dpopJkt: dpop?.jkt,
        organization:
          organization && tokenOrganization(organization, services.config.organizations),
        permissions,
      }),
    );
    // ...and all sign before any logs and writes its answer.
    await nextTurn();
    if (redemption.refreshToken !== undefined) response.refresh_token = redemption.refreshToken;
    log.write(refreshSuccessEntry(req, trail, scope, jti, family.family_id));
    return response;
  }

  return {
    type: REFRESH_TOKEN_GRANT,
    parameters: PARAMETERS,
    failureLogType: 'fertft',
    isOurs,
    handle: refresh,
  };
}

/**
 * A family bound to a DPoP key (a public client's, RFC 9449 section 5) is redeemed only with a proof of
 * that key: a stolen token is useless without the private key. Refused like any other unusable
 * refresh token, so the answer does not tell a thief the token is live.
 */
function checkDpopBinding(family: RefreshTokenFamily, dpop: DpopProof | undefined): void {
  if (family.dpop_jkt === undefined) return;
  if (dpop === undefined) {
    throw new InvalidRefreshToken(
      `refresh token family ${family.family_id} is bound to a DPoP key; the request has no proof`,
    );
  }
  if (dpop.jkt !== family.dpop_jkt) {
    throw new InvalidRefreshToken(
      `refresh token family ${family.family_id} is bound to DPoP key ${family.dpop_jkt}; the proof is signed by ${dpop.jkt}`,
    );
  }
}

/**
 * The organization a family was started in, read again: tokens refreshed from it are issued in
 * it only while it exists and the user is still a member (removing a member ends their refresh
 * tokens in the organization, on every instance sharing the organization store), and while the
 * client's `organization_usage` still allows the family (`deny` refuses a family in an
 * organization, `require` one without).
 */
async function familyOrganization(
  organizations: OrganizationsConfig,
  client: Client,
  family: RefreshTokenFamily,
  user: User,
): Promise<Organization | undefined> {
  const id = family.organization_id;
  const usage = client.organization_usage;
  if ((id === undefined && usage === 'require') || (id !== undefined && usage === 'deny')) {
    throw new InvalidRefreshToken(
      `client ${JSON.stringify(client.client_id)} has organization_usage ${usage} now`,
    );
  }
  if (id === undefined) return undefined;
  const organization = await organizations.store.get(id);
  if (organization === undefined) {
    throw new InvalidRefreshToken(`organization ${JSON.stringify(id)} no longer exists`);
  }
  if (!(await organizations.store.isMember(id, user.user_id))) {
    throw new InvalidRefreshToken(
      `${user.user_id} is no longer a member of organization ${JSON.stringify(id)}`,
    );
  }
  return organization;
}

/** `audience`/`resource` may be sent, but only naming the token's own API (one API per token). */
function checkTarget({ audiences, resources }: TokenRequest, family: RefreshTokenFamily): void {
  for (const target of [...audiences, ...resources]) {
    if (target !== family.audience) {
      throw new InvalidTarget('the refresh token was not issued for the requested audience');
    }
  }
}

/**
 * The client rules of a custom token exchange still hold for the client (its refresh tokens come
 * from one), and its API still exists, still allows offline access and is still granted to it.
 */
function checkClientAndApi(
  services: { resourceServers: ResourceServerRegistry; clientGrants: ClientGrantIndex },
  client: Client,
  family: RefreshTokenFamily,
): ResourceServer {
  checkClientMayExchange(client, CUSTOM_AUTHENTICATION);
  const resourceServer = services.resourceServers.get(family.audience);
  if (!resourceServer) {
    throw new InvalidRefreshToken(`API ${JSON.stringify(family.audience)} no longer exists`);
  }
  if (!resourceServer.allow_offline_access) {
    throw new InvalidRefreshToken(
      `API ${JSON.stringify(family.audience)} no longer has allow_offline_access`,
    );
  }
  if (services.clientGrants.scopesFor(client.client_id, family.audience) === null) {
    throw new InvalidRefreshToken(
      `client ${JSON.stringify(client.client_id)} has no client grant for ${JSON.stringify(family.audience)} any more`,
    );
  }
  return resourceServer;
}
