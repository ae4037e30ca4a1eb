import type { Client } from '../registry/clients.js';
import type { User } from '../users/user-store.js';
import type { EventRequest, ExchangeFacts } from './build-event.js';
import { eventClient, eventOrganization, eventRequest } from './build-event.js';
import type { Organization } from '../organizations/organization-store.js';
import { toEventUser } from './event-user.js';
import type { PostExchangeEvent } from './post-exchange-types.js';
import type { Actor } from './types.js';
import { copyPlain } from '../plain-copy.js';

/** The exchange as the post-exchange event shows it: the facts, and the profile that served it. */
export interface PostExchangeFacts extends ExchangeFacts {
  profile: { id: string; name: string };
}

/** What {@link buildPostExchangeEvent} needs. */
export interface PostExchangeEventInput {
  client: Client;
  request: EventRequest;
  exchange: PostExchangeFacts;
  user: User;
  actor: Actor | undefined;
  organization: Organization | undefined;
  /** The scopes the tokens will carry. */
  grantedScopes: readonly string[];
  /** The post-exchange action's own secrets. */
  secrets: Readonly<Record<string, string>>;
  tenant: string;
}

/** The `event` of one post-exchange execution: plain data, copied into the sandbox. */
export function buildPostExchangeEvent({
  client,
  request,
  exchange,
  user,
  actor,
  organization,
  grantedScopes,
  secrets,
  tenant,
}: PostExchangeEventInput): PostExchangeEvent {
  const event: PostExchangeEvent = {
    user: toEventUser(user),
    client: eventClient(client),
    request: eventRequest(request),
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
  if (organization !== undefined) event.organization = eventOrganization(organization);
  return event;
}
