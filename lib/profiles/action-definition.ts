import type { PostExchangeExports, PostExchangeHandler } from '../actions/post-exchange-types.js';
import type { CustomTokenExchangeHandler } from '../actions/types.js';
import { ManagementError } from '../errors.js';
import type { ActionHandler, ActionLimits } from '../sandbox/action-runner.js';
import type { HostPattern } from '../sandbox/capabilities/host-allow-list.js';
import { parseHostPattern } from '../sandbox/capabilities/host-allow-list.js';
import { parseCidr } from '../sandbox/capabilities/ip-policy.js';

/**
 * The shapes of an action as integrators give it (`ActionDefinition`) and as the registry shows it
 * (`Action`), with the checks that turn the first into validated draft fields. Field names follow
 * Auth0's `/api/v2/actions/actions`, so definitions written for Auth0 paste in.
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

const LIMIT_KEYS = Object.keys(ACTION_LIMIT_RANGES) as Array<keyof ActionLimits>;
const DEFINITION_KEYS: ReadonlySet<string> = new Set([
  'name',
  'handler',
  'code',
  'secrets',
  'allowed_hosts',
  'allowed_private_networks',
  'limits',
  'supported_triggers',
]);
const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

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

/** An action id as Auth0 makes them: a UUID, in lower case. */
const ACTION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Checks a definition for `actions.create()` and applies the defaults (no secrets, no hosts,
 * `defaultLimits`, the Custom Token Exchange trigger). Fields whose value is `undefined` count as
 * not given. Code is only checked for size here; its syntax is the runner's to check.
 *
 * @throws ManagementError `invalid_body`, naming the field.
 */
export function parseActionDefinition(
  body: unknown,
  defaultLimits: Readonly<ActionLimits>,
): ParsedActionDefinition {
  let id: string | undefined;
  if (isPlainObject(body) && body.id !== undefined) {
    id = parseActionId(body.id);
    const { id: _chosen, ...rest } = body;
    body = rest;
  }
  const fields = parseFields(body, defaultLimits);
  if (fields.name === undefined) invalid('name is required');
  if (fields.source === undefined) invalid('handler or code is required');
  return {
    id,
    name: fields.name,
    source: fields.source,
    secrets: fields.secrets ?? new Map(),
    allowed_hosts: fields.allowed_hosts ?? [],
    allowed_private_networks: fields.allowed_private_networks ?? [],
    limits: fields.limits ?? { ...defaultLimits },
    supported_triggers: fields.supported_triggers ?? [
      isPostExchangeSource(fields.source)
        ? { ...POST_EXCHANGE_TRIGGER }
        : { ...CUSTOM_TOKEN_EXCHANGE_TRIGGER },
    ],
  };
}

/**
 * The source an action keeps for its triggers. A function handler declared for the post-exchange
 * trigger is that trigger's `onExecutePostExchange`, as a function declared for the
 * custom-token-exchange trigger is its `onExecuteCustomTokenExchange`: it comes back wrapped as
 * `{ onExecutePostExchange }`, the shape the runner calls. A `{ onExecutePostExchange }` handler
 * serves only the post-exchange trigger; code may serve either (its exports are looked up at run
 * time). The registry applies it on create and on every update, to the merged draft.
 *
 * @throws ManagementError `invalid_body`.
 */
export function sourceForTriggers(
  source: ActionSource,
  triggers: readonly SupportedTrigger[],
): ActionSource {
  if (!('handler' in source)) return source;
  const postExchange = triggers.some((trigger) => trigger.id === POST_EXCHANGE_TRIGGER.id);
  if (typeof source.handler === 'function') {
    if (!postExchange) return source;
    const onExecutePostExchange = source.handler as unknown as PostExchangeHandler;
    return { handler: Object.freeze({ onExecutePostExchange }) };
  }
  if (!postExchange) {
    invalid(
      `a { onExecutePostExchange } handler needs supported_triggers [{ id: '${POST_EXCHANGE_TRIGGER.id}', version: '${POST_EXCHANGE_TRIGGER.version}' }]`,
    );
  }
  return source;
}

function isPostExchangeSource(source: ActionSource): boolean {
  return 'handler' in source && typeof source.handler !== 'function';
}

/**
 * Checks a patch for `actions.update()`: the same rules, at least one field; given limits come
 * back merged with `defaultLimits`.
 *
 * @throws ManagementError `invalid_body`, naming the field.
 */
export function parseActionPatch(
  body: unknown,
  defaultLimits: Readonly<ActionLimits>,
): ParsedActionFields {
  const fields = parseFields(body, defaultLimits);
  // An empty patch is a caller bug (Auth0's PATCH schemas say `minProperties: 1` too).
  if (Object.keys(fields).length === 0) invalid('at least one field is required');
  return fields;
}

function parseFields(body: unknown, defaultLimits: Readonly<ActionLimits>): ParsedActionFields {
  if (!isPlainObject(body)) invalid('expected an object');
  for (const key of Object.keys(body)) {
    if (!DEFINITION_KEYS.has(key)) invalid(`unknown field ${JSON.stringify(key)}`);
  }
  const given = (key: string): boolean => body[key] !== undefined;
  const parsed: ParsedActionFields = {};
  if (given('name')) parsed.name = parseName(body.name);
  if (given('handler') && given('code')) invalid('give either handler or code, not both');
  if (given('handler')) parsed.source = { handler: parseHandler(body.handler) };
  else if (given('code')) {
    parsed.source = { code: parseCode(body.code) };
  }
  if (given('secrets')) parsed.secrets = parseSecrets(body.secrets);
  if (given('allowed_hosts')) parsed.allowed_hosts = parseAllowedHosts(body.allowed_hosts);
  if (given('allowed_private_networks')) {
    parsed.allowed_private_networks = parseAllowedPrivateNetworks(body.allowed_private_networks);
  }
  if (given('limits')) parsed.limits = parseLimits(body.limits, defaultLimits);
  if (given('supported_triggers')) {
    parsed.supported_triggers = parseSupportedTriggers(body.supported_triggers);
  }
  return parsed;
}

/**
 * Returns why `limits` is not a complete, in-range {@link ActionLimits} (as a suffix of its
 * option path: ` must be an object`, `.memoryMb must be ...`), or `undefined` when it is. The
 * registry uses it on its `defaultLimits` option.
 */
export function actionLimitsProblem(limits: unknown): string | undefined {
  if (!isPlainObject(limits)) return ' must be an object';
  for (const key of LIMIT_KEYS) {
    const problem = limitProblem(key, limits[key]);
    if (problem !== undefined) return `.${key} ${problem}`;
  }
  for (const key of Object.keys(limits)) {
    if (!(LIMIT_KEYS as string[]).includes(key)) return `.${key} is not a known limit`;
  }
  return undefined;
}

function parseActionId(value: unknown): string {
  if (typeof value !== 'string' || !ACTION_ID.test(value)) {
    invalid('id must be a UUID in lower case, like 7f3c9a52-1b64-4d2e-9a0f-3c5e8b1d2a47');
  }
  return value;
}

function parseName(value: unknown): string {
  if (typeof value !== 'string' || value.length < 1 || value.length > 128) {
    invalid('name must be a string of 1 to 128 characters');
  }
  return value;
}

function parseHandler(value: unknown): ActionHandler {
  if (typeof value === 'function') return value as CustomTokenExchangeHandler;
  if (
    isPlainObject(value) &&
    Object.keys(value).every((key) => key === 'onExecutePostExchange') &&
    typeof value.onExecutePostExchange === 'function'
  ) {
    // A copy: changing the caller's object later cannot change a deployed version.
    return Object.freeze({
      onExecutePostExchange:
        value.onExecutePostExchange as PostExchangeExports['onExecutePostExchange'],
    });
  }
  invalid('handler must be a function, or { onExecutePostExchange } for the post-exchange trigger');
}

function parseCode(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) invalid('code must be a non-empty string');
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > MAX_ACTION_CODE_BYTES) {
    invalid(`code must be at most ${MAX_ACTION_CODE_BYTES} bytes of UTF-8 (got ${bytes})`);
  }
  return value;
}

function parseSecrets(value: unknown): Map<string, string> {
  if (!isPlainObject(value)) invalid('secrets must be an object of name to string value');
  const entries = Object.entries(value);
  if (entries.length > MAX_ACTION_SECRETS) {
    invalid(`secrets must hold at most ${MAX_ACTION_SECRETS} entries`);
  }
  const secrets = new Map<string, string>();
  for (const [name, secret] of entries) {
    if (name.length > 128 || !SECRET_NAME.test(name)) {
      invalid(
        `secret name ${JSON.stringify(name)} must be 1 to 128 characters matching ^[A-Za-z_][A-Za-z0-9_]*$`,
      );
    }
    // `__proto__` matches the pattern but is lost by any runner that copies secrets by assignment.
    if (name === '__proto__') invalid('secret name "__proto__" is not allowed');
    if (typeof secret !== 'string') invalid(`secret ${name} must be a string`);
    if (secret.length > MAX_ACTION_SECRET_VALUE_LENGTH) {
      invalid(`secret ${name} must be at most ${MAX_ACTION_SECRET_VALUE_LENGTH} characters`);
    }
    secrets.set(name, secret);
  }
  return secrets;
}

function parseAllowedHosts(value: unknown): string[] {
  if (!Array.isArray(value)) invalid('allowed_hosts must be an array of host names');
  if (value.length > MAX_ALLOWED_HOSTS) {
    invalid(`allowed_hosts must hold at most ${MAX_ALLOWED_HOSTS} entries`);
  }
  const hosts = new Set<string>();
  value.forEach((entry: unknown, i) => {
    // The fetch capability's own parser decides what an entry means, so the registry can never
    // accept an entry that the capability would then silently ignore.
    let pattern: HostPattern;
    try {
      pattern = parseHostPattern(entry as string);
    } catch (err) {
      invalid(`allowed_hosts[${i}]: ${err instanceof Error ? err.message : String(err)}`);
    }
    // `*.com` would open a whole top-level domain: a wildcard needs two labels under it.
    if (pattern.wildcard && !pattern.hostname.includes('.')) {
      invalid(`allowed_hosts[${i}]: a wildcard needs at least two labels after "*."`);
    }
    const port = pattern.port === undefined ? '' : `:${pattern.port}`;
    hosts.add(`${pattern.wildcard ? '*.' : ''}${pattern.hostname}${port}`);
  });
  return [...hosts];
}

function parseAllowedPrivateNetworks(value: unknown): string[] {
  if (!Array.isArray(value)) invalid('allowed_private_networks must be an array of CIDRs');
  if (value.length > MAX_ALLOWED_PRIVATE_NETWORKS) {
    invalid(`allowed_private_networks must hold at most ${MAX_ALLOWED_PRIVATE_NETWORKS} entries`);
  }
  const networks = new Set<string>();
  value.forEach((entry: unknown, i) => {
    if (typeof entry !== 'string') invalid(`allowed_private_networks[${i}] must be a string`);
    try {
      parseCidr(entry);
    } catch (err) {
      invalid(
        `allowed_private_networks[${i}]: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    networks.add(entry);
  });
  return [...networks];
}

function parseLimits(value: unknown, defaults: Readonly<ActionLimits>): ActionLimits {
  if (!isPlainObject(value)) invalid('limits must be an object');
  for (const key of Object.keys(value)) {
    if (!(LIMIT_KEYS as string[]).includes(key)) invalid(`unknown limit ${JSON.stringify(key)}`);
  }
  const limits = { ...defaults };
  for (const key of LIMIT_KEYS) {
    const given = value[key];
    if (given === undefined) continue;
    const problem = limitProblem(key, given);
    if (problem !== undefined) invalid(`limits.${key} ${problem}`);
    limits[key] = given as number;
  }
  return limits;
}

function limitProblem(key: keyof ActionLimits, value: unknown): string | undefined {
  const [min, max] = ACTION_LIMIT_RANGES[key];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    return `must be an integer from ${min} to ${max}`;
  }
  return undefined;
}

function parseSupportedTriggers(value: unknown): SupportedTrigger[] {
  if (!Array.isArray(value) || value.length < 1 || value.length > 10) {
    invalid('supported_triggers must be an array of 1 to 10 triggers');
  }
  const seen = new Set<string>();
  const triggers = value.map((entry: unknown, i): SupportedTrigger => {
    if (
      !isPlainObject(entry) ||
      Object.keys(entry).some((key) => key !== 'id' && key !== 'version') ||
      !isShortString(entry.id) ||
      !isShortString(entry.version)
    ) {
      invalid(
        `supported_triggers[${i}] must be { id, version } with strings of 1 to 64 characters`,
      );
    }
    const key = `${entry.id}\u0000${entry.version}`;
    if (seen.has(key)) invalid(`supported_triggers[${i}] is a duplicate`);
    seen.add(key);
    return { id: entry.id, version: entry.version };
  });
  const ids = new Set(triggers.map((trigger) => trigger.id));
  if (ids.has(CUSTOM_TOKEN_EXCHANGE_TRIGGER.id) && ids.has(POST_EXCHANGE_TRIGGER.id)) {
    invalid(
      `supported_triggers cannot hold both ${CUSTOM_TOKEN_EXCHANGE_TRIGGER.id} and ${POST_EXCHANGE_TRIGGER.id}: an action serves one of them`,
    );
  }
  return triggers;
}

function isShortString(value: unknown): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= 64;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function invalid(problem: string): never {
  throw new ManagementError('invalid_body', `Invalid request body: ${problem}.`);
}
