import { expect } from 'chai';
import request from 'supertest';
import { customTokenExchange } from '../../lib/index.js';
import { MemoryReplayStore } from '../../lib/stores/memory-replay-store.js';
import type { ReplayStore } from '../../lib/stores/replay-store.js';
import {
  API,
  ISSUER,
  SECRET,
  exchangeBody,
  form,
  testServer,
  testSigningKeys,
} from '../support/fixtures.js';
import {
  MFA_OTP,
  MFA_REQUIRED,
  mfaServer,
  mfaToken,
  newestEntry,
  redeemOtp,
  tokenRequest,
} from '../support/mfa.js';
import type { MfaHarness } from '../support/mfa.js';
import { SERVER_ERROR } from '../support/oauth-responses.js';

const ACTOR = `actor:${Buffer.from(JSON.stringify({ sub: 'agent|7' })).toString('base64url')}`;

describe("MFA inside the exchange: the client's mfa_policy", () => {
  let server: MfaHarness;
  beforeEach(async () => {
    server = await mfaServer();
  });

  it('asks every exchange of an `always` client for MFA (provider any), and no other client', async () => {
    const token = await mfaToken(server, {}, 'mfa-app');
    expect((await newestEntry(server)).details.cause).to.match(
      /^client "mfa-app"'s mfa_policy requires MFA \(provider any\); mfa_token /,
    );
    expect((await tokenRequest(server, exchangeBody() as Record<string, string>)).status).to.equal(
      200,
    );
    const res = await redeemOtp(server, token, '1', 'mfa-app');
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(server.verifications[0]).to.include({ provider: 'any', client_id: 'mfa-app' });
    const view = await server.cte.clients.get('mfa-app');
    expect(view.mfa_policy).to.equal('always');
    expect((await server.cte.clients.get('app')).mfa_policy).to.equal('never');
  });

  it('refuses the redemption once the client may no longer use custom token exchange', async () => {
    server.behave.current = (_event, api) => api.multifactor.enable('any');
    const token = await mfaToken(server);
    await server.cte.clients.update('app', { token_exchange: { allow_any_profile_of_type: [] } });
    const res = await redeemOtp(server, token, '1');
    expect(res.status).to.equal(400);
    expect(res.body).to.deep.equal({
      error: 'unauthorized_client',
      error_description: 'the client is not allowed to use custom token exchange',
    });
    expect(server.verifications).to.deep.equal([]);
  });

  it('refuses the redemption on a router that no longer grants the client the API', async () => {
    server.behave.current = (_event, api) => api.multifactor.enable('any');
    const token = await mfaToken(server);
    // Same secret, so the token opens; client grants are per router, and this one has none for app.
    const other = await mfaServer(
      {},
      { clientGrants: [{ client_id: 'post-app', audience: API, scope: [] }] },
    );
    const res = await redeemOtp(other, token, '1');
    expect(res.status).to.equal(403);
    expect(res.body).to.deep.equal({
      error: 'invalid_grant',
      error_description: 'Malformed mfa_token',
    });
    expect((await newestEntry(other)).details).to.include({
      error: 'invalid_grant',
      cause: `client "app" has no client grant for "${API}" any more`,
    });
    expect(other.verifications).to.deep.equal([]);
  });

  it("refuses MFA with an actor with Auth0's 400, from the policy and from the action", async () => {
    const expected = {
      error: 'invalid_request',
      error_description:
        'MFA is not supported using actor_token with the requested token exchange profile.',
    };
    const fromPolicy = await tokenRequest(
      server,
      exchangeBody({ subject_token: ACTOR }) as Record<string, string>,
      'mfa-app',
    );
    expect(fromPolicy.status).to.equal(400);
    expect(fromPolicy.body).to.deep.equal(expected);
    server.behave.current = (_event, api) => api.multifactor.enable('any');
    const fromAction = await tokenRequest(
      server,
      exchangeBody({ subject_token: ACTOR }) as Record<string, string>,
    );
    expect(fromAction.status).to.equal(400);
    expect(fromAction.body).to.deep.equal(expected);
    expect((await newestEntry(server)).details).to.include({
      error: 'invalid_request',
      cause: "the post-exchange action requires MFA and the profile's action set an actor",
    });
  });

  it('fails closed on a bad api.multifactor.enable call, the reason in the log', async () => {
    const calls: Array<[unknown, string]> = [
      ['sms', 'provider must be one of "any", "duo", "google-authenticator", "guardian"'],
      [{ allowRememberBrowser: 'yes' }, 'options.allowRememberBrowser must be a boolean'],
      [
        { remember: true },
        'options.remember is not an option (allowRememberBrowser, providerOptions)',
      ],
    ];
    for (const [argument, message] of calls) {
      server.behave.current = (_event, api) => {
        const enable = api.multifactor.enable.bind(api.multifactor) as (...args: unknown[]) => void;
        if (typeof argument === 'string') enable(argument);
        else enable('any', argument);
      };
      const res = await tokenRequest(server, exchangeBody() as Record<string, string>);
      expect(res.status).to.equal(500);
      expect(res.body).to.deep.equal(SERVER_ERROR);
      expect(String((await newestEntry(server)).details.cause)).to.include(
        `api.multifactor.enable: ${message}`,
      );
    }
  });

  it('refuses api.multifactor.enable when the exchange has an organization', async () => {
    server = await mfaServer(
      {},
      {
        clients: [
          {
            client_id: 'app',
            client_secret: SECRET,
            name: 'Org app',
            token_endpoint_auth_method: 'client_secret_basic',
            organization_usage: 'allow',
            token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
          },
        ],
      },
    );
    const org = await server.cte.organizations.create({ name: 'acme' });
    await server.cte.organizations.connections.set(org.id, {
      connection: 'Username-Password-Authentication',
    });
    await server.cte.organizations.members.add(org.id, ['auth0|alice']);
    server.behave.current = (_event, api) => api.multifactor.enable('guardian');
    const res = await tokenRequest(
      server,
      exchangeBody({ organization: org.id }) as Record<string, string>,
    );
    expect(res.status).to.equal(500);
    expect(res.body).to.deep.equal(SERVER_ERROR);
    expect(String((await newestEntry(server)).details.cause)).to.include(
      'api.multifactor.enable: api.multifactor.enable() is not available when the exchange has an organization',
    );
    // The same exchange without the organization asks for MFA.
    expect((await tokenRequest(server, exchangeBody() as Record<string, string>)).body).to.include(
      MFA_REQUIRED,
    );
  });
});

describe('MFA inside the exchange: without options.mfa', () => {
  it('hands the MFA grants to the host (and leaves them out of the metadata), fails an exchange asking for MFA', async () => {
    const server = await testServer();
    const action = await server.cte.actions.create({
      name: 'wants-mfa',
      handler: { onExecutePostExchange: (_event, api) => api.multifactor.enable('any') },
    });
    await server.cte.actions.deploy(action.id);
    await server.cte.postExchange.set(action.id);
    const res = await tokenRequest(server, exchangeBody() as Record<string, string>);
    expect(res.status).to.equal(500);
    expect(res.body).to.deep.equal(SERVER_ERROR);
    expect((await newestEntry(server)).details.cause).to.equal(
      'the post-exchange action requires MFA but options.mfa is not configured: no verifier can redeem an mfa_token',
    );
    const plain = await request(server.app).get('/.well-known/oauth-authorization-server');
    expect(plain.body.grant_types_supported).to.deep.equal([
      'urn:ietf:params:oauth:grant-type:token-exchange',
      'refresh_token',
    ]);
    const withMfa = await mfaServer();
    const listed = await request(withMfa.app).get('/.well-known/oauth-authorization-server');
    expect(listed.body.grant_types_supported).to.deep.equal([
      'urn:ietf:params:oauth:grant-type:token-exchange',
      'refresh_token',
      MFA_OTP,
      'http://auth0.com/oauth/grant-type/mfa-oob',
    ]);
    const otp = await request(server.app)
      .post('/oauth/token')
      .type('form')
      .send(form({ grant_type: MFA_OTP, mfa_token: 'x', otp: '1' }));
    expect(otp.body).to.deep.equal({
      host: true,
      body: { grant_type: MFA_OTP, mfa_token: 'x', otp: '1' },
    });
  });

  it('refuses at construction what could never work', async () => {
    const keys = await testSigningKeys();
    const base = { issuer: ISSUER, keys, sandbox: false, resourceServers: [], clients: [] };
    const client = {
      client_id: 'c',
      client_secret: SECRET,
      name: 'C',
      token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
    };
    const verify = (): boolean => true;
    expect(() =>
      customTokenExchange({ ...base, clients: [{ ...client, mfa_policy: 'always' }] }),
    ).to.throw(
      TypeError,
      'options.clients[0].mfa_policy is "always" but options.mfa (its verify function) is absent',
    );
    expect(() =>
      customTokenExchange({
        ...base,
        mfa: { verify },
        clients: [{ ...client, mfa_policy: 'always', organization_usage: 'allow' }],
      }),
    ).to.throw(
      TypeError,
      'options.clients[0].mfa_policy cannot be "always" with an organization_usage',
    );
    expect(() =>
      customTokenExchange({
        ...base,
        mfa: { verify },
        clients: [{ ...client, mfa_policy: 'sometimes' as 'always' }],
      }),
    ).to.throw(TypeError, 'options.clients[0].mfa_policy');
    const shared: ReplayStore = { consume: async () => true };
    expect(() =>
      customTokenExchange({ ...base, mfa: { verify }, stores: { replay: shared } }),
    ).to.throw(
      TypeError,
      'options.mfa.secret is required with a shared store (options.stores.replay)',
    );
    const single = customTokenExchange({
      ...base,
      mfa: { verify },
      stores: { replay: new MemoryReplayStore() },
    });
    await single.close();
  });
});

describe('MFA inside the exchange: a sandboxed post-exchange action', () => {
  it('calls api.multifactor.enable from code in isolated-vm', async () => {
    const server = await mfaServer({}, { sandbox: true });
    try {
      const action = await server.cte.actions.create({
        name: 'sandboxed-mfa',
        code: `exports.onExecutePostExchange = async (event, api) => {
  api.multifactor.enable('duo', { allowRememberBrowser: false, providerOptions: { host: 'x' } });
};`,
        supported_triggers: [{ id: 'post-exchange', version: 'v1' }],
      });
      await server.cte.actions.deploy(action.id);
      await server.cte.postExchange.set(action.id);
      const token = await mfaToken(server);
      expect((await redeemOtp(server, token, '1')).status).to.equal(200);
      expect(server.verifications[0]).to.include({ provider: 'duo' });
    } finally {
      await server.cte.close();
    }
  });
});
