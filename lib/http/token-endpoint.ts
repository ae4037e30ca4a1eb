import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AttackProtection } from '../attack-protection/attack-protection.js';
import { claimedClientId } from '../client-auth/client-authenticator.js';
import { endExchange, requireExchange, startExchange } from '../exchange/exchange-context.js';
import {
  refreshTokenCleanupEntry,
  successEntry,
  suspiciousIpBlockEntry,
} from '../exchange/exchange-log.js';
import type { ExchangeServices } from '../exchange/exchange-services.js';
import { issueTokens } from '../exchange/issue-tokens.js';
import { runProfileAction } from '../exchange/run-action.js';
import type { ActionDecision } from '../exchange/run-action.js';
import { runPostExchangeAction } from '../exchange/run-post-exchange.js';
import { OFFLINE_ACCESS, scopesForActor } from '../exchange/scopes.js';
import { validateExchange } from '../exchange/validate-exchange.js';
import type { ValidatedExchange } from '../exchange/validate-exchange.js';
import { isReservedSubjectTokenType } from '../profiles/profile-registry.js';
import { markRefreshTokenRequest } from '../refresh-tokens/refresh-token-request.js';
import type { RefreshTokenService } from '../refresh-tokens/refresh-token-service.js';
import { tokenEndpointBodyParser } from './body-parser.js';
import { sendTokenResponse } from './error-handler.js';
import { isOurRefreshTokenGrant, refreshTokenGrant } from './refresh-token-grant.js';
import { TOKEN_EXCHANGE_GRANT, readTokenRequest, valuesOf } from './token-request.js';

/**
 * `POST /oauth/token` as a list of small named steps. Whether a request is ours is decided right
 * after the body is parsed, before client authentication: anything else goes to the host with
 * `next()` untouched (no assertion consumed, `req.body` as Express's parsers would set it).
 * Attack protection runs once the client is known (a trusted client may forward its user's IP)
 * and before any action: suspicious IP throttling holds one attempt of the IP until the action's
 * verdict is in. A `refresh_token` grant for a token the router issued is answered by its own step
 * right after the client is known (spec §5).
 */
export function tokenEndpoint(
  services: ExchangeServices,
  protection: AttackProtection,
  refreshTokens: RefreshTokenService,
): RequestHandler[] {
  async function routeTokenRequest(req: Request, _res: Response, next: NextFunction) {
    const body = req.body as Record<string, unknown>;
    if (isOurs(services, body)) {
      startExchange(req);
      return next();
    }
    // A store lookup, but only for tokens with the router's prefix: a store failure on one is
    // ours to answer, and to log as a failed refresh.
    const ours = await isOurRefreshTokenGrant(refreshTokens, body).catch((err: unknown) => {
      startExchange(req);
      markRefreshTokenRequest(req);
      throw err;
    });
    if (ours) {
      startExchange(req);
      markRefreshTokenRequest(req);
      return next();
    }
    next('route');
  }

  function readStrictParameters(req: Request, _res: Response, next: NextFunction): void {
    const context = requireExchange(req);
    context.request = readTokenRequest(req.body as Record<string, unknown>);
    next();
  }

  async function authenticateClient(req: Request, _res: Response, next: NextFunction) {
    const context = requireExchange(req);
    try {
      context.client = await services.authenticateClient(req);
    } catch (err) {
      const claimed = claimedClientId(req);
      const client = claimed === undefined ? undefined : services.clients.get(claimed);
      if (client !== undefined) context.claimedClient = client;
      throw err;
    }
    next();
  }

  function resolveClientIp(req: Request, _res: Response, next: NextFunction): void {
    const context = requireExchange(req);
    context.ip = protection.clientIp(req, context.client!);
    next();
  }

  async function holdSuspiciousIpAttempt(req: Request, _res: Response, next: NextFunction) {
    const context = requireExchange(req);
    // 429 when the IP is blocked; waits while every attempt it has left is held by exchanges in
    // flight. Given back after the action, or by the error handler.
    context.suspiciousIpAttempt = await protection.admitExchange(context.ip);
    next();
  }

  function limitProfileRate(req: Request, res: Response, next: NextFunction): void {
    const context = requireExchange(req);
    const type = context.request!.params.subject_token_type;
    const profile = type === undefined ? undefined : services.profiles.bySubjectTokenType(type);
    // No profile: validation refuses the request next, before any action runs.
    if (!profile) return next();
    protection.limitProfileRate(req, res, next, profile.id, context.ip);
  }

  async function exchange(req: Request, res: Response): Promise<void> {
    const context = requireExchange(req);
    const client = context.client!;
    const request = context.request!;
    context.requestedScopes = request.params.scope?.split(' ').filter(Boolean) ?? [];
    const validated = validateExchange(services, client, request);
    context.profile = validated.profile;
    context.resourceServer = validated.resourceServer;
    context.requestedScopes = validated.requestedScopes;

    const attempt = context.suspiciousIpAttempt!;
    let decision: ActionDecision;
    try {
      decision = await runProfileAction(services, req, context, client, validated, {
        onInvalidSubjectToken: async () => {
          const block = await attempt.spend();
          if (block) services.log.write(suspiciousIpBlockEntry(req, context, block));
        },
      });
    } finally {
      // The subject token's verdict is in: the attempt goes back unless it was spent.
      attempt.settle();
    }
    const { user, actor } = decision;
    context.user = user;
    if (actor !== undefined) context.actor = actor;
    // An actor never gets a refresh token: offline_access leaves the scope (spec §2).
    const granted: ValidatedExchange = {
      ...validated,
      grantedScopes: scopesForActor(validated.grantedScopes, actor !== undefined),
    };

    const claims = await runPostExchangeAction(services, req, context, {
      client,
      exchange: granted,
      user,
      actor,
      grantedScopes: granted.grantedScopes,
    });

    const { response, jti } = issueTokens(services, client, granted, user, actor, claims);
    let refreshTokenFamilyId: string | undefined;
    if (granted.grantedScopes.includes(OFFLINE_ACCESS)) {
      const refresh = await refreshTokens.issue({
        client,
        userId: user.user_id,
        audience: granted.resourceServer.identifier,
        scope: granted.grantedScopes,
      });
      response.refresh_token = refresh.token;
      refreshTokenFamilyId = refresh.familyId;
      if (refresh.cleanup) {
        services.log.write(
          refreshTokenCleanupEntry(req, context, refresh.familyId, refresh.cleanup),
        );
      }
    }
    services.log.write(
      successEntry(req, context, granted.grantedScopes, jti, refreshTokenFamilyId),
    );
    sendTokenResponse(res, 200, response);
    endExchange(req);
  }

  return [
    tokenEndpointBodyParser(),
    routeTokenRequest,
    readStrictParameters,
    authenticateClient,
    resolveClientIp,
    refreshTokenGrant(services, refreshTokens),
    holdSuspiciousIpAttempt,
    limitProfileRate,
    exchange,
  ];
}

/**
 * Ours: a token exchange whose `subject_token_type` a profile claims, or (when unknown types are
 * rejected, the default) any non-reserved or missing type. Reserved types (`urn:ietf:…`, ...) are
 * the host's own standard token exchange.
 */
function isOurs(services: ExchangeServices, body: Record<string, unknown>): boolean {
  if (!valuesOf(body.grant_type).includes(TOKEN_EXCHANGE_GRANT)) return false;
  const types = valuesOf(body.subject_token_type).filter((type) => type !== '');
  if (types.some((type) => services.profiles.bySubjectTokenType(type))) return true;
  if (services.config.unknownSubjectTokenType === 'next') return false;
  return !types.some((type) => isReservedSubjectTokenType(type));
}
