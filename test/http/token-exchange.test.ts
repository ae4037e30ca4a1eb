import { expect } from 'chai';
import express from 'express';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import request from 'supertest';
import {
  ACCESS_TOKEN_TYPE,
  API,
  ISSUER,
  RS_API,
  SECRET,
  SUBJECT_TYPE,
  exchangeBody,
  form,
  testServer,
  profileFor,
} from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';
import {
  postToken,
  verifyToken as verify,
  expectIssued,
  appAccessClaims,
  appIdClaims,
} from '../support/token-requests.js';
import { APP } from '../support/oauth-responses.js';
import { appEntryFields, ALICE_ENTRY, SECTE } from '../support/log-entries.js';

function post(server: TestServer, body: Record<string, string | string[]>, auth = APP) {
  return postToken(server, body, { auth });
}

describe('POST /oauth/token: a successful custom token exchange', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await testServer();
  });

  it('answers RFC 8693 §2.2.1 with an access token and an ID token that verify against the JWKS', async () => {
    const res = await post(server, exchangeBody({ scope: 'openid profile email read:orders' }));
    expectIssued(res, {
      scope: 'openid profile email read:orders',
      id_token: res.body.id_token,
    });
    expect(res.headers['content-type']).to.match(/^application\/json/);

    const access = await verify(server, res.body.access_token, API);
    expect(access.protectedHeader).to.deep.equal({ alg: 'ES256', typ: 'at+jwt', kid: 'es-1' });
    const { iat, exp, jti } = access.payload;
    expect(exp! - iat!).to.equal(3600);
    expect(jti).to.match(/^cte_at_[A-Za-z0-9_-]{22}$/);
    expect(access.payload).to.deep.equal(
      appAccessClaims(access.payload, {
        sub: 'auth0|alice',
        scope: 'openid profile email read:orders',
      }),
    );

    const id = await verify(server, res.body.id_token, 'app');
    // Each exchange is a login: the store refreshed updated_at, and the ID token says so.
    const alice = server.users.getById('auth0|alice');
    expect(id.protectedHeader).to.deep.equal({ alg: 'RS256', typ: 'JWT', kid: 'rs-1' });
    // The exchange authenticated the user: auth_time is iat.
    expect(id.payload).to.deep.equal(
      appIdClaims(id.payload, {
        sub: 'auth0|alice',
        name: 'Alice Liddell',
        given_name: 'Alice',
        family_name: 'Liddell',
        nickname: 'alice',
        picture: 'https://example.com/alice.png',
        updated_at: Math.floor(Date.parse(alice!.updated_at) / 1000),
        email: 'alice@example.com',
        email_verified: true,
      }),
    );
  });

  it('writes one secte entry with the spec §6 fields and no token', async () => {
    const res = await post(server, exchangeBody({ scope: 'openid read:orders' })).expect(200);
    const access = await verify(server, res.body.access_token, API);
    const entries = await server.cte.logs.list();
    expect(entries).to.have.length(1);
    const entry = entries[0]!;
    expect(entry).to.deep.equal({
      ...appEntryFields(entry),
      ...SECTE,
      scope: 'openid read:orders',
      ...ALICE_ENTRY,
      details: {
        subject_token_type: SUBJECT_TYPE,
        profile_id: (await profileFor(server.cte, SUBJECT_TYPE)).id,
        action_id: (await profileFor(server.cte, SUBJECT_TYPE)).action_id,
        access_token_jti: access.payload.jti,
      },
    });
    expect(entry.ip).to.match(/127\.0\.0\.1$/);
    expect(Date.parse(entry.date)).to.be.closeTo(Date.now(), 5000);
    expect(JSON.stringify(entries)).not.to.include(res.body.access_token.slice(0, 40));
    expect(JSON.stringify(entries)).not.to.include(SECRET);
  });

  it('grants only requested scopes the API knows, and no ID token without openid', async () => {
    const res = await post(
      server,
      exchangeBody({ scope: 'read:orders delete:everything offline_access' }),
    );
    expectIssued(res, {
      scope: 'read:orders',
    });
    const access = await verify(server, res.body.access_token, API);
    expect(access.payload.scope).to.equal('read:orders');
  });

  it('answers scope "" and no scope claim when nothing was requested', async () => {
    const res = await post(server, exchangeBody()).expect(200);
    expect(res.body.scope).to.equal('');
    const access = await verify(server, res.body.access_token, API);
    expect(access.payload).not.to.have.property('scope');
  });

  it('signs with the API signing_alg (RS256 by default) and honours requested_token_type jwt', async () => {
    const res = await post(
      server,
      exchangeBody({
        audience: RS_API,
        requested_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      }),
    ).expect(200);
    expect(res.body.issued_token_type).to.equal('urn:ietf:params:oauth:token-type:jwt');
    expect(res.body.expires_in).to.equal(86400);
    expect(decodeProtectedHeader(res.body.access_token)).to.deep.equal({
      alg: 'RS256',
      typ: 'at+jwt',
      kid: 'rs-1',
    });
    await verify(server, res.body.access_token, RS_API);
  });

  it('accepts resource (RFC 8707) naming the same API as audience', async () => {
    const res = await post(server, exchangeBody({ audience: API, resource: API })).expect(200);
    await verify(server, res.body.access_token, API);
  });

  it('signs HS256 ID tokens with the client secret', async () => {
    const res = await post(
      server,
      exchangeBody({ scope: 'openid', client_id: 'hs-app', client_secret: SECRET }),
      '',
    ).expect(200);
    expect(decodeProtectedHeader(res.body.id_token)).to.deep.equal({ alg: 'HS256', typ: 'JWT' });
    const { payload } = await jwtVerify(res.body.id_token, new TextEncoder().encode(SECRET), {
      issuer: ISSUER,
      audience: 'hs-app',
    });
    expect(payload.sub).to.equal('auth0|alice');
  });

  it('accepts a JSON body as Auth0 does', async () => {
    const res = await request(server.app)
      .post('/oauth/token')
      .set('Authorization', APP)
      .send(exchangeBody({ scope: 'read:orders' }))
      .expect(200);
    expect(res.body.scope).to.equal('read:orders');
  });

  it('passes extension parameters, client and target to the action event', async () => {
    await post(
      server,
      exchangeBody({
        subject_token: 'echo',
        scope: 'openid read:orders',
        device: 'kiosk-7',
        locale: 'fr',
      }),
    ).expect(200);
    const alice = server.users.getById('auth0|alice');
    expect(alice!.app_metadata.last_event).to.deep.equal({
      body: { device: 'kiosk-7', locale: 'fr' },
      requested_scopes: ['openid', 'read:orders'],
      requested_token_type: ACCESS_TOKEN_TYPE,
      resource_server: { identifier: API },
      client: { client_id: 'app', name: 'First-party app', metadata: { team: 'checkout' } },
      tenant: { id: 'auth.example.com' },
      actor_token_type: null,
    });
  });

  it('creates a user with setUserByConnection and uses {connection}|{id} as sub', async () => {
    const res = await post(server, exchangeBody({ subject_token: 'conn:partner:p-42' })).expect(
      200,
    );
    const access = await verify(server, res.body.access_token, API);
    expect(access.payload.sub).to.equal('partner|p-42');
    const user = server.users.getByIdentity('partner', 'p-42');
    expect(user!.email).to.equal('p-42@partner.example');
    const [entry] = await server.cte.logs.list();
    expect(entry!.connection).to.equal('partner');
    expect(entry!.user_id).to.equal('partner|p-42');
  });

  it('puts the actor in both tokens as the act claim and in details.actor', async () => {
    const actor = { sub: 'agent-7', role: 'support', act: { sub: 'platform-bot' } };
    const res = await post(
      server,
      exchangeBody({
        subject_token: `actor:${Buffer.from(JSON.stringify(actor)).toString('base64url')}`,
        scope: 'openid offline_access',
      }),
    ).expect(200);
    expect(res.body.scope).to.equal('openid');
    expect((await verify(server, res.body.access_token, API)).payload.act).to.deep.equal(actor);
    expect((await verify(server, res.body.id_token, 'app')).payload.act).to.deep.equal(actor);
    expect((await server.cte.logs.list())[0]!.details.actor).to.deep.equal(actor);
  });
});

describe('POST /oauth/token mounted at a sub-path', () => {
  it('serves the exchange and the JWKS under the mount path, and the host after it', async () => {
    const server = await testServer({}, { mount: '/tenant-a' });
    const res = await request(server.app)
      .post('/tenant-a/oauth/token')
      .set('Authorization', APP)
      .type('form')
      .send(form(exchangeBody()))
      .expect(200);
    const jwks = await request(server.app).get('/tenant-a/.well-known/jwks.json').expect(200);
    expect(jwks.headers['cache-control']).to.equal('public, max-age=600');
    await jwtVerify(res.body.access_token, createLocalJWKSet(jwks.body), { issuer: ISSUER });
    await request(server.app).get('/.well-known/jwks.json').expect(404);
    const host = await request(server.app)
      .post('/tenant-a/oauth/token')
      .type('form')
      .send('grant_type=client_credentials&client_id=x')
      .expect(200);
    expect(host.body).to.deep.equal({
      host: true,
      body: { grant_type: 'client_credentials', client_id: 'x' },
    });
  });
});

describe('GET /.well-known/jwks.json', () => {
  it('publishes only public members of every signing key', async () => {
    const server = await testServer();
    const res = await request(server.app).get('/.well-known/jwks.json').expect(200);
    expect(res.headers['cache-control']).to.equal('public, max-age=600');
    const kids = (res.body.keys as Array<Record<string, unknown>>).map((k) => k.kid);
    expect(kids).to.include.members(['rs-1', 'es-1']);
    for (const key of res.body.keys as Array<Record<string, unknown>>) {
      for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'])
        expect(key).not.to.have.property(secret);
      expect(key.use).to.equal('sig');
    }
    expect(await server.cte.keys.jwks()).to.deep.equal(res.body);
  });
});

describe('a host app parsing its own body after the router', () => {
  it('sees the body exactly as express.urlencoded() reads it, repeated parameters included', async () => {
    const server = await testServer();
    const body = 'grant_type=password&username=a&username=b&scope=x%20y&a%5Bb%5D=1';
    const res = await request(server.app).post('/oauth/token').type('form').send(body).expect(200);
    const plain = express();
    plain.post('/', express.urlencoded(), (req, r) => r.json(req.body));
    const expected = await request(plain).post('/').type('form').send(body);
    expect(res.body.body).to.deep.equal(expected.body);
  });
});
