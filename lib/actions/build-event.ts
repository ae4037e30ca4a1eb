import type { Organization } from '../organizations/organization-store.js';
import type { Client } from '../registry/clients.js';
import type {
  ActorTokenUser,
  CustomTokenExchangeEvent,
  EventClient,
  EventRequest,
} from '../sandbox/action-types.js';

/**
 * The HTTP request as every event of one exchange shows it (`event.request`): `ip` is the end
 * user's IP as the exchange resolved it (`trust proxy`, or a trusted client's forwarded-IP
 * header), `body` the extension parameters the router does not consume itself.
 */
export type { EventRequest } from '../sandbox/action-types.js';

/** The exchange as its events show it; a validated exchange is one. */
export interface ExchangeFacts {
  resourceServer: { identifier: string };
  subjectToken: string;
  subjectTokenType: string;
  actorToken: string | undefined;
  actorTokenType: string | undefined;
  requestedScopes: readonly string[];
  requestedTokenType: string;
}

/**
 * The `event` of one custom-token-exchange execution: plain data, copied into the sandbox, that
 * shares nothing with its inputs. `actorTokenUser` is the user of a verified ID-token
 * `actor_token`.
 */
export function buildEvent(
  client: Client,
  request: EventRequest,
  exchange: ExchangeFacts,
  secrets: Readonly<Record<string, string>>,
  tenant: string,
  actorTokenUser?: ActorTokenUser,
  organization?: Organization,
): CustomTokenExchangeEvent {
  return {
    client: eventClient(client),
    ...(organization === undefined ? {} : { organization: eventOrganization(organization) }),
    request: eventRequest(request),
    resource_server: { identifier: exchange.resourceServer.identifier },
    secrets: { ...secrets },
    tenant: { id: tenant },
    transaction: {
      subject_token: exchange.subjectToken,
      subject_token_type: exchange.subjectTokenType,
      ...(exchange.actorToken === undefined || exchange.actorTokenType === undefined
        ? {}
        : { actor_token: exchange.actorToken, actor_token_type: exchange.actorTokenType }),
      ...(actorTokenUser === undefined ? {} : { actor_token_user: actorTokenUser }),
      requested_scopes: [...exchange.requestedScopes],
      requested_token_type: exchange.requestedTokenType,
    },
  };
}

/** `event.organization`: a copy of the organization. */
export function eventOrganization(
  organization: Organization,
): NonNullable<CustomTokenExchangeEvent['organization']> {
  return {
    id: organization.id,
    name: organization.name,
    ...(organization.display_name === undefined ? {} : { display_name: organization.display_name }),
    metadata: { ...organization.metadata },
  };
}

/** `event.client`, the same for every trigger. */
export function eventClient(client: Client): EventClient {
  return {
    client_id: client.client_id,
    name: client.name,
    metadata: { ...client.client_metadata },
  };
}

/** A copy of `event.request` for one event: each execution gets its own `body`. */
export function eventRequest(request: EventRequest): EventRequest {
  return { ...request, body: { ...request.body } };
}
