import { expect } from 'chai';
import express from 'express';
import type { Request, Response } from 'express';
import request from 'supertest';
import { API, SECRET, basic, exchangeBody, form, testServer } from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';
import { APP, NO_STORE, UNKNOWN_REFRESH_TOKEN } from '../support/oauth-responses.js';
import { appEntryFields } from '../support/log-entries.js';
import { postRefresh as refresh, postForm } from '../support/token-requests.js';

const SCOPE = 'openid offline_access read:orders';

interface Server extends TestServer {
  /** Requests the host's own revocation endpoint received, with the body it parsed. */
  hostRevocations: unknown[];
}

/** The test server with offline access, and a host revocation endpoint after the router. */
async function server(): Promise<Server> {
  const base = await testServer();
  await base.cte.resourceServers.update(API, { allow_offline_access: true });
  const hostRevocations: unknown[] = [];
  base.app.post(
    '/oauth/revoke',
    express.urlencoded(),
    express.json(),
    (req: Request, res: Response) => {
      hostRevocations.push(req.body);
      res.status(200).json({ host: true });
    },
  );
  return { ...base, hostRevocations };
}

async function refreshTokenFor(s: TestServer, clientId = 'app', auth = APP): Promise<string> {
  const body = exchangeBody({ scope: SCOPE, ...(clientId === 'spa' ? { client_id: 'spa' } : {}) });
  const req = request(s.app).post('/oauth/token');
  if (auth) req.set('Authorization', auth);
  const res = await req.type('form').send(form(body));
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return res.body.refresh_token as string;
}

function revoke(s: TestServer, body: Record<string, string | string[]>, auth: string | null = APP) {
  return postForm(s.app, '/oauth/revoke', body, auth);
}

describe('POST /oauth/revoke (RFC 7009) for the router’s refresh tokens', () => {
  let s: Server;
  beforeEach(async () => {
    s = await server();
  });

  it('revokes the client’s own token: 200 with no body, no-store, and the token is refused after', async () => {
    const token = await refreshTokenFor(s);
    const res = await revoke(s, { token });
    expect(res.status).to.equal(200);
    expect(res.headers).to.include(NO_STORE);
    expect(res.text).to.equal('');
    expect((await refresh(s, token)).body).to.deep.equal(UNKNOWN_REFRESH_TOKEN);

    const [family] = await s.cte.refreshTokens.listForUser('auth0|alice');
    const entry = (await s.cte.logs.list({ type: 'srrt' }))[0]!;
    expect(entry).to.deep.equal({
      ...appEntryFields(entry),
      type: 'srrt',
      description: 'Successful Refresh Token Revocation',
      scope: SCOPE,
      user_id: 'auth0|alice',
      details: { refresh_token_family_id: family!.family_id },
    });
    expect(JSON.stringify(await s.cte.logs.list())).not.to.include(token.slice(7));
    expect(s.hostRevocations).to.deep.equal([]);
  });

  it('ends the whole family: a token just retired cannot be redeemed within the leeway any more', async () => {
    await s.cte.clients.update('app', { refresh_token: { leeway: 60 } });
    const retired = await refreshTokenFor(s);
    const current = (await refresh(s, retired).expect(200)).body.refresh_token as string;
    await revoke(s, { token: current }).expect(200);
    expect((await refresh(s, retired)).body).to.deep.equal(UNKNOWN_REFRESH_TOKEN);
  });

  it('looks for the token whatever token_type_hint says (RFC 7009 §2.1)', async () => {
    for (const hint of ['refresh_token', 'access_token', 'something_else']) {
      const token = await refreshTokenFor(s);
      await revoke(s, { token, token_type_hint: hint }).expect(200);
      expect((await refresh(s, token)).body, hint).to.deep.equal(UNKNOWN_REFRESH_TOKEN);
    }
  });

  it('answers 200 for a token of its shape it does not know, revoking and logging nothing', async () => {
    const token = await refreshTokenFor(s);
    const res = await revoke(s, { token: `cte_rt_${'Q'.repeat(22)}.${'Q'.repeat(43)}` });
    expect(res.status).to.equal(200);
    expect(res.text).to.equal('');
    expect(await s.cte.logs.list({ type: 'srrt' })).to.deep.equal([]);
    await refresh(s, token).expect(200);
  });

  it('answers 200 for another client’s token and does not revoke it', async () => {
    const token = await refreshTokenFor(s);
    const res = await revoke(s, { token, client_id: 'post-app', client_secret: SECRET }, null);
    expect(res.status).to.equal(200);
    expect(res.text).to.equal('');
    expect(await s.cte.logs.list({ type: 'srrt' })).to.deep.equal([]);
    await refresh(s, token).expect(200);
  });

  it('authenticates the client: none or wrong credentials are 401 invalid_client, and nothing is revoked', async () => {
    const token = await refreshTokenFor(s);
    const none = await revoke(s, { token }, null);
    expect(none.status).to.equal(401);
    expect(none.headers).to.include(NO_STORE);
    expect(none.body.error).to.equal('invalid_client');
    const wrong = await revoke(s, { token }, basic('app', `${SECRET}-wrong`));
    expect(wrong.status).to.equal(401);
    expect(wrong.headers['www-authenticate']).to.match(/^Basic /);
    await refresh(s, token).expect(200);
  });

  it('accepts a JSON body with client_secret_post, as Auth0’s SDK sends it', async () => {
    const res = await request(s.app)
      .post('/oauth/token')
      .type('form')
      .send(form(exchangeBody({ scope: SCOPE, client_id: 'post-app', client_secret: SECRET })))
      .expect(200);
    const token = res.body.refresh_token as string;
    await request(s.app)
      .post('/oauth/revoke')
      .send({ client_id: 'post-app', client_secret: SECRET, token })
      .expect(200);
    expect(await s.cte.refreshTokens.listForUser('auth0|alice')).to.have.nested.property(
      '[0].active',
      false,
    );
  });

  it('lets a public client revoke its token by client_id', async () => {
    const token = await refreshTokenFor(s, 'spa', '');
    await revoke(s, { token, client_id: 'spa' }, null).expect(200);
    const [family] = await s.cte.refreshTokens.listForUser('auth0|alice');
    expect(family).to.include({ client_id: 'spa', active: false });
  });

  it('refuses a repeated token with 400 invalid_request', async () => {
    const token = await refreshTokenFor(s);
    const res = await revoke(s, { token: [token, token] });
    expect(res.status).to.equal(400);
    expect(res.body).to.deep.equal({
      error: 'invalid_request',
      error_description: 'parameter token is repeated',
    });
    await refresh(s, token).expect(200);
  });

  it('hands tokens it did not issue to the host’s own revocation endpoint, untouched', async () => {
    const res = await revoke(s, { token: 'host-refresh-token', token_type_hint: 'refresh_token' });
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({ host: true });
    await request(s.app)
      .post('/oauth/revoke')
      .send({ token: 'host-access-token', client_id: 'x' })
      .expect(200);
    await revoke(s, { client_id: 'x' }, null).expect(200);
    expect(s.hostRevocations).to.deep.equal([
      { token: 'host-refresh-token', token_type_hint: 'refresh_token' },
      { token: 'host-access-token', client_id: 'x' },
      { client_id: 'x' },
    ]);
    expect(await s.cte.logs.list()).to.have.length(0);
  });
});
