/**
 * The objects an action sees: `event` (a read-only copy of the request's facts) and `api` (the
 * calls that decide the exchange). Field names follow Auth0's Custom Token Exchange trigger so
 * that existing actions run unchanged.
 */

import type { Actor } from '../tokens/actor.js';
import type { SetUserByConnectionOptions, UserAttributes } from '../users/user-selection.js';
import type { UserProfile } from '../users/user-store.js';

export type { Actor } from '../tokens/actor.js';
export type { SetUserByConnectionOptions, UserAttributes } from '../users/user-selection.js';

/** The client that sent the request, as an action's `event.client` shows it. */
export interface EventClient {
  client_id: string;
  name: string;
  metadata: Record<string, string>;
}

/** The HTTP request, as an action's `event.request` shows it. */
export interface EventRequest {
  ip: string;
  hostname: string;
  method: string;
  user_agent?: string;
  /** First language of `Accept-Language`, when sent. */
  language?: string;
  /** Extension parameters of the request (everything the router does not consume itself). */
  body: Record<string, string>;
}

/** `event` passed to `onExecuteCustomTokenExchange(event, api)`. */
export interface CustomTokenExchangeEvent {
  client: EventClient;
  /** The organization the request's `organization` parameter named; absent without one. */
  organization?: {
    id: string;
    name: string;
    display_name?: string;
    metadata: Record<string, string>;
  };
  request: EventRequest;
  resource_server: { identifier: string };
  secrets: Record<string, string>;
  tenant: { id: string };
  transaction: {
    subject_token: string;
    subject_token_type: string;
    actor_token?: string;
    actor_token_type?: string;
    /** Filled when `actor_token_type` is the ID-token type and the router verified it. */
    actor_token_user?: ActorTokenUser;
    requested_scopes: string[];
    requested_token_type: string;
  };
}

/** The user behind a verified ID-token `actor_token`. */
export interface ActorTokenUser extends UserProfile {
  user_id: string;
  app_metadata: Record<string, unknown>;
  user_metadata: Record<string, unknown>;
  identities: Array<{ connection: string; user_id: string; provider: string; isSocial: boolean }>;
  created_at: string;
  updated_at: string;
}

/** `api` passed to `onExecuteCustomTokenExchange(event, api)`. Every call is validated. */
export interface CustomTokenExchangeApi {
  access: {
    /** Ends the exchange with `error=code` (400, or 500 for `server_error`). */
    deny(code: string, reason: string): void;
    /** Ends the exchange with `400 invalid_request` and costs the caller's IP one attempt. */
    rejectInvalidSubjectToken(reason: string): void;
  };
  authentication: {
    setUserById(user_id: string): void;
    setUserByConnection(
      connection: string,
      attributes: UserAttributes,
      options: SetUserByConnectionOptions,
    ): void;
    /**
     * The actor acting for the user (the `act` claim). With `options.may_act` (the subject
     * token's `may_act` claim, RFC 8693 §4.4) an actor that is not the party it names is refused:
     * the exchange is `400 invalid_request`.
     */
    setActor(actor: Actor, options?: SetActorOptions): void;
    /**
     * The organization of the exchange, by id (or name, with the router's
     * `organizations.allowNameInAuthenticationApi`); it must be the request's `organization` when
     * that was sent too. 1 to 50 characters.
     */
    setOrganization(organization: string): void;
  };
  user: {
    setAppMetadata(key: string, value: unknown): void;
    setUserMetadata(key: string, value: unknown): void;
  };
  replay: {
    /**
     * Remembers `key` (1–256 characters; the action's own) in the router's replay store until
     * `expiresAt` (seconds since the epoch, a JWT's `exp`; at least 5 minutes from now): resolves
     * `true` the first time, `false` for every later call on any instance sharing the store.
     * Pass the subject token's `jti` and reject a `false` with `rejectInvalidSubjectToken`.
     */
    consume(key: string, options: { expiresAt: number }): Promise<boolean>;
  };
}

/** The part of {@link CustomTokenExchangeApi} whose calls are recorded (all but `replay`). */
export type RecordedCustomTokenExchangeApi = Omit<CustomTokenExchangeApi, 'replay'>;

/** The second argument of `api.authentication.setActor`. */
export interface SetActorOptions {
  /** The `may_act` claim of the subject token the action verified: the actor must match it. */
  may_act?: Record<string, unknown>;
}

/** The action's entry point, as an in-process handler or as the export of sandboxed code. */
export type CustomTokenExchangeHandler = (
  event: CustomTokenExchangeEvent,
  api: CustomTokenExchangeApi,
) => unknown;

/**
 * What an action asked for, recorded by the api in call order and applied by the router after the
 * action returns. Plain data: it crosses the sandbox boundary by copy.
 */
export type ActionCommand =
  | { type: 'deny'; code: string; reason: string }
  | { type: 'rejectInvalidSubjectToken'; reason: string }
  | { type: 'setUserById'; user_id: string }
  | {
      type: 'setUserByConnection';
      connection: string;
      attributes: UserAttributes;
      options: SetUserByConnectionOptions;
    }
  | { type: 'setActor'; actor: Actor; may_act?: Record<string, unknown> }
  | { type: 'setOrganization'; organization: string }
  | { type: 'setAppMetadata'; key: string; value: unknown }
  | { type: 'setUserMetadata'; key: string; value: unknown };

/** A captured `console` line of an execution. */
export interface ConsoleLine {
  level: 'log' | 'info' | 'warn' | 'error';
  message: string;
}
