import type { Request } from 'express';
import { decideOutcome } from '../action-api/action-outcome.js';
import { ApiRecorder } from '../action-api/api-recorder.js';
import { buildEvent } from '../action-api/build-event.js';
import type { Actor } from '../action-api/types.js';
import { OAuthError, InvalidRequest, ServerError, TemporarilyUnavailable } from '../errors.js';
import { createRedactor } from '../logs/redact.js';
import type { Client } from '../registry/clients.js';
import { ActionFailure } from '../sandbox/action-runner.js';
import { resolveUser } from '../users/set-user.js';
import type { User } from '../users/user-store.js';
import type { ExchangeContext } from './exchange-context.js';
import { actorTokenUserOf } from './actor-token.js';
import type { ExchangeServices } from './exchange-services.js';
import type { ValidatedExchange } from './validate-exchange.js';

/** What the profile's action decided, applied to the user store. */
export interface ActionDecision {
  user: User;
  actor: Actor | undefined;
}

/** What the caller wants to hear about while an action's outcome is applied. */
export interface ActionHooks {
  /**
   * Called when the action rejected the subject token (`rejectInvalidSubjectToken`), or when an
   * ID-token `actor_token` failed the router's own checks, before the `400` is thrown:
   * suspicious IP throttling counts the attempt here. What it throws (a `503` when the
   * throttling store fails closed) replaces the `400`.
   */
  onInvalidSubjectToken?: () => Promise<void>;
}

/**
 * Runs the profile's deployed action and applies its recorded commands: a deny or a rejection
 * ends the exchange, a failure is `server_error` (the cause goes to the log, redacted), otherwise
 * the user it set is resolved through the user store.
 */
export async function runProfileAction(
  services: ExchangeServices,
  req: Request,
  context: ExchangeContext,
  client: Client,
  exchange: ValidatedExchange,
  hooks: ActionHooks = {},
): Promise<ActionDecision> {
  const { profile } = exchange;
  const version = services.actions.deployed(profile.action_id);
  if (!version) {
    throw new ServerError(`action ${profile.action_id} of profile ${profile.id} is not deployed`);
  }
  // Built on first use: most exchanges log no console line and no cause.
  let redactor: ((text: string) => string) | undefined;
  const redact = (text: string): string => {
    redactor ??= createRedactor(
      [
        exchange.subjectToken,
        exchange.actorToken,
        client.client_secret,
        (req.body as Record<string, unknown>).client_assertion,
        ...Object.values(version.secrets),
      ].filter((value): value is string => typeof value === 'string'),
    );
    return redactor(text);
  };
  context.redact = redact;
  // Before the action runs; an invalid ID-token actor costs the IP an attempt, as a rejected
  // subject token does.
  const actorTokenUser = await actorTokenUserOf(
    { issuer: services.config.issuer, client, keys: services.keys, users: services.users },
    exchange,
    hooks.onInvalidSubjectToken,
  );
  const recorder = new ApiRecorder({ redact });
  const event = buildEvent(
    req,
    client,
    exchange,
    version.secrets,
    services.config.tenant,
    context.ip,
    actorTokenUser,
  );
  try {
    await services.runner.run(version, event, recorder);
  } catch (err) {
    if (err instanceof ActionFailure && err.kind === 'overloaded') {
      throw new TemporarilyUnavailable(
        err.retryAfterSeconds,
        `action ${version.action_id}: ${err.message}`,
      );
    }
    const message = err instanceof Error ? err.message : String(err);
    throw new ServerError(`action ${version.action_id} failed: ${message}`);
  } finally {
    context.console = recorder.consoleLines.map((line) => line.message);
  }

  const outcome = decideOutcome(recorder);
  switch (outcome.kind) {
    case 'deny':
      throw new OAuthError(
        outcome.code === 'server_error' ? 500 : 400,
        outcome.code,
        outcome.reason,
        {
          privateCause: 'denied by the action',
        },
      );
    case 'reject':
      await hooks.onInvalidSubjectToken?.();
      throw new InvalidRequest(outcome.reason, { privateCause: 'invalid subject token' });
    case 'fail':
      throw new ServerError(`action ${version.action_id}: ${outcome.cause}`);
    case 'user': {
      if (outcome.selection.type === 'connection')
        context.connection = outcome.selection.connection;
      const user = await resolveUser(services.users, outcome);
      return { user, actor: outcome.actor };
    }
  }
}
