import { expect } from 'chai';
import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair } from 'jose';
import { capture, startExample } from '../support/example-process.js';
import type { ExampleProcess } from '../support/example-process.js';
import {
  STARTUP_TIMEOUT_MS,
  expectExampleIssued,
  exampleReader,
  expectExampleRefused,
  invalidSubjectToken,
  readReply,
} from '../support/example-http.js';
import type { ExampleReader, ExampleRefusal, ExampleReply, Json } from '../support/example-http.js';
import { GRANT, basic } from '../support/fixtures.js';
import { ALICE_ENTRY, SECTE } from '../support/log-entries.js';

const READY = /^Public keys: .*Tenant logs: \S+$/m;
const AGENT_ASSERTION_TYPE = 'urn:acme:agent-assertion';
const DELEGATION_GRANT_TYPE = 'urn:acme:delegation-grant';
const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';
const API = 'https://api.acme.example/orders';
const AGENT_CLIENT = {
  id: 'ai-agents',
  secret: 'ai-agents-secret-change-me',
  name: 'Agent runtime',
};
const STOREFRONT = { id: 'storefront', secret: 'storefront-secret-change-me', name: 'Storefront' };
const AGENT_SECRETS: Record<string, string> = {
  'shopping-assistant': 'shopping-assistant-secret',
  'travel-planner': 'travel-planner-secret',
};
const SHOPPING = 'agents|shopping-assistant';
const TRAVEL = 'agents|travel-planner';
const ALICE_ORDERS = [
  { id: 'ord-1001', item: 'Trail running shoes', status: 'shipped' },
  { id: 'ord-1002', item: 'Rain jacket', status: 'processing' },
];
const INVALID_ACTOR = {
  error: 'invalid_request',
  error_description:
    'actor_token is not a valid, unexpired ID token issued to this client for an active user',
};

type Client = typeof AGENT_CLIENT;

/** One running example: its origin, and the calls the tests make to it. */
class Example {
  readonly origin: string;
  readonly issuer: string;
  readonly get: ExampleReader['getJson'];
  readonly newestLog: ExampleReader['latestLog'];
  readonly verify: ExampleReader['verify'];

  constructor(readonly process: ExampleProcess) {
    this.origin = `http://localhost:${process.port}`;
    this.issuer = `${this.origin}/`;
    ({
      getJson: this.get,
      latestLog: this.newestLog,
      verify: this.verify,
    } = exampleReader(() => this.origin));
  }

  async exchange(
    params: Record<string, string>,
    client: Client = AGENT_CLIENT,
  ): Promise<ExampleReply> {
    return readReply(
      await fetch(`${this.origin}/oauth/token`, {
        method: 'POST',
        headers: {
          authorization: basic(client.id, client.secret),
          'content-type': 'application/x-www-form-urlencoded',
          'user-agent': 'delegation-example-tests',
        },
        body: new URLSearchParams({ grant_type: GRANT, ...params }),
      }),
    );
  }

  /** A fresh platform assertion for `agent`, through the platform's own endpoint. */
  async assertion(agent: string): Promise<string> {
    const res = await readReply(
      await fetch(`${this.origin}/agent-platform/assertions`, {
        method: 'POST',
        headers: { authorization: basic(agent, AGENT_SECRETS[agent]!) },
      }),
    );
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    return String(res.body.assertion);
  }

  /** The agent signs in: its ID token (and its own access token, without `act`). */
  async signIn(agent: string): Promise<{ id_token: string; access_token: string }> {
    const res = await this.exchange({
      subject_token_type: AGENT_ASSERTION_TYPE,
      subject_token: await this.assertion(agent),
      scope: 'openid',
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    return { id_token: String(res.body.id_token), access_token: String(res.body.access_token) };
  }

  /** A delegation grant from the consent service. */
  async grant(user_id: string, agent: string, scope = 'read:orders'): Promise<string> {
    const res = await readReply(
      await fetch(`${this.origin}/consent/grants`, {
        method: 'POST',
        body: new URLSearchParams({ user_id, agent, scope }),
      }),
    );
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    return String(res.body.delegation_grant);
  }

  delegate(
    grant: string,
    actorToken: string | undefined,
    { scope = 'openid read:orders', client = AGENT_CLIENT } = {},
  ): Promise<ExampleReply> {
    return this.exchange(
      {
        subject_token_type: DELEGATION_GRANT_TYPE,
        subject_token: grant,
        ...(actorToken === undefined
          ? {}
          : { actor_token: actorToken, actor_token_type: ID_TOKEN_TYPE }),
        scope,
      },
      client,
    );
  }

  async orders(accessToken?: string): Promise<ExampleReply> {
    return readReply(
      await fetch(`${this.origin}/api/orders`, {
        headers: accessToken === undefined ? {} : { authorization: `Bearer ${accessToken}` },
      }),
    );
  }
}

/**
 * Asserts `res` refused the exchange as `refusal` says and that `example`'s newest log entry is
 * its `fecte` entry, of `client`'s request with the scope `openid read:orders` unless given.
 */
async function expectRefused(
  example: Example,
  res: ExampleReply,
  refusal: ExampleRefusal & { scope?: string },
  client: Client = AGENT_CLIENT,
): Promise<void> {
  const entry = await example.newestLog();
  expectExampleRefused(res, res.body, entry, {
    ...refusal,
    subjectTokenType: DELEGATION_GRANT_TYPE,
    fields: {
      client_id: client.id,
      client_name: client.name,
      ip: entry.ip,
      user_agent: 'delegation-example-tests',
      hostname: 'localhost',
      audience: API,
      scope: refusal.scope ?? 'openid read:orders',
    },
  });
}

describe('examples/delegation end to end (spawned with --no-node-snapshot)', function () {
  this.timeout(STARTUP_TIMEOUT_MS);
  let example: Example;
  /** A second instance whose agents' ID tokens live one second. */
  let shortLived: Example;
  const processes: ExampleProcess[] = [];

  before(async () => {
    const [main, short] = await Promise.all([
      startExample('examples/delegation/server.ts', { ready: READY }),
      startExample('examples/delegation/server.ts', {
        ready: READY,
        env: { AGENT_ID_TOKEN_LIFETIME: '1' },
      }),
    ]);
    processes.push(main, short);
    example = new Example(main);
    shortLived = new Example(short);
  });

  after(async () => {
    await Promise.all(processes.map((p) => p.stop()));
  });

  describe('the printed walkthrough', () => {
    let printed: { assertion: string; grant: string; client: string };
    let actorToken: string;
    let delegated: ExampleReply;

    before(() => {
      const out = example.process.output.stdout;
      const tokens = [...out.matchAll(/^\s+-d subject_token=(\S+) \\$/gm)].map((m) => m[1]!);
      expect(tokens).to.have.length(2);
      printed = {
        assertion: tokens[0]!,
        grant: tokens[1]!,
        client: capture(out, /^\s+-u (\S+) \\$/m, '-u'),
      };
    });

    it('prints the three steps for its own port, with a fresh assertion and grant', () => {
      const out = example.process.output.stdout;
      expect(out).to.include(`Delegation example on ${example.origin}\n`);
      expect(out).to.include(`ACTOR_TOKEN=$(curl -s ${example.origin}/oauth/token \\\n`);
      expect(out).to.include(`  -d actor_token=$ACTOR_TOKEN \\\n`);
      expect(out).to.include(`  -d actor_token_type=${ID_TOKEN_TYPE} \\\n`);
      expect(out).to.include(
        `curl -s ${example.origin}/api/orders -H "Authorization: Bearer $ACCESS_TOKEN"\n`,
      );
      expect(printed.client).to.equal(`${AGENT_CLIENT.id}:${AGENT_CLIENT.secret}`);

      /**
       * Asserts the printed `token` is an ES256 JWT of this `kid` and `typ` for `ai-agents`, issued
       * now and living `lifetime` seconds, whose other claims are exactly `claims`.
       */
      function expectFresh(
        token: string,
        kid: string,
        typ: string,
        lifetime: number,
        claims: Json,
      ) {
        expect(decodeProtectedHeader(token)).to.deep.equal({ alg: 'ES256', kid, typ });
        const payload = decodeJwt(token);
        const { iat, jti } = payload;
        expect(payload).to.deep.equal({
          ...claims,
          aud: 'ai-agents',
          iat,
          exp: iat! + lifetime,
          jti,
        });
        expect(iat).to.be.closeTo(Math.floor(Date.now() / 1000), 60);
      }
      expectFresh(printed.assertion, 'agent-platform-1', 'agent-assertion+jwt', 300, {
        name: 'Shopping Assistant',
        iss: `${example.origin}/agent-platform/`,
        sub: 'shopping-assistant',
      });
      expectFresh(printed.grant, 'consent-1', 'delegation-grant+jwt', 600, {
        may_act: { sub: SHOPPING },
        scope: 'read:orders',
        iss: `${example.origin}/consent/`,
        sub: 'auth0|alice',
      });
    });

    it("step 1: the agent's sign-in answers its ID token (sub agents|shopping-assistant, aud ai-agents)", async () => {
      const res = await example.exchange({
        subject_token_type: AGENT_ASSERTION_TYPE,
        subject_token: printed.assertion,
        scope: 'openid',
      });
      expectExampleIssued(res, res.body, {
        expires_in: 900,
        scope: 'openid',
        id_token: res.body.id_token,
      });
      actorToken = String(res.body.id_token);
      expect(decodeProtectedHeader(actorToken)).to.deep.equal({
        alg: 'ES256',
        typ: 'JWT',
        kid: 'router-es256-1',
      });
      const id = await example.verify(actorToken, 'ai-agents', 'JWT');
      expect(id).to.deep.equal({
        iss: example.issuer,
        sub: SHOPPING,
        aud: 'ai-agents',
        iat: id.iat,
        exp: id.iat! + 600,
        auth_time: id.iat,
      });

      const entry = await example.newestLog();
      expect(entry).to.deep.include({
        type: 'secte',
        client_id: 'ai-agents',
        user_id: SHOPPING,
        user_name: 'Shopping Assistant',
        connection: 'agents',
        scope: 'openid',
      });
      expect(entry.details).not.to.have.property('actor');
    });

    it('step 2: the delegation answers tokens for Alice whose act claim names the agent', async () => {
      delegated = await example.delegate(printed.grant, actorToken);
      const res = delegated;
      expectExampleIssued(res, res.body, {
        expires_in: 900,
        scope: 'openid read:orders',
        id_token: res.body.id_token,
      });
      const access = await example.verify(String(res.body.access_token), API, 'at+jwt');
      expect(access).to.deep.equal({
        iss: example.issuer,
        sub: 'auth0|alice',
        aud: API,
        iat: access.iat,
        exp: access.iat! + 900,
        jti: access.jti,
        client_id: 'ai-agents',
        scope: 'openid read:orders',
        act: { sub: SHOPPING, sub_profile: 'ai_agent' },
      });
      const id = await example.verify(String(res.body.id_token), 'ai-agents', 'JWT');
      expect(id).to.deep.equal({
        iss: example.issuer,
        sub: 'auth0|alice',
        aud: 'ai-agents',
        iat: id.iat,
        exp: id.exp,
        auth_time: id.iat,
        act: { sub: SHOPPING, sub_profile: 'ai_agent' },
      });

      const entry = await example.newestLog();
      expect(entry).to.deep.equal({
        log_id: entry.log_id,
        date: entry.date,
        ...SECTE,
        client_id: 'ai-agents',
        client_name: 'Agent runtime',
        ip: entry.ip,
        user_agent: 'delegation-example-tests',
        hostname: 'localhost',
        audience: API,
        ...ALICE_ENTRY,
        scope: 'openid read:orders',
        details: {
          subject_token_type: DELEGATION_GRANT_TYPE,
          profile_id: (entry.details as Json).profile_id,
          action_id: (entry.details as Json).action_id,
          actor: { sub: SHOPPING, sub_profile: 'ai_agent' },
          access_token_jti: access.jti,
        },
      });
      expect(JSON.stringify(entry)).not.to.include(actorToken.split('.')[2]!.slice(0, 16));
    });

    it("step 3: the orders API serves Alice's orders to the agent and records who acted for whom", async () => {
      const res = await example.orders(String(delegated.body.access_token));
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.body).to.deep.equal({
        user: 'auth0|alice',
        actor: SHOPPING,
        orders: ALICE_ORDERS,
      });
      const jti = decodeJwt(String(delegated.body.access_token)).jti;
      const audit = await example.get<Json[]>('/api/audit');
      expect(audit.at(-1)).to.deep.equal({
        at: audit.at(-1)!.at,
        user: 'auth0|alice',
        actor: SHOPPING,
        client_id: 'ai-agents',
        jti,
      });
    });
  });

  describe('the orders API', () => {
    it("refuses the agent's own token: no act claim", async () => {
      const { access_token } = await example.signIn('shopping-assistant');
      const res = await example.orders(access_token);
      expect(res.status).to.equal(403);
      expect(res.body).to.deep.equal({
        error: 'access_denied',
        error_description: 'this route serves agents acting for a user: the token has no act claim',
      });
    });

    it('refuses an agent it does not trust, although the router let the user delegate to it', async () => {
      const { id_token } = await example.signIn('travel-planner');
      const res = await example.delegate(await example.grant('auth0|alice', TRAVEL), id_token);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      const access = await example.verify(String(res.body.access_token), API, 'at+jwt');
      expect(access.act).to.deep.equal({ sub: TRAVEL, sub_profile: 'ai_agent' });

      const before = (await example.get<Json[]>('/api/audit')).length;
      const refused = await example.orders(String(res.body.access_token));
      expect(refused.status).to.equal(403);
      expect(refused.body).to.deep.equal({
        error: 'access_denied',
        error_description: 'agents|travel-planner is not an agent this API trusts',
      });
      expect(await example.get('/api/audit')).to.have.length(before);
    });

    it('answers 401 without a token, and for a token that does not verify', async () => {
      const missing = await example.orders();
      expect(missing.status).to.equal(401);
      expect(missing.headers.get('www-authenticate')).to.equal('Bearer realm="orders"');
      expect(missing.body).to.deep.equal({
        error: 'invalid_request',
        error_description: 'a Bearer access token is required',
      });

      const { access_token } = await example.signIn('shopping-assistant');
      const [header, , signature] = access_token.split('.');
      const forged = Buffer.from(
        JSON.stringify({
          ...decodeJwt(access_token),
          sub: 'auth0|bob',
          act: { sub: SHOPPING },
        }),
      ).toString('base64url');
      const tampered = await example.orders(`${header}.${forged}.${signature}`);
      expect(tampered.status).to.equal(401);
      expect(tampered.headers.get('www-authenticate')).to.equal(
        'Bearer realm="orders", error="invalid_token"',
      );
      expect(tampered.body).to.deep.equal({
        error: 'invalid_token',
        error_description: 'the access token is invalid',
      });
    });
  });

  describe('actor tokens the router refuses before the action runs', () => {
    /** The router's refusal of the actor token, for `cause`, by `instance` (`example` unless given). */
    function expectInvalidActor(
      res: ExampleReply,
      cause: string,
      { client = AGENT_CLIENT, instance = example } = {},
    ): Promise<void> {
      return expectRefused(
        instance,
        res,
        {
          error: 'invalid_request',
          description: INVALID_ACTOR.error_description,
          cause: `invalid ID-token actor_token: ${cause}`,
        },
        client,
      );
    }

    it("an ID token issued to another client: the storefront presents the agent runtime's", async () => {
      const { id_token } = await example.signIn('shopping-assistant');
      const grant = await example.grant('auth0|alice', SHOPPING);
      const res = await example.delegate(grant, id_token, { client: STOREFRONT });
      await expectInvalidActor(res, 'aud "ai-agents" is not the requesting client "storefront"', {
        client: STOREFRONT,
      });
    });

    it("an access token, not an ID token: the agent's own access token", async () => {
      const { access_token } = await example.signIn('shopping-assistant');
      const grant = await example.grant('auth0|alice', SHOPPING);
      await expectInvalidActor(
        await example.delegate(grant, access_token),
        'header typ is "at+jwt", not "JWT" (an ID token)',
      );
    });

    it("a token of another issuer: the platform's assertion", async () => {
      const grant = await example.grant('auth0|alice', SHOPPING);
      const assertion = await example.assertion('shopping-assistant');
      await expectInvalidActor(
        await example.delegate(grant, assertion),
        'header typ is "agent-assertion+jwt", not "JWT" (an ID token)',
      );
    });

    it("a forged ID token: the router's kid and claims, signed with another key", async () => {
      const { id_token } = await example.signIn('shopping-assistant');
      const { privateKey } = await generateKeyPair('ES256');
      const forged = await new SignJWT(decodeJwt(id_token))
        .setProtectedHeader(decodeProtectedHeader(id_token) as { alg: string })
        .sign(privateKey);
      const grant = await example.grant('auth0|alice', SHOPPING);
      await expectInvalidActor(
        await example.delegate(grant, forged),
        'the signature does not verify with key "router-es256-1"',
      );
    });

    it('an expired ID token (an instance whose agent ID tokens live 1 s)', async () => {
      const { id_token } = await shortLived.signIn('shopping-assistant');
      const { exp, iat } = decodeJwt(id_token);
      expect(exp! - iat!).to.equal(1);
      const grant = await shortLived.grant('auth0|alice', SHOPPING);
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, exp! * 1000 - Date.now() + 50)),
      );

      await expectInvalidActor(
        await shortLived.delegate(grant, id_token),
        `expired at ${new Date(exp! * 1000).toISOString()}`,
        { instance: shortLived },
      );
    });
  });

  describe("the action's own refusals", () => {
    let agentIdToken: string;
    before(async () => {
      agentIdToken = (await example.signIn('shopping-assistant')).id_token;
    });

    it('no actor_token: 400 invalid_request with the action description', async () => {
      const grant = await example.grant('auth0|alice', SHOPPING);
      await expectRefused(example, await example.delegate(grant, undefined), {
        error: 'invalid_request',
        description:
          'actor_token must be the agent ID token (actor_token_type urn:ietf:params:oauth:token-type:id_token)',
      });
    });

    it("a user's ID token as actor: 400 unauthorized_actor, the action's console line logged", async () => {
      const grant = await example.grant('auth0|alice', SHOPPING);
      const aliceIdToken = String((await example.delegate(grant, agentIdToken)).body.id_token);
      const bobGrant = await example.grant('auth0|bob', SHOPPING);
      await expectRefused(example, await example.delegate(bobGrant, aliceIdToken), {
        error: 'unauthorized_actor',
        description: 'only AI agents may act for users',
        console: ['actor auth0|alice is not an AI agent'],
      });
    });

    it('a grant made out to another agent: 400 unauthorized_actor', async () => {
      const { id_token } = await example.signIn('travel-planner');
      const res = await example.delegate(await example.grant('auth0|alice', SHOPPING), id_token);
      await expectRefused(example, res, {
        error: 'unauthorized_actor',
        description: 'auth0|alice did not delegate to agents|travel-planner',
      });
    });

    it('a scope the user did not delegate: 400 invalid_scope', async () => {
      const grant = await example.grant('auth0|alice', SHOPPING);
      const res = await example.delegate(grant, agentIdToken, {
        scope: 'openid read:orders write:orders',
      });
      await expectRefused(example, res, {
        error: 'invalid_scope',
        description: 'auth0|alice did not delegate write:orders',
        scope: 'openid read:orders write:orders',
      });
    });

    it('a tampered grant: 400 invalid_request from rejectInvalidSubjectToken, the jose code logged', async () => {
      const grant = await example.grant('auth0|bob', SHOPPING);
      const [header, , signature] = grant.split('.');
      const payload = Buffer.from(
        JSON.stringify({ ...decodeJwt(grant), sub: 'auth0|alice' }),
      ).toString('base64url');
      const res = await example.delegate(`${header}.${payload}.${signature}`, agentIdToken);
      await expectRefused(
        example,
        res,
        invalidSubjectToken(
          'the delegation grant is invalid',
          'delegation grant refused: ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
        ),
      );
    });
  });
});
