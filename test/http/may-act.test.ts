import { expect } from 'chai';
import { SignJWT, createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import request from 'supertest';
import type { Response } from 'supertest';
import type { Actor, CustomTokenExchangeHandler } from '../../lib/index.js';
import { API, GRANT, ISSUER, testServer } from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';
import {
  newestEntry as newest,
  postToken,
  expectIssued,
  expectRefusal,
} from '../support/token-requests.js';
import { actionCode, deployCodeProfile } from '../support/sandboxed-actions.js';
import { appFailureEntry } from '../support/log-entries.js';

const PARTNER_TYPE = 'urn:acme:partner-token';
const OWN_TYPE = 'urn:acme:router-access-token';
const PARTNER = 'https://partner.example.com/';
const PARTNER_KEY = new TextEncoder().encode('partner-signing-secret-0123456789ab');
const USER_AGENT = 'cte-may-act-tests/1.0';
const NOT_ALLOWED = {
  error: 'invalid_request',
  error_description: 'the actor is not allowed to act for the subject (may_act)',
};
const TOO_DEEP = {
  error: 'invalid_request',
  error_description: 'Delegation chain (`act` claim) depth exceeds the maximum allowed limit of 4',
};
const AGENT = (sub: string): Actor => ({ sub, sub_profile: 'ai_agent' });

/**
 * The partner's action: verifies the partner's JWT, sets its `sub` as the user and the actor the
 * request names (`actor=<sub>`); with `pass_may_act=yes` it hands the token's `may_act` to
 * `setActor`, as the README shows.
 */
const partnerAction: CustomTokenExchangeHandler = async (event, api) => {
  const { payload } = await jwtVerify(event.transaction.subject_token, PARTNER_KEY, {
    issuer: PARTNER,
  });
  api.authentication.setUserById(payload.sub!);
  const actor = event.request.body.actor;
  if (actor === undefined) return;
  if (event.request.body.pass_may_act === 'yes') {
    api.authentication.setActor(AGENT(actor), {
      may_act: payload.may_act as Record<string, unknown>,
    });
  } else {
    api.authentication.setActor(AGENT(actor));
  }
};

/**
 * Accepts the router's own access tokens (read, not verified: the router's nesting must not rely
 * on the action) and sets the actor the request names, if any (`chain` a base64url JSON actor).
 */
const ownTokenAction: CustomTokenExchangeHandler = async (event, api) => {
  api.authentication.setUserById(decodeJwt(event.transaction.subject_token).sub!);
  const { actor, chain } = event.request.body;
  if (chain !== undefined) {
    api.authentication.setActor(JSON.parse(Buffer.from(chain, 'base64url').toString()) as Actor);
  } else if (actor !== undefined) {
    api.authentication.setActor(AGENT(actor));
  }
};

interface Harness extends TestServer {
  partnerProfileId: string;
  partnerActionId: string;
  ownProfileId: string;
}

async function harness(enforceMayAct: boolean): Promise<Harness> {
  const server = await testServer();
  const partner = await server.cte.actions.create({ name: 'partner', handler: partnerAction });
  await server.cte.actions.deploy(partner.id);
  const partnerProfile = await server.cte.profiles.create({
    name: 'Partner tokens',
    subject_token_type: PARTNER_TYPE,
    action_id: partner.id,
    type: 'custom_authentication',
    ...(enforceMayAct ? { enforce_may_act: true } : {}),
  });
  const own = await server.cte.actions.create({ name: 'own-tokens', handler: ownTokenAction });
  await server.cte.actions.deploy(own.id);
  const ownProfile = await server.cte.profiles.create({
    name: 'Router access tokens',
    subject_token_type: OWN_TYPE,
    action_id: own.id,
    type: 'custom_authentication',
  });
  return {
    ...server,
    partnerProfileId: partnerProfile.id,
    partnerActionId: partner.id,
    ownProfileId: ownProfile.id,
  };
}

function partnerToken(mayAct?: unknown): Promise<string> {
  return new SignJWT(mayAct === undefined ? {} : { may_act: mayAct })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(PARTNER)
    .setSubject('auth0|alice')
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(PARTNER_KEY);
}

function exchange(
  server: TestServer,
  subjectToken: string,
  type: string,
  extra: Record<string, string> = {},
): Promise<Response> {
  const body = {
    grant_type: GRANT,
    subject_token: subjectToken,
    subject_token_type: type,
    ...extra,
  };
  return postToken(server, body, { userAgent: USER_AGENT }).then((res) => res);
}

async function actOf(server: TestServer, accessToken: string): Promise<unknown> {
  const jwks = await request(server.app).get('/.well-known/jwks.json').expect(200);
  const { payload } = await jwtVerify(accessToken, createLocalJWKSet(jwks.body), {
    issuer: ISSUER,
    audience: API,
  });
  return payload.act;
}

/** The exact refusal: answer, headers, the `fecte` entry with its private cause, no attempt spent. */
async function expectRefused(
  server: Harness,
  res: Response,
  body: { error: string; error_description: string },
  details: Record<string, unknown>,
): Promise<void> {
  expectRefusal(res, 400, body);
  const entry = await newest(server);
  expect(entry).to.deep.equal(appFailureEntry(entry, body, details, USER_AGENT));
  const status = await server.cte.attackProtection.status('127.0.0.1');
  expect(status.remaining_attempts).to.equal(10);
}

/** {@link expectRefused} of a partner token's actor that may_act does not allow, for `cause`. */
function expectNotAllowed(server: Harness, res: Response, cause: string): Promise<void> {
  return expectRefused(server, res, NOT_ALLOWED, {
    subject_token_type: PARTNER_TYPE,
    profile_id: server.partnerProfileId,
    action_id: server.partnerActionId,
    cause,
  });
}

describe('may_act (RFC 8693 §4.4)', () => {
  const servers: TestServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.cte.close()));
  });
  async function started(enforceMayAct = false): Promise<Harness> {
    const server = await harness(enforceMayAct);
    servers.push(server);
    return server;
  }

  describe('passed to setActor by the action', () => {
    it('issues tokens for the actor may_act names, act in the token and the secte entry', async () => {
      const server = await started();
      const token = await partnerToken({ sub: 'agent-1', sub_profile: 'ai_agent' });
      const res = await exchange(server, token, PARTNER_TYPE, {
        actor: 'agent-1',
        pass_may_act: 'yes',
        scope: 'read:orders',
      });
      expectIssued(res, {
        scope: 'read:orders',
      });
      expect(await actOf(server, res.body.access_token)).to.deep.equal(AGENT('agent-1'));
      const entry = await newest(server);
      expect(entry.type).to.equal('secte');
      expect(entry.details).to.include({ profile_id: server.partnerProfileId });
      expect(entry.details?.actor).to.deep.equal(AGENT('agent-1'));
    });

    it('refuses another actor with 400 invalid_request, the mismatch only in the log', async () => {
      const server = await started();
      const token = await partnerToken({ sub: 'agent-1' });
      const res = await exchange(server, token, PARTNER_TYPE, {
        actor: 'agent-2',
        pass_may_act: 'yes',
      });
      await expectNotAllowed(
        server,
        res,
        'the may_act passed to setActor: may_act has sub "agent-1", the actor "agent-2"',
      );
    });

    it('refuses every actor when may_act names nobody (only exp)', async () => {
      const server = await started();
      const res = await exchange(server, await partnerToken({ exp: 1 }), PARTNER_TYPE, {
        actor: 'agent-1',
        pass_may_act: 'yes',
      });
      await expectNotAllowed(server, res, 'the may_act passed to setActor: may_act names no actor');
    });

    it('fails closed when the action passes a may_act that is not an object', async () => {
      const server = await started();
      const res = await exchange(server, await partnerToken('agent-1'), PARTNER_TYPE, {
        actor: 'agent-1',
        pass_may_act: 'yes',
      });
      expect(res.status, JSON.stringify(res.body)).to.equal(500);
      expect(res.body).to.deep.equal({
        error: 'server_error',
        error_description: 'The server encountered an unexpected error.',
      });
      expect((await newest(server)).details?.cause).to.include(
        'options.may_act must be an object (the may_act claim)',
      );
    });
  });

  describe("the subject token's may_act, when the profile sets enforce_may_act", () => {
    it('refuses an actor the token does not allow, though the action did not pass may_act', async () => {
      const server = await started(true);
      const token = await partnerToken({ sub: 'agent-1', iss: 'https://agents.example.com/' });
      const res = await exchange(server, token, PARTNER_TYPE, { actor: 'agent-1' });
      await expectNotAllowed(
        server,
        res,
        `the subject token's may_act: may_act has iss "https://agents.example.com/", the actor has no iss`,
      );
    });

    it('issues for the allowed actor, for a token without may_act, and for no actor at all', async () => {
      const server = await started(true);
      const allowed = await exchange(server, await partnerToken({ sub: 'agent-1' }), PARTNER_TYPE, {
        actor: 'agent-1',
      });
      expect(allowed.status, JSON.stringify(allowed.body)).to.equal(200);
      expect(await actOf(server, allowed.body.access_token)).to.deep.equal(AGENT('agent-1'));
      const without = await exchange(server, await partnerToken(), PARTNER_TYPE, {
        actor: 'agent-9',
      });
      expect(without.status, JSON.stringify(without.body)).to.equal(200);
      expect(await actOf(server, without.body.access_token)).to.deep.equal(AGENT('agent-9'));
      const noActor = await exchange(server, await partnerToken({ sub: 'agent-1' }), PARTNER_TYPE);
      expect(noActor.status, JSON.stringify(noActor.body)).to.equal(200);
      expect(await actOf(server, noActor.body.access_token)).to.equal(undefined);
    });

    it("refuses every actor when the token's may_act is not an object", async () => {
      const server = await started(true);
      const res = await exchange(server, await partnerToken('agent-1'), PARTNER_TYPE, {
        actor: 'agent-1',
      });
      await expectNotAllowed(server, res, "the subject token's may_act: may_act is not an object");
    });

    it('is not read when the profile does not enforce it', async () => {
      const server = await started(false);
      const res = await exchange(server, await partnerToken({ sub: 'agent-1' }), PARTNER_TYPE, {
        actor: 'agent-2',
      });
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(await actOf(server, res.body.access_token)).to.deep.equal(AGENT('agent-2'));
    });

    it('is changed through cte.profiles.update', async () => {
      const server = await started(false);
      const updated = await server.cte.profiles.update(server.partnerProfileId, {
        enforce_may_act: true,
      });
      expect(updated.enforce_may_act).to.equal(true);
      const res = await exchange(server, await partnerToken({ sub: 'agent-1' }), PARTNER_TYPE, {
        actor: 'agent-2',
      });
      await expectNotAllowed(
        server,
        res,
        `the subject token's may_act: may_act has sub "agent-1", the actor "agent-2"`,
      );
    });
  });

  describe("exchanging one of the router's own access tokens that carries act", () => {
    /** An access token for Alice with `actor` as its act, through the partner profile. */
    async function delegatedToken(server: Harness, actor: string): Promise<string> {
      const res = await exchange(server, await partnerToken(), PARTNER_TYPE, { actor });
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      return res.body.access_token as string;
    }

    it('keeps its act when the action sets no actor', async () => {
      const server = await started();
      const first = await delegatedToken(server, 'agent-1');
      const res = await exchange(server, first, OWN_TYPE, { scope: 'offline_access' });
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(await actOf(server, res.body.access_token)).to.deep.equal(AGENT('agent-1'));
      // An actor never gets a refresh token, a kept one neither.
      expect(res.body).not.to.have.property('refresh_token');
      const entry = await newest(server);
      expect(entry.details?.actor).to.deep.equal(AGENT('agent-1'));
    });

    it("nests it under the action's actor, and keeps a chain that already holds it", async () => {
      const server = await started();
      const first = await delegatedToken(server, 'agent-1');
      const nested = await exchange(server, first, OWN_TYPE, { actor: 'agent-2' });
      expect(nested.status, JSON.stringify(nested.body)).to.equal(200);
      expect(await actOf(server, nested.body.access_token)).to.deep.equal({
        ...AGENT('agent-2'),
        act: AGENT('agent-1'),
      });
      const chain = { ...AGENT('agent-3'), act: AGENT('agent-1') };
      const kept = await exchange(server, first, OWN_TYPE, {
        chain: Buffer.from(JSON.stringify(chain)).toString('base64url'),
      });
      expect(kept.status, JSON.stringify(kept.body)).to.equal(200);
      expect(await actOf(server, kept.body.access_token)).to.deep.equal(chain);
    });

    it('refuses a chain of more than 5 actors with Auth0 400', async () => {
      const server = await started();
      let token = await delegatedToken(server, 'agent-1');
      for (const agent of ['agent-2', 'agent-3', 'agent-4', 'agent-5']) {
        const res = await exchange(server, token, OWN_TYPE, { actor: agent });
        expect(res.status, JSON.stringify(res.body)).to.equal(200);
        token = res.body.access_token as string;
      }
      const res = await exchange(server, token, OWN_TYPE, { actor: 'agent-6' });
      const ownActionId = (await server.cte.profiles.get(server.ownProfileId)).action_id;
      await expectRefused(server, res, TOO_DEEP, {
        subject_token_type: OWN_TYPE,
        profile_id: server.ownProfileId,
        action_id: ownActionId,
        cause: "the subject token's act chain and the action's actor make 6 actors",
      });
    });

    it("adds nothing for a token shaped like the router's but not signed by it", async () => {
      const server = await started();
      const real = decodeJwt(await delegatedToken(server, 'agent-1'));
      const forged = await new SignJWT({ ...real })
        .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
        .sign(PARTNER_KEY);
      const res = await exchange(server, forged, OWN_TYPE);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(await actOf(server, res.body.access_token)).to.equal(undefined);
    });
  });

  it('a sandboxed action passes may_act through setActor', async function () {
    this.timeout(20_000);
    const server = await testServer({ sandbox: true });
    servers.push(server);
    const profile = await deployCodeProfile(server.cte, {
      name: 'sandboxed-may-act',
      subjectTokenType: PARTNER_TYPE,
      code: actionCode(`
  const payload = require('jose').decodeJwt(event.transaction.subject_token);
  api.authentication.setUserById(payload.sub);
  api.authentication.setActor({ sub: event.request.body.actor }, { may_act: payload.may_act });`),
    });
    const token = await partnerToken({ sub: 'agent-1' });
    const allowed = await exchange(server, token, PARTNER_TYPE, { actor: 'agent-1' });
    expect(allowed.status, JSON.stringify(allowed.body)).to.equal(200);
    expect(await actOf(server, allowed.body.access_token)).to.deep.equal({ sub: 'agent-1' });
    const refused = await exchange(server, token, PARTNER_TYPE, { actor: 'agent-2' });
    expect(refused.status, JSON.stringify(refused.body)).to.equal(400);
    expect(refused.body).to.deep.equal(NOT_ALLOWED);
    expect((await newest(server)).details).to.include({
      profile_id: profile.profileId,
      cause: 'the may_act passed to setActor: may_act has sub "agent-1", the actor "agent-2"',
    });
  });
});
