/**
 * One router instance in a process of its own, as a deployment runs them: the test router with
 * every store on the Redis named in CTE_INSTANCE (JSON, see `InstanceConfig`), on PORT. Prints
 * `listening on <port>` once it serves; SIGTERM closes it.
 */
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';
import type { SigningKeyInput } from '../../lib/index.js';
import { REDIS_CLIENTS } from '../support/redis-clients.js';
import { redisTestServer } from '../support/redis-router.js';
import type { RedisClusterServer, RedisNode } from '../support/redis-server.js';

/** What the test hands each instance. */
export interface InstanceConfig {
  /** A name of `REDIS_CLIENTS`. */
  client: string;
  /** The single node, or every node of the cluster. */
  nodes: Array<{ host: '127.0.0.1'; port: number }>;
  prefix: string;
  keys: SigningKeyInput[];
  clientJwk: JWK;
  maxAttempts: number;
  rateLimit: { limit: number; windowMs: number };
}

/** Started as a process by the test; loaded by mocha (a directory run), it does nothing. */
if (process.env.CTE_INSTANCE) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.CTE_INSTANCE!) as InstanceConfig;
  const kind = REDIS_CLIENTS.find((k) => k.name === config.client);
  if (!kind) throw new Error(`unknown client ${config.client}`);
  const nodes = config.nodes.map((node) => ({ ...node, url: `redis://${node.host}:${node.port}` }));
  const connection = await kind.connect(
    (kind.cluster ? { nodes } : nodes[0]) as RedisNode & RedisClusterServer,
  );
  const { app, cte } = await redisTestServer({
    client: connection.client,
    prefix: config.prefix,
    keys: config.keys,
    clientJwk: config.clientJwk,
    maxAttempts: config.maxAttempts,
    rateLimit: config.rateLimit,
  });
  const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
    console.log(`listening on ${(server.address() as AddressInfo).port}`);
  });
  process.on('SIGTERM', () => {
    server.close();
    void cte.close().finally(() => connection.close().finally(() => process.exit(0)));
  });
}
