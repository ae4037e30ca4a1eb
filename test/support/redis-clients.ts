/**
 * The application-side Redis clients the stores are tested through: node-redis and ioredis, each
 * for a single node and for a cluster, configured as docs/stores-and-scaling.md recommends.
 */
import { Cluster, Redis } from 'ioredis';
import { createClient, createCluster } from 'redis';
import type { RedisClientLike } from '../../lib/stores/redis/redis-adapter.js';
import type { RedisClusterServer, RedisNode } from './redis-server.js';

export interface TestRedisClient {
  readonly client: RedisClientLike;
  /** Closes the client, whatever state it is in. */
  close(): Promise<void>;
}

export interface RedisClientKind {
  readonly name: string;
  readonly cluster: boolean;
  connect(target: RedisNode | RedisClusterServer): Promise<TestRedisClient>;
}

/** Reconnect every 100 ms, so tests of an outage see the recovery quickly. */
const RETRY_MS = 100;

export const REDIS_CLIENTS: readonly RedisClientKind[] = [
  {
    name: 'node-redis, single node',
    cluster: false,
    async connect(target) {
      const client = createClient({
        url: (target as RedisNode).url,
        socket: { reconnectStrategy: () => RETRY_MS },
      });
      client.on('error', () => undefined);
      await client.connect();
      return { client, close: async () => client.destroy() };
    },
  },
  {
    name: 'ioredis, single node',
    cluster: false,
    async connect(target) {
      const client = new Redis({
        port: (target as RedisNode).port,
        host: '127.0.0.1',
        retryStrategy: () => RETRY_MS,
        lazyConnect: true,
      });
      client.on('error', () => undefined);
      await client.connect();
      return { client, close: async () => client.disconnect() };
    },
  },
  {
    name: 'node-redis, cluster',
    cluster: true,
    async connect(target) {
      const cluster = createCluster({
        rootNodes: (target as RedisClusterServer).nodes.map((node) => ({ url: node.url })),
        defaults: { socket: { reconnectStrategy: () => RETRY_MS } },
      });
      cluster.on('error', () => undefined);
      await cluster.connect();
      return { client: cluster, close: async () => cluster.destroy() };
    },
  },
  {
    name: 'ioredis, cluster',
    cluster: true,
    async connect(target) {
      const cluster = new Cluster(
        (target as RedisClusterServer).nodes.map((node) => ({ host: node.host, port: node.port })),
        { clusterRetryStrategy: () => RETRY_MS, lazyConnect: true },
      );
      cluster.on('error', () => undefined);
      await cluster.connect();
      return { client: cluster, close: async () => cluster.disconnect() };
    },
  },
];
