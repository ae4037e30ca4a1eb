import type { EventRequest } from '../actions/build-event.js';
import { executeAction } from '../actions/execute-action.js';
import { buildPostExchangeEvent } from '../actions/post-exchange-event.js';
import { decidePostExchangeOutcome } from '../actions/post-exchange-outcome.js';
import type { PostExchangeClaims } from '../actions/post-exchange-outcome.js';
import { PostExchangeRecorder } from '../actions/post-exchange-recorder.js';
import type { Redaction } from '../actions/redaction.js';
import type { MultifactorProvider } from '../actions/post-exchange-types.js';
import type { Actor } from '../actions/types.js';
import type { PostExchangeHook } from '../profiles/post-exchange-hook.js';
import type { Organization } from '../organizations/organization-store.js';
import type { Client } from '../registry/clients.js';
import type { ActionRunner } from '../sandbox/action-runner.js';
import type { User } from '../users/user-store.js';
import type { ValidatedExchange } from './validate-exchange.js';

/** Prefix of the post-exchange action's console lines in the log's `details.console`. */
export const POST_EXCHANGE_CONSOLE_PREFIX = '[post-exchange] ';

/** What running the post-exchange action needs; built once per router. */
export interface PostExchangeServices {
  postExchange: Pick<PostExchangeHook, 'deployed'>;
  runner: ActionRunner;
  tenant: string;
}

/** What the post-exchange action sees of the exchange, once the profile's action set the user. */
export interface PostExchangeInput {
  client: Client;
  exchange: ValidatedExchange;
  request: EventRequest;
  user: User;
  actor: Actor | undefined;
  /**
   * The exchange's organization, from the request or the profile's action (the event's
   * `organization`; `api.multifactor.enable` is refused when there is one).
   */
  organization: Organization | undefined;
  /** The scopes the tokens will carry. */
  grantedScopes: readonly string[];
  redaction: Redaction;
  /** Receives the action's console lines, for the log. */
  log: { console?: string[] };
  /** Who the exchange is for (the client's IP key): a runaway action is suspended per caller. */
  caller: string;
}

/** What the post-exchange action decided: custom claims, and whether MFA is required. */
export interface PostExchangeDecision {
  claims: PostExchangeClaims | undefined;
  /** The provider `api.multifactor.enable` named; absent when the action did not call it. */
  multifactor: MultifactorProvider | undefined;
}

/**
 * Runs the router's post-exchange action, when one is set, and returns the custom claims it added
 * (`undefined` when no action is set) and the provider of `api.multifactor.enable`, if called. A
 * `deny` ends the exchange with its code; a refused call (a restricted claim, a value that is not
 * JSON, claims over the size cap, MFA with an organization), a throw or a timeout
 * fail closed with `500 server_error`, the cause in the log. Its console lines join the profile
 * action's in `details.console`, prefixed with {@link POST_EXCHANGE_CONSOLE_PREFIX}; its secrets
 * join the request's redaction.
 */
export async function runPostExchangeAction(
  services: PostExchangeServices,
  input: PostExchangeInput,
): Promise<PostExchangeDecision> {
  const version = services.postExchange.deployed();
  if (version === undefined) return { claims: undefined, multifactor: undefined };
  const recorder = new PostExchangeRecorder({
    redact: input.redaction.redact,
    organization: input.organization !== undefined,
  });
  const outcome = await executeAction<
    { kind: 'claims'; multifactor?: MultifactorProvider } & PostExchangeClaims
  >({
    runner: services.runner,
    version,
    event: buildPostExchangeEvent({
      client: input.client,
      request: input.request,
      exchange: input.exchange,
      user: input.user,
      actor: input.actor,
      organization: input.organization,
      grantedScopes: input.grantedScopes,
      secrets: version.secrets,
      tenant: services.tenant,
    }),
    recorder,
    decide: () => decidePostExchangeOutcome(recorder),
    redaction: input.redaction,
    label: `post-exchange action ${version.action_id}`,
    log: input.log,
    consolePrefix: POST_EXCHANGE_CONSOLE_PREFIX,
    caller: input.caller,
  });
  return {
    claims: { accessToken: outcome.accessToken, idToken: outcome.idToken },
    multifactor: outcome.multifactor,
  };
}
