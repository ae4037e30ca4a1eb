import { expect } from 'chai';
import { createLocalJWKSet, jwtVerify } from 'jose';
import request from 'supertest';
import { MemoryReplayStore } from '../../lib/index.js';
import type { CustomTokenExchangeOptions } from '../../lib/index.js';
import { DpopNonces } from '../../lib/tokens/dpop-nonce.js';
import { TOKEN_URL, dpopKey, dpopProof } from '../support/dpop.js';
import type { DpopKey } from '../support/dpop.js';
import {
  ACCESS_TOKEN_TYPE,
  API,
  ISSUER,
  SECRET,
  SUBJECT_TYPE,
  basic,
  exchangeBody,
  form,
  testServer,
} from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';
import { APP, NO_STORE, UNKNOWN_REFRESH_TOKEN } from '../support/oauth-responses.js';

const SCOPE = 'openid offline_access read:orders';
const NONCE_SECRET = 'dpop-nonce-secret-0123456789abcdef';

async function server(overrides: Partial<CustomTokenExchangeOptions> = {}): Promise<TestServer> {
  const s = await testServer(overrides);
  await s.cte.resourceServers.update(API, { allow_offline_access: true });
  return s;
}

/** A token request with the given `DPoP` header values (none, one, or several). */
function post(
  s: TestServer,
  body: Record<string, string | string[]>,
  proofs: string[] = [],
  auth: string | null = APP,
) {
  const req = request(s.app).post('/oauth/token').set('User-Agent', 'cte-dpop/1.0');
  if (auth) req.set('Authorization', auth);
  // An array value goes out as one header line per value (Node's setHeader).
  if (proofs.length === 1) req.set('DPoP', proofs[0]!);
  if (proofs.length > 1) req.set('DPoP', proofs as unknown as string);
  return req.type('form').send(form(body));
}

async function verifyAccessToken(s: TestServer, token: string) {
  const jwks = createLocalJWKSet((await request(s.app).get('/.well-known/jwks.json')).body);
  return (await jwtVerify(token, jwks, { issuer: ISSUER, audience: API, typ: 'at+jwt' })).payload;
}

function refreshBody(token: string, extra: Record<string, string> = {}) {
  return { grant_type: 'refresh_token', refresh_token: token, ...extra };
}

describe('DPoP (RFC 9449) at the token endpoint', () => {
  let s: TestServer;
  let key: DpopKey;
  before(async () => {
    key = await dpopKey();
  });
  beforeEach(async () => {
    s = await server();
  });

  it('binds the exchange’s access token to the proof’s key: token_type DPoP, cnf.jkt', async () => {
    const res = await post(s, exchangeBody({ scope: 'openid read:orders' }), [
      await dpopProof(key),
    ]);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.headers).to.include(NO_STORE);
    expect(res.headers).not.to.have.property('dpop-nonce');
    expect(res.body).to.deep.equal({
      access_token: res.body.access_token,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'DPoP',
      expires_in: 3600,
      scope: 'openid read:orders',
      id_token: res.body.id_token,
    });
    const claims = await verifyAccessToken(s, res.body.access_token);
    expect(claims.cnf).to.deep.equal({ jkt: key.jkt });
    const introspected = await request(s.app)
      .post('/oauth/introspect')
      .set('Authorization', APP)
      .type('form')
      .send(form({ token: res.body.access_token }))
      .expect(200);
    expect(introspected.body).to.include({ active: true, token_type: 'DPoP' });
    expect(introspected.body.cnf).to.deep.equal({ jkt: key.jkt });
  });

  it('answers a malformed proof 400 invalid_dpop_proof, issues nothing and logs why', async () => {
    const res = await post(s, exchangeBody(), [await dpopProof(key, { claims: { htm: 'GET' } })]);
    expect(res.status).to.equal(400);
    expect(res.headers).to.include(NO_STORE);
    expect(res.body).to.deep.equal({
      error: 'invalid_dpop_proof',
      error_description: 'the DPoP proof htm must be POST',
    });
    const [entry] = await s.cte.logs.list();
    expect(entry).to.deep.equal({
      log_id: entry!.log_id,
      date: entry!.date,
      type: 'fecte',
      description: 'the DPoP proof htm must be POST',
      client_id: null,
      client_name: '',
      ip: entry!.ip,
      user_agent: 'cte-dpop/1.0',
      hostname: '127.0.0.1',
      details: {
        subject_token_type: SUBJECT_TYPE,
        error: 'invalid_dpop_proof',
        error_description: 'the DPoP proof htm must be POST',
      },
    });
    expect(await s.cte.refreshTokens.listForUser('auth0|alice')).to.deep.equal([]);
    // The next good request is served.
    await post(s, exchangeBody(), [await dpopProof(key)]).expect(200);
  });

  it('checks htu against the configured token endpoint, never the request’s Host', async () => {
    const local = await post(s, exchangeBody(), [
      await dpopProof(key, { claims: { htu: 'http://127.0.0.1/oauth/token' } }),
    ]);
    expect(local.body).to.deep.equal({
      error: 'invalid_dpop_proof',
      error_description: `the DPoP proof htu must be ${TOKEN_URL}`,
    });
    const spoofed = await post(s, exchangeBody(), [
      await dpopProof(key, { claims: { htu: 'https://evil.example.net/oauth/token' } }),
    ]).set('Host', 'evil.example.net');
    expect(spoofed.status).to.equal(400);
  });

  it('refuses a request with two DPoP headers', async () => {
    const res = await post(s, exchangeBody(), [await dpopProof(key), await dpopProof(key)]);
    expect(res.status).to.equal(400);
    expect(res.body).to.deep.equal({
      error: 'invalid_dpop_proof',
      error_description: 'the request must carry exactly one DPoP header',
    });
  });

  it('accepts each proof once, also across instances sharing the replay store', async () => {
    const replay = new MemoryReplayStore();
    const a = await server({ stores: { replay } });
    const b = await server({ stores: { replay } });
    const proof = await dpopProof(key);
    await post(a, exchangeBody(), [proof]).expect(200);
    for (const target of [a, b]) {
      const again = await post(target, exchangeBody(), [proof]);
      expect(again.status).to.equal(400);
      expect(again.body).to.deep.equal({
        error: 'invalid_dpop_proof',
        error_description: 'the DPoP proof jti was already used',
      });
    }
  });

  it('does not burn a proof on a request whose client fails to authenticate', async () => {
    const proof = await dpopProof(key);
    await post(s, exchangeBody(), [proof], basic('app', 'wrong-secret-0123456789')).expect(401);
    await post(s, exchangeBody(), [proof]).expect(200);
  });

  it('requires a proof of a client registered with dpop_bound_access_tokens', async () => {
    await s.cte.clients.update('app', { dpop_bound_access_tokens: true });
    const res = await post(s, exchangeBody());
    expect(res.status).to.equal(400);
    expect(res.body).to.deep.equal({
      error: 'invalid_dpop_proof',
      error_description: 'a DPoP proof is required for this client',
    });
    expect((await s.cte.logs.list())[0]).to.include({ type: 'fecte', client_id: 'app' });
    await post(s, exchangeBody(), [await dpopProof(key)]).expect(200);
    // Other clients may still go without.
    const other = await post(
      s,
      exchangeBody({ client_id: 'post-app', client_secret: SECRET }),
      [],
      null,
    );
    expect(other.body.token_type).to.equal('Bearer');
  });

  describe('a public client’s refresh tokens', () => {
    async function spaTokens(proofKey: DpopKey | undefined) {
      const proofs = proofKey === undefined ? [] : [await dpopProof(proofKey)];
      const res = await post(s, exchangeBody({ scope: SCOPE, client_id: 'spa' }), proofs, null);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      return res.body as { refresh_token: string; token_type: string };
    }

    it('are bound to the proof’s key: refused without a proof or with another key’s', async () => {
      const { refresh_token, token_type } = await spaTokens(key);
      expect(token_type).to.equal('DPoP');
      const other = await dpopKey();
      const cases: Array<[string, string[]]> = [
        ['no proof', []],
        ['another key', [await dpopProof(other)]],
      ];
      for (const [title, proofs] of cases) {
        const res = await post(s, refreshBody(refresh_token, { client_id: 'spa' }), proofs, null);
        expect(res.status, title).to.equal(400);
        expect(res.body, title).to.deep.equal(UNKNOWN_REFRESH_TOKEN);
        expect((await s.cte.logs.list())[0]!.details.cause, title).to.match(
          /^refresh token family rtf_\S+ is bound to /,
        );
      }
      const res = await post(
        s,
        refreshBody(refresh_token, { client_id: 'spa' }),
        [await dpopProof(key)],
        null,
      );
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.body.token_type).to.equal('DPoP');
      expect((await verifyAccessToken(s, res.body.access_token)).cnf).to.deep.equal({
        jkt: key.jkt,
      });
      const introspected = await request(s.app)
        .post('/oauth/introspect')
        .type('form')
        .send(
          form({ token: res.body.refresh_token, client_id: 'post-app', client_secret: SECRET }),
        );
      expect(introspected.body).to.deep.equal({ active: false });
    });

    it('are not bound when the exchange had no proof; a later proof binds the access token only', async () => {
      const { refresh_token, token_type } = await spaTokens(undefined);
      expect(token_type).to.equal('Bearer');
      const res = await post(
        s,
        refreshBody(refresh_token, { client_id: 'spa' }),
        [await dpopProof(key)],
        null,
      ).expect(200);
      expect(res.body.token_type).to.equal('DPoP');
      await post(s, refreshBody(res.body.refresh_token, { client_id: 'spa' }), [], null).expect(
        200,
      );
    });
  });

  it('leaves a confidential client’s refresh tokens unbound: client authentication binds them', async () => {
    const res = await post(s, exchangeBody({ scope: SCOPE }), [await dpopProof(key)]).expect(200);
    const [family] = await s.cte.refreshTokens.listForUser('auth0|alice');
    expect(family).to.include({ client_id: 'app', active: true });
    const refreshed = await post(s, refreshBody(res.body.refresh_token)).expect(200);
    expect(refreshed.body.token_type).to.equal('Bearer');
  });

  describe('server nonces (dpop.nonces)', () => {
    const nonces = new DpopNonces(NONCE_SECRET, 60);

    it('answers a proof without the nonce 400 use_dpop_nonce with one, then accepts the retry', async () => {
      s = await server({ dpop: { nonces: { secret: NONCE_SECRET } } });
      const first = await post(s, exchangeBody(), [await dpopProof(key)]);
      expect(first.status).to.equal(400);
      expect(first.headers).to.include(NO_STORE);
      const nonce = first.headers['dpop-nonce'] as string;
      expect(nonce).to.equal(nonces.current(Math.floor(Date.now() / 1000)));
      expect(first.body).to.deep.equal({
        error: 'use_dpop_nonce',
        error_description: 'Authorization server requires nonce in DPoP proof',
      });
      const retry = await post(s, exchangeBody(), [await dpopProof(key, { claims: { nonce } })]);
      expect(retry.status, JSON.stringify(retry.body)).to.equal(200);
      expect(retry.headers['dpop-nonce']).to.equal(nonce);
      expect(retry.body.token_type).to.equal('DPoP');
    });

    it('accepts a nonce another instance with the same secret issued; requests without DPoP need none', async () => {
      const a = await server({ dpop: { nonces: { secret: NONCE_SECRET } } });
      const b = await server({ dpop: { nonces: { secret: NONCE_SECRET } } });
      const nonce = (await post(a, exchangeBody(), [await dpopProof(key)])).headers[
        'dpop-nonce'
      ] as string;
      await post(b, exchangeBody(), [await dpopProof(key, { claims: { nonce } })]).expect(200);
      const bearer = await post(b, exchangeBody()).expect(200);
      expect(bearer.headers).not.to.have.property('dpop-nonce');
    });
  });
});
