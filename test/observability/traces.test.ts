import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import type { CustomTokenExchangeOptions, UserStore } from '../../lib/index.js';
import { MemoryUserStore } from '../../lib/index.js';
import { API, GRANT, SECRET, basic, exchangeBody, form, testServer } from '../support/fixtures.js';
import { APP } from '../support/oauth-responses.js';
import { postToken } from '../support/token-requests.js';
import type { TestServer } from '../support/fixtures.js';
import { EXCHANGE_SPAN_TREE, spansWithTree, telemetryPerTest } from '../support/telemetry.js';
import { attributeTexts, onlySpan, spanTree } from '../support/telemetry.js';
import type { ObservabilityOptions } from '../../lib/index.js';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

describe('observability: traces', () => {
  const telemetry = telemetryPerTest();

  function server(
    overrides: Partial<CustomTokenExchangeOptions> = {},
    observability: ObservabilityOptions = {},
  ): Promise<TestServer> {
    return testServer({ ...overrides, observability: telemetry.observability(observability) });
  }

  function exchange(s: TestServer, extra: Record<string, string> = {}, auth = APP) {
    return postToken(s, exchangeBody(extra), { auth });
  }

  async function profileId(s: TestServer): Promise<string> {
    const [profile] = await s.cte.profiles.list();
    return profile!.id;
  }

  /** Every attribute of the request span of an exchange by app under s's one profile. */
  async function exchangeSpanAttributes(
    s: TestServer,
    status: number,
    result: string,
    extra: Record<string, string> = {},
  ): Promise<Record<string, unknown>> {
    return {
      'http.request.method': 'POST',
      'http.route': '/oauth/token',
      'http.response.status_code': status,
      'client.address': '127.0.0.1',
      'cte.endpoint': 'token',
      'cte.grant_type': TOKEN_EXCHANGE,
      'cte.client_id': 'app',
      'cte.profile': 'Legacy tokens',
      'cte.profile_id': await profileId(s),
      'cte.result': result,
      ...extra,
    };
  }

  async function actionId(s: TestServer): Promise<string> {
    const [action] = await s.cte.actions.list();
    return action!.id;
  }

  it('traces a successful exchange: the request span and a child per step, without a token', async () => {
    const s = await server();
    const res = await exchange(s).expect(200);
    const spans = spansWithTree(telemetry, EXCHANGE_SPAN_TREE);
    expect(new Set(spans.map((span) => span.spanContext().traceId)).size).to.equal(1);

    const root = onlySpan(spans, 'cte.token');
    expect(root.kind).to.equal(SpanKind.INTERNAL);
    expect(root.status).to.deep.equal({ code: SpanStatusCode.UNSET });
    expect(root.attributes).to.deep.equal(await exchangeSpanAttributes(s, 200, 'success'));
    expect(onlySpan(spans, 'cte.client_authentication').attributes).to.deep.equal({
      'cte.client_id': 'app',
      'cte.client_auth_method': 'client_secret_basic',
    });
    expect(onlySpan(spans, 'cte.action').attributes).to.deep.equal({
      'cte.action.id': await actionId(s),
      'cte.action.trigger': 'custom-token-exchange',
      'cte.action.runner': 'in-process',
    });
    expect(onlySpan(spans, 'cte.sign').attributes).to.deep.equal({ 'cte.signing_alg': 'ES256' });
    expect(onlySpan(spans, 'cte.store.users.getById').attributes).to.deep.equal({
      'cte.store': 'users',
      'cte.store.operation': 'getById',
    });
    for (const span of spans) expect(span.status.code, span.name).to.equal(SpanStatusCode.UNSET);

    // No token, secret or user id (enduser.id is off by default) in any attribute.
    const texts = attributeTexts(spans).join('\n');
    for (const secret of [
      res.body.access_token as string,
      SECRET,
      'user:auth0|alice',
      'auth0|alice',
    ]) {
      expect(texts).not.to.include(secret);
    }
  });

  it('traces the post-exchange action on its own span, a failing execution with its kind', async () => {
    const s = await server();
    let fail = false;
    const hook = await s.cte.actions.create({
      name: 'add-claims',
      handler: {
        onExecutePostExchange: (_event, api) => {
          if (fail) throw new Error('claims service down');
          api.accessToken.setCustomClaim('https://acme.example/tier', 'gold');
        },
      },
    });
    await s.cte.actions.deploy(hook.id);
    await s.cte.postExchange.set(hook.id);
    await exchange(s).expect(200);
    expect(spanTree(telemetry.spans()).filter((line) => line.includes('action'))).to.deep.equal([
      'cte.token > cte.action',
      'cte.token > cte.post_exchange_action',
    ]);
    expect(onlySpan(telemetry.spans(), 'cte.post_exchange_action').attributes).to.deep.equal({
      'cte.action.id': hook.id,
      'cte.action.trigger': 'post-exchange',
      'cte.action.runner': 'in-process',
    });

    telemetry.exporter.reset();
    fail = true;
    await exchange(s).expect(500);
    const failed = onlySpan(telemetry.spans(), 'cte.post_exchange_action');
    expect(failed.status).to.deep.equal({ code: SpanStatusCode.ERROR, message: 'threw' });
    expect(failed.attributes['error.type']).to.equal('threw');
    expect(attributeTexts(telemetry.spans()).join('\n')).not.to.include('claims service down');
  });

  it('records enduser.id only when observability.enduserId is true', async () => {
    const s = await server({}, { enduserId: true });
    await exchange(s).expect(200);
    expect(onlySpan(telemetry.spans(), 'cte.token').attributes['enduser.id']).to.equal(
      'auth0|alice',
    );
  });

  it('traces a failed exchange: ERROR with the OAuth error code, the attempt spent, nothing secret', async () => {
    const s = await server();
    const res = await exchange(s, { subject_token: 'reject' }).expect(400);
    expect(res.body.error).to.equal('invalid_request');
    const spans = spansWithTree(telemetry, [
      '(root) > cte.token',
      'cte.throttle > cte.store.attempts.reserve',
      'cte.token > cte.action',
      'cte.token > cte.client_authentication',
      'cte.token > cte.store.attempts.take',
      'cte.token > cte.throttle',
    ]);
    const root = onlySpan(spans, 'cte.token');
    expect(root.status).to.deep.equal({ code: SpanStatusCode.ERROR, message: 'invalid_request' });
    expect(root.attributes).to.deep.equal(
      await exchangeSpanAttributes(s, 400, 'invalid_request', { 'error.type': 'invalid_request' }),
    );
    // The action decided: its execution succeeded, the request failed.
    expect(onlySpan(spans, 'cte.action').status.code).to.equal(SpanStatusCode.UNSET);
    const texts = attributeTexts(spans).join('\n');
    expect(texts).not.to.include('the subject token is invalid');
    expect(texts).not.to.include(SECRET);
  });

  it('traces a failed client authentication on its own span, naming the claimed client', async () => {
    const s = await server();
    await exchange(s, {}, basic('app', 'wrong-secret-0123456789')).expect(401);
    const spans = spansWithTree(telemetry, [
      '(root) > cte.token',
      'cte.token > cte.client_authentication',
    ]);
    expect(onlySpan(spans, 'cte.client_authentication').status).to.deep.equal({
      code: SpanStatusCode.ERROR,
      message: 'invalid_client',
    });
    const root = onlySpan(spans, 'cte.token');
    expect(root.attributes['cte.result']).to.equal('invalid_client');
    expect(root.attributes['cte.client_id']).to.equal('app');
    expect(root.attributes['http.response.status_code']).to.equal(401);
    expect(attributeTexts(spans).join('\n')).not.to.include('wrong-secret-0123456789');
  });

  it('marks a failing store call with its error class, never its message', async () => {
    class UserDatabaseDown extends Error {
      override name = 'UserDatabaseDown';
    }
    const inner = new MemoryUserStore([{ user_id: 'auth0|alice', email: 'a@example.com' }]);
    const users: UserStore = {
      getById: () => Promise.reject(new UserDatabaseDown('postgres://admin:hunter2@db failed')),
      getByIdentity: (connection, id) => inner.getByIdentity(connection, id),
      create: (user) => inner.create(user),
      update: (id, update) => inner.update(id, update),
    };
    const s = await server({ users });
    const res = await exchange(s).expect(500);
    expect(res.body.error).to.equal('server_error');
    const spans = telemetry.spans();
    const failed = onlySpan(spans, 'cte.store.users.getById');
    expect(failed.status).to.deep.equal({
      code: SpanStatusCode.ERROR,
      message: 'UserDatabaseDown',
    });
    expect(failed.attributes).to.deep.equal({
      'cte.store': 'users',
      'cte.store.operation': 'getById',
      'error.type': 'UserDatabaseDown',
    });
    expect(onlySpan(spans, 'cte.token').status).to.deep.equal({
      code: SpanStatusCode.ERROR,
      message: 'server_error',
    });
    expect(attributeTexts(spans).join('\n')).not.to.include('hunter2');
  });

  it('traces a refresh, its store calls and signing', async () => {
    const s = await server();
    await s.cte.resourceServers.update(API, { allow_offline_access: true });
    const issued = await exchange(s, { scope: 'offline_access read:orders' }).expect(200);
    telemetry.exporter.reset();
    const refreshToken = issued.body.refresh_token as string;
    const res = await request(s.app)
      .post('/oauth/token')
      .set('Authorization', APP)
      .type('form')
      .send(form({ grant_type: 'refresh_token', refresh_token: refreshToken }))
      .expect(200);
    const spans = spansWithTree(telemetry, [
      '(root) > cte.store.refreshTokens.find',
      '(root) > cte.token',
      'cte.token > cte.client_authentication',
      'cte.token > cte.sign',
      'cte.token > cte.store.refreshTokens.compareAndSet',
      'cte.token > cte.store.refreshTokens.find',
      'cte.token > cte.store.users.getById',
    ]);
    const root = onlySpan(spans, 'cte.token');
    expect(root.attributes['cte.grant_type']).to.equal('refresh_token');
    expect(root.attributes['cte.result']).to.equal('success');
    const texts = attributeTexts(spans).join('\n');
    for (const secret of [
      refreshToken,
      res.body.refresh_token as string,
      res.body.access_token as string,
    ]) {
      expect(texts).not.to.include(secret);
    }
  });

  it('traces revocation and introspection requests of the router, with client authentication', async () => {
    const s = await server();
    const issued = await exchange(s).expect(200);
    telemetry.exporter.reset();
    const post = (path: string, headers: Record<string, string>) =>
      request(s.app)
        .post(path)
        .set(headers)
        .type('form')
        .send(form({ token: issued.body.access_token }));
    await post('/oauth/introspect', { Authorization: APP }).expect(200);
    await post('/oauth/revoke', { Authorization: APP }).expect(200);
    await post('/oauth/revoke', {}).expect(401);
    const spans = spansWithTree(telemetry, [
      '(root) > cte.introspection',
      '(root) > cte.revocation',
      '(root) > cte.revocation',
      'cte.introspection > cte.client_authentication',
      'cte.introspection > cte.store.revokedTokens.isRevoked',
      'cte.revocation > cte.client_authentication',
      'cte.revocation > cte.client_authentication',
      'cte.revocation > cte.store.revokedTokens.revoke',
    ]);
    const revocations = spans.filter((span) => span.name === 'cte.revocation');
    expect(revocations.map((span) => span.attributes)).to.deep.equal([
      {
        'http.request.method': 'POST',
        'http.route': '/oauth/revoke',
        'http.response.status_code': 200,
        'cte.endpoint': 'revocation',
        'cte.client_id': 'app',
        'cte.result': 'success',
      },
      {
        'http.request.method': 'POST',
        'http.route': '/oauth/revoke',
        'http.response.status_code': 401,
        'cte.endpoint': 'revocation',
        'cte.result': 'invalid_client',
        'error.type': 'invalid_client',
      },
    ]);
    expect(onlySpan(spans, 'cte.introspection').attributes['http.response.status_code']).to.equal(
      200,
    );
    expect(attributeTexts(spans).join('\n')).not.to.include(issued.body.access_token);
  });

  it("is a child of the host's active span (an HTTP instrumentation's server span) under its mount", async () => {
    const s = await server();
    const host = telemetry.tracerProvider.getTracer('host');
    const app = express();
    app.use((req, res, next) => {
      const span = host.startSpan('POST /tenant/oauth/token', { kind: SpanKind.SERVER });
      res.on('finish', () => span.end());
      context.with(trace.setSpan(context.active(), span), next);
    });
    app.use('/tenant', s.cte);
    await request(app)
      .post('/tenant/oauth/token')
      .set('Authorization', APP)
      .type('form')
      .send(form(exchangeBody()))
      .expect(200);
    const spans = telemetry.spans();
    expect(spanTree(spans).filter((line) => line.endsWith('> cte.token'))).to.deep.equal([
      'POST /tenant/oauth/token > cte.token',
    ]);
    expect(onlySpan(spans, 'cte.token').attributes['http.route']).to.equal('/tenant/oauth/token');
  });

  it('starts no span for a request it hands to the host', async () => {
    const s = await server();
    await request(s.app)
      .post('/oauth/token')
      .type('form')
      .send(form({ grant_type: 'client_credentials', client_id: 'app', client_secret: SECRET }))
      .expect(200, {
        host: true,
        body: { grant_type: 'client_credentials', client_id: 'app', client_secret: SECRET },
      });
    await request(s.app)
      .post('/oauth/token')
      .type('form')
      .send(
        form({
          grant_type: GRANT,
          subject_token: 'x',
          subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        }),
      )
      .expect(200);
    expect(telemetry.spans()).to.deep.equal([]);
  });

  it('uses the global tracer provider by default, and costs nothing visible without one', async () => {
    const plain = await testServer();
    await exchange(plain).expect(200);
    expect(telemetry.spans()).to.deep.equal([]);

    trace.setGlobalTracerProvider(telemetry.tracerProvider);
    try {
      const global = await testServer();
      await exchange(global).expect(200);
      expect(onlySpan(telemetry.spans(), 'cte.token').attributes['cte.result']).to.equal('success');
    } finally {
      trace.disable();
    }
  });

  it('names the profile of an exchange refused before its profile was looked up (blocked IP)', async () => {
    const s = await server({
      attackProtection: { suspiciousIpThrottling: { maxAttempts: 1, rate: 600_000 } },
    });
    await exchange(s, { subject_token: 'reject' }).expect(400);
    telemetry.exporter.reset();
    const res = await exchange(s).expect(429);
    expect(res.body.error).to.equal('too_many_attempts');
    const root = onlySpan(telemetry.spans(), 'cte.token');
    expect(root.attributes['cte.profile']).to.equal('Legacy tokens');
    expect(root.attributes['cte.result']).to.equal('too_many_attempts');
    expect(onlySpan(telemetry.spans(), 'cte.throttle').status).to.deep.equal({
      code: SpanStatusCode.ERROR,
      message: 'too_many_attempts',
    });
  });
});
