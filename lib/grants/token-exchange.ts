import type { Request, Response } from 'express';
import type { SuspiciousIpAttempt } from '../attack-protection/suspicious-ip-throttle.js';
import type { EventRequest } from '../actions/build-event.js';
import { Redaction } from '../actions/redaction.js';
import { runPostExchangeAction } from '../exchange/post-exchange.js';
import { runProfileAction } from '../exchange/profile-action.js';
import { requestedOrganization } from '../exchange/organization-rules.js';
import { scopesForActor } from '../exchange/scopes.js';
import { validateExchange } from '../exchange/validate-exchange.js';
import type { ExchangeRules } from '../exchange/validate-exchange.js';
import { authorizeScopes } from '../permissions/authorize-scopes.js';
import { isReservedSubjectTokenType } from '../profiles/profile-registry.js';
import type { Grant, GrantRequest, GrantServices } from './grant.js';
import { CLIENT_AUTHENTICATION_PARAMETERS } from './grant.js';
import { issueRefreshToken, mintTokens, tokenOrganization } from './issuance.js';
import { challengeForMfa, mfaProvider } from './mfa-challenge.js';
import { nextTurn } from './next-turn.js';
import type { TokenResponse } from './issuance.js';
import {
  exchangeSuccessEntry,
  refreshTokenCleanupEntry,
  suspiciousIpBlockEntry,
} from './request-log.js';
import type { RequestTrail } from './request-log.js';
import { extensionParameters, valuesOf } from './token-request.js';

/** The RFC 8693 `grant_type`. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';

/** What the exchange consumes; the rest reach the action as `event.request.body`. */
const PARAMETERS: ReadonlySet<string> = new Set([
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
  ...CLIENT_AUTHENTICATION_PARAMETERS,
]);

/**
 * Custom Token Exchange (RFC 8693 with Auth0's profiles and actions). Ours: a token exchange
 * whose `subject_token_type` a profile claims, or (when unknown types are rejected, the default)
 * any non-reserved or missing type; reserved types (`urn:ietf:…`, ...) are the host's own
 * standard token exchange. In order, for an authenticated client: an attempt of the IP is held
 * (a blocked IP is refused), the profile's rate limit is counted, the parameters are validated,
 * the profile's action decides the user (the attempt is then spent or given back), the post-exchange action adds its claims, and the tokens are signed (with a refresh token
 * when `offline_access` was granted and no actor was set).
 */
export function tokenExchangeGrant(services: GrantServices): Grant {
  const { config, profiles, protection, log, refreshTokens, telemetry } = services;
  const rules: ExchangeRules = {
    profiles,
    resourceServers: services.resourceServers,
    clientGrants: services.clientGrants,
    defaultAudience: config.defaultAudience,
    maxTokenLength: config.maxTokenLength,
  };
  const actionServices = {
    actions: services.actions,
    runner: services.runner,
    users: services.users,
    keys: services.keys,
    issuer: config.issuer,
    tenant: config.tenant,
    organizations: config.organizations,
  };
  const postExchangeServices = {
    postExchange: services.postExchange,
    runner: services.runner,
    tenant: config.tenant,
  };
  const signer = { issuer: config.issuer, keys: services.keys };

  const rejectsUnknownTypes = config.unknownSubjectTokenType === 'reject';

  function isOurs(body: Record<string, unknown>): boolean {
    const type = body.subject_token_type;
    // The common case, one type, without the array of the general case.
    if (typeof type === 'string') {
      if (type === '') return rejectsUnknownTypes;
      if (profiles.bySubjectTokenType(type)) return true;
      return rejectsUnknownTypes && !isReservedSubjectTokenType(type);
    }
    const types = valuesOf(type).filter((value) => value !== '');
    if (types.some((value) => profiles.bySubjectTokenType(value))) return true;
    return rejectsUnknownTypes && !types.some((value) => isReservedSubjectTokenType(value));
  }

  /**
   * The profile's rate limit, before validation (a type no profile claims is refused next). A
   * profile without a limit answers at once, without a promise: the common case.
   */
  function limitProfileRate(req: Request, res: Response, ip: string, type: string | undefined) {
    const profile = type === undefined ? undefined : profiles.bySubjectTokenType(type);
    if (!profile) return undefined;
    let answered = false;
    let failure: unknown;
    let settle: ((error: unknown) => void) | undefined;
    // Express's convention: `next()` with any truthy value is a failure.
    const fails = (error: unknown): boolean => Boolean(error);
    const next = (error?: unknown): void => {
      if (settle) settle(error);
      answered = true;
      failure = error;
    };
    protection.limitProfileRate(req, res, next, profile.id, ip);
    if (answered) {
      if (fails(failure)) throw failure;
      return undefined;
    }
    return new Promise<void>((resolve, reject) => {
      settle = (error) => (fails(error) ? reject(error) : resolve());
    });
  }

  async function countInvalidSubjectToken(
    req: Request,
    trail: RequestTrail,
    attempt: SuspiciousIpAttempt,
  ): Promise<void> {
    const block = await attempt.spend();
    if (block) {
      log.write(suspiciousIpBlockEntry(req, trail, block));
      telemetry.suspiciousIpBlocked(trail.profile);
    }
  }

  /**
   * Everything up to the profile action's decision, while an attempt of the IP is held: the
   * profile's rate limit, the exchange's rules, the action (an invalid subject or actor token
   * spends the attempt).
   */
  async function decide(
    { req, res, params, client, ip, trail }: GrantRequest,
    attempt: SuspiciousIpAttempt,
  ) {
    const limited = limitProfileRate(req, res, ip, params.params.subject_token_type);
    if (limited) await limited;
    trail.scope = params.params.scope?.split(' ').filter(Boolean) ?? [];
    const validated = validateExchange(rules, client, params);
    trail.profile = validated.profile;
    trail.audience = validated.resourceServer.identifier;
    trail.scope = validated.requestedScopes;
    const redaction = new Redaction([
      validated.subjectToken,
      validated.actorToken,
      client.client_secret,
      (req.body as Record<string, unknown>).client_assertion,
    ]);
    trail.redact = redaction.redact;
    const request = eventRequest(req, ip, extensionParameters(params, PARAMETERS));
    const requested = await requestedOrganization(
      config.organizations,
      client,
      params.params.organization,
    );
    if (requested !== undefined) trail.organization = requested;
    const decision = await runProfileAction(actionServices, {
      client,
      exchange: validated,
      request,
      redaction,
      log: trail,
      caller: protection.ipKey(ip),
      onInvalidSubjectToken: () => countInvalidSubjectToken(req, trail, attempt),
      organization: requested,
    });
    return { validated, redaction, request, ...decision };
  }

  async function exchange(grantRequest: GrantRequest): Promise<TokenResponse> {
    const { req, client, ip, trail, dpop } = grantRequest;
    // The exchange runs in stages (see nextTurn): the requests that arrived with this one read and
    // authenticate before any runs its action...
    await nextTurn();
    // 429 when the IP is blocked; waits while every attempt it has left is held by exchanges in
    // flight. Given back once the action decided, unless an invalid token spent it.
    const attempt = await telemetry.throttle(() => protection.admitExchange(ip));
    const { validated, redaction, request, user, actor, organization } = await decide(
      grantRequest,
      attempt,
    ).finally(() => attempt.settle());
    // ...then all run their actions before any goes on to its tokens...
    await nextTurn();
    trail.user = user;
    if (actor !== undefined) trail.actor = actor;
    if (organization !== undefined) trail.organization = organization;
    // An actor never gets a refresh token: offline_access leaves the scope. An organization's
    // exchange does: its family keeps the organization. Role-based access control narrows the scopes before the post-exchange action sees them.
    const { scope, permissions } = await authorizeScopes(
      config.permissions,
      validated.resourceServer,
      user,
      scopesForActor(validated.grantedScopes, actor !== undefined),
    );
    const { claims, multifactor } = await runPostExchangeAction(postExchangeServices, {
      client,
      exchange: validated,
      request,
      user,
      actor,
      organization,
      grantedScopes: scope,
      redaction,
      log: trail,
      caller: protection.ipKey(ip),
    });

    const issuance = {
      client,
      user,
      resourceServer: validated.resourceServer,
      scope,
      actor,
      claims,
      dpopJkt: dpop?.jkt,
      organization: organization && tokenOrganization(organization, config.organizations),
      permissions,
    };
    const provider = mfaProvider(client, multifactor);
    if (provider !== undefined) {
      await challengeForMfa(
        config.mfa,
        {
          issuance,
          actor,
          profile: validated.profile,
          subjectTokenType: validated.subjectTokenType,
          provider,
        },
        multifactor === undefined
          ? `client ${JSON.stringify(client.client_id)}'s mfa_policy`
          : 'the post-exchange action',
      );
    }
    const { response, jti, issuedAt } = await telemetry.sign(
      validated.resourceServer.signing_alg,
      () => mintTokens(signer, issuance, validated.requestedTokenType),
    );
    // ...and all sign before any stores its refresh token and writes its answer.
    await nextTurn();
    // The exchange is the authentication: its time is the family's auth_time from now on.
    const refreshToken = await issueRefreshToken(refreshTokens, issuance, issuedAt);
    if (refreshToken !== undefined) response.refresh_token = refreshToken.token;
    if (refreshToken?.cleanup) {
      log.write(refreshTokenCleanupEntry(req, trail, refreshToken.familyId, refreshToken.cleanup));
    }
    log.write(exchangeSuccessEntry(req, trail, scope, jti, refreshToken?.familyId));
    return response;
  }

  return {
    type: TOKEN_EXCHANGE_GRANT,
    parameters: PARAMETERS,
    failureLogType: 'fecte',
    isOurs,
    handle: exchange,
  };
}

/** `event.request`: what the actions see of the HTTP request. */
function eventRequest(req: Request, ip: string, body: Record<string, string>): EventRequest {
  const userAgent = req.get('user-agent');
  const language = firstLanguage(req.get('accept-language'));
  return {
    ip,
    hostname: req.hostname ?? '',
    method: req.method,
    ...(userAgent === undefined ? {} : { user_agent: userAgent }),
    ...(language === undefined ? {} : { language }),
    body,
  };
}

function firstLanguage(header: string | undefined): string | undefined {
  const first = header?.split(',')[0]?.split(';')[0]?.trim();
  return first ? first.slice(0, 35) : undefined;
}
