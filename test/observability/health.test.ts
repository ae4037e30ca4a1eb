import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import type { CustomTokenExchangeRouter, HealthReport, ReplayStore } from '../../lib/index.js';
import { ManagementError, MemoryReplayStore, customTokenExchange } from '../../lib/index.js';
import { checkHealth } from '../../lib/observability/health.js';
import type { HealthSources } from '../../lib/observability/health.js';
import { KeySet } from '../../lib/tokens/key-set.js';
import { API, ISSUER, testServer, testSigningKeys } from '../support/fixtures.js';

const STORES = [
  'replay',
  'revokedTokens',
  'refreshTokens',
  'actionCache',
  'attempts',
  'users',
  'keys',
];

/** The report without its timings, which vary. */
function withoutTimings(report: HealthReport): unknown {
  const stores = Object.fromEntries(
    Object.entries(report.stores).map(([name, store]) => {
      if (store.duration_ms !== undefined) expect(store.duration_ms).to.be.a('number').at.least(0);
      const { duration_ms: _duration, ...rest } = store;
      return [name, rest];
    }),
  );
  expect(Date.parse(report.checked_at)).to.be.closeTo(Date.now(), 60_000);
  return { ...report, checked_at: '(now)', stores };
}

/** The readiness route of docs/observability.md. */
function readinessApp(cte: CustomTokenExchangeRouter) {
  const app = express();
  app.get('/ready', async (_req, res) => {
    const health = await cte.health();
    res.status(health.status === 'fail' ? 503 : 200).json(health);
  });
  return app;
}

describe('observability: cte.health()', () => {
  it('reports every store up, the sandbox and the signing keys', async () => {
    const { cte } = await testServer();
    const report = await cte.health();
    expect(withoutTimings(report)).to.deep.equal({
      status: 'pass',
      checked_at: '(now)',
      stores: Object.fromEntries(STORES.map((name) => [name, { status: 'up' }])),
      sandbox: {
        status: 'pass',
        state: 'disabled',
        isolates: 0,
        executions: 0,
        suspended_actions: 0,
        suspended_callers: 0,
      },
      keys: {
        status: 'pass',
        development: false,
        keys: [
          { kid: 'rs-1', alg: 'RS256', status: 'current', age_seconds: 0 },
          { kid: 'es-1', alg: 'ES256', status: 'current', age_seconds: 0 },
          { kid: 'ps-1', alg: 'PS256', status: 'current', age_seconds: 0 },
          { kid: 'ed-1', alg: 'EdDSA', status: 'current', age_seconds: 0 },
        ],
      },
    });
  });

  it('answers a readiness route 200 while ready and 503 when a store is down, naming only the error class', async () => {
    let down = false;
    const memory = new MemoryReplayStore();
    const replay: ReplayStore = {
      consume: (key, exp) => memory.consume(key, exp),
      ping: () =>
        down
          ? Promise.reject(
              Object.assign(new Error('connect ECONNREFUSED redis://:p4ssw0rd@10.0.0.5'), {
                code: 'ECONNREFUSED',
              }),
            )
          : Promise.resolve(),
    };
    const { cte } = await testServer({ stores: { replay } });
    const app = readinessApp(cte);
    const ready = await request(app).get('/ready').expect(200);
    expect(ready.body.status).to.equal('pass');
    down = true;
    const failing = await request(app).get('/ready').expect(503);
    expect(failing.body.status).to.equal('fail');
    expect(failing.body.stores.replay).to.deep.equal({
      status: 'down',
      duration_ms: failing.body.stores.replay.duration_ms,
      error: 'ECONNREFUSED',
    });
    expect(failing.body.stores.users.status).to.equal('up');
    expect(JSON.stringify(failing.body)).not.to.include('p4ssw0rd');
    down = false;
    await request(app).get('/ready').expect(200);
  });

  it('reports a store without ping() as unknown, which does not fail readiness', async () => {
    const memory = new MemoryReplayStore();
    const replay: ReplayStore = { consume: (key, exp) => memory.consume(key, exp) };
    const { cte } = await testServer({ stores: { replay } });
    const report = await cte.health();
    expect(report.stores.replay).to.deep.equal({ status: 'unknown' });
    expect(report.status).to.equal('pass');
  });

  it('gives up on a ping that never answers after timeoutMs', async () => {
    const memory = new MemoryReplayStore();
    const replay: ReplayStore = {
      consume: (key, exp) => memory.consume(key, exp),
      ping: () => new Promise<void>(() => undefined),
    };
    const { cte } = await testServer({ stores: { replay } });
    const started = Date.now();
    const report = await cte.health({ timeoutMs: 50 });
    expect(Date.now() - started).to.be.below(5_000);
    expect(report.status).to.equal('fail');
    expect(report.stores.replay.status).to.equal('down');
    expect(report.stores.replay.error).to.equal('timeout');
    expect(report.stores.replay.duration_ms).to.be.at.least(40);
  });

  it('warns about generated development keys', async () => {
    const realWarn = console.warn;
    const warnings: unknown[] = [];
    console.warn = (message: unknown) => warnings.push(message);
    let cte: CustomTokenExchangeRouter;
    try {
      cte = customTokenExchange({
        issuer: ISSUER,
        sandbox: false,
        clients: [],
        resourceServers: [{ identifier: API, signing_alg: 'ES256' }],
      });
    } finally {
      console.warn = realWarn;
    }
    expect(warnings).to.have.length(1);
    const report = await cte.health();
    expect(report.status).to.equal('warn');
    expect(report.keys.status).to.equal('warn');
    expect(report.keys.development).to.equal(true);
    expect(report.keys.keys.map((key) => [key.alg, key.status])).to.deep.equal([
      ['ES256', 'current'],
      ['ES256', 'next'],
    ]);
  });

  it('refuses bad options with invalid_body', async () => {
    const { cte } = await testServer();
    for (const options of [
      { timeoutMs: 0 },
      { timeoutMs: 1.5 },
      { maxKeyAgeSeconds: -1 },
      { verbose: true },
    ]) {
      try {
        await cte.health(options);
        expect.fail(`accepted ${JSON.stringify(options)}`);
      } catch (err) {
        expect(err).to.be.instanceOf(ManagementError);
        expect((err as ManagementError).code).to.equal('invalid_body');
      }
    }
  });
});

describe('observability: checkHealth', () => {
  let now = Date.parse('2026-03-01T00:00:00Z');
  const clock = () => now;

  function sources(overrides: Partial<HealthSources> = {}, keys?: KeySet): HealthSources {
    return {
      stores: { replay: new MemoryReplayStore() } as unknown as HealthSources['stores'],
      sandbox: () => ({
        state: 'ready',
        isolates: 2,
        executions: 1,
        suspensions: { actions: 0, callers: 0 },
      }),
      keys: keys ?? new KeySet({ now: clock }),
      now: clock,
      ...overrides,
    };
  }

  it('reports key ages, a retired key until it leaves the JWKS, and warns about a key older than maxKeyAgeSeconds', async () => {
    const all = await testSigningKeys();
    const es = all.find((key) => key.alg === 'ES256')!;
    const next = { ...es, kid: 'es-2' };
    now = Date.parse('2026-03-01T00:00:00Z');
    const keys = new KeySet({ keys: [es, next], now: clock, gracePeriodSeconds: 3600 });
    now += 10_000;
    await keys.rotate('ES256');
    now += 5_000;
    const report = await checkHealth(sources({}, keys), { maxKeyAgeSeconds: 30 });
    expect(report.keys).to.deep.equal({
      status: 'pass',
      development: false,
      keys: [
        { kid: 'es-2', alg: 'ES256', status: 'current', age_seconds: 5 },
        {
          kid: 'es-1',
          alg: 'ES256',
          status: 'retired',
          age_seconds: 5,
          expires_at: '2026-03-01T01:00:10.000Z',
        },
      ],
    });
    now += 30_000;
    const stale = await checkHealth(sources({}, keys), { maxKeyAgeSeconds: 30 });
    expect(stale.keys.status).to.equal('warn');
    expect(stale.status).to.equal('warn');
  });

  it('fails when the sandbox could not be loaded, and warns while an action is suspended for everyone', async () => {
    /** The report while the sandbox is in `state`, no execution running. */
    const sandboxHealth = (state: string, isolates: number, actions: number, callers: number) =>
      checkHealth(
        sources({
          sandbox: () => ({ state, isolates, executions: 0, suspensions: { actions, callers } }),
        }),
      );
    const failed = await sandboxHealth('failed', 0, 0, 0);
    expect(failed.status).to.equal('fail');
    expect(failed.sandbox.status).to.equal('fail');

    const suspended = await sandboxHealth('ready', 1, 1, 3);
    expect(suspended.status).to.equal('warn');
    expect(suspended.sandbox).to.deep.equal({
      status: 'warn',
      state: 'ready',
      isolates: 1,
      executions: 0,
      suspended_actions: 1,
      suspended_callers: 3,
    });

    // One caller's suspension is the runaway policy working, not a problem of the server.
    const oneCaller = await sandboxHealth('ready', 1, 0, 1);
    expect(oneCaller.sandbox.status).to.equal('pass');
  });

  it('reports a ping that throws synchronously as down', async () => {
    const report = await checkHealth(
      sources({
        stores: {
          replay: {
            ping: () => {
              throw new TypeError('not connected');
            },
          },
        } as unknown as HealthSources['stores'],
      }),
    );
    expect(report.stores.replay).to.deep.include({ status: 'down', error: 'TypeError' });
  });
});
