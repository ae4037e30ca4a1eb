/**
 * The objects a post-exchange action sees: it runs once the profile's action has set the user,
 * right before the tokens are signed, and may add custom claims to them (Auth0 adds claims in its
 * Post-Login actions; this trigger is the router's equivalent for token exchanges).
 */
import type {
  Actor,
  ActorTokenUser,
  CustomTokenExchangeEvent,
  EventClient,
  EventRequest,
} from './action-types.js';

/** `event` passed to `onExecutePostExchange(event, api)`: a read-only copy. */
export interface PostExchangeEvent {
  /** The user the tokens are issued for, as stored after the profile's action. */
  user: PostExchangeUser;
  /** The actor the profile's action set (the `act` claim); absent when none. */
  actor?: Actor;
  /**
   * The organization of the exchange: the request's `organization`, or the one the profile's
   * action set; absent without one.
   */
  organization?: CustomTokenExchangeEvent['organization'];
  client: EventClient;
  request: EventRequest;
  resource_server: { identifier: string };
  /** The post-exchange action's own secrets. */
  secrets: Record<string, string>;
  tenant: { id: string };
  /**
   * The exchange. The subject and actor tokens themselves are not passed on: the profile's action
   * has judged them, and this action only shapes the tokens.
   */
  transaction: {
    /** The profile that served the request. */
    profile: { id: string; name: string };
    subject_token_type: string;
    actor_token_type?: string;
    requested_scopes: string[];
    /** The scopes the tokens carry (`scope` of the response). */
    granted_scopes: string[];
    requested_token_type: string;
  };
}

/** `event.user` of a post-exchange action: the same fields as `actor_token_user`. */
export type PostExchangeUser = ActorTokenUser;

/** `api` passed to `onExecutePostExchange(event, api)`. Every call is validated. */
export interface PostExchangeApi {
  access: {
    /** Ends the exchange with `error=code` (400, or 500 for `server_error`); no token is issued. */
    deny(code: string, reason: string): void;
  };
  accessToken: {
    /**
     * Adds a claim to the access token (a later call with the same name replaces the value).
     * Throws for a restricted name, a value that is not JSON data, or claims over the size cap.
     */
    setCustomClaim(name: string, value: unknown): void;
  };
  idToken: {
    /** As `accessToken.setCustomClaim`, for the ID token; OIDC profile claims are refused too. */
    setCustomClaim(name: string, value: unknown): void;
  };
  multifactor: {
    /**
     * Requires a second factor before the tokens are issued (Auth0's signature): the exchange
     * answers `403 mfa_required` with an `mfa_token` the client redeems through the `mfa-otp` or
     * `mfa-oob` grant. `provider` is one of {@link MULTIFACTOR_PROVIDERS}, passed to the host's
     * verifier; `options.allowRememberBrowser` is accepted and has no effect (no browser takes
     * part). Refused when the exchange has an organization, as in Auth0.
     */
    enable(provider: MultifactorProvider, options?: MultifactorOptions): void;
  };
}

/** The providers `api.multifactor.enable` accepts: Auth0's names. */
export const MULTIFACTOR_PROVIDERS = ['any', 'duo', 'google-authenticator', 'guardian'] as const;

/** One of {@link MULTIFACTOR_PROVIDERS}. */
export type MultifactorProvider = (typeof MULTIFACTOR_PROVIDERS)[number];

/** The options of `api.multifactor.enable`, as Auth0 has them; neither changes anything here. */
export interface MultifactorOptions {
  /** Meaningless without a browser: accepted (a boolean) and ignored. */
  allowRememberBrowser?: boolean;
  /** Settings of Auth0's Duo provider: accepted (an object) and ignored; the host verifies. */
  providerOptions?: Record<string, unknown>;
}

/** The post-exchange entry point, as exported by sandboxed code or an in-process handler. */
export type PostExchangeHandler = (event: PostExchangeEvent, api: PostExchangeApi) => unknown;

/**
 * An in-process post-exchange handler, given the shape of sandboxed code's `exports`:
 * `handler: { onExecutePostExchange: async (event, api) => { … } }`.
 */
export interface PostExchangeExports {
  onExecutePostExchange: PostExchangeHandler;
}

/** What a post-exchange action asked for, in call order. Plain data. */
export type PostExchangeCommand =
  | { type: 'deny'; code: string; reason: string }
  | { type: 'setCustomClaim'; token: 'accessToken' | 'idToken'; name: string; value: unknown }
  | { type: 'enableMultifactor'; provider: MultifactorProvider };
