import type { Request } from 'express';
import type { ValidatedExchange } from '../exchange/validate-exchange.js';
import type { Client } from '../registry/clients.js';
import type { User } from '../users/user-store.js';
import { toEventUser } from './event-user.js';
import type { PostExchangeEvent } from './post-exchange-types.js';
import type { Actor } from './types.js';
import { copyPlain } from '../plain-copy.js';

/** What {@link buildPostExchangeEvent} needs besides the request. */
export interface PostExchangeEventInput {
  client: Client;
  exchange: ValidatedExchange;
  user: User;
  actor: Actor | undefined;
  /** The scopes the tokens will carry. */
  grantedScopes: readonly string[];
  /** The post-exchange action's own secrets. */
  secrets: Readonly<Record<string, string>>;
  tenant: string;
  /** The end user's IP as the exchange resolved it (`ExchangeContext.ip`). */
  ip: string;
}

/** The `event` of one post-exchange execution: plain data, copied into the sandbox. */
export function buildPostExchangeEvent(
  req: Request,
  { client, exchange, user, actor, grantedScopes, secrets, tenant, ip }: PostExchangeEventInput,
): PostExchangeEvent {
  const userAgent = req.get('user-agent');
  const language = req.get('accept-language')?.split(',')[0]?.split(';')[0]?.trim();
  const event: PostExchangeEvent = {
    user: toEventUser(user),
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
      ...(language ? { language: language.slice(0, 35) } : {}),
      body: { ...exchange.extensionParameters },
    },
    resource_server: { identifier: exchange.resourceServer.identifier },
    secrets: { ...secrets },
    tenant: { id: tenant },
    transaction: {
      profile: { id: exchange.profile.id, name: exchange.profile.name },
      subject_token_type: exchange.subjectTokenType,
      ...(exchange.actorTokenType === undefined
        ? {}
        : { actor_token_type: exchange.actorTokenType }),
      requested_scopes: [...exchange.requestedScopes],
      granted_scopes: [...grantedScopes],
      requested_token_type: exchange.requestedTokenType,
    },
  };
  if (actor !== undefined) event.actor = copyPlain(actor);
  return event;
}
