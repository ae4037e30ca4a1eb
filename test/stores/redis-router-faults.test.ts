/**
 * The router with a store on a Redis that stops in the middle of traffic: each request that needs
 * the store fails closed (503 with Retry-After, no token, a log entry saying why) within the
 * store's deadline, never a crash or a hang, and the router serves again by itself once Redis is
 * back. One store on Redis at a time, so each failure is that store's own.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import request from 'supertest';
import type { LogEntry } from '../../lib/index.js';
import { createRedisAdapter } from '../../lib/stores/redis/redis-adapter.js';
import { assertionParams, clientAssertion } from '../support/client-assertion.js';
import { SECRET, basic, exchangeBody, form, type TestServer } from '../support/fixtures.js';
import { REDIS_CLIENTS, type TestRedisClient } from '../support/redis-clients.js';
import { CACHE_SUBJECT_TYPE, redisTestServer, type SharedStore } from '../support/redis-router.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { waitUntil } from '../support/server-process.js';

const TIMEOUT_MS = 300;
/** What an answer may take while Redis is down: the deadline, and a busy machine's slack. */
const ANSWER_WITHIN_MS = TIMEOUT_MS + 1500;
const APP = basic('app', SECRET);

type Send = (server: TestServer) => Promise<request.Response>;

/**
 * A token request from an end user of its own IP: the attempt gate keeps a full bucket's hold
 * for the IP's next exchange, which would then not need the store at all.
 */
function post(
  server: TestServer,
  body: Record<string, string | string[]>,
  auth?: string,
): request.Test {
  const ip = `198.51.${Math.floor(Math.random() * 256)}.${1 + Math.floor(Math.random() * 254)}`;
  const req = request(server.app).post('/oauth/token').set('X-Forwarded-For', ip).type('form');
  if (auth) req.set('Authorization', auth);
  return req.send(form(body));
}

const exchange: Send = async (server) => post(server, exchangeBody(), APP);

/** Each store, and a request that needs it. */
const CASES: ReadonlyArray<{ store: SharedStore; what: string; send: Send; log: string }> = [
  { store: 'attempts', what: 'the suspicious IP throttling store', send: exchange, log: 'fecte' },
  { store: 'rateLimit', what: 'the profile rate limit store', send: exchange, log: 'fecte' },
  {
    store: 'replay',
    what: 'replay store',
    log: 'fecte',
    // A fresh assertion each time: a jti is only ever good once.
    send: async (server) =>
      post(server, {
        ...exchangeBody(),
        client_id: 'jwt-app',
        ...assertionParams(await clientAssertion()),
      }),
  },
  {
    store: 'actionCache',
    what: 'api.cache could not be loaded',
    log: 'fecte',
    send: async (server) =>
      post(
        server,
        exchangeBody({ subject_token: 'write:v1', subject_token_type: CACHE_SUBJECT_TYPE }),
        APP,
      ),
  },
  {
    store: 'refreshTokens',
    what: 'StoreUnavailableError',
    log: 'fecte',
    send: async (server) => post(server, exchangeBody({ scope: 'openid offline_access' }), APP),
  },
];

/** Sends and times one request. */
async function timed(send: Send, server: TestServer): Promise<[request.Response, number]> {
  const started = Date.now();
  const res = await send(server);
  return [res, Date.now() - started];
}

function expectUnavailable(res: request.Response): void {
  expect(res.status, JSON.stringify(res.body)).to.equal(503);
  expect(res.body).to.deep.equal({
    error: 'temporarily_unavailable',
    error_description: 'The server is busy; retry later.',
  });
  expect(res.headers['retry-after']).to.equal('5');
  expect(res.headers['cache-control']).to.equal('no-store');
}

describe('the router when its Redis stops in the middle of traffic', function () {
  this.timeout(60_000);
  let redis: RedisServer | undefined;
  let connection: TestRedisClient | undefined;

  before(async () => {
    redis = await startRedis();
    connection = await REDIS_CLIENTS[0]!.connect(redis);
  });

  // After the previous test's restart, the client takes a moment to reconnect.
  beforeEach(async () => {
    const redisAdapter = createRedisAdapter(connection!.client, { warn: false });
    await waitUntil(async () => (await redisAdapter.command(undefined, ['PING']), true), 'PING');
  });

  after(async () => {
    await connection?.close();
    await redis?.stop();
  });

  async function routerWith(
    stores: SharedStore[],
    onStoreError: 'fail-closed' | 'fail-open' = 'fail-closed',
  ) {
    return redisTestServer({
      client: connection!.client,
      prefix: `faults:${randomUUID()}:`,
      stores,
      timeoutMs: TIMEOUT_MS,
      onStoreError,
    });
  }

  for (const { store, what, send, log } of CASES) {
    it(`${store}: fails closed with 503 and Retry-After while Redis is down, then recovers`, async () => {
      const server = await routerWith([store]);
      try {
        const [before] = await timed(send, server);
        expect(before.status, JSON.stringify(before.body)).to.equal(200);
        await redis!.kill();
        try {
          for (let i = 0; i < 3; i++) {
            const [res, elapsed] = await timed(send, server);
            expectUnavailable(res);
            expect(elapsed).to.be.below(ANSWER_WITHIN_MS);
          }
          const entries = await server.cte.logs.list({ type: log as LogEntry['type'] });
          expect(entries).to.have.length(3);
          for (const entry of entries) {
            expect(entry.details).to.include({ error: 'temporarily_unavailable' });
            expect(String(entry.details.cause)).to.include(what);
          }
        } finally {
          await redis!.restart();
        }
        await waitUntil(
          async () => (await timed(send, server))[0].status === 200,
          `${store} serving again`,
        );
      } finally {
        await server.cte.close();
      }
    });
  }

  it('refresh tokens: a refresh fails closed while Redis is down, and the token works after', async () => {
    const server = await routerWith(['refreshTokens']);
    try {
      const issued = await post(server, exchangeBody({ scope: 'openid offline_access' }), APP);
      expect(issued.status).to.equal(200);
      const refresh = () =>
        post(
          server,
          { grant_type: 'refresh_token', refresh_token: issued.body.refresh_token },
          APP,
        );
      await redis!.kill();
      try {
        const res = await refresh();
        expectUnavailable(res);
        const [entry] = await server.cte.logs.list({ type: 'fertft' });
        expect(entry!.details).to.include({ error: 'temporarily_unavailable' });
      } finally {
        await redis!.restart();
      }
      // Redis restarted empty (no persistence in tests): the token is unknown, so it goes to the
      // host, as every token issued before a switch of stores would.
      await waitUntil(async () => (await refresh()).status === 200, 'the refresh answered');
      const after = await refresh();
      expect(after.body).to.include({ host: true });
    } finally {
      await server.cte.close();
    }
  });

  it('rateLimit: a router made while Redis is down counts once it is back', async () => {
    await redis!.kill();
    let server: TestServer | undefined;
    try {
      server = await routerWith(['rateLimit']);
      expectUnavailable(await exchange(server));
    } finally {
      await redis!.restart();
    }
    await waitUntil(async () => (await exchange(server)).status === 200, 'the limiter counting');
    await server.cte.close();
  });

  for (const store of ['attempts', 'rateLimit'] as const) {
    it(`${store}: with onStoreError fail-open, exchanges go on while Redis is down`, async () => {
      const server = await routerWith([store], 'fail-open');
      const warn = console.warn;
      const warnings: string[] = [];
      console.warn = (message: string) => warnings.push(message);
      try {
        expect((await exchange(server)).status).to.equal(200);
        await redis!.kill();
        try {
          const res = await exchange(server);
          expect(res.status, JSON.stringify(res.body)).to.equal(200);
          expect(res.body.access_token).to.be.a('string');
        } finally {
          await redis!.restart();
        }
        expect(warnings.join('\n')).to.match(/onStoreError is 'fail-open'/);
      } finally {
        console.warn = warn;
        await server.cte.close();
      }
    });
  }
});
