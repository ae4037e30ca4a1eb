import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { exchangeContext, requireExchange, startExchange } from '../exchange/exchange-context.js';
import { successEntry } from '../exchange/exchange-log.js';
import type { ExchangeServices } from '../exchange/exchange-services.js';
import { issueTokens } from '../exchange/issue-tokens.js';
import { runProfileAction } from '../exchange/run-action.js';
import { validateExchange } from '../exchange/validate-exchange.js';
import { isReservedSubjectTokenType } from '../profiles/profile-registry.js';
import { tokenEndpointBodyParser } from './body-parser.js';
import { NO_STORE_HEADERS } from './error-handler.js';
import { TOKEN_EXCHANGE_GRANT, readTokenRequest, valuesOf } from './token-request.js';

/**
 * `POST /oauth/token` as a list of small named steps. Whether a request is ours is decided right
 * after the body is parsed, before client authentication: anything else goes to the host with
 * `next()` untouched (no assertion consumed, `req.body` as Express's parsers would set it).
 */
export function tokenEndpoint(services: ExchangeServices): RequestHandler[] {
  function routeTokenRequest(req: Request, _res: Response, next: NextFunction): void {
    if (!isOurs(services, req.body as Record<string, unknown>)) return next('route');
    startExchange(req);
    next();
  }

  function readStrictParameters(req: Request, _res: Response, next: NextFunction): void {
    const context = requireExchange(req);
    context.request = readTokenRequest(req.body as Record<string, unknown>);
    next();
  }

  async function authenticateClient(req: Request, _res: Response, next: NextFunction) {
    const context = requireExchange(req);
    context.client = await services.authenticateClient(req);
    next();
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

    const { user, actor } = await runProfileAction(services, req, context, client, validated);
    context.user = user;
    if (actor !== undefined) context.actor = actor;

    const { response, jti } = issueTokens(services, client, validated, user, actor);
    services.log.write(successEntry(req, context, validated.grantedScopes, jti));
    res.status(200).set(NO_STORE_HEADERS).json(response);
  }

  return [
    tokenEndpointBodyParser(),
    routeTokenRequest,
    readStrictParameters,
    authenticateClient,
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

/** True once the pipeline has classified `req` as ours (used by the error handler). */
export function isExchangeRequest(req: Request): boolean {
  return exchangeContext(req) !== undefined;
}
