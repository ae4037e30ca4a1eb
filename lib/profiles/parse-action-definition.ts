import type { PostExchangeExports, PostExchangeHandler } from '../sandbox/post-exchange-types.js';
import type { CustomTokenExchangeHandler } from '../sandbox/action-types.js';
import { ManagementError } from '../errors.js';
import type { ActionHandler, ActionLimits } from '../sandbox/action-runner.js';
import type { HostPattern } from '../sandbox/capabilities/host-allow-list.js';
import { parseHostPattern } from '../sandbox/capabilities/host-allow-list.js';
import { parseCidr } from '../sandbox/capabilities/ip-policy.js';
import type {
  ActionSource,
  ParsedActionDefinition,
  ParsedActionFields,
  SupportedTrigger,
} from './action-definition.js';
import {
  ACTION_LIMIT_RANGES,
  CUSTOM_TOKEN_EXCHANGE_TRIGGER,
  MAX_ACTION_CODE_BYTES,
  MAX_ACTION_SECRETS,
  MAX_ACTION_SECRET_VALUE_LENGTH,
  MAX_ALLOWED_HOSTS,
  MAX_ALLOWED_PRIVATE_NETWORKS,
  POST_EXCHANGE_TRIGGER,
} from './action-definition.js';

/**
 * The checks that turn an {@link ActionDefinition} or a patch into validated draft fields, with
 * Auth0's limits on names, code, secrets, hosts and networks.
 */
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
    secrets: fields.secrets ?? new Map<string, string>(),
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
