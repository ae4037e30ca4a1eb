import type { Request } from 'express';
import type { ValidatedExchange } from '../exchange/validate-exchange.js';
import type { Client } from '../registry/clients.js';
import type { CustomTokenExchangeEvent } from './types.js';

/** The `event` of one execution: plain data, copied into the sandbox. */
export function buildEvent(
  req: Request,
  client: Client,
  exchange: ValidatedExchange,
  secrets: Readonly<Record<string, string>>,
  tenant: string,
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
      ip: req.ip ?? '',
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
      requested_scopes: [...exchange.requestedScopes],
      requested_token_type: exchange.requestedTokenType,
    },
  };
}

function firstLanguage(header: string | undefined): string | undefined {
  const first = header?.split(',')[0]?.split(';')[0]?.trim();
  return first ? first.slice(0, 35) : undefined;
}
