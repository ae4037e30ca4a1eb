import { expect } from 'chai';
import request from 'supertest';
import type { CustomTokenExchangeOptions, ReplayStore } from '../../lib/index.js';
import { API, SECRET, basic, exchangeBody, form, testServer } from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';
import { assertionParams, clientAssertion } from '../support/client-assertion.js';
import { histogramCounts, points, telemetryPerTest } from '../support/telemetry.js';
import type { ObservabilityOptions } from '../../lib/index.js';
import { APP } from '../support/oauth-responses.js';
import { postToken, postRefresh as refresh } from '../support/token-requests.js';

const PROFILE = 'Legacy tokens';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const TENANT = 'auth.example.com';

describe('observability: metrics', () => {
  const telemetry = telemetryPerTest({ globalContext: false });

  async function server(
    overrides: Partial<CustomTokenExchangeOptions> = {},
    observability: ObservabilityOptions = {},
  ): Promise<TestServer> {
    const s = await testServer({
      ...overrides,
      observability: telemetry.observability(observability),
    });
    await s.cte.resourceServers.update(API, { allow_offline_access: true });
    return s;
  }

  function exchange(s: TestServer, extra: Record<string, string> = {}, auth = APP) {
    return postToken(s, exchangeBody(extra), { auth });
  }

  /** A known sequence of requests: every counter moves by a number the test states. */
  async function knownSequence(s: TestServer): Promise<void> {
    await exchange(s).expect(200);
    const offline = await exchange(s, { scope: 'offline_access' }).expect(200);
    await exchange(s, { subject_token: 'deny:access_denied:no' }).expect(400);
    await exchange(s, {}, basic('app', 'not-the-secret-000000000')).expect(401);
    // maxAttempts 2: the second rejection blocks the IP, the next exchange is refused.
    await exchange(s, { subject_token: 'reject' }).expect(400);
    await exchange(s, { subject_token: 'reject' }).expect(400);
    await exchange(s).expect(429);
    await s.cte.attackProtection.unblock('127.0.0.1');
    const [profile] = await s.cte.profiles.list();
    await s.cte.attackProtection.setProfileRateLimit(profile!.id, { windowMs: 60_000, limit: 1 });
    await exchange(s).expect(200);
    const limited = await exchange(s).expect(429);
    expect(limited.body.error).to.equal('too_many_requests');
    await refresh(s, offline.body.refresh_token as string).expect(200);
    await refresh(s, 'cte_rt_' + 'A'.repeat(43)).expect(200); // not ours: the host's
  }

  const THROTTLING = {
    attackProtection: { suspiciousIpThrottling: { maxAttempts: 2, rate: 600_000 } },
  };

  it('counts exchanges and refreshes by profile and result, blocks and refusals, after a known sequence', async () => {
    const s = await server(THROTTLING);
    await knownSequence(s);
    const metrics = await telemetry.metrics();

    const exchangeOf = (result: string, value: number) => ({
      attributes: { 'cte.profile': PROFILE, 'cte.result': result },
      value,
    });
    expect(points(metrics.get('cte.exchanges'))).to.deep.equal([
      exchangeOf('access_denied', 1),
      exchangeOf('invalid_client', 1),
      exchangeOf('invalid_request', 2),
      exchangeOf('success', 3),
      exchangeOf('too_many_attempts', 1),
      exchangeOf('too_many_requests', 1),
    ]);
    expect(points(metrics.get('cte.refreshes'))).to.deep.equal([
      { attributes: { 'cte.result': 'success' }, value: 1 },
    ]);
    expect(points(metrics.get('cte.suspicious_ip.blocks'))).to.deep.equal([
      { attributes: { 'cte.profile': PROFILE }, value: 1 },
    ]);
    expect(points(metrics.get('cte.suspicious_ip.refusals'))).to.deep.equal([
      { attributes: { 'cte.profile': PROFILE }, value: 1 },
    ]);
    expect(points(metrics.get('cte.rate_limit.refusals'))).to.deep.equal([
      { attributes: { 'cte.profile': PROFILE }, value: 1 },
    ]);
    expect(points(metrics.get('cte.store.errors'))).to.deep.equal([]);

    const requestsOf = (grantType: string, result: string, count: number) => ({
      attributes: { 'cte.endpoint': 'token', 'cte.grant_type': grantType, 'cte.result': result },
      count,
    });
    expect(histogramCounts(metrics.get('cte.request.duration'))).to.deep.equal([
      requestsOf('refresh_token', 'success', 1),
      requestsOf(TOKEN_EXCHANGE, 'access_denied', 1),
      requestsOf(TOKEN_EXCHANGE, 'invalid_client', 1),
      requestsOf(TOKEN_EXCHANGE, 'invalid_request', 2),
      requestsOf(TOKEN_EXCHANGE, 'success', 3),
      requestsOf(TOKEN_EXCHANGE, 'too_many_attempts', 1),
      requestsOf(TOKEN_EXCHANGE, 'too_many_requests', 1),
    ]);
    expect(metrics.get('cte.request.duration')?.descriptor.unit).to.equal('s');

    // The action ran for the successes, the denial and the rejections: its executions succeeded.
    const [action] = await s.cte.actions.list();
    expect(histogramCounts(metrics.get('cte.action.duration'))).to.deep.equal([
      {
        attributes: {
          'cte.action.id': action!.id,
          'cte.action.trigger': 'custom-token-exchange',
          'cte.result': 'success',
        },
        count: 6,
      },
    ]);

    expect(points(metrics.get('cte.sandbox.isolates'))).to.deep.equal([
      { attributes: { 'cte.tenant': TENANT }, value: 0 },
    ]);
    expect(points(metrics.get('cte.action.executions'))).to.deep.equal([
      { attributes: { 'cte.tenant': TENANT }, value: 0 },
    ]);
    expect(points(metrics.get('cte.action.suspensions'))).to.deep.equal([
      { attributes: { 'cte.suspension.scope': 'action', 'cte.tenant': TENANT }, value: 0 },
      { attributes: { 'cte.suspension.scope': 'caller', 'cte.tenant': TENANT }, value: 0 },
    ]);
  });

  it('labels requests with cte.client_id only when observability.clientIdInMetrics is true', async () => {
    const s = await server({}, { clientIdInMetrics: true });
    await exchange(s).expect(200);
    await request(s.app)
      .post('/oauth/token')
      .type('form')
      .send(form(exchangeBody({ client_id: 'post-app', client_secret: SECRET })))
      .expect(200);
    await exchange(s, {}, basic('app', 'not-the-secret-000000000')).expect(401);
    const metrics = await telemetry.metrics();
    expect(points(metrics.get('cte.exchanges'))).to.deep.equal([
      {
        attributes: {
          'cte.profile': PROFILE,
          'cte.result': 'invalid_client',
          'cte.client_id': 'app',
        },
        value: 1,
      },
      {
        attributes: { 'cte.profile': PROFILE, 'cte.result': 'success', 'cte.client_id': 'app' },
        value: 1,
      },
      {
        attributes: {
          'cte.profile': PROFILE,
          'cte.result': 'success',
          'cte.client_id': 'post-app',
        },
        value: 1,
      },
    ]);
    expect(
      histogramCounts(metrics.get('cte.request.duration')).map(
        (p) => p.attributes['cte.client_id'],
      ),
    ).to.deep.equal(['app', 'app', 'post-app']);
  });

  it('counts a failing store call by store, operation and error class', async () => {
    const replay: ReplayStore = {
      consume: () =>
        Promise.reject(Object.assign(new Error('redis down'), { code: 'ECONNREFUSED' })),
    };
    const s = await server({ stores: { replay } });
    const assertion = await clientAssertion();
    await request(s.app)
      .post('/oauth/token')
      .type('form')
      .send(form(exchangeBody({ client_id: 'jwt-app', ...assertionParams(assertion) })))
      .expect(500);
    const metrics = await telemetry.metrics();
    expect(points(metrics.get('cte.store.errors'))).to.deep.equal([
      {
        attributes: {
          'cte.store': 'replay',
          'cte.store.operation': 'consume',
          'error.type': 'ECONNREFUSED',
        },
        value: 1,
      },
    ]);
  });

  it('unregisters the gauges of a closed router', async () => {
    // The SDK keeps reporting a gauge's last value: what must stop is the router's callback.
    const registered = new Set<unknown>();
    const meterProvider = {
      getMeter(name: string, version?: string) {
        const meter = telemetry.meterProvider.getMeter(name, version);
        const add = meter.addBatchObservableCallback.bind(meter);
        const remove = meter.removeBatchObservableCallback.bind(meter);
        meter.addBatchObservableCallback = (callback, observables) => {
          registered.add(callback);
          add(callback, observables);
        };
        meter.removeBatchObservableCallback = (callback, observables) => {
          registered.delete(callback);
          remove(callback, observables);
        };
        return meter;
      },
    };
    const s = await testServer({ observability: { meterProvider } });
    expect(registered.size).to.equal(1);
    await s.cte.close();
    expect(registered.size).to.equal(0);
  });
});
