import { expect } from 'chai';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';

import type { Response } from 'supertest';
import type { Actor, CustomTokenExchangeHandler, LogEntry } from '../../lib/index.js';
import type { CustomTokenExchangeEvent } from '../../lib/index.js';
import { parseClient } from '../../lib/registry/clients.js';
import { mintIdToken } from '../../lib/tokens/id-token.js';
import {
  ACCESS_TOKEN_TYPE,
  API,
  GRANT,
  ISSUER,
  SECRET,
  routerKeys,
  testServer,
} from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';
import {
  newestEntry as newest,
  postToken,
  verifyToken as verify,
  expectIssued,
  expectRefusal,
} from '../support/token-requests.js';
import { SERVER_ERROR, APP as APP_AUTH } from '../support/oauth-responses.js';
import { appEntryFields, appFailureEntry, ALICE_ENTRY, SECTE } from '../support/log-entries.js';

/** The fixture's `app` client as the router holds it, to mint ID tokens the way the router does. */
const APP = parseClient(
  { client_id: 'app', client_secret: SECRET, name: 'First-party app' },
  'app',
);

const DELEGATION_TYPE = 'urn:acme:delegated-session';
const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';
const USER_AGENT = 'cte-delegation-tests/1.0';
const INVALID_ACTOR = {
  error: 'invalid_request',
  error_description:
    'actor_token is not a valid, unexpired ID token issued to this client for an active user',
};
const SUPPORT_ACTOR = (sub: string): Actor => ({ sub, sub_profile: 'human', role: 'support' });

interface Harness extends TestServer {
  profileId: string;
  actionId: string;
  /** `event.transaction` of every execution of the delegation action, in order. */
  transactions: Array<CustomTokenExchangeEvent['transaction']>;
}

/**
 * The delegation action: `subject_token` names the user (`user:<id>`); a verified ID-token actor
 * becomes a human support agent acting for them. `chain:<base64url JSON>` sets that actor chain
 * instead, and `chain-caught:<...>` does the same but catches a refused `setActor`, so the
 * exchange fails closed on the recorded violation alone.
 */
const delegationAction =
  (transactions: Harness['transactions']): CustomTokenExchangeHandler =>
  async (event, api) => {
    transactions.push(structuredClone(event.transaction));
    const [verb, ...rest] = event.transaction.subject_token.split(':');
    const arg = rest.join(':');
    if (verb === 'chain' || verb === 'chain-caught') {
      api.authentication.setUserById('auth0|alice');
      const chain = JSON.parse(Buffer.from(arg, 'base64url').toString()) as Actor;
      if (verb === 'chain') return api.authentication.setActor(chain);
      try {
        api.authentication.setActor(chain);
      } catch {
        // refused: the exchange must still fail closed
      }
      return;
    }
    api.authentication.setUserById(arg);
    const agent = event.transaction.actor_token_user;
    if (agent !== undefined) api.authentication.setActor(SUPPORT_ACTOR(agent.user_id));
  };

async function harness(overrides: Parameters<typeof testServer>[0] = {}): Promise<Harness> {
  const server = await testServer(overrides);
  server.users.add({
    user_id: 'auth0|bob',
    email: 'bob@example.com',
    email_verified: true,
    name: 'Bob Support',
    nickname: 'bob',
    identities: [{ connection: 'Username-Password-Authentication', user_id: 'bob' }],
    app_metadata: { roles: ['support'] },
    user_metadata: { desk: 'tier-2' },
  });
  server.users.add({ user_id: 'auth0|carol', email: 'carol@example.com' });
  const transactions: Harness['transactions'] = [];
  const action = await server.cte.actions.create({
    name: 'delegation',
    handler: delegationAction(transactions),
  });
  await server.cte.actions.deploy(action.id);
  const profile = await server.cte.profiles.create({
    name: 'Delegated sessions',
    subject_token_type: DELEGATION_TYPE,
    action_id: action.id,
    type: 'custom_authentication',
  });
  return { ...server, profileId: profile.id, actionId: action.id, transactions };
}

function post(
  server: TestServer,
  body: Record<string, string>,
  auth: string = APP_AUTH,
): Promise<Response> {
  const full = { grant_type: GRANT, subject_token_type: DELEGATION_TYPE, ...body };
  return postToken(server, full, { auth, userAgent: USER_AGENT }).then((res) => res);
}

/** An ID token the router issues to `clientId` for `userId` through an ordinary exchange. */
async function idTokenOf(server: Harness, userId: string, clientId = 'app'): Promise<string> {
  const res = await post(
    server,
    {
      subject_token: `user:${userId}`,
      scope: 'openid profile email',
      ...(clientId === 'app' ? {} : { client_id: clientId, client_secret: SECRET }),
    },
    clientId === 'app' ? APP_AUTH : '',
  );
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return res.body.id_token as string;
}

/** Alice's session taken over by the holder of `actorToken`, as client `app`. */
function delegate(server: Harness, actorToken: string, auth?: string): Promise<Response> {
  return post(
    server,
    { subject_token: 'user:auth0|alice', actor_token: actorToken, actor_token_type: ID_TOKEN_TYPE },
    auth,
  );
}

/** The exact `fecte` entry of a refused ID-token actor. */
function refusedActorEntry(
  server: Harness,
  entry: LogEntry,
  cause: string,
  clientId = 'app',
): LogEntry {
  expect(entry.ip).to.match(/127\.0\.0\.1$/);
  return {
    log_id: entry.log_id,
    date: entry.date,
    type: 'fecte',
    description: INVALID_ACTOR.error_description,
    client_id: clientId,
    client_name: clientId === 'app' ? 'First-party app' : 'Post app',
    ip: entry.ip,
    user_agent: USER_AGENT,
    hostname: '127.0.0.1',
    audience: API,
    details: {
      subject_token_type: DELEGATION_TYPE,
      profile_id: server.profileId,
      action_id: server.actionId,
      error: 'invalid_request',
      error_description: INVALID_ACTOR.error_description,
      cause: `invalid ID-token actor_token: ${cause}`,
    },
  };
}

/**
 * A refused actor token: the exact answer and log entry, no token, the action never ran, one
 * attempt taken from the caller's IP, and the next good request is served.
 */
async function expectRefusedActor(
  server: Harness,
  res: Response,
  cause: string,
  clientId = 'app',
): Promise<void> {
  const before = server.transactions.length;
  expectRefusal(res, 400, INVALID_ACTOR);
  expect(await newest(server)).to.deep.equal(
    refusedActorEntry(server, await newest(server), cause, clientId),
  );
  expect(server.transactions).to.have.length(before);
  const status = await server.cte.attackProtection.status('127.0.0.1');
  expect(status.remaining_attempts).to.equal(9);

  const next = await post(server, { subject_token: 'user:auth0|alice' });
  expect(next.status, JSON.stringify(next.body)).to.equal(200);
  expect(server.transactions).to.have.length(before + 1);
}

describe('delegation: an ID token as actor_token (urn:ietf:params:oauth:token-type:id_token)', () => {
  let server: Harness;
  beforeEach(async () => {
    server = await harness();
  });

  it('verifies it and hands the action actor_token_user; the actor lands in both tokens and the log', async () => {
    const bobToken = await idTokenOf(server, 'auth0|bob');
    const res = await post(server, {
      subject_token: 'user:auth0|alice',
      actor_token: bobToken,
      actor_token_type: ID_TOKEN_TYPE,
      scope: 'openid read:orders',
    });
    expectIssued(res, {
      scope: 'openid read:orders',
      id_token: res.body.id_token,
    });

    const bob = server.users.getById('auth0|bob')!;
    const transaction = server.transactions.at(-1)!;
    expect(transaction).to.deep.equal({
      subject_token: 'user:auth0|alice',
      subject_token_type: DELEGATION_TYPE,
      actor_token: bobToken,
      actor_token_type: ID_TOKEN_TYPE,
      actor_token_user: {
        user_id: 'auth0|bob',
        email: 'bob@example.com',
        email_verified: true,
        name: 'Bob Support',
        nickname: 'bob',
        app_metadata: { roles: ['support'] },
        user_metadata: { desk: 'tier-2' },
        identities: [
          {
            connection: 'Username-Password-Authentication',
            user_id: 'bob',
            provider: 'Username-Password-Authentication',
            isSocial: false,
          },
        ],
        created_at: bob.created_at,
        updated_at: bob.updated_at,
      },
      requested_scopes: ['openid', 'read:orders'],
      requested_token_type: ACCESS_TOKEN_TYPE,
    });

    const act = SUPPORT_ACTOR('auth0|bob');
    const access = await verify(server, res.body.access_token, API);
    expect(access.payload.sub).to.equal('auth0|alice');
    expect(access.payload.act).to.deep.equal(act);
    const id = await verify(server, res.body.id_token, 'app');
    expect(id.payload.sub).to.equal('auth0|alice');
    expect(id.payload.act).to.deep.equal(act);

    const entry = await newest(server);
    expect(entry).to.deep.equal({
      ...appEntryFields(entry, USER_AGENT),
      ...SECTE,
      scope: 'openid read:orders',
      ...ALICE_ENTRY,
      details: {
        subject_token_type: DELEGATION_TYPE,
        profile_id: server.profileId,
        action_id: server.actionId,
        actor: act,
        access_token_jti: access.payload.jti,
      },
    });
    expect(JSON.stringify(await server.cte.logs.list())).not.to.include(bobToken.slice(0, 40));
  });

  it('accepts an HS256 ID token of an HS256 client, verified with that client secret', async () => {
    const hsToken = await idTokenOf(server, 'auth0|bob', 'hs-app');
    const res = await post(
      server,
      {
        subject_token: 'user:auth0|alice',
        actor_token: hsToken,
        actor_token_type: ID_TOKEN_TYPE,
        client_id: 'hs-app',
        client_secret: SECRET,
      },
      '',
    );
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(server.transactions.at(-1)!.actor_token_user?.user_id).to.equal('auth0|bob');
    const access = await verify(server, res.body.access_token, API);
    expect(access.payload.act).to.deep.equal(SUPPORT_ACTOR('auth0|bob'));
  });

  it('refuses an expired ID token', async () => {
    const issuedAt = Math.floor(Date.now() / 1000) - 36_001;
    const expired = await mintIdToken({
      issuer: ISSUER,
      client: APP,
      user: server.users.getById('auth0|bob')!,
      scope: ['openid'],
      keys: await routerKeys(),
      now: issuedAt,
      authTime: issuedAt,
    });
    const res = await delegate(server, expired);
    await expectRefusedActor(
      server,
      res,
      `expired at ${new Date((issuedAt + 36_000) * 1000).toISOString()}`,
    );
  });

  it("refuses client A's ID token presented by client B (wrong audience)", async () => {
    const appToken = await idTokenOf(server, 'auth0|bob', 'app');
    const res = await post(
      server,
      {
        subject_token: 'user:auth0|alice',
        actor_token: appToken,
        actor_token_type: ID_TOKEN_TYPE,
        client_id: 'post-app',
        client_secret: SECRET,
      },
      '',
    );
    const entry = await newest(server);
    expect(res.status).to.equal(400);
    expect(res.body).to.deep.equal(INVALID_ACTOR);
    expect(entry).to.deep.equal(
      refusedActorEntry(
        server,
        entry,
        'aud "app" is not the requesting client "post-app"',
        'post-app',
      ),
    );
    expect(server.transactions.map((t) => t.actor_token_user)).to.deep.equal([undefined]);
    expect((await server.cte.attackProtection.status('127.0.0.1')).remaining_attempts).to.equal(9);
    const next = await delegate(server, appToken);
    expect(next.status, JSON.stringify(next.body)).to.equal(200);
  });

  it('refuses an ID token signed with the router keys for another issuer', async () => {
    const foreignIssuer = await mintIdToken({
      issuer: 'https://other-tenant.example.com/',
      client: APP,
      user: server.users.getById('auth0|bob')!,
      scope: ['openid'],
      keys: await routerKeys(),
      authTime: Math.floor(Date.now() / 1000),
    });
    const res = await delegate(server, foreignIssuer);
    await expectRefusedActor(
      server,
      res,
      `iss "https://other-tenant.example.com/" is not this router's issuer`,
    );
  });

  it("refuses a token signed with another key under the router's kid (forged signature)", async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({ sub: 'auth0|bob' })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: 'es-1' })
      .setIssuer(ISSUER)
      .setAudience('app')
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(privateKey);
    const res = await delegate(server, forged);
    await expectRefusedActor(server, res, 'the signature does not verify with key "es-1"');
  });

  it('refuses a genuine ID token whose payload was swapped for another user', async () => {
    const bobToken = await idTokenOf(server, 'auth0|bob');
    const [header, payload, signature] = bobToken.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const swapped = Buffer.from(JSON.stringify({ ...claims, sub: 'auth0|carol' })).toString(
      'base64url',
    );
    const res = await delegate(server, `${header}.${swapped}.${signature}`);
    await expectRefusedActor(server, res, 'the signature does not verify with key "rs-1"');
  });

  it("refuses a token whose kid is not one of the router's keys, even with an embedded jwk", async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ sub: 'auth0|bob' })
      .setProtectedHeader({
        alg: 'ES256',
        typ: 'JWT',
        kid: 'attacker',
        jwk: await exportJWK(publicKey),
      })
      .setIssuer(ISSUER)
      .setAudience('app')
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(privateKey);
    const res = await delegate(server, token);
    await expectRefusedActor(server, res, `kid "attacker" is not one of the router's keys`);
  });

  it('refuses alg none', async () => {
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const token = `${encode({ alg: 'none', typ: 'JWT' })}.${encode({
      iss: ISSUER,
      aud: 'app',
      sub: 'auth0|bob',
      iat: now,
      exp: now + 600,
    })}.AA`;
    const res = await delegate(server, token);
    await expectRefusedActor(
      server,
      res,
      'header alg "none" is not one the router signs ID tokens with',
    );
  });

  it('refuses an HS256 token for a client whose ID tokens are asymmetric', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ sub: 'auth0|bob' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience('app')
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(new TextEncoder().encode(SECRET));
    const res = await delegate(server, token);
    await expectRefusedActor(
      server,
      res,
      'alg HS256, but client "app" signs its ID tokens with RS256',
    );
  });

  it('refuses an access token presented as an ID token', async () => {
    const access = await post(server, { subject_token: 'user:auth0|bob' });
    const res = await delegate(server, access.body.access_token as string);
    await expectRefusedActor(server, res, 'header typ is "at+jwt", not "JWT" (an ID token)');
  });

  it('refuses a malformed token', async () => {
    const res = await delegate(server, 'not-a-jwt');
    await expectRefusedActor(server, res, 'not a compact JWS: 1 segments instead of 3');
  });

  it('refuses the ID token of a user who has been blocked since', async () => {
    const bobToken = await idTokenOf(server, 'auth0|bob');
    server.users.setBlocked('auth0|bob', true);
    const res = await delegate(server, bobToken);
    await expectRefusedActor(server, res, 'user "auth0|bob" is blocked');
  });

  it('refuses the ID token of a user who no longer exists', async () => {
    const carolToken = await idTokenOf(server, 'auth0|carol');
    server.users.delete('auth0|carol');
    const res = await delegate(server, carolToken);
    await expectRefusedActor(server, res, 'user "auth0|carol" does not exist');
  });

  it('counts each refusal as a failed attempt: the IP is blocked once its attempts are used', async () => {
    const throttled = await harness({
      attackProtection: { suspiciousIpThrottling: { maxAttempts: 2 } },
    });
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await delegate(throttled, 'not-a-jwt');
      expect(res.status).to.equal(400);
      expect(res.body).to.deep.equal(INVALID_ACTOR);
    }
    expect((await throttled.cte.logs.list()).map((entry) => entry.type)).to.deep.equal([
      'fecte',
      'limit_cte',
      'fecte',
    ]);
    const blocked = await post(throttled, { subject_token: 'user:auth0|alice' });
    expect(blocked.status).to.equal(429);
    expect(blocked.body).to.deep.equal({
      error: 'too_many_attempts',
      error_description:
        'We have detected suspicious login behavior and further attempts will be blocked. Please contact the administrator.',
    });
    expect(throttled.transactions).to.deep.equal([]);
    await throttled.cte.attackProtection.unblock('127.0.0.1');
    const next = await post(throttled, { subject_token: 'user:auth0|alice' });
    expect(next.status, JSON.stringify(next.body)).to.equal(200);
  });

  it('hands other actor token types to the action as they are, unverified', async () => {
    const res = await post(server, {
      subject_token: 'user:auth0|alice',
      actor_token: 'opaque-agent-credential',
      actor_token_type: 'urn:acme:agent-token',
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(server.transactions).to.deep.equal([
      {
        subject_token: 'user:auth0|alice',
        subject_token_type: DELEGATION_TYPE,
        actor_token: 'opaque-agent-credential',
        actor_token_type: 'urn:acme:agent-token',
        requested_scopes: [],
        requested_token_type: ACCESS_TOKEN_TYPE,
      },
    ]);
    // No actor was set: no act claim.
    expect((await verify(server, res.body.access_token, API)).payload).not.to.have.property('act');
  });
});

/** A chain of `depth` actors, each with the maximum 5 custom properties of every kind. */
function actorChain(depth: number, customProperties = 5): Actor {
  let chain: Actor | undefined;
  for (let level = depth; level >= 1; level--) {
    const actor: Actor = { sub: `agent-${level}` };
    const values = [`role-${level}`, level, level % 2 === 0, `team-${level}`, level * 1.5, true];
    for (let index = 0; index < customProperties; index++) {
      actor[`p${index}`] = values[index % values.length]!;
    }
    if (chain !== undefined) actor.act = chain;
    chain = actor;
  }
  return chain!;
}

const encodeChain = (chain: Actor): string =>
  Buffer.from(JSON.stringify(chain)).toString('base64url');

describe('delegation: actor chains (setActor)', () => {
  let server: Harness;
  beforeEach(async () => {
    server = await harness();
  });

  for (const depth of [1, 2, 3, 4, 5]) {
    it(`puts a chain of ${depth} actor(s) with 5 custom properties each, exactly, in both tokens and details.actor`, async () => {
      const chain = actorChain(depth);
      const res = await post(server, {
        subject_token: `chain:${encodeChain(chain)}`,
        scope: 'openid',
      });
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      const access = await verify(server, res.body.access_token, API);
      expect(access.payload.act).to.deep.equal(chain);
      expect((await verify(server, res.body.id_token, 'app')).payload.act).to.deep.equal(chain);
      const entry = await newest(server);
      expect(entry.type).to.equal('secte');
      expect(entry.details).to.deep.equal({
        subject_token_type: DELEGATION_TYPE,
        profile_id: server.profileId,
        action_id: server.actionId,
        actor: chain,
        access_token_jti: access.payload.jti,
      });
      let nested: unknown = access.payload.act;
      let levels = 0;
      while (nested !== undefined) {
        levels++;
        nested = (nested as Actor).act;
      }
      expect(levels).to.equal(depth);
    });
  }

  const refusals = [
    {
      name: 'a chain of 6 actors',
      chain: actorChain(6),
      problem: 'actor.act.act.act.act.act exceeds 5 levels',
    },
    {
      name: '6 custom properties on the root actor',
      chain: actorChain(1, 6),
      problem: 'actor has 6 custom properties; at most 5 are allowed',
    },
    {
      name: '6 custom properties on the fifth actor',
      chain: (() => {
        const chain = actorChain(5);
        let fifth = chain;
        while (fifth.act !== undefined) fifth = fifth.act;
        fifth.extra = 'sixth';
        return chain;
      })(),
      problem: 'actor.act.act.act.act has 6 custom properties; at most 5 are allowed',
    },
  ];
  for (const { name, chain, problem } of refusals) {
    it(`fails closed with 500 on ${name}, even when the action catches the error`, async () => {
      const res = await post(server, { subject_token: `chain-caught:${encodeChain(chain)}` });
      expectRefusal(res, 500, SERVER_ERROR);
      const entry = await newest(server);
      expect(entry).to.deep.equal(
        appFailureEntry(
          entry,
          SERVER_ERROR,
          {
            subject_token_type: DELEGATION_TYPE,
            profile_id: server.profileId,
            action_id: server.actionId,
            cause: `action ${server.actionId}: api.authentication.setActor: ${problem}`,
          },
          USER_AGENT,
        ),
      );

      const uncaught = await post(server, { subject_token: `chain:${encodeChain(chain)}` });
      expect(uncaught.status).to.equal(500);
      expect(uncaught.body).to.deep.equal(SERVER_ERROR);
      expect((await newest(server)).details.cause).to.match(
        new RegExp(
          `^action ${server.actionId} failed: ActionApiError: api\\.authentication\\.setActor: ${problem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`,
        ),
      );

      const next = await post(server, { subject_token: `chain:${encodeChain(actorChain(5))}` });
      expect(next.status, JSON.stringify(next.body)).to.equal(200);
    });
  }
});

describe('delegation: the support takeover of docs/delegation.md, end to end in the sandbox', function () {
  this.timeout(20_000);
  let server: Harness;
  beforeEach(async () => {
    server = await harness({ sandbox: true });
    const action = await server.cte.actions.create({
      name: 'support-takeover',
      code: `exports.onExecuteCustomTokenExchange = async (event, api) => {
  const agent = event.transaction.actor_token_user;   // verified by the router
  if (!agent || !(agent.app_metadata.roles || []).includes('support')) {
    api.access.deny('unauthorized_actor', 'only support agents may act for customers');
    return;
  }
  api.authentication.setUserById(event.transaction.subject_token);  // the customer's user_id
  api.authentication.setActor({ sub: agent.user_id, sub_profile: 'human', role: 'support' });
};`,
    });
    await server.cte.actions.deploy(action.id);
    await server.cte.profiles.create({
      name: 'Support takeover',
      subject_token_type: 'urn:acme:support-takeover',
      action_id: action.id,
      type: 'custom_authentication',
    });
  });
  afterEach(async () => {
    await server.cte.close();
  });

  function takeover(actorToken: string): Promise<Response> {
    return post(server, {
      subject_token_type: 'urn:acme:support-takeover',
      subject_token: 'auth0|alice',
      actor_token: actorToken,
      actor_token_type: ID_TOKEN_TYPE,
      scope: 'openid read:orders',
    });
  }

  it("lets Bob (support) act for Alice: Alice's tokens name Bob as the actor", async () => {
    const res = await takeover(await idTokenOf(server, 'auth0|bob'));
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.scope).to.equal('openid read:orders');
    const access = await verify(server, res.body.access_token, API);
    expect({ sub: access.payload.sub, act: access.payload.act }).to.deep.equal({
      sub: 'auth0|alice',
      act: SUPPORT_ACTOR('auth0|bob'),
    });
    const id = await verify(server, res.body.id_token, 'app');
    expect({ sub: id.payload.sub, act: id.payload.act }).to.deep.equal({
      sub: 'auth0|alice',
      act: SUPPORT_ACTOR('auth0|bob'),
    });
  });

  it('denies Carol, who is not in support, and refuses a forged agent token before the action', async () => {
    const denied = await takeover(await idTokenOf(server, 'auth0|carol'));
    expect(denied.status).to.equal(400);
    expect(denied.body).to.deep.equal({
      error: 'unauthorized_actor',
      error_description: 'only support agents may act for customers',
    });
    const forged = await takeover('eyJhbGciOiJub25lIn0.e30.');
    expect(forged.status).to.equal(400);
    expect(forged.body).to.deep.equal(INVALID_ACTOR);
    expect((await newest(server)).details.cause).to.equal(
      'invalid ID-token actor_token: the signature is not base64url',
    );
  });
});
