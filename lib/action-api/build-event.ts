import type { Request } from 'express';
import type { ValidatedExchange } from '../exchange/validate-exchange.js';
import type { Client } from '../registry/clients.js';
import type { ActorTokenUser, CustomTokenExchangeEvent } from './types.js';

/**
 * The `event` of one execution: plain data, copied into the sandbox. `ip` is the end user's IP
 * as the exchange resolved it (`ExchangeContext.ip`: `trust proxy`, or a trusted client's
 * forwarded-IP header). `actorTokenUser` is the user of a verified ID-token `actor_token`.
 */
export function buildEvent(
  req: Request,
  client: Client,
  exchange: ValidatedExchange,
  secrets: Readonly<Record<string, string>>,
  tenant: string,
  ip: string,
  actorTokenUser?: ActorTokenUser,
): CustomTokenExchangeEvent {
  const userAgent = req.get('user-agent');
  const language = firstLanguage(req.get('accept-language'));
  return {
    client: {
      client_id: client.client_id,
      name: client.name,
      metadata: { ...client.client_metadata },
    },
    request: {
      ip,
      hostname: req.hostname ?? '',
      method: req.method,
      ...(userAgent === undefined ? {} : { user_agent: userAgent }),
      ...(language === undefined ? {} : { language }),
      body: { ...exchange.extensionParameters },
    },
    resource_server: { identifier: exchange.resourceServer.identifier },
    secrets: { ...secrets },
    tenant: { id: tenant },
    transaction: {
      subject_token: exchange.subjectToken,
      subject_token_type: exchange.subjectTokenType,
      ...(exchange.actorToken === undefined
        ? {}
        : {
            actor_token: exchange.actorToken,
            actor_token_type: exchange.actorTokenType as string,
          }),
      ...(actorTokenUser === undefined ? {} : { actor_token_user: actorTokenUser }),
      requested_scopes: [...exchange.requestedScopes],
      requested_token_type: exchange.requestedTokenType,
    },
  };
}

function firstLanguage(header: string | undefined): string | undefined {
  const first = header?.split(',')[0]?.split(';')[0]?.trim();
  return first ? first.slice(0, 35) : undefined;
}
