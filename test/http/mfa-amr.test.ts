import { expect } from 'chai';
import { API, exchangeBody } from '../support/fixtures.js';
import {
  mfaServer,
  mfaToken,
  NO_STORE,
  redeemOtp,
  tokenRequest,
  verifyToken,
} from '../support/mfa.js';
import type { MfaHarness } from '../support/mfa.js';

const SCOPE = 'openid read:orders offline_access';

/** The claims of the response's ID token and access token, each checked against the JWKS. */
async function claimsOf(server: MfaHarness, body: { id_token: string; access_token: string }) {
  const id = await verifyToken(server, body.id_token, 'app');
  const access = await verifyToken(server, body.access_token, API);
  return { id: id.payload, access: access.payload };
}

describe("the ID token's amr claim: ['mfa'] after a second factor, as Auth0's step-up check reads it", () => {
  let server: MfaHarness;
  beforeEach(async () => {
    server = await mfaServer();
  });

  it('an ID token issued by the mfa-otp grant has amr ["mfa"]; the access token has none', async () => {
    server.behave.current = (_event, api) => api.multifactor.enable('guardian');
    const res = await redeemOtp(server, await mfaToken(server, { scope: SCOPE }), '123456');
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.headers).to.include(NO_STORE);
    const { id, access } = await claimsOf(server, res.body);
    expect(id.amr).to.deep.equal(['mfa']);
    expect(id).to.include({ sub: 'auth0|alice', aud: 'app' });
    expect(access).not.to.have.property('amr');
  });

  it('an exchange without a second factor issues an ID token without amr', async () => {
    const res = await tokenRequest(
      server,
      exchangeBody({ scope: SCOPE }) as Record<string, string>,
    );
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    const { id, access } = await claimsOf(server, res.body);
    expect(id).to.include({ sub: 'auth0|alice', aud: 'app' });
    expect(id).not.to.have.property('amr');
    expect(access).not.to.have.property('amr');
  });

  it("a refresh of the second factor's family issues an ID token without amr (as Auth0's refreshes)", async () => {
    server.behave.current = (_event, api) => api.multifactor.enable('guardian');
    const redeemed = await redeemOtp(server, await mfaToken(server, { scope: SCOPE }), '123456');
    expect(redeemed.status, JSON.stringify(redeemed.body)).to.equal(200);
    const refreshed = await tokenRequest(server, {
      grant_type: 'refresh_token',
      refresh_token: redeemed.body.refresh_token as string,
    });
    expect(refreshed.status, JSON.stringify(refreshed.body)).to.equal(200);
    const { id } = await claimsOf(server, refreshed.body);
    expect(id).to.include({ sub: 'auth0|alice', aud: 'app' });
    expect(id).not.to.have.property('amr');
  });

  it('the post-exchange action cannot set amr itself: a 500 whose cause the log names', async () => {
    server.behave.current = (_event, api) => api.idToken.setCustomClaim('amr', ['mfa']);
    const res = await tokenRequest(
      server,
      exchangeBody({ scope: SCOPE }) as Record<string, string>,
    );
    expect(res.status).to.equal(500);
    expect(res.body).to.deep.equal({
      error: 'server_error',
      error_description: 'The server encountered an unexpected error.',
    });
    const entry = (await server.cte.logs.list())[0]!;
    expect(entry.type).to.equal('fecte');
    expect((entry.details as { cause: string }).cause).to.include(
      'api.idToken.setCustomClaim: "amr" is an OpenID Connect claim of the ID token that only the router sets',
    );
  });
});
