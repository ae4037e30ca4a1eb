import { expect } from 'chai';
import { MFA_OOB, mfaServer, mfaToken, newestEntry, tokenRequest } from '../support/mfa.js';
import type { MfaHarness } from '../support/mfa.js';

const EXPIRED = { error: 'expired_token', error_description: 'mfa_token is expired' };

describe('MFA inside the exchange: the mfa-oob grant', () => {
  let server: MfaHarness;
  beforeEach(async () => {
    server = await mfaServer();
    server.behave.current = (_event, api) => api.multifactor.enable('guardian');
  });

  function redeemOob(token: string, fields: Record<string, string>) {
    return tokenRequest(server, { grant_type: MFA_OOB, mfa_token: token, ...fields });
  }

  it('answers authorization_pending until the push is accepted, then issues the tokens', async () => {
    const token = await mfaToken(server);
    server.verifier.answer = async () => 'pending';
    const pending = await redeemOob(token, { oob_code: 'oob-1' });
    expect(pending.status).to.equal(400);
    expect(pending.body).to.deep.equal({
      error: 'authorization_pending',
      error_description: 'Authorization pending: please repeat the request in a few seconds.',
    });
    expect((await newestEntry(server)).type).to.equal('feoobft');
    server.verifier.answer = async () => true;
    const done = await redeemOob(token, { oob_code: 'oob-1' });
    expect(done.status, JSON.stringify(done.body)).to.equal(200);
    expect(done.body).to.deep.equal({
      access_token: done.body.access_token,
      token_type: 'Bearer',
      expires_in: 3600,
      scope: '',
    });
    expect((await newestEntry(server)).type).to.equal('seoobft');
    expect(server.verifications[1]).to.deep.equal({
      type: 'oob',
      user: { user_id: 'auth0|alice' },
      client_id: 'app',
      mfa_token: token,
      provider: 'guardian',
      oob_code: 'oob-1',
    });
  });

  it('passes binding_code; a wrong one is Invalid binding_code., a rejection spends the token', async () => {
    const token = await mfaToken(server);
    server.verifier.answer = async ({ binding_code }) => binding_code === '777777';
    const wrong = await redeemOob(token, { oob_code: 'oob-2', binding_code: '000000' });
    expect(wrong.status).to.equal(403);
    expect(wrong.body).to.deep.equal({
      error: 'invalid_grant',
      error_description: 'Invalid binding_code.',
    });
    expect(server.verifications[0]).to.include({ oob_code: 'oob-2', binding_code: '000000' });
    const right = await redeemOob(token, { oob_code: 'oob-2', binding_code: '777777' });
    expect(right.status, JSON.stringify(right.body)).to.equal(200);

    const rejectedToken = await mfaToken(server);
    server.verifier.answer = async () => 'rejected';
    const rejected = await redeemOob(rejectedToken, { oob_code: 'oob-3' });
    expect(rejected.status).to.equal(403);
    expect(rejected.body).to.deep.equal({
      error: 'invalid_grant',
      error_description: 'MFA Authorization rejected.',
    });
    server.verifier.answer = async () => true;
    const after = await redeemOob(rejectedToken, { oob_code: 'oob-3' });
    expect(after.status).to.equal(401);
    expect(after.body).to.deep.equal(EXPIRED);
  });

  it('spends the token with its last wrong code: an oob poll, which takes no attempt, cannot redeem it', async () => {
    server = await mfaServer({ maxAttempts: 1 });
    server.behave.current = (_event, api) => api.multifactor.enable('guardian');
    const token = await mfaToken(server);
    server.verifier.answer = async () => false;
    const wrong = await redeemOob(token, { oob_code: 'oob-4', binding_code: '000000' });
    expect(wrong.status).to.equal(403);
    expect(wrong.body).to.deep.equal({
      error: 'invalid_grant',
      error_description: 'Invalid binding_code.',
    });
    server.verifier.answer = async () => true;
    const poll = await redeemOob(token, { oob_code: 'oob-4' });
    expect(poll.status, JSON.stringify(poll.body)).to.equal(401);
    expect(poll.body).to.deep.equal(EXPIRED);
    expect(String((await newestEntry(server)).details.cause)).to.match(
      /^mfa_token \S+ was already redeemed or spent$/,
    );
  });
});
