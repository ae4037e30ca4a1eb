/**
 * Two router processes (not two routers in one process) sharing every store on one Redis, over
 * HTTP: what one instance counts, consumes, rotates, revokes or caches, the other sees. Run on a
 * single node and on a three-node Redis Cluster. Every process is started and stopped by the
 * test, also on failure; each start has a deadline.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { assertionParams, clientAssertion } from '../support/client-assertion.js';
import {
  SECRET,
  basic,
  clientAssertionKeys,
  exchangeBody,
  form,
  testSigningKeys,
} from '../support/fixtures.js';
import { startExample, type ExampleProcess } from '../support/example-process.js';
import { CACHE_SUBJECT_TYPE, INTROSPECTION_SECRET } from '../support/redis-router.js';
import {
  startRedis,
  startRedisCluster,
  type RedisClusterServer,
  type RedisServer,
} from '../support/redis-server.js';
import { onExitCleanup, signal } from '../support/server-process.js';
import type { InstanceConfig } from './router-instance.js';

const APP = basic('app', SECRET);
const MAX_ATTEMPTS = 3;
const RATE_LIMIT = 3;
const TOO_MANY_ATTEMPTS = {
  error: 'too_many_attempts',
  error_description:
    'We have detected suspicious login behavior and further attempts will be blocked. Please contact the administrator.',
};

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

/** A POST of a token request (or to another `path`) to one instance, from the end user at `ip`. */
async function post(
  instance: ExampleProcess,
  body: Record<string, string | string[]>,
  {
    ip = freshIp(),
    auth = APP,
    path = '/oauth/token',
  }: { ip?: string; auth?: string; path?: string } = {},
): Promise<Answer> {
  const res = await fetch(`http://127.0.0.1:${instance.port}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-forwarded-for': ip,
      ...(auth ? { authorization: auth } : {}),
    },
    body: form(body),
    signal: AbortSignal.timeout(20_000),
  });
  return {
    status: res.status,
    body: (res.headers.get('content-type')?.startsWith('application/json')
      ? await res.json()
      : { text: await res.text() }) as Record<string, unknown>,
    headers: res.headers,
  };
}

/** A new end-user IP: the instances share buckets and counters by IP, each test keeps its own. */
let ips = 0;
const freshIp = () => {
  ips += 1;
  return `10.77.${ips >> 8}.${ips & 255}`;
};

const TOPOLOGIES = [
  { name: 'one Redis node, node-redis', client: 'node-redis, single node', cluster: false },
  { name: 'a Redis Cluster, ioredis', client: 'ioredis, cluster', cluster: true },
];

for (const topology of TOPOLOGIES) {
  describe(`two router processes on ${topology.name}`, function () {
    this.timeout(90_000);
    let redis: RedisServer | RedisClusterServer | undefined;
    let a: ExampleProcess | undefined;
    let b: ExampleProcess | undefined;

    before(async () => {
      redis = topology.cluster ? await startRedisCluster() : await startRedis();
      const nodes = ('nodes' in redis ? redis.nodes : [redis]).map((node) => ({
        host: node.host,
        port: node.port,
      }));
      const config: InstanceConfig = {
        client: topology.client,
        nodes,
        prefix: `multi:${randomUUID()}:`,
        keys: await testSigningKeys(),
        clientJwk: (await clientAssertionKeys()).jwk,
        maxAttempts: MAX_ATTEMPTS,
        rateLimit: { limit: RATE_LIMIT, windowMs: 60_000 },
      };
      const start = () =>
        startExample('test/multi-instance/router-instance.ts', {
          ready: /listening on \d+/,
          env: { CTE_INSTANCE: JSON.stringify(config) },
          timeoutMs: 40_000,
        });
      [a, b] = await Promise.all([start(), start()]);
      // Also when this process ends early (an uncaught error, mocha's --exit).
      for (const instance of [a, b]) {
        onExitCleanup(() => signal(instance.child.pid!, 'SIGKILL'));
      }
    });

    after(async () => {
      await Promise.all([a?.stop(), b?.stop()]);
      await redis?.stop();
    });

    it('blocks an IP on B once it used its attempts on A and B together', async () => {
      const ip = freshIp();
      const reject = exchangeBody({ subject_token: 'reject' });
      const answers = [];
      for (const instance of [a!, b!, a!]) answers.push(await post(instance, reject, { ip }));
      expect(answers.map((answer) => answer.status)).to.deep.equal([400, 400, 400]);
      for (const instance of [a!, b!]) {
        const blocked = await post(instance, exchangeBody(), { ip });
        expect(blocked.status).to.equal(429);
        expect(blocked.body).to.deep.equal(TOO_MANY_ATTEMPTS);
      }
      // Another IP is not affected.
      expect((await post(b!, exchangeBody(), { ip: freshIp() })).status).to.equal(200);
    });

    it('lets exactly one of 50 concurrent refreshes on A and B win; the reuse revokes the family everywhere', async () => {
      const issued = await post(a!, exchangeBody({ scope: 'openid offline_access' }));
      expect(issued.status, JSON.stringify(issued.body)).to.equal(200);
      const token = issued.body.refresh_token as string;
      const refresh = (instance: ExampleProcess, refreshToken: string) =>
        post(instance, { grant_type: 'refresh_token', refresh_token: refreshToken });
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) => refresh(i % 2 === 0 ? a! : b!, token)),
      );
      const winners = answers.filter((answer) => answer.status === 200);
      expect(winners).to.have.length(1);
      for (const answer of answers.filter((x) => x.status !== 200)) {
        expect(answer.status).to.equal(400);
        expect(answer.body).to.deep.equal({
          error: 'invalid_grant',
          error_description: 'Unknown or invalid refresh token.',
        });
      }
      // The losers were reuses of a rotated token: the whole family is revoked, on both.
      const successor = winners[0]!.body.refresh_token as string;
      for (const instance of [a!, b!]) {
        expect((await refresh(instance, successor)).status).to.equal(400);
      }
    });

    it('revokes a family on A when B sees a rotated token reused', async () => {
      const issued = await post(b!, exchangeBody({ scope: 'openid offline_access' }));
      const first = issued.body.refresh_token as string;
      const refresh = (instance: ExampleProcess, refreshToken: string) =>
        post(instance, { grant_type: 'refresh_token', refresh_token: refreshToken });
      const rotated = await refresh(a!, first);
      expect(rotated.status).to.equal(200);
      const second = rotated.body.refresh_token as string;
      // The first token again, on B: reuse.
      expect((await refresh(b!, first)).status).to.equal(400);
      const refused = await refresh(a!, second);
      expect(refused.status).to.equal(400);
      expect(refused.body.error).to.equal('invalid_grant');
    });

    it('refuses on B a client assertion jti already used on A', async () => {
      const params = { ...exchangeBody(), ...assertionParams(await clientAssertion()) };
      const first = await post(a!, params, { auth: '' });
      expect(first.status, JSON.stringify(first.body)).to.equal(200);
      const replayed = await post(b!, params, { auth: '' });
      expect(replayed.status).to.equal(401);
      expect(replayed.body.error).to.equal('invalid_client');
    });

    it('answers introspection on A for an access token revoked on B: inactive', async () => {
      const issued = await post(a!, exchangeBody());
      expect(issued.status, JSON.stringify(issued.body)).to.equal(200);
      const token = issued.body.access_token as string;
      const introspect = {
        auth: basic('orders-api', INTROSPECTION_SECRET),
        path: '/oauth/introspect',
      };
      const before = await post(a!, { token }, introspect);
      expect(before.status).to.equal(200);
      expect(before.body.active).to.equal(true);
      const revoked = await post(b!, { token }, { path: '/oauth/revoke' });
      expect(revoked.status).to.equal(200);
      expect(revoked.body).to.deep.equal({ text: '' });
      const after = await post(a!, { token }, introspect);
      expect(after.status).to.equal(200);
      expect(after.body).to.deep.equal({ active: false });
    });

    it('counts a profile’s rate limit over the requests to A and B', async () => {
      const ip = freshIp();
      const statuses = [];
      for (const instance of [a!, b!, a!]) {
        statuses.push((await post(instance, exchangeBody(), { ip })).status);
      }
      expect(statuses).to.deep.equal([200, 200, 200]);
      const limited = await post(b!, exchangeBody(), { ip });
      expect(limited.status).to.equal(429);
      expect(limited.body.error).to.equal('too_many_requests');
      expect(limited.headers.get('ratelimit')).to.match(/; r=0;/);
      expect(Number(limited.headers.get('retry-after'))).to.be.within(1, 60);
    });

    it('reads on B what an action cached with api.cache on A', async () => {
      const value = randomUUID();
      const write = await post(
        a!,
        exchangeBody({ subject_token: `write:${value}`, subject_token_type: CACHE_SUBJECT_TYPE }),
      );
      expect(write.status, JSON.stringify(write.body)).to.equal(200);
      const read = await post(
        b!,
        exchangeBody({ subject_token: `read:${value}`, subject_token_type: CACHE_SUBJECT_TYPE }),
      );
      expect(read.status, JSON.stringify(read.body)).to.equal(200);
      const other = await post(
        b!,
        exchangeBody({ subject_token: 'read:other', subject_token_type: CACHE_SUBJECT_TYPE }),
      );
      expect(other.status).to.equal(400);
      expect(other.body).to.deep.equal({
        error: 'invalid_request',
        error_description: `the cache holds ${value}`,
      });
    });
  });
}
