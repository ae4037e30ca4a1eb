import type { PostExchangeExports, PostExchangeHandler } from '../sandbox/post-exchange-types.js';
import type { CustomTokenExchangeHandler } from '../sandbox/action-types.js';
import type { ActionHandler, ActionLimits } from '../sandbox/action-runner.js';

/**
 * The shapes of an action as integrators give it (`ActionDefinition`) and as the registry shows it
 * (`Action`), with Auth0's limits on them; `parse-action-definition.ts` checks them. Field names
 * follow Auth0's `/api/v2/actions/actions`, so definitions written for Auth0 paste in.
 */

/** A trigger an action is written for, as Auth0's `supported_triggers[]` entry. */
export interface SupportedTrigger {
  /** Trigger id, e.g. `custom-token-exchange`. */
  id: string;
  /** Trigger version, e.g. `v1`. */
  version: string;
}

/** The only trigger a profile accepts: Auth0's Custom Token Exchange trigger, version `v1`. */
export const CUSTOM_TOKEN_EXCHANGE_TRIGGER: Readonly<SupportedTrigger> = Object.freeze({
  id: 'custom-token-exchange',
  version: 'v1',
});

/**
 * The trigger of the router's post-exchange hook (`cte.postExchange`), version `v1`: the action
 * runs after the user is set and may add custom claims to the tokens. An action cannot declare it
 * together with {@link CUSTOM_TOKEN_EXCHANGE_TRIGGER}: a profile never runs a post-exchange
 * action, and the hook never runs a custom-token-exchange one.
 */
export const POST_EXCHANGE_TRIGGER: Readonly<SupportedTrigger> = Object.freeze({
  id: 'post-exchange',
  version: 'v1',
});

/** What `actions.create()` accepts. Exactly one of `handler` or `code`. */
export interface ActionDefinition {
  /**
   * The action's id, chosen by the caller: a UUID in lower case (Auth0's action id shape), unique
   * in the registry. Default a random one. Instances that register the same configuration at
   * boot give an action the same id this way, so what they share under it (its `api.cache`, its
   * log entries) is one action's on all of them. Only `create` takes it: an id never changes.
   */
  id?: string;
  /** 1–128 characters. */
  name: string;
  /**
   * A trusted in-process handler: runs in the host process, without a sandbox. For the
   * custom-token-exchange trigger a function `async (event, api) => { … }`; for the post-exchange
   * trigger see {@link PostExchangeActionDefinition}.
   */
  handler?: CustomTokenExchangeHandler | PostExchangeExports;
  /**
   * Sandboxed source, at most 100 kB of UTF-8:
   * `exports.onExecuteCustomTokenExchange = async (event, api) => { … }`, or
   * `exports.onExecutePostExchange = async (event, api) => { … }` for the post-exchange trigger.
   * Needs a runner that can validate code (the isolated-vm runner).
   */
  code?: string;
  /**
   * `event.secrets`: name → value. Names 1–128 characters matching `^[A-Za-z_][A-Za-z0-9_]*$`,
   * values at most 4096 characters, at most 100 secrets. Default none.
   */
  secrets?: Record<string, string>;
  /**
   * Hosts the action's `fetch` and remote JWKS may reach: `api.example.com`, `*.example.com`
   * (strict subdomains, at least two labels after `*.`), an IPv4 or bracketed IPv6 address, each
   * with an optional `:port` (without one, only the scheme's default port). Stored normalized
   * (lower case, punycode, no trailing dot) and de-duplicated; at most 100. Default none (no
   * network).
   */
  allowed_hosts?: string[];
  /**
   * CIDRs of non-public networks (`10.1.0.0/16`, `fd00::/8`, a bare address) the allowed hosts
   * may resolve to; at most 100. Default none, so a name rebound to an internal address fails.
   */
  allowed_private_networks?: string[];
  /** Per-action overrides of the registry's default limits. */
  limits?: Partial<ActionLimits>;
  /**
   * 1–10 distinct entries, never both `custom-token-exchange` and `post-exchange`. Default
   * `[{ id: 'post-exchange', version: 'v1' }]` for a `{ onExecutePostExchange }` handler,
   * `[{ id: 'custom-token-exchange', version: 'v1' }]` otherwise (so a post-exchange action given
   * as code or as a function declares its trigger).
   */
  supported_triggers?: SupportedTrigger[];
}

/** The post-exchange trigger as a definition names it: `{ id: 'post-exchange', version }`. */
export interface PostExchangeTrigger {
  id: 'post-exchange';
  version: string;
}

/**
 * A post-exchange action (`actions.create()` for `cte.postExchange`): the fields of
 * {@link ActionDefinition}, its triggers starting with the post-exchange one, and `handler` given
 * as a function `async (event, api) => { … }` (its `onExecutePostExchange`) or as
 * `{ onExecutePostExchange }`, typed with the post-exchange `event` and `api`.
 */
export interface PostExchangeActionDefinition extends Omit<
  ActionDefinition,
  'handler' | 'supported_triggers'
> {
  handler?: PostExchangeHandler | PostExchangeExports;
  supported_triggers: [PostExchangeTrigger, ...SupportedTrigger[]];
}

/**
 * What `actions.update()` accepts for a post-exchange action's handler: the fields of
 * {@link ActionPatch}, with the post-exchange trigger named so the handler is typed as one.
 */
export interface PostExchangeActionPatch extends Partial<PostExchangeActionDefinition> {
  supported_triggers: [PostExchangeTrigger, ...SupportedTrigger[]];
}

/**
 * What `actions.update()` accepts: any fields of {@link ActionDefinition}, at least one. Given
 * `secrets`, `allowed_hosts`, `allowed_private_networks`, `limits` and `supported_triggers`
 * replace the draft's value (limits
 * are merged with the registry defaults again, not with the draft's previous limits); `handler`
 * and `code` replace each other.
 */
export type ActionPatch = Partial<Omit<ActionDefinition, 'id'>>;

/** Where a version runs: `code` in the isolated-vm sandbox, a `handler` in the host process. */
export type ActionRuntime = 'isolated-vm' | 'in-process';

/** A secret as the registry shows it: never its value. */
export interface ActionSecretInfo {
  name: string;
  /** When the value last changed (ISO 8601). */
  updated_at: string;
}

/**
 * An action as the registry shows it: the draft plus what is deployed. A fresh deep copy on every
 * call; it never carries a secret's value or the handler function.
 */
export interface Action {
  /** The id given to `create`, or `crypto.randomUUID()`. */
  id: string;
  name: string;
  supported_triggers: SupportedTrigger[];
  /** The draft's source, when the draft is sandboxed code. */
  code?: string;
  runtime: ActionRuntime;
  secrets: ActionSecretInfo[];
  allowed_hosts: string[];
  allowed_private_networks: string[];
  limits: ActionLimits;
  /** Always `built`: there is no build step (Auth0 reports the same once an action is built). */
  status: 'built';
  /** The live version (its id, as `actions.versions()` lists it), absent until the first deploy. */
  deployed_version?: { id: string; number: number; deployed_at: string };
  /** `true` when the live version was built from the current draft. */
  all_changes_deployed: boolean;
  /**
   * `code`: defined by the host's code through `cte.actions` (each instance defines it at
   * start-up; the Management API refuses to change it). `api`: created through the Management
   * API, kept in the shared configuration store.
   */
  managed_by: 'code' | 'api';
  created_at: string;
  updated_at: string;
}

/** Inclusive bounds of each {@link ActionLimits} field, for definitions and the registry defaults. */
export const ACTION_LIMIT_RANGES: Readonly<Record<keyof ActionLimits, readonly [number, number]>> =
  Object.freeze({
    // 60 s leaves room above the 20 s default for slow legacy IdPs without letting an execution
    // hold a request (and a concurrency slot) for minutes.
    timeoutMs: [1, 60_000],
    cpuTimeMs: [1, 10_000],
    // 8 MB is isolated-vm's minimum; above 1 GB one action could starve the host.
    memoryMb: [8, 1024],
    maxConcurrency: [1, 10_000],
  });

/** Largest `code`, in UTF-8 bytes (100 kB, as Auth0 allows). */
export const MAX_ACTION_CODE_BYTES = 100 * 1024;
/** Most secrets per action. */
export const MAX_ACTION_SECRETS = 100;
/** Longest secret value, in characters. */
export const MAX_ACTION_SECRET_VALUE_LENGTH = 4096;
/** Most `allowed_hosts` entries per action. */
export const MAX_ALLOWED_HOSTS = 100;
/** Most `allowed_private_networks` entries per action. */
export const MAX_ALLOWED_PRIVATE_NETWORKS = 100;

/** The executable part of a draft: exactly one of a handler or code. */
export type ActionSource = { handler: ActionHandler } | { code: string };

/** Validated fields of a patch; absent fields were not given. */
export interface ParsedActionFields {
  name?: string;
  source?: ActionSource;
  secrets?: Map<string, string>;
  allowed_hosts?: string[];
  allowed_private_networks?: string[];
  limits?: ActionLimits;
  supported_triggers?: SupportedTrigger[];
}

/**
 * A validated {@link ActionDefinition}: every field present, defaults applied; `id` only when the
 * caller chose one.
 */
export type ParsedActionDefinition = Required<ParsedActionFields> & { id: string | undefined };
