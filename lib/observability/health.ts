import { ManagementError } from '../errors.js';
import type { SandboxCounts } from './sandbox-gauges.js';
import { errorType } from './spans.js';
import type { KeyInfo } from '../tokens/key-schedule.js';
import type { StoreName } from './store-observation.js';

/** `pass`: ready; `warn`: serving, something needs attention; `fail`: not ready. */
export type HealthStatus = 'pass' | 'warn' | 'fail';

/** One store's answer to its `ping()`. */
export interface StoreHealth {
  /** `unknown`: the store has no `ping()` method. */
  status: 'up' | 'down' | 'unknown';
  /** How long the ping took, in ms. */
  duration_ms?: number;
  /** Why it is down: an error code or class name (`StoreUnavailableError`, `timeout`), never a message. */
  error?: string;
}

/** The action runner's state. */
export interface SandboxHealth {
  /** `fail` when isolated-vm could not be loaded; `warn` while an action is suspended for everyone. */
  status: HealthStatus;
  /** See `SandboxState`: `disabled`, `idle`, `loading`, `ready`, `failed`. */
  state: string;
  isolates: number;
  /** Executions in flight. */
  executions: number;
  /** Runaway actions suspended for everyone. */
  suspended_actions: number;
  /** Runaway actions suspended for one caller. */
  suspended_callers: number;
}

/** One signing key's place in its life. */
export interface KeyHealth {
  kid: string;
  alg: string;
  /** `current`, `next` or `retired`. */
  status: string;
  /**
   * Seconds since the key took its status: since it was published (`next`), since it started
   * signing (`current`), since it stopped (`retired`).
   */
  age_seconds: number;
  /** ISO 8601 time a retired key leaves the JWKS. */
  expires_at?: string;
}

/** The signing keys. */
export interface KeysHealth {
  /**
   * `fail` when the key schedule cannot be read (token requests are answered `503` then);
   * `warn` when the keys are generated development keys (lost at restart) or a current key is
   * older than `maxKeyAgeSeconds`.
   */
  status: HealthStatus;
  development: boolean;
  keys: KeyHealth[];
  /** Why the schedule could not be read: an error code or class name (`timeout`), never a message. */
  error?: string;
}

/**
 * Each store's answer. `clients` is there only when `options.clients` is a `ClientStore`; `keys`
 * is `options.stores.keys`, or the router's in-process schedule without one.
 */
export type StoresHealth = Record<Exclude<StoreName, 'clients'>, StoreHealth> & {
  clients?: StoreHealth;
};

/** What `cte.health()` answers. */
export interface HealthReport {
  /** `fail` when a store is down or the sandbox failed; `warn` when a part warns; else `pass`. */
  status: HealthStatus;
  /** ISO 8601. */
  checked_at: string;
  stores: StoresHealth;
  sandbox: SandboxHealth;
  keys: KeysHealth;
}

/** Options of `cte.health()`. */
export interface HealthCheckOptions {
  /** A store that has not answered its ping by then is `down` (`timeout`), in ms. Default 2000. */
  timeoutMs?: number;
  /** A current signing key older than this warns (it should be rotated), in seconds. Default: never. */
  maxKeyAgeSeconds?: number;
}

/** What the health check reads; built once by `customTokenExchange()`. */
export interface HealthSources {
  /** The stores as configured (not the observed wrappers: a ping is not a request's call). */
  stores: Record<Exclude<StoreName, 'clients'>, object> & { clients?: object };
  sandbox: () => SandboxCounts & { state: string };
  keys: { development: boolean; list(): Promise<readonly KeyInfo[]> };
  /** Epoch ms. */
  now: () => number;
}

const DEFAULT_TIMEOUT_MS = 2000;

/**
 * Checks the router's readiness: pings every store that has a `ping()` (all at once, each within
 * `timeoutMs`), and reads the sandbox's and the signing keys' state. Never rejects for a failing
 * part: the report says it.
 *
 * @throws ManagementError `invalid_body` for a bad option.
 */
export async function checkHealth(
  sources: HealthSources,
  options: HealthCheckOptions = {},
): Promise<HealthReport> {
  const { timeoutMs, maxKeyAgeSeconds } = parseHealthOptions(options);
  const names = Object.keys(sources.stores) as StoreName[];
  const [answers, keys] = await Promise.all([
    Promise.all(
      names.map((name) => pingStore((sources.stores as Record<string, object>)[name]!, timeoutMs)),
    ),
    keysHealth(sources.keys, sources.now, timeoutMs, maxKeyAgeSeconds),
  ]);
  const stores = Object.fromEntries(names.map((name, i) => [name, answers[i]!])) as StoresHealth;
  const sandbox = sandboxHealth(sources.sandbox());

  let status: HealthStatus = 'pass';
  if (
    answers.some((answer) => answer.status === 'down') ||
    sandbox.status === 'fail' ||
    keys.status === 'fail'
  ) {
    status = 'fail';
  } else if (sandbox.status === 'warn' || keys.status === 'warn') {
    status = 'warn';
  }
  return { status, checked_at: new Date(sources.now()).toISOString(), stores, sandbox, keys };
}

async function pingStore(store: object, timeoutMs: number): Promise<StoreHealth> {
  const ping = (store as { ping?: unknown }).ping;
  if (typeof ping !== 'function') return { status: 'unknown' };
  const started = performance.now();
  const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
  try {
    await withinDeadline(() => ping.call(store), timeoutMs);
    return { status: 'up', duration_ms: elapsed() };
  } catch (err) {
    return { status: 'down', duration_ms: elapsed(), error: errorType(err) };
  }
}

/** What `run` resolves, or a rejection with `code: 'timeout'` once `timeoutMs` passed. */
async function withinDeadline<T>(run: () => T | PromiseLike<T>, timeoutMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(), { code: 'timeout' })), timeoutMs);
  });
  try {
    return await Promise.race([Promise.resolve().then(run), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function sandboxHealth(counts: ReturnType<HealthSources['sandbox']>): SandboxHealth {
  let status: HealthStatus = 'pass';
  if (counts.state === 'failed') status = 'fail';
  else if (counts.suspensions.actions > 0) status = 'warn';
  return {
    status,
    state: counts.state,
    isolates: counts.isolates,
    executions: counts.executions,
    suspended_actions: counts.suspensions.actions,
    suspended_callers: counts.suspensions.callers,
  };
}

async function keysHealth(
  source: HealthSources['keys'],
  now: () => number,
  timeoutMs: number,
  maxKeyAgeSeconds: number | undefined,
): Promise<KeysHealth> {
  let listed: readonly KeyInfo[];
  try {
    listed = await withinDeadline(() => source.list(), timeoutMs);
  } catch (err) {
    return { status: 'fail', development: source.development, keys: [], error: errorType(err) };
  }
  const at = now();
  const keys = listed.map((key): KeyHealth => {
    const since = statusSince(key);
    return {
      kid: key.kid,
      alg: key.alg,
      status: key.status,
      age_seconds: Math.max(0, Math.floor((at - since) / 1000)),
      ...(key.expires_at === undefined ? {} : { expires_at: key.expires_at }),
    };
  });
  const stale =
    maxKeyAgeSeconds !== undefined &&
    keys.some((key) => key.status === 'current' && key.age_seconds > maxKeyAgeSeconds);
  return {
    status: source.development || stale ? 'warn' : 'pass',
    development: source.development,
    keys,
  };
}

/** When `key` took its status, in epoch ms. */
function statusSince(key: KeyInfo): number {
  const time =
    key.status === 'retired'
      ? key.retired_at
      : key.status === 'current'
        ? key.signs_from
        : key.published_at;
  return Date.parse(time ?? key.published_at);
}

function parseHealthOptions(options: unknown): { timeoutMs: number; maxKeyAgeSeconds?: number } {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ManagementError('invalid_body', 'health options must be an object');
  }
  const {
    timeoutMs = DEFAULT_TIMEOUT_MS,
    maxKeyAgeSeconds,
    ...rest
  } = options as Record<string, unknown>;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) {
    throw new ManagementError('invalid_body', `health options: ${unknown} is not a known option`);
  }
  if (
    !Number.isSafeInteger(timeoutMs) ||
    (timeoutMs as number) < 1 ||
    (timeoutMs as number) > 60_000
  ) {
    throw new ManagementError('invalid_body', 'timeoutMs must be an integer from 1 to 60000');
  }
  if (
    maxKeyAgeSeconds !== undefined &&
    (!Number.isSafeInteger(maxKeyAgeSeconds) || (maxKeyAgeSeconds as number) < 1)
  ) {
    throw new ManagementError('invalid_body', 'maxKeyAgeSeconds must be a positive integer');
  }
  return {
    timeoutMs: timeoutMs as number,
    ...(maxKeyAgeSeconds === undefined ? {} : { maxKeyAgeSeconds: maxKeyAgeSeconds as number }),
  };
}
