import { ApiRecorder } from '../actions/api-recorder.js';
import type { ActionCommand, ConsoleLine, CustomTokenExchangeEvent } from '../actions/types.js';
import {
  ActionFailure,
  DEFAULT_ACTION_LIMITS,
  type ActionLimits,
  type ActionVersion,
} from './action-runner.js';
import { MemoryActionCacheStore, type CacheEntry } from './capabilities/action-cache.js';
import { ExecutionGate } from './execution-gate.js';
import type { CapabilityInvoker } from './isolated-vm/isolated-vm-runner.js';
import { MemoryReplayStore } from '../stores/memory-replay-store.js';
import type { ReplayStore } from '../stores/replay-store.js';

/** An `event` with any part left out or given partly; the rest is filled with test values. */
export type TestActionEvent = {
  [Section in Exclude<keyof CustomTokenExchangeEvent, 'secrets'>]?: Partial<
    NonNullable<CustomTokenExchangeEvent[Section]>
  >;
} & { secrets?: Record<string, string> };

/** Options of {@link testAction}. */
export interface TestActionOptions {
  /** `event.secrets` (they come from the action, as in production). Default: `event.secrets` or `{}`. */
  secrets?: Record<string, string>;
  /** Hosts `fetch` and remote JWKS may reach. Default: none. */
  allowed_hosts?: string[];
  /** Non-public networks (CIDRs) allowed hosts may resolve to, e.g. `['127.0.0.1/32']`. Default: none. */
  allowed_private_networks?: string[];
  /** Runtime limits; defaults as for deployed actions (20 s, 100 ms CPU, 64 MB, 32). */
  limits?: Partial<ActionLimits>;
  /** `api.cache` entries the action finds. Default: none. */
  cache?: Record<string, CacheEntry>;
  /** The action id (it names the action in stack traces and keys its cache). Default `act_test`. */
  action_id?: string;
  /** Host capabilities to use instead of a fresh `HostCapabilities` (closed by the caller). */
  capabilities?: CapabilityInvoker;
  /**
   * Where `api.replay.consume` remembers keys: pass a store across calls to see a second use of a
   * key refused. Default: a fresh `MemoryReplayStore` per call.
   */
  replayStore?: ReplayStore;
}

/** What one test run of an action did. */
export interface TestActionResult {
  /** The accepted `api.*` calls, in call order. */
  commands: ActionCommand[];
  /** The captured console lines. */
  console: ConsoleLine[];
  /** `api.cache` after the run. */
  cache: Record<string, CacheEntry>;
  /**
   * Why the exchange would fail: the action's failure (`threw`, `timeout`, `memory`, a syntax
   * error), or else the first refused `api.*` call (refused calls fail the exchange even when the
   * action catches the error). Absent when the exchange would go on.
   */
  error?: string;
}

const DEFAULT_EVENT: CustomTokenExchangeEvent = {
  client: { client_id: 'test-client', name: 'Test client', metadata: {} },
  request: {
    ip: '127.0.0.1',
    hostname: 'auth.example.com',
    method: 'POST',
    user_agent: 'testAction',
    body: {},
  },
  resource_server: { identifier: 'https://api.example.com/' },
  secrets: {},
  tenant: { id: 'test-tenant' },
  transaction: {
    subject_token: 'test-subject-token',
    subject_token_type: 'urn:example:test-token',
    requested_scopes: [],
    requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
  },
};

/**
 * Runs an action's `code` once in the same sandbox as deployed actions, without a server, so that
 * integrators can unit-test their actions:
 *
 * ```ts
 * const { commands, error } = await testAction(code, { transaction: { subject_token: token } }, {
 *   allowed_hosts: ['idp.example.com'],
 * });
 * ```
 *
 * The process must run with `--no-node-snapshot` (see docs/install.md). Each call uses a fresh sandbox.
 */
export async function testAction(
  code: string,
  event: TestActionEvent = {},
  options: TestActionOptions = {},
): Promise<TestActionResult> {
  const actionId = options.action_id ?? 'act_test';
  const cacheStore = new MemoryActionCacheStore();
  const seeded = Object.entries(options.cache ?? {}).map(([key, entry]) => ({
    op: 'set' as const,
    key,
    entry,
  }));
  if (seeded.length > 0) await cacheStore.apply(actionId, seeded);
  const runner = new ExecutionGate({
    sandbox: true,
    cacheStore,
    replayStore: options.replayStore ?? new MemoryReplayStore(),
    ...(options.capabilities === undefined ? {} : { capabilities: options.capabilities }),
  });
  const recorder = new ApiRecorder();
  const version: ActionVersion = {
    action_id: actionId,
    number: 1,
    code,
    secrets: options.secrets ?? event.secrets ?? {},
    allowed_hosts: options.allowed_hosts ?? [],
    allowed_private_networks: options.allowed_private_networks ?? [],
    limits: { ...DEFAULT_ACTION_LIMITS, ...options.limits },
  };
  let error: string | undefined;
  try {
    await runner.run(version, fullEvent(event), recorder);
  } catch (err) {
    error = err instanceof ActionFailure || err instanceof Error ? err.message : String(err);
  } finally {
    await runner.close();
  }
  error ??= recorder.violations[0];
  const result: TestActionResult = {
    commands: [...recorder.commands],
    console: [...recorder.consoleLines],
    cache: await cacheStore.load(actionId),
  };
  if (error !== undefined) result.error = error;
  return result;
}

function fullEvent(event: TestActionEvent): CustomTokenExchangeEvent {
  const full: CustomTokenExchangeEvent = {
    client: { ...DEFAULT_EVENT.client, ...event.client },
    request: { ...DEFAULT_EVENT.request, ...event.request },
    resource_server: { ...DEFAULT_EVENT.resource_server, ...event.resource_server },
    secrets: { ...event.secrets },
    tenant: { ...DEFAULT_EVENT.tenant, ...event.tenant },
    transaction: { ...DEFAULT_EVENT.transaction, ...event.transaction },
  };
  if (event.organization !== undefined) {
    full.organization = {
      id: 'org_test',
      name: 'test-organization',
      metadata: {},
      ...event.organization,
    };
  }
  return full;
}
