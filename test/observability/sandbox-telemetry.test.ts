import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { expect } from 'chai';
import request from 'supertest';
import { GRANT, form, testServer } from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';
import { deployCodeProfile, sandboxPeers } from '../support/sandboxed-actions.js';
import {
  EXCHANGE_SPAN_TREE,
  attributeTexts,
  onlySpan,
  points,
  spansWithTree,
  telemetryPerTest,
} from '../support/telemetry.js';
import { IDP_AUDIENCE, IDP_ISSUER } from '../sandbox/fixtures/local-idp.js';
import { APP } from '../support/oauth-responses.js';

const TYPE = 'urn:acme:traced-idp-jwt';
const TENANT = 'auth.example.com';

/** Verifies the subject token against the IdP's JWKS, then calls the IdP's echo endpoint. */
const VERIFY_AND_FETCH = `const { jwtVerify, createRemoteJWKSet } = require('jose');
exports.onExecuteCustomTokenExchange = async (event, api) => {
  const jwks = createRemoteJWKSet(new URL(event.secrets.IDP + '/.well-known/jwks.json'));
  const { payload } = await jwtVerify(event.transaction.subject_token, jwks, {
    issuer: '${IDP_ISSUER}',
    audience: '${IDP_AUDIENCE}',
  });
  const headers = { 'x-api-key': event.secrets.API_KEY };
  if (event.request.body.own_traceparent) headers.traceparent = event.request.body.own_traceparent;
  const echo = await fetch(event.secrets.IDP + '/echo', {
    method: 'POST',
    headers,
    body: 'hello',
  });
  if (!echo.ok) throw new Error('echo failed');
  const missing = await fetch(event.secrets.IDP + '/missing?key=' + event.secrets.API_KEY);
  if (missing.status !== 404) throw new Error('expected a 404');
  api.authentication.setUserById('auth0|alice');
};`;

describe('observability: the sandbox (fetch, JWKS, gauges)', function () {
  this.timeout(20_000);
  const peers = sandboxPeers();
  const telemetry = telemetryPerTest();
  let server: TestServer;
  beforeEach(async () => {
    server = await testServer({ sandbox: true, observability: telemetry.observability() });
    peers.idp.requests.length = 0;
  });
  afterEach(async () => {
    peers.hold.release();
    await server.cte.close();
  });

  function exchange(s: TestServer, subjectToken: string, type = TYPE, extra = {}) {
    return request(s.app)
      .post('/oauth/token')
      .set('Authorization', APP)
      .type('form')
      .send(
        form({
          grant_type: GRANT,
          subject_token: subjectToken,
          subject_token_type: type,
          ...extra,
        }),
      );
  }

  async function deployVerifier(s: TestServer) {
    return deployCodeProfile(s.cte, {
      name: 'verify-and-fetch',
      code: VERIFY_AND_FETCH,
      subjectTokenType: TYPE,
      secrets: { IDP: peers.idp.origin, API_KEY: 'sk_live_do-not-trace-me' },
      allowed_hosts: [peers.idp.host],
    });
  }

  it('traces the JWKS fetch and each fetch under the action, and sends them the trace context', async () => {
    await deployVerifier(server);
    const subjectToken = await peers.idp.token('legacy-user-1');
    await exchange(server, subjectToken).expect(200);
    const spans = spansWithTree(
      telemetry,
      [
        ...EXCHANGE_SPAN_TREE,
        'cte.action > cte.fetch',
        'cte.action > cte.fetch',
        'cte.action > cte.jwks_fetch',
      ].sort(),
    );
    const port = Number(new URL(peers.idp.origin).port);
    const jwks = onlySpan(spans, 'cte.jwks_fetch');
    expect(jwks.kind).to.equal(SpanKind.CLIENT);
    expect(jwks.attributes).to.deep.equal({
      'http.request.method': 'GET',
      'server.address': '127.0.0.1',
      'server.port': port,
      'url.scheme': 'http',
      'http.response.status_code': 200,
    });
    const [echo, missing] = spans.filter((span) => span.name === 'cte.fetch');
    expect(echo!.kind).to.equal(SpanKind.CLIENT);
    expect(echo!.attributes).to.deep.equal({
      'http.request.method': 'POST',
      'server.address': '127.0.0.1',
      'server.port': port,
      'url.scheme': 'http',
      'http.response.status_code': 200,
    });
    expect(echo!.status.code).to.equal(SpanStatusCode.UNSET);
    expect(missing!.status).to.deep.equal({ code: SpanStatusCode.ERROR, message: '404' });
    expect(onlySpan(spans, 'cte.action').attributes['cte.action.runner']).to.equal('sandbox');

    // Each request carries the context of its own span (W3C traceparent, sampled).
    const traceparent = (span: (typeof spans)[number]) =>
      `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`;
    const received = (path: string) =>
      peers.idp.requests.find((r) => r.path.startsWith(path))?.headers;
    expect(received('/.well-known/jwks.json')?.traceparent).to.equal(traceparent(jwks));
    expect(received('/echo')?.traceparent).to.equal(traceparent(echo!));
    expect(received('/echo')?.['x-api-key']).to.equal('sk_live_do-not-trace-me');
    expect(received('/missing')?.traceparent).to.equal(traceparent(missing!));

    // Neither the subject token nor a secret the action sent (header or query) is recorded.
    const texts = attributeTexts(spans).join('\n');
    expect(texts).not.to.include(subjectToken);
    expect(texts).not.to.include('sk_live_do-not-trace-me');
  });

  it('keeps a traceparent header the action set itself', async () => {
    await deployVerifier(server);
    const own = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await exchange(server, await peers.idp.token('legacy-user-2'), TYPE, {
      own_traceparent: own,
    }).expect(200);
    const echo = peers.idp.requests.find((r) => r.path.startsWith('/echo'));
    expect(echo?.headers.traceparent).to.equal(own);
  });

  it('sends no trace context when no SDK records spans', async () => {
    const plain = await testServer({ sandbox: true });
    try {
      await deployVerifier(plain);
      await exchange(plain, await peers.idp.token('legacy-user-3')).expect(200);
      expect(peers.idp.requests.map((r) => r.headers.traceparent)).to.deep.equal([
        undefined,
        undefined,
        undefined,
      ]);
    } finally {
      await plain.cte.close();
    }
  });

  it('reports isolates and executions in flight through the gauges', async () => {
    const held = await deployCodeProfile(server.cte, {
      name: 'held-fetch',
      code: `exports.onExecuteCustomTokenExchange = async (event, api) => {
  await fetch('${peers.hold.origin}/hold/gauges');
  api.authentication.setUserById('auth0|alice');
};`,
      subjectTokenType: 'urn:acme:held',
      allowed_hosts: [peers.hold.host],
    });
    const before = await telemetry.metrics();
    expect(points(before.get('cte.sandbox.isolates'))).to.deep.equal([
      { attributes: { 'cte.tenant': TENANT }, value: 0 },
    ]);
    const answered = exchange(server, 'x', held.subjectTokenType).then((res) => res.status);
    const arrived = peers.hold.requests.length + 1;
    await peers.hold.waitForRequests(arrived);
    const during = await telemetry.metrics();
    expect(points(during.get('cte.sandbox.isolates'))).to.deep.equal([
      { attributes: { 'cte.tenant': TENANT }, value: 1 },
    ]);
    expect(points(during.get('cte.action.executions'))).to.deep.equal([
      { attributes: { 'cte.tenant': TENANT }, value: 1 },
    ]);
    peers.hold.release();
    expect(await answered).to.equal(200);
    const after = await telemetry.metrics();
    expect(points(after.get('cte.action.executions'))).to.deep.equal([
      { attributes: { 'cte.tenant': TENANT }, value: 0 },
    ]);
  });

  it("reports the sandbox's state in cte.health(): idle until a code action runs, then ready", async () => {
    expect((await server.cte.health()).sandbox).to.deep.equal({
      status: 'pass',
      state: 'idle',
      isolates: 0,
      executions: 0,
      suspended_actions: 0,
      suspended_callers: 0,
    });
    await deployVerifier(server);
    await exchange(server, await peers.idp.token('legacy-user-4')).expect(200);
    expect((await server.cte.health()).sandbox).to.deep.equal({
      status: 'pass',
      state: 'ready',
      isolates: 1,
      executions: 0,
      suspended_actions: 0,
      suspended_callers: 0,
    });
  });
});
