import type { Request } from 'express';
import { buildPostExchangeEvent } from '../action-api/post-exchange-event.js';
import { decidePostExchangeOutcome } from '../action-api/post-exchange-outcome.js';
import type { PostExchangeClaims } from '../action-api/post-exchange-outcome.js';
import { PostExchangeRecorder } from '../action-api/post-exchange-recorder.js';
import type { Actor } from '../action-api/types.js';
import { OAuthError, ServerError, TemporarilyUnavailable } from '../errors.js';
import { createRedactor } from '../logs/redact.js';
import type { Client } from '../registry/clients.js';
import { ActionFailure } from '../sandbox/action-runner.js';
import type { User } from '../users/user-store.js';
import type { ExchangeContext } from './exchange-context.js';
import type { ExchangeServices } from './exchange-services.js';
import type { ValidatedExchange } from './validate-exchange.js';

/** Prefix of the post-exchange action's console lines in the log's `details.console`. */
export const POST_EXCHANGE_CONSOLE_PREFIX = '[post-exchange] ';

/** What the post-exchange action sees of the exchange, once the profile's action set the user. */
export interface PostExchangeInput {
  client: Client;
  exchange: ValidatedExchange;
  user: User;
  actor: Actor | undefined;
  /** The scopes the tokens will carry. */
  grantedScopes: readonly string[];
}

/**
 * Runs the router's post-exchange action, when one is set, and returns the custom claims it added
 * (`undefined` when no action is set). A `deny` ends the exchange with its code (`400`, or `500`
 * for `server_error`); a refused call (a restricted claim, a value that is not JSON, claims over
 * the size cap), a throw or a timeout fail closed with `500 server_error`, the cause in the log.
 * Its console lines join the profile action's in `details.console`, prefixed with
 * {@link POST_EXCHANGE_CONSOLE_PREFIX}; its secrets are redacted from the log like the profile
 * action's.
 */
export async function runPostExchangeAction(
  services: ExchangeServices,
  req: Request,
  context: ExchangeContext,
  input: PostExchangeInput,
): Promise<PostExchangeClaims | undefined> {
  const version = services.postExchange.deployed();
  if (version === undefined) return undefined;
  const label = `post-exchange action ${version.action_id}`;

  // One redactor over every value, replacing the profile action's: two redactors in a row
  // would let a fragment survive where one value's redaction cuts into another's.
  const profileVersion = services.actions.deployed(input.exchange.profile.action_id);
  let redactor: ((text: string) => string) | undefined;
  const redact = (text: string): string => {
    redactor ??= createRedactor(
      [
        input.exchange.subjectToken,
        input.exchange.actorToken,
        input.client.client_secret,
        (req.body as Record<string, unknown>).client_assertion,
        ...Object.values(profileVersion?.secrets ?? {}),
        ...Object.values(version.secrets),
      ].filter((value): value is string => typeof value === 'string'),
    );
    return redactor(text);
  };
  context.redact = redact;

  const recorder = new PostExchangeRecorder({ redact });
  const event = buildPostExchangeEvent(req, {
    ...input,
    secrets: version.secrets,
    tenant: services.config.tenant,
    ip: context.ip,
  });
  try {
    await services.runner.run(version, event, recorder);
  } catch (err) {
    if (err instanceof ActionFailure && err.kind === 'overloaded') {
      throw new TemporarilyUnavailable(err.retryAfterSeconds, `${label}: ${err.message}`);
    }
    const message = err instanceof Error ? err.message : String(err);
    throw new ServerError(`${label} failed: ${message}`);
  } finally {
    const lines = recorder.consoleLines.map(
      (line) => `${POST_EXCHANGE_CONSOLE_PREFIX}${line.message}`,
    );
    if (lines.length > 0) context.console = [...(context.console ?? []), ...lines];
  }

  const outcome = decidePostExchangeOutcome(recorder);
  switch (outcome.kind) {
    case 'deny':
      throw new OAuthError(
        outcome.code === 'server_error' ? 500 : 400,
        outcome.code,
        outcome.reason,
        { privateCause: `denied by the ${label}` },
      );
    case 'fail':
      throw new ServerError(`${label}: ${outcome.cause}`);
    case 'claims':
      return { accessToken: outcome.accessToken, idToken: outcome.idToken };
  }
}
