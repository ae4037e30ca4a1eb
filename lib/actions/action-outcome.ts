import type { UserDecision, UserSelection } from '../users/user-selection.js';
import type { Actor, ActionCommand } from './types.js';

/** An execution that set a user: the exchange goes on to issue tokens for it. */
export interface UserOutcome extends UserDecision {
  kind: 'user';
  /** The last `setActor` call's actor; absent when the action named none. */
  actor?: Actor;
  /** The `may_act` that call passed: the router refuses an actor that does not match it. */
  mayAct?: Record<string, unknown>;
  /** The last `setOrganization` call's id or name; absent when the action named none. */
  organization?: string;
}

/**
 * What an execution decided:
 * - `deny`: answer `error=code` with `error_description=reason`;
 * - `reject`: the subject token is invalid (`400 invalid_request`, one failed attempt for the IP);
 * - `fail`: fail closed with `500 server_error`, `cause` going to the log only;
 * - `user`: issue tokens for the selected user.
 */
export type ActionOutcome =
  | { kind: 'deny'; code: string; reason: string }
  | { kind: 'reject'; reason: string }
  | { kind: 'fail'; cause: string }
  | UserOutcome;

/** What {@link decideOutcome} reads from a finished execution (an `ApiRecorder` fits). */
export interface RecordedExecution {
  readonly commands: readonly ActionCommand[];
  /** Messages of refused api calls. */
  readonly violations: readonly string[];
}

/**
 * Turns an execution's recorded calls into the decision the router applies. Precedence:
 * 1. the first `deny` or `rejectInvalidSubjectToken`, whatever else was called (a deny or a
 *    reject ends the exchange), later ones ignored;
 * 2. any refused call (violation) fails closed, with every violation in `cause`;
 * 3. no `setUser…` call fails closed with `action did not set a user` (more than one, which
 *    `ApiRecorder` never records, fails closed too);
 * 4. otherwise the user, with the **last** `setActor` call's actor and `may_act` (a later call
 *    replaces the actor, as a later assignment would), the last `setOrganization` call's
 *    organization, and the metadata calls merged key by key in call order.
 *
 * The result shares no objects with `recorded`.
 */
export function decideOutcome(recorded: RecordedExecution): ActionOutcome {
  for (const command of recorded.commands) {
    if (command.type === 'deny')
      return { kind: 'deny', code: command.code, reason: command.reason };
    if (command.type === 'rejectInvalidSubjectToken')
      return { kind: 'reject', reason: command.reason };
  }
  if (recorded.violations.length > 0)
    return { kind: 'fail', cause: recorded.violations.join('; ') };

  const selections: UserSelection[] = [];
  let actor: Actor | undefined;
  let mayAct: Record<string, unknown> | undefined;
  let organization: string | undefined;
  const appMetadata: Record<string, unknown> = {};
  const userMetadata: Record<string, unknown> = {};
  for (const command of recorded.commands) {
    switch (command.type) {
      case 'setUserById':
        selections.push({ type: 'id', user_id: command.user_id });
        break;
      case 'setUserByConnection':
        selections.push({
          type: 'connection',
          connection: command.connection,
          attributes: structuredClone(command.attributes),
          options: { ...command.options },
        });
        break;
      case 'setActor':
        actor = command.actor;
        mayAct = command.may_act;
        break;
      case 'setOrganization':
        organization = command.organization;
        break;
      case 'setAppMetadata':
        setOwn(appMetadata, command.key, command.value);
        break;
      case 'setUserMetadata':
        setOwn(userMetadata, command.key, command.value);
        break;
    }
  }
  const [selection, ...others] = selections;
  if (selection === undefined) return { kind: 'fail', cause: 'action did not set a user' };
  if (others.length > 0) {
    return { kind: 'fail', cause: `action set a user ${selections.length} times` };
  }
  const outcome: UserOutcome = {
    kind: 'user',
    selection,
    app_metadata: structuredClone(appMetadata),
    user_metadata: structuredClone(userMetadata),
  };
  if (actor !== undefined) outcome.actor = structuredClone(actor);
  if (mayAct !== undefined) outcome.mayAct = structuredClone(mayAct);
  if (organization !== undefined) outcome.organization = organization;
  return outcome;
}

/** Assigns without ever invoking the `__proto__` setter, whatever the key. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}
