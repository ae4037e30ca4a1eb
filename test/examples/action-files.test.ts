import { expect } from 'chai';
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import type { CryptoKey } from 'jose';
import request from 'supertest';
import type { Express } from 'express';
import type { CustomTokenExchangeRouter } from '../../lib/index.js';
import { API, CLIENT_ID, SUBJECT_TOKEN_TYPE, createApp } from '../../examples/action-files/app.js';

const ISSUER = 'https://auth.example.com/';
const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';

describe('examples/action-files: an action registered from its TypeScript file', function () {
  this.timeout(30_000);
  let app: Express;
  let cte: CustomTokenExchangeRouter;
  let partnerKey: CryptoKey;

  before(async () => {
    const partner = await generateKeyPair('ES256');
    partnerKey = partner.privateKey;
    const jwk = { ...(await exportJWK(partner.publicKey)), kid: 'partner-1', alg: 'ES256' };
    ({ app, cte } = await createApp(ISSUER, { keys: [jwk] }));
  });

  after(async () => {
    await cte?.close();
  });

  const partnerToken = (issuer: string) =>
    new SignJWT({ email: 'jane@partner.example' })
      .setProtectedHeader({ alg: 'ES256', kid: 'partner-1' })
      .setIssuer(issuer)
      .setAudience(CLIENT_ID)
      .setSubject('jane-42')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(partnerKey);

  const exchange = async (subjectToken: string) =>
    request(app).post('/oauth/token').type('form').send({
      client_id: CLIENT_ID,
      grant_type: GRANT,
      subject_token_type: SUBJECT_TOKEN_TYPE,
      subject_token: subjectToken,
    });

  it('exchanges a partner token for an access token of partner|jane-42, logged as secte', async () => {
    const res = await exchange(await partnerToken('https://partner.example.com/'));
    expect(res.status).to.equal(200);
    expect(res.headers['cache-control']).to.equal('no-store');
    const body = res.body as { access_token: string };
    expect({ ...body, access_token: '…' }).to.deep.equal({
      access_token: '…',
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      token_type: 'Bearer',
      expires_in: 86400,
      scope: '',
    });
    const jwks = await request(app).get('/.well-known/jwks.json');
    const { payload } = await jwtVerify(
      body.access_token,
      createLocalJWKSet(jwks.body as { keys: [] }),
      { issuer: ISSUER, audience: API },
    );
    expect(payload.sub).to.equal('partner|jane-42');
    const [entry] = await cte.logs.list({ type: 'secte' });
    expect(entry).to.include({ type: 'secte', client_id: CLIENT_ID, user_id: 'partner|jane-42' });
  });

  it('refuses a token of another issuer: 400 invalid_request and a fecte entry', async () => {
    const res = await exchange(await partnerToken('https://evil.example/'));
    expect(res.status).to.equal(400);
    expect(res.body).to.deep.equal({
      error: 'invalid_request',
      error_description: 'the partner token is invalid',
    });
    const [entry] = await cte.logs.list({ type: 'fecte' });
    expect(entry).to.include({
      type: 'fecte',
      client_id: CLIENT_ID,
      description: 'the partner token is invalid',
    });
  });
});
