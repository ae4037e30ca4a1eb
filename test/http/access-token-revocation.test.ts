import { expect } from 'chai';
import request from 'supertest';
import { MemoryRevokedTokenStore, RevokedTokenStoreFullError } from '../../lib/index.js';
import type { RevokedTokenStore } from '../../lib/index.js';
import { signJwt } from '../../lib/tokens/jws.js';
import {
  API,
  ISSUER,
  SECRET,
  exchangeBody,
  form,
  routerKeys,
  testServer,
} from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';
import { APP, NO_STORE } from '../support/oauth-responses.js';
import { appEntryFields } from '../support/log-entries.js';
import { hostEndpoint, postForm, expiredAccessToken } from '../support/token-requests.js';

interface Server extends TestServer {
  revoked: RevokedTokenStore;
  /** Requests the host's own revocation endpoint received, with the body it parsed. */
  hostRevocations: unknown[];
}

async function server(revoked: RevokedTokenStore = new MemoryRevokedTokenStore()): Promise<Server> {
  const base = await testServer({ stores: { revokedTokens: revoked } });
  return { ...base, revoked, hostRevocations: hostEndpoint(base.app, '/oauth/revoke') };
}

async function accessTokenFor(s: TestServer, auth = APP, extra: Record<string, string> = {}) {
  const res = await request(s.app)
    .post('/oauth/token')
    .set('Authorization', auth)
    .type('form')
    .send(form(exchangeBody({ scope: 'openid read:orders', ...extra })));
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  const token = res.body.access_token as string;
  const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as {
    jti: string;
    exp: number;
  };
  return { token, jti: claims.jti, exp: claims.exp };
}

function revoke(s: TestServer, body: Record<string, string>, auth: string | null = APP) {
  return postForm(s.app, '/oauth/revoke', body, auth);
}

describe('POST /oauth/revoke (RFC 7009) for the router’s access tokens', () => {
  let s: Server;
  beforeEach(async () => {
    s = await server();
  });

  it('revokes the client’s own access token until it expires: 200, no body, an srat entry', async () => {
    const { token, jti } = await accessTokenFor(s);
    expect(await s.revoked.isRevoked(jti)).to.equal(false);
    const res = await revoke(s, { token, token_type_hint: 'access_token' });
    expect(res.status).to.equal(200);
    expect(res.headers).to.include(NO_STORE);
    expect(res.text).to.equal('');
    expect(await s.revoked.isRevoked(jti)).to.equal(true);

    const entry = (await s.cte.logs.list({ type: 'srat' }))[0]!;
    expect(entry).to.deep.equal({
      ...appEntryFields(entry),
      type: 'srat',
      description: 'Successful Access Token Revocation',
      scope: 'openid read:orders',
      user_id: 'auth0|alice',
      details: { access_token_jti: jti },
    });
    expect(JSON.stringify(await s.cte.logs.list())).not.to.include(token.split('.')[2]!);
    expect(s.hostRevocations).to.deep.equal([]);
  });

  it('answers 200 for another client’s access token and does not revoke it (RFC 7009 §2.1)', async () => {
    const { token, jti } = await accessTokenFor(s);
    const res = await revoke(s, { token, client_id: 'post-app', client_secret: SECRET }, null);
    expect(res.status).to.equal(200);
    expect(res.text).to.equal('');
    expect(await s.revoked.isRevoked(jti)).to.equal(false);
    expect(await s.cte.logs.list({ type: 'srat' })).to.deep.equal([]);
  });

  it('answers 200 and records nothing for a token of its shape that is forged, tampered or expired', async () => {
    const { token } = await accessTokenFor(s);
    const [header, payload] = token.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<
      string,
      unknown
    >;
    const tampered = Buffer.from(JSON.stringify({ ...claims, scope: 'write:orders' })).toString(
      'base64url',
    );
    const expired = await expiredAccessToken(120);
    for (const bad of [`${header}.${tampered}.${token.split('.')[2]}`, expired]) {
      await revoke(s, { token: bad }).expect(200, '');
    }
    expect(s.revoked).to.have.property('size', 0);
    expect(await s.cte.logs.list({ type: 'srat' })).to.deep.equal([]);
    expect(s.hostRevocations).to.deep.equal([]);
  });

  it('authenticates the client first: 401 invalid_client without credentials, nothing revoked', async () => {
    const { token, jti } = await accessTokenFor(s);
    const res = await revoke(s, { token }, null);
    expect(res.status).to.equal(401);
    expect(res.headers).to.include(NO_STORE);
    expect(res.body).to.deep.equal({
      error: 'invalid_client',
      error_description: 'Client authentication is required.',
    });
    expect(await s.revoked.isRevoked(jti)).to.equal(false);
  });

  it('hands the host the tokens it signs with the router’s own issuer and keys, untouched', async () => {
    const now = Math.floor(Date.now() / 1000);
    const hostToken = await signJwt(
      { typ: 'at+jwt' },
      {
        iss: ISSUER,
        sub: 'host-user',
        aud: API,
        iat: now,
        exp: now + 600,
        jti: 'host-jti-0123456789abcdef',
        client_id: 'app',
      },
      (await routerKeys()).signingKey('ES256'),
    );
    const res = await revoke(s, { token: hostToken });
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({ host: true });
    expect(s.hostRevocations).to.deep.equal([{ token: hostToken }]);
    expect(await s.cte.logs.list()).to.have.length(0);
  });

  it('answers 503 with Retry-After when the store cannot record the revocation, and logs nothing', async () => {
    const full: RevokedTokenStore = {
      revoke: () => Promise.reject(new RevokedTokenStoreFullError('no room', 42)),
      isRevoked: () => Promise.resolve(false),
    };
    s = await server(full);
    const { token } = await accessTokenFor(s);
    const res = await revoke(s, { token });
    expect(res.status).to.equal(503);
    expect(res.headers).to.include({ ...NO_STORE, 'retry-after': '42' });
    expect(res.body).to.deep.equal({
      error: 'temporarily_unavailable',
      error_description: 'The server is busy; retry later.',
    });
    expect(await s.cte.logs.list({ type: 'srat' })).to.deep.equal([]);
  });

  it('answers 500 server_error when the store fails otherwise', async () => {
    const broken: RevokedTokenStore = {
      revoke: () => Promise.reject(new Error('disk on fire')),
      isRevoked: () => Promise.resolve(false),
    };
    s = await server(broken);
    const { token } = await accessTokenFor(s);
    const res = await revoke(s, { token });
    expect(res.status).to.equal(500);
    expect(res.body).to.deep.equal({
      error: 'server_error',
      error_description: 'The server encountered an unexpected error.',
    });
  });
});
