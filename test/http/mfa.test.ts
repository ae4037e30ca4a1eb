import FakeTimers from '@sinonjs/fake-timers';
import { expect } from 'chai';
import type { LogEntry } from '../../lib/index.js';
import request from 'supertest';
import { dpopKey, dpopProof } from '../support/dpop.js';
import { API, SUBJECT_TYPE, exchangeBody, form, profileFor } from '../support/fixtures.js';
import {
  MFA_USER_AGENT,
  NO_STORE,
  mfaServer,
  mfaToken,
  newestEntry,
  redeemOtp,
  tokenRequest,
  verifyToken,
} from '../support/mfa.js';
import type { MfaHarness } from '../support/mfa.js';
import { APP } from '../support/oauth-responses.js';
import { appEntryFields, ALICE_ENTRY } from '../support/log-entries.js';

const EXPIRED = { error: 'expired_token', error_description: 'mfa_token is expired' };
const MALFORMED = { error: 'invalid_grant', error_description: 'Malformed mfa_token' };
const WRONG_OTP = { error: 'invalid_grant', error_description: 'Invalid otp_code.' };

/** The fields every entry of these tests shares (alice, client `app`, the Orders API). */
async function entryFor(
  server: MfaHarness,
  entry: LogEntry,
  fields: { type: LogEntry['type']; description: string; scope?: string },
  details: Record<string, unknown>,
): Promise<LogEntry> {
  const profile = await profileFor(server.cte, SUBJECT_TYPE);
  return {
    ...appEntryFields(entry, MFA_USER_AGENT),
    type: fields.type,
    description: fields.description,
    ...(fields.scope === undefined ? {} : { scope: fields.scope }),
    ...ALICE_ENTRY,
    details: {
      subject_token_type: SUBJECT_TYPE,
      profile_id: profile.id,
      action_id: profile.action_id,
      ...details,
    },
  };
}

describe('MFA inside the exchange: mfa_required, then the mfa-otp grant', () => {
  let server: MfaHarness;
  beforeEach(async () => {
    server = await mfaServer();
    server.behave.current = (_event, api) => {
      api.multifactor.enable('guardian', { allowRememberBrowser: true });
      api.accessToken.setCustomClaim('https://acme.example/tier', 'gold');
      api.idToken.setCustomClaim('https://acme.example/plan', 'pro');
    };
  });

  it('answers 403 mfa_required with an mfa_token; the right code issues the pending tokens', async () => {
    const scope = 'openid read:orders offline_access';
    const token = await mfaToken(server, { scope });
    const required = await newestEntry(server);
    expect(required).to.deep.equal(
      await entryFor(
        server,
        required,
        { type: 'fecte', description: 'Multifactor authentication required', scope },
        {
          error: 'mfa_required',
          error_description: 'Multifactor authentication required',
          cause: (required.details as { cause: string }).cause,
        },
      ),
    );
    const named =
      /^the post-exchange action requires MFA \(provider guardian\); mfa_token (\S+) expires at /.exec(
        (required.details as { cause: string }).cause,
      );
    expect(named).not.to.equal(null);
    expect(JSON.stringify(required)).not.to.include(token);
    expect(server.verifications).to.deep.equal([]);

    const res = await redeemOtp(server, token, '123456');
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.headers).to.include(NO_STORE);
    expect(res.body).to.deep.equal({
      access_token: res.body.access_token,
      token_type: 'Bearer',
      expires_in: 3600,
      scope,
      id_token: res.body.id_token,
      refresh_token: res.body.refresh_token,
    });
    expect(server.verifications).to.deep.equal([
      {
        type: 'otp',
        user: { user_id: 'auth0|alice' },
        client_id: 'app',
        mfa_token: token,
        provider: 'guardian',
        otp: '123456',
      },
    ]);
    const access = await verifyToken(server, res.body.access_token, API);
    expect(access.payload).to.include({
      sub: 'auth0|alice',
      client_id: 'app',
      scope,
      'https://acme.example/tier': 'gold',
    });
    const id = await verifyToken(server, res.body.id_token, 'app');
    expect(id.payload).to.include({ sub: 'auth0|alice', 'https://acme.example/plan': 'pro' });
    // The refresh token works like any other: the family was started by the redemption.
    const refreshed = await tokenRequest(server, {
      grant_type: 'refresh_token',
      refresh_token: res.body.refresh_token,
    });
    expect(refreshed.status, JSON.stringify(refreshed.body)).to.equal(200);

    const entries = await server.cte.logs.list();
    const success = entries.find((entry) => entry.type === 'seotpft')!;
    expect(success).to.deep.equal(
      await entryFor(
        server,
        success,
        {
          type: 'seotpft',
          description: 'Successful Exchange of MFA OTP Challenge for Access Token',
          scope,
        },
        {
          access_token_jti: access.payload.jti,
          refresh_token_family_id: (success.details as { refresh_token_family_id: string })
            .refresh_token_family_id,
          mfa_token_jti: named![1],
        },
      ),
    );
    expect(JSON.stringify(success)).not.to.include(token);
    expect(JSON.stringify(success)).not.to.include('123456');
  });

  it('refuses a wrong code without spending the token, then accepts the right one', async () => {
    const token = await mfaToken(server);
    server.verifier.answer = async ({ otp }) => otp === '654321';
    const wrong = await redeemOtp(server, token, '000000');
    expect(wrong.status).to.equal(403);
    expect(wrong.headers).to.include(NO_STORE);
    expect(wrong.body).to.deep.equal(WRONG_OTP);
    const failed = await newestEntry(server);
    expect(failed).to.deep.equal(
      await entryFor(
        server,
        failed,
        { type: 'feotpft', description: 'Invalid otp_code.' },
        {
          error: 'invalid_grant',
          error_description: 'Invalid otp_code.',
          cause: 'mfa.verify refused the code (attempt 1 of 5)',
        },
      ),
    );
    const right = await redeemOtp(server, token, '654321');
    expect(right.status, JSON.stringify(right.body)).to.equal(200);
  });

  it('spends the token after maxAttempts codes: no further code reaches the verifier', async () => {
    server = await mfaServer({ maxAttempts: 2 });
    server.behave.current = (_event, api) => api.multifactor.enable('any');
    const token = await mfaToken(server);
    server.verifier.answer = async () => false;
    expect((await redeemOtp(server, token, '1')).body).to.deep.equal(WRONG_OTP);
    expect((await redeemOtp(server, token, '2')).body).to.deep.equal(WRONG_OTP);
    server.verifier.answer = async () => true;
    const blocked = await redeemOtp(server, token, '3');
    expect(blocked.status).to.equal(429);
    expect(blocked.body).to.deep.equal({
      error: 'too_many_attempts',
      error_description:
        'Too many failed codes: this mfa_token can no longer be used; start a new exchange.',
    });
    expect(server.verifications.map(({ otp }) => otp)).to.deep.equal(['1', '2']);
    expect((await newestEntry(server)).type).to.equal('feotpft');
  });

  it('redeems a token once: a second redemption is expired_token', async () => {
    const token = await mfaToken(server);
    expect((await redeemOtp(server, token, '123456')).status).to.equal(200);
    const again = await redeemOtp(server, token, '123456');
    expect(again.status).to.equal(401);
    expect(again.body).to.deep.equal(EXPIRED);
    expect((await newestEntry(server)).details).to.include({
      cause: (await newestEntry(server)).details.cause,
      error: 'expired_token',
    });
    expect(String((await newestEntry(server)).details.cause)).to.match(
      /^mfa_token \S+ was already redeemed or spent$/,
    );
  });

  it('refuses a token past its lifetime', async () => {
    server = await mfaServer({ tokenLifetime: 60 });
    server.behave.current = (_event, api) => api.multifactor.enable('any');
    // Started in the past, so the clock never runs ahead of the real one: log ids are
    // monotonic, and an entry written in the future would hold later tests' ids there.
    const clock = FakeTimers.install({ toFake: ['Date'], now: Date.now() - 180_000 });
    try {
      const token = await mfaToken(server);
      clock.tick(59_000);
      expect((await redeemOtp(server, token, '1')).status).to.equal(200);
      const late = await mfaToken(server);
      clock.tick(60_000);
      const res = await redeemOtp(server, late, '1');
      expect(res.status).to.equal(401);
      expect(res.body).to.deep.equal(EXPIRED);
      expect(server.verifications).to.have.length(1);
    } finally {
      clock.uninstall();
    }
  });

  it("refuses another client's token, a tampered or forged token, and garbage, as malformed", async () => {
    const token = await mfaToken(server);
    const other = await redeemOtp(server, token, '1', 'post-app');
    expect(other.status).to.equal(403);
    expect(other.body).to.deep.equal(MALFORMED);
    expect((await newestEntry(server)).details.cause).to.match(
      /^mfa_token \S+ was issued to client "app"$/,
    );
    const parts = token.split('.');
    parts[3] = `${parts[3]!.slice(0, -2)}${parts[3]!.endsWith('AA') ? 'BB' : 'AA'}`;
    const forger = await mfaServer({ secret: 'another-secret-of-at-least-32-bytes-!!' });
    forger.behave.current = (_event, api) => api.multifactor.enable('any');
    const forged = await mfaToken(forger);
    for (const bad of [parts.join('.'), forged, 'garbage']) {
      const res = await redeemOtp(server, bad, '1');
      expect(res.status, bad).to.equal(403);
      expect(res.body).to.deep.equal(MALFORMED);
    }
    expect(server.verifications).to.deep.equal([]);
    // The genuine token is untouched by all of that.
    expect((await redeemOtp(server, token, '1')).status).to.equal(200);
  });

  it("refuses the token of another tenant's router with the same secret (another issuer)", async () => {
    const token = await mfaToken(server);
    const tenant = await mfaServer({}, { issuer: 'https://other-tenant.example.com/' });
    const res = await redeemOtp(tenant, token, '1');
    expect(res.status).to.equal(403);
    expect(res.body).to.deep.equal(MALFORMED);
    expect(tenant.verifications).to.deep.equal([]);
    expect((await redeemOtp(server, token, '1')).status).to.equal(200);
  });

  it('binds the redemption to the DPoP key of the exchange', async () => {
    const key = await dpopKey();
    const post = async (body: Record<string, string>, proof?: string) => {
      const req = request(server.app).post('/oauth/token').set('Authorization', APP).type('form');
      if (proof !== undefined) req.set('DPoP', proof);
      return req.send(form(body));
    };
    const required = await post(exchangeBody() as Record<string, string>, await dpopProof(key));
    expect(required.status).to.equal(403);
    const token = required.body.mfa_token as string;
    const redeem = {
      grant_type: 'http://auth0.com/oauth/grant-type/mfa-otp',
      mfa_token: token,
      otp: '1',
    };
    for (const proof of [undefined, await dpopProof(await dpopKey())]) {
      const res = await post(redeem, proof);
      expect(res.status).to.equal(400);
      expect(res.body).to.deep.equal({
        error: 'invalid_dpop_proof',
        error_description: 'the mfa_token is bound to the DPoP key of its exchange',
      });
    }
    const bound = await post(redeem, await dpopProof(key));
    expect(bound.status, JSON.stringify(bound.body)).to.equal(200);
    expect(bound.body.token_type).to.equal('DPoP');
    const access = await verifyToken(server, bound.body.access_token, API);
    expect(access.payload.cnf).to.deep.equal({ jkt: key.jkt });
  });

  it('asks for mfa_token and otp', async () => {
    const token = await mfaToken(server);
    const cases: Array<[Record<string, string>, string]> = [
      [{ otp: '1' }, 'mfa_token is required'],
      [{ mfa_token: token }, 'otp is required'],
    ];
    for (const [body, description] of cases) {
      const res = await tokenRequest(server, {
        grant_type: 'http://auth0.com/oauth/grant-type/mfa-otp',
        ...body,
      });
      expect(res.status).to.equal(400);
      expect(res.body).to.deep.equal({ error: 'invalid_request', error_description: description });
    }
  });

  it('answers 503 when the verifier is late and 500 when it throws, the cause in the log', async () => {
    server = await mfaServer({ timeoutMs: 50 });
    server.behave.current = (_event, api) => api.multifactor.enable('any');
    const token = await mfaToken(server);
    let release: (() => void) | undefined;
    server.verifier.answer = () =>
      new Promise((resolve) => {
        release = () => resolve(true);
      });
    const late = await redeemOtp(server, token, '1');
    release?.();
    expect(late.status).to.equal(503);
    expect(late.headers).to.include({ 'retry-after': '1' });
    expect(late.body).to.deep.equal({
      error: 'temporarily_unavailable',
      error_description: 'The server is busy; retry later.',
    });
    expect((await newestEntry(server)).details.cause).to.equal(
      'mfa.verify did not answer within 50 ms',
    );
    server.verifier.answer = async () => {
      throw new Error('the OTP service is down');
    };
    const thrown = await redeemOtp(server, token, '1');
    expect(thrown.status).to.equal(500);
    expect(thrown.body).to.deep.equal({
      error: 'server_error',
      error_description: 'The server encountered an unexpected error.',
    });
    expect((await newestEntry(server)).details.cause).to.equal(
      'mfa.verify threw Error: the OTP service is down',
    );
    // Neither spent the token.
    server.verifier.answer = async () => true;
    expect((await redeemOtp(server, token, '1')).status).to.equal(200);
  });
});
