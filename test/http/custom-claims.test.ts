import { expect } from 'chai';

import type { Response } from 'supertest';
import type { LogEntry, PostExchangeEvent, PostExchangeHandler } from '../../lib/index.js';
import { MAX_CUSTOM_CLAIMS_BYTES } from '../../lib/actions/post-exchange-recorder.js';
import {
  ACCESS_TOKEN_TYPE,
  API,
  SUBJECT_TYPE,
  exchangeBody,
  testServer,
  profileFor,
  PROFILE_EMAIL_CLAIMS,
  ALICE_PROFILE,
} from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';
import {
  newestEntry as newest,
  postToken,
  verifyToken as verify,
  expectIssued,
  appAccessClaims,
  appIdClaims,
} from '../support/token-requests.js';
import { NO_STORE, SERVER_ERROR } from '../support/oauth-responses.js';
import { managementError } from '../support/rejections.js';
import { appEntryFields, ALICE_ENTRY } from '../support/log-entries.js';

const POST_EXCHANGE = [{ id: 'post-exchange', version: 'v1' }];
const USER_AGENT = 'cte-claims-tests/1.0';
/** Spec §3: never settable by a custom-claims hook, on any token. */
const RESTRICTED = [
  'act',
  'may_act',
  'iss',
  'sub',
  'aud',
  'exp',
  'iat',
  'nbf',
  'jti',
  'client_id',
  'scope',
  'azp',
  'org_id',
  'org_name',
  'cnf',
];
/** OIDC claims of the ID token, released by their scopes only. */
const ID_TOKEN_ONLY_RESTRICTED = [
  ...PROFILE_EMAIL_CLAIMS,
  'nonce',
  'auth_time',
  'at_hash',
  'c_hash',
  'acr',
  'amr',
];

function post(server: TestServer, body: Record<string, string | string[]>): Promise<Response> {
  return postToken(server, body, { userAgent: USER_AGENT }).then((res) => res);
}

/** The `fecte` entry of an exchange that failed after the user was set (alice). */
async function failedAfterUser(
  server: TestServer,
  entry: LogEntry,
  details: { error: string; error_description: string; cause: string; console?: string[] },
  scope?: string,
): Promise<LogEntry> {
  const profile = await profileFor(server.cte, SUBJECT_TYPE);
  expect(entry.ip).to.match(/127\.0\.0\.1$/);
  return {
    ...appEntryFields(entry, USER_AGENT),
    type: 'fecte',
    description: details.error_description,
    ...(scope === undefined ? {} : { scope }),
    ...ALICE_ENTRY,
    details: {
      subject_token_type: SUBJECT_TYPE,
      profile_id: profile.id,
      action_id: profile.action_id,
      ...(details.console ? { console: details.console } : {}),
      error: details.error,
      error_description: details.error_description,
      cause: details.cause,
    },
  };
}

interface ClaimsHarness extends TestServer {
  hookId: string;
  events: PostExchangeEvent[];
  /** What the post-exchange handler does; replaced per test. */
  behave: { current: PostExchangeHandler };
}

/** The fixture server with an in-process post-exchange action set on its hook. */
async function claimsServer(): Promise<ClaimsHarness> {
  const server = await testServer();
  const events: PostExchangeEvent[] = [];
  const behave: ClaimsHarness['behave'] = { current: () => undefined };
  const action = await server.cte.actions.create({
    name: 'add-claims',
    secrets: { CLAIMS_KEY: 'post-exchange-secret-value' },
    handler: {
      onExecutePostExchange: async (event, api) => {
        events.push(structuredClone(event));
        await behave.current(event, api);
      },
    },
  });
  await server.cte.actions.deploy(action.id);
  expect(await server.cte.postExchange.set(action.id)).to.deep.equal({ action_id: action.id });
  return { ...server, hookId: action.id, events, behave };
}

describe('custom claims: the post-exchange action (in-process handler)', () => {
  let server: ClaimsHarness;
  beforeEach(async () => {
    server = await claimsServer();
  });

  it('adds its claims to both tokens; the tokens keep every claim of their own', async () => {
    server.behave.current = (event, api) => {
      api.accessToken.setCustomClaim('https://acme.example/roles', ['buyer', 'admin']);
      api.accessToken.setCustomClaim('email', event.user.email);
      api.accessToken.setCustomClaim('tier', { level: 2, since: '2024' });
      api.accessToken.setCustomClaim('tier', { level: 3 });
      api.idToken.setCustomClaim('https://acme.example/plan', 'gold');
      api.idToken.setCustomClaim('flags', [true, null, 1.5]);
    };
    const res = await post(server, exchangeBody({ scope: 'openid read:orders' }));
    expectIssued(res, {
      scope: 'openid read:orders',
      id_token: res.body.id_token,
    });

    const access = await verify(server, res.body.access_token, API);
    expect(access.payload).to.deep.equal(
      appAccessClaims(access.payload, {
        sub: 'auth0|alice',
        scope: 'openid read:orders',
        'https://acme.example/roles': ['buyer', 'admin'],
        email: 'alice@example.com',
        tier: { level: 3 },
      }),
    );
    const id = await verify(server, res.body.id_token, 'app');
    // The exchange authenticated the user: auth_time is iat.
    expect(id.payload).to.deep.equal(
      appIdClaims(id.payload, {
        sub: 'auth0|alice',
        'https://acme.example/plan': 'gold',
        flags: [true, null, 1.5],
      }),
    );
    expect((await newest(server)).type).to.equal('secte');
  });

  it('sees the user, the actor, the client, the API, the granted scopes and its own secrets', async () => {
    const actor = { sub: 'agent-7', role: 'support', act: { sub: 'platform-bot' } };
    const res = await post(
      server,
      exchangeBody({
        subject_token: `actor:${Buffer.from(JSON.stringify(actor)).toString('base64url')}`,
        scope: 'openid email read:orders delete:everything',
        device: 'kiosk-7',
      }),
    );
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    const alice = server.users.getById('auth0|alice')!;
    const profile = await profileFor(server.cte, SUBJECT_TYPE);
    const event = server.events.at(-1)!;
    expect(event.request.ip).to.match(/127\.0\.0\.1$/);
    expect(event).to.deep.equal({
      user: {
        ...ALICE_PROFILE,
        app_metadata: {},
        user_metadata: {},
        identities: [
          {
            connection: 'Username-Password-Authentication',
            user_id: 'alice',
            provider: 'Username-Password-Authentication',
            isSocial: false,
          },
        ],
        created_at: alice.created_at,
        updated_at: alice.updated_at,
      },
      actor,
      client: { client_id: 'app', name: 'First-party app', metadata: { team: 'checkout' } },
      request: {
        ip: event.request.ip,
        hostname: '127.0.0.1',
        method: 'POST',
        user_agent: USER_AGENT,
        body: { device: 'kiosk-7' },
      },
      resource_server: { identifier: API },
      secrets: { CLAIMS_KEY: 'post-exchange-secret-value' },
      tenant: { id: 'auth.example.com' },
      transaction: {
        profile: { id: profile.id, name: 'Legacy tokens' },
        subject_token_type: SUBJECT_TYPE,
        requested_scopes: ['openid', 'email', 'read:orders', 'delete:everything'],
        granted_scopes: ['openid', 'email', 'read:orders'],
        requested_token_type: ACCESS_TOKEN_TYPE,
      },
    });
    // The tokens themselves are not handed on.
    expect(JSON.stringify(event)).not.to.include('actor:');
  });

  for (const name of RESTRICTED) {
    for (const token of ['accessToken', 'idToken'] as const) {
      it(`refuses ${token}.setCustomClaim("${name}") inside the action and fails closed`, async () => {
        const thrown: string[] = [];
        server.behave.current = (_event, api) => {
          try {
            api[token].setCustomClaim(name, 'spoofed');
          } catch (err) {
            thrown.push(`${(err as Error).name}: ${(err as Error).message}`);
          }
        };
        const res = await post(server, exchangeBody({ scope: 'openid' }));
        const message = `api.${token}.setCustomClaim: "${name}" is a restricted claim: the router sets it and custom claims cannot`;
        expect(thrown).to.deep.equal([`ActionApiError: ${message}`]);
        expect(res.status).to.equal(500);
        expect(res.headers).to.include(NO_STORE);
        expect(res.body).to.deep.equal(SERVER_ERROR);
        expect(await newest(server)).to.deep.equal(
          await failedAfterUser(
            server,
            await newest(server),
            {
              ...SERVER_ERROR,
              cause: `post-exchange action ${server.hookId}: ${message}`,
            },
            'openid',
          ),
        );
        server.behave.current = () => undefined;
        const next = await post(server, exchangeBody({ scope: 'openid' }));
        expect(next.status, JSON.stringify(next.body)).to.equal(200);
      });
    }
  }

  it('refuses the OIDC claims of the ID token there, and allows them on the access token', async () => {
    for (const name of ID_TOKEN_ONLY_RESTRICTED) {
      const thrown: string[] = [];
      server.behave.current = (_event, api) => {
        api.accessToken.setCustomClaim(name, 'from-the-hook');
        try {
          api.idToken.setCustomClaim(name, 'from-the-hook');
        } catch (err) {
          thrown.push((err as Error).message);
        }
      };
      const res = await post(server, exchangeBody({ scope: 'openid' }));
      const message = `api.idToken.setCustomClaim: "${name}" is an OpenID Connect claim of the ID token that only the router sets (profile claims follow the granted scopes)`;
      expect(thrown).to.deep.equal([message]);
      expect(res.status).to.equal(500);
      expect((await newest(server)).details.cause).to.equal(
        `post-exchange action ${server.hookId}: ${message}`,
      );
    }
    server.behave.current = (_event, api) => {
      for (const name of ID_TOKEN_ONLY_RESTRICTED) {
        api.accessToken.setCustomClaim(name, 'from-the-hook');
      }
    };
    const res = await post(server, exchangeBody({ scope: 'openid' }));
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    const access = await verify(server, res.body.access_token, API);
    for (const name of ID_TOKEN_ONLY_RESTRICTED) {
      expect(access.payload[name]).to.equal('from-the-hook');
    }
  });

  const badCalls: Array<{
    name: string;
    call: PostExchangeHandler;
    message: string;
  }> = [
    {
      name: 'a function value',
      call: (_e, api) => api.accessToken.setCustomClaim('f', () => 1),
      message: 'api.accessToken.setCustomClaim: value is a function, not plain data',
    },
    {
      name: 'NaN',
      call: (_e, api) => api.idToken.setCustomClaim('n', Number.NaN),
      message: 'api.idToken.setCustomClaim: value is NaN, which is not JSON data',
    },
    {
      name: 'a Date',
      call: (_e, api) => api.accessToken.setCustomClaim('d', new Date(0)),
      message: 'api.accessToken.setCustomClaim: value is an instance of Date, not plain data',
    },
    {
      name: 'undefined',
      call: (_e, api) => api.accessToken.setCustomClaim('u', undefined),
      message: 'api.accessToken.setCustomClaim: value is undefined, which is not JSON data',
    },
    {
      name: 'a name that is not a string',
      call: (_e, api) => api.accessToken.setCustomClaim(42 as unknown as string, 'x'),
      message: 'api.accessToken.setCustomClaim: name must be a string, got a number',
    },
    {
      name: 'an empty name',
      call: (_e, api) => api.idToken.setCustomClaim('', 'x'),
      message: 'api.idToken.setCustomClaim: name must not be empty',
    },
    {
      name: 'a "__proto__" name',
      call: (_e, api) => api.accessToken.setCustomClaim('__proto__', { polluted: true }),
      message: 'api.accessToken.setCustomClaim: "__proto__" is not an allowed claim name',
    },
    {
      name: 'claims over the size cap of one token',
      call: (_e, api) => {
        api.accessToken.setCustomClaim('a', 'x'.repeat(MAX_CUSTOM_CLAIMS_BYTES / 2));
        api.accessToken.setCustomClaim('a', 'x'.repeat(MAX_CUSTOM_CLAIMS_BYTES / 2));
        api.idToken.setCustomClaim('a', 'x'.repeat(MAX_CUSTOM_CLAIMS_BYTES / 2));
        api.accessToken.setCustomClaim('b', 'x'.repeat(MAX_CUSTOM_CLAIMS_BYTES / 2));
      },
      message: `api.accessToken.setCustomClaim: the custom claims of the access token would take ${
        MAX_CUSTOM_CLAIMS_BYTES + 6
      } bytes; at most ${MAX_CUSTOM_CLAIMS_BYTES} are allowed`,
    },
  ];
  for (const { name, call, message } of badCalls) {
    it(`refuses ${name} with a clear error and fails closed`, async () => {
      const thrown: string[] = [];
      server.behave.current = async (event, api) => {
        try {
          await call(event, api);
        } catch (err) {
          thrown.push((err as Error).message);
        }
      };
      const res = await post(server, exchangeBody());
      expect(thrown).to.deep.equal([message]);
      expect(res.status).to.equal(500);
      expect(res.body).to.deep.equal(SERVER_ERROR);
      expect((await newest(server)).details.cause).to.equal(
        `post-exchange action ${server.hookId}: ${message}`,
      );
      expect(Object.prototype).not.to.have.property('polluted');
    });
  }

  it('answers a deny with its code and reason, issues nothing, and serves the next request', async () => {
    server.behave.current = (event, api) => {
      if (event.actor === undefined) api.access.deny('unauthorized_actor', 'only agents here');
      api.accessToken.setCustomClaim('ignored', true);
    };
    const res = await post(server, exchangeBody({ scope: 'openid' }));
    expect(res.status).to.equal(400);
    expect(res.headers).to.include(NO_STORE);
    expect(res.body).to.deep.equal({
      error: 'unauthorized_actor',
      error_description: 'only agents here',
    });
    expect(await newest(server)).to.deep.equal(
      await failedAfterUser(
        server,
        await newest(server),
        {
          error: 'unauthorized_actor',
          error_description: 'only agents here',
          cause: `denied by the post-exchange action ${server.hookId}`,
        },
        'openid',
      ),
    );

    server.behave.current = (_event, api) => api.access.deny('server_error', 'claims backend down');
    const failed = await post(server, exchangeBody());
    expect(failed.status).to.equal(500);
    expect(failed.body).to.deep.equal({
      error: 'server_error',
      error_description: 'claims backend down',
    });

    server.behave.current = () => undefined;
    const next = await post(server, exchangeBody());
    expect(next.status, JSON.stringify(next.body)).to.equal(200);
  });

  it('answers 500 when the action throws, the cause in the log, and serves the next request', async () => {
    server.behave.current = () => {
      throw new TypeError('claims service answered garbage');
    };
    const res = await post(server, exchangeBody());
    expect(res.status).to.equal(500);
    expect(res.body).to.deep.equal(SERVER_ERROR);
    const entry = await newest(server);
    expect(entry.type).to.equal('fecte');
    expect(entry.user_id).to.equal('auth0|alice');
    expect(entry.details.cause).to.match(
      new RegExp(
        `^post-exchange action ${server.hookId} failed: TypeError: claims service answered garbage \\(at .*custom-claims\\.test\\.ts`,
      ),
    );
    server.behave.current = () => undefined;
    expect((await post(server, exchangeBody())).status).to.equal(200);
  });

  it('does not run when the profile action failed, and issues plain tokens once cleared', async () => {
    expect((await post(server, exchangeBody({ subject_token: 'reject' }))).status).to.equal(400);
    const blocked = await post(server, exchangeBody({ subject_token: 'user:auth0|blocked' }));
    expect(blocked.status).to.equal(401);
    expect(server.events).to.deep.equal([]);

    server.behave.current = (_event, api) => api.accessToken.setCustomClaim('added', true);
    const withClaim = await post(server, exchangeBody());
    expect((await verify(server, withClaim.body.access_token, API)).payload.added).to.equal(true);

    expect(await server.cte.postExchange.clear()).to.equal(true);
    expect(await server.cte.postExchange.get()).to.equal(undefined);
    expect(await server.cte.postExchange.clear()).to.equal(false);
    const plain = await post(server, exchangeBody());
    expect(plain.status).to.equal(200);
    expect((await verify(server, plain.body.access_token, API)).payload).not.to.have.property(
      'added',
    );
    expect(server.events).to.have.length(1);
  });

  it('runs the live version: a deploy changes the claims at once', async () => {
    await server.cte.actions.update(server.hookId, {
      handler: {
        onExecutePostExchange: (_event, api) => api.accessToken.setCustomClaim('version', 2),
      },
    });
    const before = await post(server, exchangeBody());
    expect((await verify(server, before.body.access_token, API)).payload).not.to.have.property(
      'version',
    );
    await server.cte.actions.deploy(server.hookId);
    const after = await post(server, exchangeBody());
    expect((await verify(server, after.body.access_token, API)).payload.version).to.equal(2);
  });
});

describe('custom claims: configuring the post-exchange hook', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await testServer();
  });
  const noop = { onExecutePostExchange: () => undefined };

  it('sets only a deployed action that declares the post-exchange trigger', async () => {
    expect(await managementError(server.cte.postExchange.set('nope'))).to.deep.equal({
      code: 'not_found',
      message: 'Action not found.',
    });
    const profileAction = (await profileFor(server.cte, SUBJECT_TYPE)).action_id;
    expect(await managementError(server.cte.postExchange.set(profileAction))).to.deep.equal({
      code: 'invalid_body',
      message: 'Action must have supported_triggers: post-exchange',
    });
    const hook = await server.cte.actions.create({ name: 'claims', handler: noop });
    expect(hook.supported_triggers).to.deep.equal(POST_EXCHANGE);
    expect(await managementError(server.cte.postExchange.set(hook.id))).to.deep.equal({
      code: 'action_not_deployed',
      message: 'Action is not deployed',
    });
    expect(await server.cte.postExchange.get()).to.equal(undefined);
    await server.cte.actions.deploy(hook.id);
    expect(await server.cte.postExchange.set(hook.id)).to.deep.equal({ action_id: hook.id });
    expect(await server.cte.postExchange.get()).to.deep.equal({ action_id: hook.id });
  });

  it('keeps the two triggers apart: a profile cannot bind a post-exchange action', async () => {
    const hook = await server.cte.actions.create({ name: 'claims', handler: noop });
    await server.cte.actions.deploy(hook.id);
    expect(
      await managementError(
        server.cte.profiles.create({
          name: 'Hooked',
          subject_token_type: 'urn:acme:hooked',
          action_id: hook.id,
          type: 'custom_authentication',
        }),
      ),
    ).to.deep.equal({
      code: 'invalid_body',
      message: 'Action must have supported_triggers: custom-token-exchange',
    });
    expect(
      await managementError(
        server.cte.actions.create({
          name: 'both',
          code: 'exports.onExecutePostExchange = async () => {};',
          supported_triggers: [...POST_EXCHANGE, { id: 'custom-token-exchange', version: 'v1' }],
        }),
      ),
    ).to.deep.equal({
      code: 'invalid_body',
      message:
        'Invalid request body: supported_triggers cannot hold both custom-token-exchange and post-exchange: an action serves one of them.',
    });
    expect(
      await managementError(
        server.cte.actions.create({
          name: 'object',
          handler: noop,
          supported_triggers: [{ id: 'custom-token-exchange', version: 'v1' }],
        }),
      ),
    ).to.deep.equal({
      code: 'invalid_body',
      message:
        "Invalid request body: a { onExecutePostExchange } handler needs supported_triggers [{ id: 'post-exchange', version: 'v1' }].",
    });
  });

  it('takes a function as the handler, as a profile action does, once the trigger is declared', async () => {
    const hook = await server.cte.actions.create({
      name: 'function claims',
      supported_triggers: [{ id: 'post-exchange', version: 'v1' }],
      handler: async (event, api) => {
        api.accessToken.setCustomClaim('https://acme.example/email', event.user.email);
      },
    });
    expect(hook.supported_triggers).to.deep.equal([{ id: 'post-exchange', version: 'v1' }]);
    await server.cte.actions.deploy(hook.id);
    await server.cte.postExchange.set(hook.id);
    const res = await post(server, exchangeBody());
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    const first = await verify(server, res.body.access_token, API);
    expect(first.payload['https://acme.example/email']).to.equal('alice@example.com');

    // A new function in the draft of a post-exchange action is its onExecutePostExchange too.
    await server.cte.actions.update(hook.id, {
      supported_triggers: [{ id: 'post-exchange', version: 'v1' }],
      handler: (_event, api) => api.accessToken.setCustomClaim('version', 2),
    });
    const updated = await server.cte.actions.deploy(hook.id);
    expect(updated.deployed_version?.number).to.equal(2);
    const again = await post(server, exchangeBody());
    expect(again.status, JSON.stringify(again.body)).to.equal(200);
    const second = await verify(server, again.body.access_token, API);
    expect(second.payload).to.include({ version: 2 });
    expect(second.payload).not.to.have.property('https://acme.example/email');
  });

  it('holds the action it runs: no delete, no dropping the trigger, until cleared', async () => {
    const hook = await server.cte.actions.create({ name: 'claims', handler: noop });
    await server.cte.actions.deploy(hook.id);
    await server.cte.postExchange.set(hook.id);
    expect(await managementError(server.cte.actions.delete(hook.id))).to.deep.equal({
      code: 'action_in_use',
      message:
        "Action is bound to the router's post-exchange hook; clear it first with postExchange.clear().",
    });
    expect(
      await managementError(
        server.cte.actions.update(hook.id, {
          supported_triggers: [{ id: 'credentials-exchange', version: 'v2' }],
        }),
      ),
    ).to.deep.equal({
      code: 'action_in_use',
      message:
        "Action is bound to the router's post-exchange hook and must keep the post-exchange trigger.",
    });
    await server.cte.postExchange.clear();
    await server.cte.actions.delete(hook.id);
    expect(await managementError(server.cte.actions.get(hook.id))).to.deep.equal({
      code: 'not_found',
      message: 'Action not found.',
    });
  });
});

describe('custom claims: a sandboxed post-exchange action (isolated-vm)', function () {
  this.timeout(20_000);
  let server: TestServer;
  beforeEach(async () => {
    server = await testServer({ sandbox: true });
  });
  afterEach(async () => {
    await server.cte.close();
  });

  async function hook(code: string, secrets: Record<string, string> = {}): Promise<string> {
    const action = await server.cte.actions.create({
      name: 'sandboxed-claims',
      code,
      secrets,
      supported_triggers: POST_EXCHANGE,
    });
    await server.cte.actions.deploy(action.id);
    await server.cte.postExchange.set(action.id);
    return action.id;
  }

  it('adds claims to both tokens from code, its console lines joining the log entry', async () => {
    await hook(
      `exports.onExecutePostExchange = async (event, api) => {
  console.log('claims for', event.user.user_id, 'key', event.secrets.CLAIMS_KEY);
  api.accessToken.setCustomClaim('https://acme.example/tenant', event.client.metadata.team);
  api.accessToken.setCustomClaim('scopes_seen', event.transaction.granted_scopes);
  api.idToken.setCustomClaim('https://acme.example/verified', event.user.email_verified);
  const cached = api.cache.get('k');
  api.cache.set('k', 'v');
  api.idToken.setCustomClaim('cache_hit', cached !== undefined);
};`,
      { CLAIMS_KEY: 'sandboxed-secret-0123456789' },
    );
    const res = await post(server, exchangeBody({ scope: 'openid read:orders' }));
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    const access = await verify(server, res.body.access_token, API);
    expect(access.payload['https://acme.example/tenant']).to.equal('checkout');
    expect(access.payload.scopes_seen).to.deep.equal(['openid', 'read:orders']);
    const id = await verify(server, res.body.id_token, 'app');
    expect(id.payload['https://acme.example/verified']).to.equal(true);
    expect(id.payload.cache_hit).to.equal(false);
    const entry = await newest(server);
    expect(entry.type).to.equal('secte');
    expect(entry.details.console).to.deep.equal([
      '[post-exchange] claims for auth0|alice key [redacted]',
    ]);
    const again = await post(server, exchangeBody({ scope: 'openid' }));
    expect((await verify(server, again.body.id_token, 'app')).payload.cache_hit).to.equal(true);
  });

  it('refuses a restricted claim caught by the code, fails closed with the cause in the log', async () => {
    const id = await hook(`exports.onExecutePostExchange = async (event, api) => {
  try {
    api.idToken.setCustomClaim('sub', 'auth0|someone-else');
  } catch (err) {
    console.log('refused:', err.name, err.message);
  }
};`);
    const res = await post(server, exchangeBody());
    expect(res.status).to.equal(500);
    expect(res.body).to.deep.equal(SERVER_ERROR);
    const message =
      'api.idToken.setCustomClaim: "sub" is a restricted claim: the router sets it and custom claims cannot';
    expect(await newest(server)).to.deep.equal(
      await failedAfterUser(server, await newest(server), {
        ...SERVER_ERROR,
        console: [`[post-exchange] refused: ActionApiError ${message}`],
        cause: `post-exchange action ${id}: ${message}`,
      }),
    );
  });

  it('fails closed when the code throws (line and column in the cause) or lacks the export', async () => {
    const id = await hook(`exports.onExecutePostExchange = async (event, api) => {
  throw new Error('no claims for ' + event.user.user_id);
};`);
    const res = await post(server, exchangeBody());
    expect(res.status).to.equal(500);
    expect((await newest(server)).details.cause).to.equal(
      `post-exchange action ${id} failed: Error: no claims for auth0|alice (line 2, column 9)`,
    );

    await server.cte.actions.update(id, {
      code: 'exports.onExecuteCustomTokenExchange = async (event, api) => {};',
    });
    await server.cte.actions.deploy(id);
    const missing = await post(server, exchangeBody());
    expect(missing.status).to.equal(500);
    expect((await newest(server)).details.cause).to.equal(
      `post-exchange action ${id} failed: exports.onExecutePostExchange is not a function: the action must assign exports.onExecutePostExchange = async (event, api) => { ... }`,
    );
  });

  it('gives post-exchange code only its own api: no setUserById, no actor', async () => {
    const id = await hook(`exports.onExecutePostExchange = async (event, api) => {
  console.log(Object.keys(api).sort().join(','), typeof api.authentication);
  api.access.deny('access_denied', 'denied from code');
};`);
    const res = await post(server, exchangeBody());
    expect(res.status).to.equal(400);
    expect(res.body).to.deep.equal({
      error: 'access_denied',
      error_description: 'denied from code',
    });
    expect(await newest(server)).to.deep.equal(
      await failedAfterUser(server, await newest(server), {
        error: 'access_denied',
        error_description: 'denied from code',
        console: ['[post-exchange] access,accessToken,cache,idToken,multifactor undefined'],
        cause: `denied by the post-exchange action ${id}`,
      }),
    );
  });
});
