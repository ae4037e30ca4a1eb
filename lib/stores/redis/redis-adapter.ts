import { StoreUnavailableError, checkTimeout, withDeadline } from '../store-deadline.js';
import type { RedisScript } from './redis-script.js';
import { checkMemoryPolicyOnce } from './memory-policy.js';

/** A node-redis (`redis` v4 and later) client from `createClient()`, connected. */
export interface NodeRedisClientLike {
  sendCommand(args: string[]): Promise<unknown>;
  readonly isOpen: boolean;
  readonly isReady: boolean;
}

/** A node-redis cluster from `createCluster()`, connected. */
export interface NodeRedisClusterLike {
  sendCommand(
    firstKey: string | undefined,
    isReadonly: boolean | undefined,
    args: string[],
  ): Promise<unknown>;
  readonly masters: readonly unknown[];
  nodeClient(node: never): Promise<NodeRedisClientLike> | NodeRedisClientLike;
}

/** An ioredis `Redis` or `Cluster`. */
export interface IoRedisLike {
  call(command: string, ...args: Array<string | number>): Promise<unknown>;
  readonly status: string;
  readonly isCluster: boolean;
}

/** Any client the Redis stores accept: node-redis or ioredis, a single node or a cluster. */
export type RedisClientLike = NodeRedisClientLike | NodeRedisClusterLike | IoRedisLike;

/** Options of {@link createRedisAdapter}. */
export interface RedisAdapterOptions {
  /**
   * Longest wait for one store call, in ms: a call the server has not answered by then rejects
   * with `StoreUnavailableError`, and the router applies its store-error policy. 1–600000,
   * default 1000.
   */
  timeoutMs?: number;
  /**
   * Where the start-up warning goes when the server may evict keys (its `maxmemory-policy` is
   * not `noeviction`): an evicted bucket or replay key silently lets through what it held back.
   * Default `console.warn`; `false` skips the check.
   */
  warn?: ((message: string) => void) | false;
}

/** Default {@link RedisAdapterOptions.timeoutMs}. */
export const DEFAULT_REDIS_TIMEOUT_MS = 1000;

/** What a store sends through the adapter: one command or one script, routed by its first key. */
export interface RedisAdapter {
  /**
   * Sends `args` (the command and its arguments) to the node holding `key` (in a cluster, any
   * node when `key` is undefined), within the deadline.
   */
  command(key: string | undefined, args: string[]): Promise<unknown>;
  /**
   * Runs `script` by `EVALSHA` on the node holding `keys[0]` (every key of one script must share
   * a hash slot); when that node does not have the script yet (`NOSCRIPT`: a restart, a
   * failover, a new node), sends it whole with `EVAL`, which also caches it there.
   */
  script(script: RedisScript, keys: string[], args: Array<string | number>): Promise<unknown>;
  /** `maxmemory-policy` of every master, `INFO memory` order of the nodes. */
  memoryPolicies(): Promise<string[]>;
  /** `PING`s every master: resolves when each answered within the deadline. */
  ping(): Promise<void>;
  /** The deadline of every call, in ms. */
  readonly timeoutMs: number;
}

type Send = (key: string | undefined, args: string[]) => Promise<unknown>;

interface Transport {
  send: Send;
  /** `undefined` when the client can take commands now; otherwise why not. */
  unavailable(): string | undefined;
  /** One `send` per master node, for commands that concern a whole node (`INFO`). */
  masters(): Promise<Send[]>;
}

/**
 * Wraps the application's own Redis client (node-redis or ioredis; a single node or a cluster)
 * for the Redis stores. Neither client is a dependency of this package: the adapter only calls
 * their generic command methods (`sendCommand`, `call`), routing every command by its key so a
 * cluster sends it to the node that owns the key's slot.
 *
 * Every call has a deadline ({@link RedisAdapterOptions.timeoutMs}), because both clients queue
 * commands while they reconnect (node-redis's offline queue, ioredis's retries) for as long as
 * they are configured to. A single-node client that lost its connection and is reconnecting is
 * refused at once rather than queued; the stores recover as soon as the client has reconnected.
 *
 * On its first call the adapter checks, once per client, that the server does not evict keys.
 */
export function createRedisAdapter(
  client: RedisClientLike | RedisAdapter,
  options: RedisAdapterOptions = {},
): RedisAdapter {
  if (isAdapter(client)) return client;
  const timeoutMs =
    options.timeoutMs === undefined
      ? DEFAULT_REDIS_TIMEOUT_MS
      : checkTimeout(options.timeoutMs, 'options.timeoutMs');
  const warn = options.warn ?? ((message: string) => console.warn(message));
  if (warn !== false && typeof warn !== 'function') {
    throw new TypeError('options.warn must be a function or false');
  }
  const transport = transportOf(client);

  const deadline = <T>(operation: Promise<T>): Promise<T> =>
    withDeadline(operation, timeoutMs, 'Redis');
  const call = (key: string | undefined, args: string[]): Promise<unknown> => {
    if (warn !== false) checkMemoryPolicyOnce(client, adapter, warn);
    const reason = transport.unavailable();
    if (reason !== undefined) return Promise.reject(new StoreUnavailableError(`Redis: ${reason}`));
    return deadline(transport.send(key, args));
  };
  const adapter: RedisAdapter = {
    timeoutMs,
    command: (key, args) => call(key, args),
    async script(script, keys, args) {
      const tail = [String(keys.length), ...keys, ...args.map(String)];
      try {
        return await call(keys[0], ['EVALSHA', script.sha1, ...tail]);
      } catch (error) {
        if (!isNoScript(error)) throw error;
        return call(keys[0], ['EVAL', script.source, ...tail]);
      }
    },
    async memoryPolicies() {
      const masters = await deadline(transport.masters());
      const infos = await Promise.all(masters.map((send) => deadline(send(undefined, INFO))));
      return infos.map(memoryPolicyOf);
    },
    async ping() {
      const reason = transport.unavailable();
      if (reason !== undefined) throw new StoreUnavailableError(`Redis: ${reason}`);
      const masters = await deadline(transport.masters());
      await Promise.all(masters.map((send) => deadline(send(undefined, PING))));
    },
  };
  Object.defineProperty(adapter, ADAPTER, { value: true });
  return adapter;
}

const ADAPTER = Symbol('RedisAdapter');
const INFO = ['INFO', 'memory'];
const PING = ['PING'];

function isAdapter(value: unknown): value is RedisAdapter {
  return typeof value === 'object' && value !== null && ADAPTER in value;
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

function memoryPolicyOf(info: unknown): string {
  const text = Buffer.isBuffer(info) ? info.toString('utf8') : String(info);
  const match = /^maxmemory_policy:(\S+)/m.exec(text);
  if (!match) throw new Error('Redis: INFO memory has no maxmemory_policy');
  return match[1]!;
}

/** How to talk to each kind of client; a `TypeError` for anything else. */
function transportOf(client: unknown): Transport {
  if (typeof client !== 'object' || client === null) throw notAClient();
  const candidate = client as Partial<IoRedisLike & NodeRedisClientLike & NodeRedisClusterLike>;
  if (typeof candidate.call === 'function' && typeof candidate.status === 'string') {
    return ioredisTransport(client as IoRedisLike);
  }
  if (typeof candidate.sendCommand !== 'function') throw notAClient();
  if (Array.isArray(candidate.masters) && typeof candidate.nodeClient === 'function') {
    return nodeRedisClusterTransport(client as NodeRedisClusterLike);
  }
  if (typeof candidate.isReady === 'boolean') {
    return nodeRedisTransport(client as NodeRedisClientLike);
  }
  throw notAClient();
}

function notAClient(): TypeError {
  return new TypeError(
    'expected a Redis client: node-redis createClient()/createCluster() or an ioredis Redis/Cluster',
  );
}

function nodeRedisTransport(client: NodeRedisClientLike): Transport {
  const send: Send = (_key, args) => client.sendCommand(args);
  return {
    send,
    // Closed: the client rejects at once by itself. Open but not ready: reconnecting.
    unavailable: () => (client.isOpen && !client.isReady ? 'reconnecting' : undefined),
    masters: () => Promise.resolve([send]),
  };
}

function nodeRedisClusterTransport(cluster: NodeRedisClusterLike): Transport {
  return {
    send: (key, args) => cluster.sendCommand(key, false, args),
    unavailable: () => undefined,
    masters: () =>
      Promise.all(
        cluster.masters.map(async (node) => {
          const client = await cluster.nodeClient(node as never);
          return (_key: string | undefined, args: string[]) => client.sendCommand(args);
        }),
      ),
  };
}

/** ioredis statuses in which a command would wait for a connection that was lost. */
const IOREDIS_LOST = new Set(['reconnecting', 'close', 'end']);

function ioredisTransport(client: IoRedisLike): Transport {
  const sendVia =
    (target: IoRedisLike): Send =>
    (_key, [command, ...args]) =>
      target.call(command!, ...args);
  const nodes = (client as { nodes?: (role: string) => IoRedisLike[] }).nodes;
  return {
    // ioredis Cluster finds a command's keys itself (EVALSHA's from its key count).
    send: sendVia(client),
    unavailable: () =>
      !client.isCluster && IOREDIS_LOST.has(client.status) ? client.status : undefined,
    masters: () =>
      Promise.resolve(
        client.isCluster && typeof nodes === 'function'
          ? nodes.call(client, 'master').map(sendVia)
          : [sendVia(client)],
      ),
  };
}
