import { expect } from 'chai';
import type { MfaVerificationResult } from '../../lib/mfa/mfa-options.js';
import { mfaServer, mfaToken, newestEntry, redeemOtp } from '../support/mfa.js';
import type { MfaHarness } from '../support/mfa.js';
import { SERVER_ERROR } from '../support/oauth-responses.js';

describe('MFA inside the exchange: the user, the verifier and racing codes', () => {
  let server: MfaHarness;
  beforeEach(async () => {
    server = await mfaServer({ maxAttempts: 3 });
    server.behave.current = (_event, api) => api.multifactor.enable('any');
  });

  it('refuses the token once its user is blocked or deleted, before the verifier sees a code', async () => {
    const blockedToken = await mfaToken(server);
    const deletedToken = await mfaToken(server);
    server.users.setBlocked('auth0|alice', true);
    const blocked = await redeemOtp(server, blockedToken, '1');
    expect(blocked.status).to.equal(401);
    expect(blocked.body).to.deep.equal({
      error: 'unauthorized',
      error_description: 'user is blocked',
    });
    server.users.delete('auth0|alice');
    const deleted = await redeemOtp(server, deletedToken, '1');
    expect(deleted.status).to.equal(403);
    expect(deleted.body).to.deep.equal({
      error: 'invalid_grant',
      error_description: 'Malformed mfa_token',
    });
    expect((await newestEntry(server)).details.cause).to.equal(
      'user "auth0|alice" no longer exists',
    );
    expect(server.verifications).to.deep.equal([]);
  });

  it('answers 500 for a verifier that throws synchronously or answers something else', async () => {
    const token = await mfaToken(server);
    server.verifier.answer = () => {
      throw new TypeError('no such user');
    };
    const thrown = await redeemOtp(server, token, '1');
    expect(thrown.status).to.equal(500);
    expect(thrown.body).to.deep.equal(SERVER_ERROR);
    expect((await newestEntry(server)).details.cause).to.equal(
      'mfa.verify threw TypeError: no such user',
    );
    server.verifier.answer = async () => 'yes' as unknown as MfaVerificationResult;
    const odd = await redeemOtp(server, token, '1');
    expect(odd.status).to.equal(500);
    expect(odd.body).to.deep.equal(SERVER_ERROR);
    expect((await newestEntry(server)).details.cause).to.equal(
      `mfa.verify answered "yes", not true, false, 'pending' or 'rejected'`,
    );
    // The two attempts are gone, the token is not: the third code redeems it.
    server.verifier.answer = async () => true;
    expect((await redeemOtp(server, token, '1')).status).to.equal(200);
  });

  it('lets at most maxAttempts of many concurrent codes reach the verifier', async () => {
    const token = await mfaToken(server);
    server.verifier.answer = async () => false;
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => redeemOtp(server, token, String(i))),
    );
    const statuses = answers.map(({ status }) => status).sort();
    expect(statuses).to.deep.equal([403, 403, 403, 429, 429, 429, 429, 429]);
    expect(server.verifications).to.have.length(3);
    server.verifier.answer = async () => true;
    expect((await redeemOtp(server, token, 'right')).status).to.equal(429);
  });
});
