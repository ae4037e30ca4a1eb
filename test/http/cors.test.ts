import { expect } from 'chai';
import expressPackage from 'express/package.json' with { type: 'json' };
import request from 'supertest';
import { API, exchangeBody, form, testServer } from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';
import { APP } from '../support/oauth-responses.js';

/** Runs on Express 5 (`npm test`) and on Express 4 (`npm run test:express4`). */
const EXPRESS_MAJOR = Number.parseInt(expressPackage.version, 10);

const SPA_ORIGIN = 'https://spa.example.com';
const PARTNER_ORIGIN = 'https://shop.partner.example';
const EXPOSED = 'DPoP-Nonce,WWW-Authenticate,Retry-After';
const CORS_HEADERS = [
  'access-control-allow-origin',
  'access-control-expose-headers',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'access-control-max-age',
];

/** The CORS headers of a response, to compare whole. */
function corsHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(CORS_HEADERS.filter((h) => h in headers).map((h) => [h, headers[h]!]));
}

describe(`CORS for browser clients (allowed_origins, web_origins; Express ${EXPRESS_MAJOR})`, () => {
  let s: TestServer;
  beforeEach(async () => {
    s = await testServer();
    await s.cte.clients.update('spa', { allowed_origins: [SPA_ORIGIN] });
    await s.cte.clients.update('app', { web_origins: ['https://*.partner.example'] });
    await s.cte.resourceServers.update(API, { allow_offline_access: true });
  });

  function preflight(path: string, origin: string) {
    return request(s.app)
      .options(path)
      .set('Origin', origin)
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'content-type,dpop');
  }

  it('answers a preflight for an origin some client allows, on the three client endpoints', async () => {
    for (const [path, origin] of [
      ['/oauth/token', SPA_ORIGIN],
      ['/oauth/revoke', SPA_ORIGIN],
      ['/oauth/introspect', PARTNER_ORIGIN],
    ] as const) {
      const res = await preflight(path, origin);
      expect(res.status, path).to.equal(204);
      expect(corsHeaders(res.headers), path).to.deep.equal({
        'access-control-allow-origin': origin,
        'access-control-allow-methods': 'POST',
        'access-control-allow-headers': 'content-type,dpop',
        'access-control-max-age': '600',
      });
      expect(res.headers.vary, path).to.match(/Origin/);
    }
  });

  it('leaves the preflight of any other origin to the host (Express’s default answer), with no CORS header', async () => {
    for (const origin of [
      'https://evil.example.net',
      'https://spa.example.com.evil.example.net',
      'https://partner.example',
      'http://spa.example.com',
    ]) {
      const res = await preflight('/oauth/token', origin);
      // Express's own answer to OPTIONS (200, Allow: POST): no CORS header, so no browser call.
      expect(res.status, origin).to.equal(200);
      expect(res.headers.allow, origin).to.match(/POST/);
      expect(corsHeaders(res.headers), origin).to.deep.equal({});
    }
  });

  it('lets the allowed origin read its client’s answers, errors included', async () => {
    const ok = await request(s.app)
      .post('/oauth/token')
      .set('Origin', SPA_ORIGIN)
      .type('form')
      .send(form(exchangeBody({ client_id: 'spa', scope: 'openid offline_access read:orders' })));
    expect(ok.status).to.equal(200);
    expect(corsHeaders(ok.headers)).to.deep.equal({
      'access-control-allow-origin': SPA_ORIGIN,
      'access-control-expose-headers': EXPOSED,
    });
    expect(ok.headers.vary).to.equal('Origin');

    const refused = await request(s.app)
      .post('/oauth/token')
      .set('Origin', SPA_ORIGIN)
      .type('form')
      .send(form(exchangeBody({ client_id: 'spa', subject_token: 'reject' })));
    expect(refused.status).to.equal(400);
    expect(corsHeaders(refused.headers)).to.deep.equal({
      'access-control-allow-origin': SPA_ORIGIN,
      'access-control-expose-headers': EXPOSED,
    });

    for (const path of ['/oauth/revoke', '/oauth/introspect']) {
      const res = await request(s.app)
        .post(path)
        .set('Origin', SPA_ORIGIN)
        .type('form')
        .send(form({ token: ok.body.refresh_token, client_id: 'spa' }));
      expect(corsHeaders(res.headers)['access-control-allow-origin'], path).to.equal(SPA_ORIGIN);
    }
  });

  it('checks the actual request against its own client’s origins, not any client’s', async () => {
    // app allows *.partner.example, not the SPA's origin; spa allows only its own.
    const asApp = await request(s.app)
      .post('/oauth/token')
      .set('Origin', SPA_ORIGIN)
      .set('Authorization', APP)
      .type('form')
      .send(form(exchangeBody()));
    expect(asApp.status).to.equal(200);
    expect(corsHeaders(asApp.headers)).to.deep.equal({});
    const asSpa = await request(s.app)
      .post('/oauth/token')
      .set('Origin', PARTNER_ORIGIN)
      .type('form')
      .send(form(exchangeBody({ client_id: 'spa' })));
    expect(corsHeaders(asSpa.headers)).to.deep.equal({});
    const subdomain = await request(s.app)
      .post('/oauth/token')
      .set('Origin', PARTNER_ORIGIN)
      .set('Authorization', APP)
      .type('form')
      .send(form(exchangeBody()));
    expect(corsHeaders(subdomain.headers)['access-control-allow-origin']).to.equal(PARTNER_ORIGIN);
  });

  it('adds nothing to requests it hands to the host, nor without an Origin', async () => {
    const host = await request(s.app)
      .post('/oauth/token')
      .set('Origin', SPA_ORIGIN)
      .type('form')
      .send(form({ grant_type: 'client_credentials', client_id: 'spa' }));
    expect(host.body.host).to.equal(true);
    expect(corsHeaders(host.headers)).to.deep.equal({});
    const noOrigin = await request(s.app)
      .post('/oauth/token')
      .type('form')
      .send(form(exchangeBody({ client_id: 'spa' })));
    expect(noOrigin.status).to.equal(200);
    expect(corsHeaders(noOrigin.headers)).to.deep.equal({});
    expect(noOrigin.headers).not.to.have.property('vary');
  });

  it('serves the public documents (JWKS, discovery) to any origin', async () => {
    for (const path of ['/.well-known/jwks.json', '/.well-known/openid-configuration']) {
      const res = await request(s.app).get(path).set('Origin', 'https://anyone.example');
      expect(res.headers['access-control-allow-origin'], path).to.equal('*');
    }
  });
});
