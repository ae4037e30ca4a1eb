import type { ActionOutcome, UserOutcome } from '../actions/action-outcome.js';
import { decideOutcome } from '../actions/action-outcome.js';
import { ApiRecorder } from '../actions/api-recorder.js';
import { buildEvent } from '../actions/build-event.js';
import type { EventRequest } from '../actions/build-event.js';
import { executeAction } from '../actions/execute-action.js';
import type { Redaction } from '../actions/redaction.js';
import type { Actor } from '../actions/types.js';
import { InvalidRequest, ServerError } from '../errors.js';
import type { ActionRegistry } from '../profiles/action-registry.js';
import type { Client } from '../registry/clients.js';
import type { ActionRunner } from '../sandbox/action-runner.js';
import type { KeySet } from '../tokens/key-set.js';
import { resolveUser } from '../users/set-user.js';
import type { User, UserStore } from '../users/user-store.js';
import { actorTokenUserOf } from './actor-token.js';
import {
  checkMayAct,
  mayActOfSubjectToken,
  priorActorOf,
  withPriorActor,
} from './actor-constraints.js';
import type { ValidatedExchange } from './validate-exchange.js';
import { checkMembership, enabledConnection, exchangeOrganization } from './organization-rules.js';
import type { OrganizationsConfig } from '../organizations/organization-options.js';
import type { Organization } from '../organizations/organization-store.js';

/** What running a profile's action needs; built once per router. */
export interface ProfileActionServices {
  actions: Pick<ActionRegistry, 'deployed'>;
  runner: ActionRunner;
  users: UserStore;
  keys: KeySet;
  issuer: string;
  tenant: string;
  organizations: OrganizationsConfig;
}

/** One exchange's run of its profile's action. */
export interface ProfileActionInput {
  client: Client;
  exchange: ValidatedExchange;
  request: EventRequest;
  redaction: Redaction;
  /** Receives the action's console lines and the connection of the user it set, for the log. */
  log: { console?: string[]; connection?: string };
  /** Who the exchange is for (the client's IP key): a runaway action is suspended per caller. */
  caller: string;
  /**
   * Called when the action rejected the subject token (`rejectInvalidSubjectToken`), or when an
   * ID-token `actor_token` failed the router's own checks, before the `400` is thrown:
   * suspicious IP throttling counts the attempt here. What it throws (a `503` when the
   * throttling store fails closed) replaces the `400`.
   */
  onInvalidSubjectToken(): Promise<void>;
  /** The organization the request named (`event.organization`), already resolved. */
  organization?: Organization | undefined;
}

/** What the profile's action decided, applied to the user store. */
export interface ActionDecision {
  user: User;
  actor: Actor | undefined;
  organization: Organization | undefined;
}

/**
 * Runs the profile's deployed action and applies its recorded commands: a deny, a rejection or a
 * failure ends the exchange (see `executeAction`); otherwise the actor is checked against
 * `may_act` and keeps a prior delegation, the organization is decided, the user it set is
 * resolved through the user store, and the organization's membership rules are applied.
 */
export async function runProfileAction(
  services: ProfileActionServices,
  input: ProfileActionInput,
): Promise<ActionDecision> {
  const { client, exchange, request, redaction, log, caller, onInvalidSubjectToken } = input;
  const { profile } = exchange;
  const version = services.actions.deployed(profile.action_id);
  if (!version) {
    throw new ServerError(`action ${profile.action_id} of profile ${profile.id} is not deployed`);
  }
  // Before the action runs; an invalid ID-token actor costs the IP an attempt, as a rejected
  // subject token does.
  const actorTokenUser = await actorTokenUserOf(
    { issuer: services.issuer, client, keys: services.keys, users: services.users },
    exchange,
    onInvalidSubjectToken,
  );
  const recorder = new ApiRecorder({ redact: redaction.redact });
  const outcome = await executeAction<Exclude<ActionOutcome, { kind: 'deny' | 'fail' }>>({
    runner: services.runner,
    version,
    event: buildEvent(
      client,
      request,
      exchange,
      version.secrets,
      services.tenant,
      actorTokenUser,
      input.organization,
    ),
    recorder,
    decide: () => decideOutcome(recorder),
    redaction,
    label: `action ${version.action_id}`,
    log,
    caller,
  });
  if (outcome.kind === 'reject') {
    await onInvalidSubjectToken();
    throw new InvalidRequest(outcome.reason, { privateCause: 'invalid subject token' });
  }
  const actor = await actorOf(services, exchange, outcome);
  const { selection } = outcome;
  if (selection.type === 'connection') log.connection = selection.connection;
  const { organizations } = services;
  const organization = await exchangeOrganization(
    organizations,
    client,
    input.organization,
    outcome.organization,
  );
  // A connection not enabled for the organization is refused before any user is created.
  const connection =
    organization !== undefined && selection.type === 'connection'
      ? await enabledConnection(organizations, organization, selection.connection)
      : undefined;
  const user = await resolveUser(services.users, outcome);
  if (organization !== undefined) {
    await checkMembership(organizations, organization, user, selection, connection);
  }
  return { user, actor, organization };
}

/**
 * The actor of the tokens to issue: the action's, once it is checked against the `may_act` the
 * action passed to `setActor` and, when the profile enforces it, the subject token's own
 * `may_act`; then, when the subject token is one of the router's access tokens carrying `act`,
 * that delegation nested under it (or kept as it is when the action set no actor), so that a
 * second exchange never sheds who acted before.
 */
async function actorOf(
  services: ProfileActionServices,
  exchange: ValidatedExchange,
  outcome: UserOutcome,
): Promise<Actor | undefined> {
  const { actor, mayAct } = outcome;
  if (actor !== undefined) {
    if (mayAct !== undefined) checkMayAct(actor, mayAct, 'the may_act passed to setActor');
    if (exchange.profile.enforce_may_act === true) {
      const claim = mayActOfSubjectToken(exchange.subjectToken);
      if (claim !== undefined) checkMayAct(actor, claim, "the subject token's may_act");
    }
  }
  const prior = await priorActorOf(exchange.subjectToken, {
    issuer: services.issuer,
    keys: services.keys,
  });
  return withPriorActor(actor, prior);
}
