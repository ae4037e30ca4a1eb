import type { MultifactorProvider, PostExchangeCommand } from './post-exchange-types.js';
import { copyPlain } from '../plain-copy.js';

/** The custom claims a post-exchange action added, per token. */
export interface PostExchangeClaims {
  accessToken: Record<string, unknown>;
  idToken: Record<string, unknown>;
}

/**
 * What a post-exchange execution decided:
 * - `deny`: answer `error=code` with `error_description=reason`, issue nothing;
 * - `fail`: fail closed with `500 server_error`, `cause` going to the log only;
 * - `claims`: issue the tokens with these custom claims, after a second factor when
 *   `multifactor` names the provider `api.multifactor.enable` asked for.
 */
export type PostExchangeOutcome =
  | { kind: 'deny'; code: string; reason: string }
  | { kind: 'fail'; cause: string }
  | ({ kind: 'claims'; multifactor?: MultifactorProvider } & PostExchangeClaims);

/** What {@link decidePostExchangeOutcome} reads (a `PostExchangeRecorder` fits). */
export interface RecordedPostExchange {
  readonly commands: readonly PostExchangeCommand[];
  readonly violations: readonly string[];
}

/**
 * Turns a post-exchange execution's calls into the decision the router applies: the first
 * `deny` wins whatever else was called; otherwise any refused call fails closed; otherwise the
 * claims, a later `setCustomClaim` of a name replacing the earlier value. The result shares no
 * objects with `recorded`.
 */
export function decidePostExchangeOutcome(recorded: RecordedPostExchange): PostExchangeOutcome {
  for (const command of recorded.commands) {
    if (command.type === 'deny')
      return { kind: 'deny', code: command.code, reason: command.reason };
  }
  if (recorded.violations.length > 0) {
    return { kind: 'fail', cause: recorded.violations.join('; ') };
  }
  const claims: PostExchangeClaims = { accessToken: {}, idToken: {} };
  let multifactor: MultifactorProvider | undefined;
  for (const command of recorded.commands) {
    // The last call's provider, as a later call replaces an earlier one in Auth0.
    if (command.type === 'enableMultifactor') multifactor = command.provider;
    if (command.type !== 'setCustomClaim') continue;
    // defineProperty: no name can reach a setter (the recorder refuses "__proto__" anyway).
    Object.defineProperty(claims[command.token], command.name, {
      value: copyPlain(command.value),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return multifactor === undefined
    ? { kind: 'claims', ...claims }
    : { kind: 'claims', multifactor, ...claims };
}
