import type {
  PostExchangeApi,
  PostExchangeCommand,
  PostExchangeEvent,
  PostExchangeExports,
} from './post-exchange-types.js';
import type {
  ActionCommand,
  ConsoleLine,
  CustomTokenExchangeEvent,
  CustomTokenExchangeHandler,
  RecordedCustomTokenExchangeApi,
} from './action-types.js';
import type { ActionCache } from './capabilities/action-cache.js';
import type { ActionReplay } from './capabilities/action-replay.js';

/**
 * The trigger an execution serves, which decides the entry point (`onExecuteCustomTokenExchange`
 * or `onExecutePostExchange`), the shape of `event` and the `api` methods.
 */
export type ActionTrigger = 'custom-token-exchange' | 'post-exchange';

/** The `event` of either trigger. */
export type ActionEvent = CustomTokenExchangeEvent | PostExchangeEvent;

/**
 * A trusted in-process handler: a function for the custom-token-exchange trigger, or an object
 * `{ onExecutePostExchange }` (the shape of sandboxed code's `exports`) for the post-exchange one.
 */
export type ActionHandler = CustomTokenExchangeHandler | PostExchangeExports;

/** Runtime limits of one action; every field has a default (see docs/actions.md). */
export interface ActionLimits {
  /** Wall-clock deadline of one execution, host calls included, in ms. Default 20000. */
  timeoutMs: number;
  /**
   * CPU budget of one execution inside the sandbox, in ms, across its synchronous stretches.
   * Default 100. Time the host was not running (descheduled) does not count: the execution goes
   * on, or fails `overloaded` (503, not a runaway) when a timer stopped it (see docs/actions.md).
   */
  cpuTimeMs: number;
  /** Memory limit of the action's isolate, in MB. Default 64. */
  memoryMb: number;
  /** Executions of this action running at once; beyond it: 503. Default 256. */
  maxConcurrency: number;
}

/** Defaults of {@link ActionLimits}. */
export const DEFAULT_ACTION_LIMITS: Readonly<ActionLimits> = Object.freeze({
  timeoutMs: 20_000,
  cpuTimeMs: 100,
  memoryMb: 64,
  maxConcurrency: 256,
});

/** One deployed, immutable version of an action: what a runner executes. */
export interface ActionVersion {
  action_id: string;
  /** Increases with each deploy; a runner may cache per (action_id, number). */
  number: number;
  /** Trusted in-process handler, or... */
  handler?: ActionHandler;
  /**
   * ...sandboxed source: `exports.onExecuteCustomTokenExchange = async (event, api) => {}` (or
   * `exports.onExecutePostExchange` for the post-exchange trigger).
   */
  code?: string;
  secrets: Readonly<Record<string, string>>;
  /** Hosts `fetch` and remote JWKS may reach (`host`, `host:port`, `*.example.com`). */
  allowed_hosts: readonly string[];
  /**
   * CIDRs of non-public addresses (loopback, private, link-local, CGNAT, ...) that allowed hosts
   * may resolve to; empty by default, so DNS rebinding to an internal address fails.
   */
  allowed_private_networks: readonly string[];
  limits: Readonly<ActionLimits>;
}

/**
 * Records and validates an execution's api calls. A runner forwards every `api.*` call to
 * {@link ActionApiRecorder.call} (by copy) and every console line to `console`. `call` throws an
 * `ActionApiError` with a message for the action's author when the arguments break a documented
 * limit; the runner rethrows it inside the action.
 */
export interface ActionApiRecorder {
  /**
   * The trigger whose `api` this recorder records: runners call that trigger's entry point.
   * Default `custom-token-exchange`.
   */
  readonly trigger?: ActionTrigger;
  call(method: ActionApiMethod, args: readonly unknown[]): void;
  console(level: ConsoleLine['level'], args: readonly unknown[]): void;
  /** The `api` object for in-process handlers, backed by `call` (without `api.replay`). */
  api(): RecordedCustomTokenExchangeApi | PostExchangeApi;
  readonly commands: readonly (ActionCommand | PostExchangeCommand)[];
  readonly consoleLines: readonly ConsoleLine[];
}

/** Methods of every trigger's `api`; each recorder accepts only its own trigger's. */
export type ActionApiMethod = CustomTokenExchangeApiMethod | PostExchangeApiMethod;

/** Methods of the post-exchange `api`. */
export type PostExchangeApiMethod =
  'access.deny' | 'accessToken.setCustomClaim' | 'idToken.setCustomClaim' | 'multifactor.enable';

/** Methods of the custom-token-exchange `api`. */
export type CustomTokenExchangeApiMethod =
  | 'access.deny'
  | 'access.rejectInvalidSubjectToken'
  | 'authentication.setUserById'
  | 'authentication.setUserByConnection'
  | 'authentication.setActor'
  | 'authentication.setOrganization'
  | 'user.setAppMetadata'
  | 'user.setUserMetadata';

/** Why an execution failed; the router maps `overloaded` to 503 and the rest to 500. */
export type ActionFailureKind = 'threw' | 'timeout' | 'memory' | 'overloaded' | 'invalid';

/** Thrown (rejected) by {@link ActionRunner.run} when the execution did not complete. */
export class ActionFailure extends Error {
  readonly kind: ActionFailureKind;
  /** For `overloaded`: when to try again (the router's `Retry-After`). */
  readonly retryAfterSeconds: number;
  constructor(kind: ActionFailureKind, message: string, retryAfterSeconds = 1) {
    super(message);
    this.name = 'ActionFailure';
    this.kind = kind;
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds));
  }
}

/** What the router tells a runner about one execution besides its event. */
export interface RunOptions {
  /**
   * Who the execution is for: the key of the client's IP bucket. An action that runs away on one
   * caller's input is suspended for that caller only (see runaway-policy.ts); executions without
   * a caller count as one caller.
   */
  caller?: string;
}

/** Executes action versions: what the router and the action registry see of the runners. */
export interface ActionRunner {
  /**
   * Runs `version` with a copy of `event`; api calls go to `recorder`, whose `trigger` names the
   * entry point to call.
   */
  run(
    version: ActionVersion,
    event: ActionEvent,
    recorder: ActionApiRecorder,
    options?: RunOptions,
  ): Promise<void>;
  /**
   * Checks sandboxed source at create/update time; throws `ActionFailure('invalid', message)` with
   * the line and column of a syntax error. Runners without a sandbox do not implement it.
   */
  validate?(code: string): void | Promise<void>;
  /** Called when a version is no longer deployed, so cached isolates/scripts can go. */
  release?(version: ActionVersion): void;
  close(): Promise<void>;
}

/**
 * One way of running versions (in process, or in isolated-vm), below the limits every execution
 * shares (see execution-gate.ts): it gets the version's effective limits, when it asked for it
 * the execution's `api.cache`, and for the custom-token-exchange trigger its `api.replay`.
 */
export interface ExecutionRunner {
  run(
    version: ActionVersion,
    limits: ActionLimits,
    event: ActionEvent,
    recorder: ActionApiRecorder,
    cache: ActionCache | undefined,
    replay?: ActionReplay,
  ): Promise<void>;
  /** Whether executions of `version` may use `api.cache` (it is loaded for them only). */
  usesCache?(version: ActionVersion): boolean;
  validate?(code: string): void;
  release?(version: ActionVersion): void;
  close(): Promise<void>;
}
