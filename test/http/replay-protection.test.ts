import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { SignJWT } from 'jose';

import type { Response } from 'supertest';
import type { CustomTokenExchangeHandler } from '../../lib/index.js';
import { MemoryReplayStore } from '../../lib/stores/memory-replay-store.js';
import type { ReplayStore } from '../../lib/stores/replay-store.js';
import { StoreUnavailableError } from '../../lib/stores/store-deadline.js';
import { GRANT, testServer } from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';
import { newestEntry as newest, postToken } from '../support/token-requests.js';
import { actionCode, deployCodeProfile } from '../support/sandboxed-actions.js';
import { NO_STORE } from '../support/oauth-responses.js';

const IDP = 'https://idp.example.com/';
const IDP_KEY = 'idp-signing-secret-0123456789abcdef';
const TOKEN_TYPE = 'urn:acme:idp-token';
const IP = '203.0.113.20';
const USED = {
  error: 'invalid_request',
  error_description: 'the subject token was already used',
};

/**
 * The README's pattern: verify the IdP's JWT, then consume its `jti` until its `exp`; a token seen
 * before is an invalid subject token (one attempt of the caller's IP). `catchStore` swallows a
 * failing store, as a careless action would.
 */
function replayAction(catchStore = false): string {
  return actionCode(`
  const { jwtVerify } = require('jose');
  let payload;
  try {
    ({ payload } = await jwtVerify(
      event.transaction.subject_token,
      new TextEncoder().encode(event.secrets.IDP_KEY),
      { issuer: '${IDP}', algorithms: ['HS256'], requiredClaims: ['jti', 'exp', 'sub'] },
    ));
  } catch (err) {
    api.access.rejectInvalidSubjectToken('the subject token is invalid');
    return;
  }
  let first = true;
  ${catchStore ? 'try {' : ''}
  first = await api.replay.consume(payload.jti, { expiresAt: payload.exp });
  ${catchStore ? '} catch (err) { console.log("replay check skipped: " + err.code); }' : ''}
  if (!first) {
    api.access.rejectInvalidSubjectToken('the subject token was already used');
    return;
  }
  api.authentication.setUserById(payload.sub);`);
}

async function idpToken(claims: { jti?: string; sub?: string } = {}): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(IDP)
    .setSubject(claims.sub ?? 'auth0|alice')
    .setJti(claims.jti ?? randomUUID())
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(IDP_KEY));
}

interface Instance extends TestServer {
  actionId: string;
  profileId: string;
}

/** The ids every instance registers its action and profile under, as instances sharing stores must. */
const IDS = { action: '3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f', profile: 'tep_replaychecked001' };

async function instance(replay: ReplayStore, catchStore = false): Promise<Instance> {
  const server = await testServer({ sandbox: true, stores: { replay } });
  server.app.set('trust proxy', true);
  const profile = await deployCodeProfile(server.cte, {
    name: 'replay-checked',
    code: replayAction(catchStore),
    subjectTokenType: TOKEN_TYPE,
    secrets: { IDP_KEY },
    ids: IDS,
  });
  return { ...server, actionId: profile.actionId, profileId: profile.profileId };
}

function exchange(server: TestServer, token: string, type = TOKEN_TYPE): Promise<Response> {
  const body = { grant_type: GRANT, subject_token: token, subject_token_type: type };
  return postToken(server, body, { headers: { 'X-Forwarded-For': IP } }).then((res) => res);
}

describe('subject-token replay protection (api.replay.consume)', function () {
  this.timeout(20_000);
  const servers: TestServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.cte.close()));
  });
  async function started(...args: Parameters<typeof instance>): Promise<Instance> {
    const server = await instance(...args);
    servers.push(server);
    return server;
  }

  it('accepts a token once; its replay is 400 invalid_request, costs the IP an attempt and writes a fecte entry', async () => {
    const server = await started(new MemoryReplayStore());
    const token = await idpToken();
    const first = await exchange(server, token);
    expect(first.status, JSON.stringify(first.body)).to.equal(200);
    expect(await server.cte.attackProtection.status(IP)).to.include({ remaining_attempts: 10 });

    const replayed = await exchange(server, token);
    expect(replayed.status).to.equal(400);
    expect(replayed.headers).to.include(NO_STORE);
    expect(replayed.body).to.deep.equal(USED);
    expect(await server.cte.attackProtection.status(IP)).to.include({
      blocked: false,
      remaining_attempts: 9,
    });
    const entry = await newest(server);
    expect(entry).to.include({
      type: 'fecte',
      description: USED.error_description,
      client_id: 'app',
      ip: IP,
    });
    expect(entry.details).to.deep.equal({
      subject_token_type: TOKEN_TYPE,
      profile_id: server.profileId,
      action_id: server.actionId,
      error: 'invalid_request',
      error_description: USED.error_description,
      cause: 'invalid subject token',
    });

    // Another token of the same user is a new key.
    expect((await exchange(server, await idpToken())).status).to.equal(200);
  });

  it('refuses on instance B a token consumed on instance A, through the store they share', async () => {
    const shared = new MemoryReplayStore();
    const a = await started(shared);
    const b = await started(shared);
    const token = await idpToken();
    expect((await exchange(a, token)).status).to.equal(200);
    const onB = await exchange(b, token);
    expect(onB.status).to.equal(400);
    expect(onB.body).to.deep.equal(USED);
    expect(await b.cte.attackProtection.status(IP)).to.include({ remaining_attempts: 9 });
    // Ten replays block the IP on B, as invalid subject tokens do.
    for (let i = 0; i < 9; i++) expect((await exchange(b, token)).status).to.equal(400);
    const blocked = await exchange(b, await idpToken());
    expect(blocked.status).to.equal(429);
    expect(blocked.body.error).to.equal('too_many_attempts');
  });

  it('keeps each action’s keys apart: another profile’s action accepts the same jti once', async () => {
    const shared = new MemoryReplayStore();
    const server = await started(shared);
    const other = await deployCodeProfile(server.cte, {
      name: 'second-idp',
      code: replayAction(),
      subjectTokenType: 'urn:acme:second-idp-token',
      secrets: { IDP_KEY },
    });
    const token = await idpToken();
    expect((await exchange(server, token)).status).to.equal(200);
    expect((await exchange(server, token, other.subjectTokenType)).status).to.equal(200);
    expect((await exchange(server, token, other.subjectTokenType)).body).to.deep.equal(USED);
  });

  it('fails the exchange with 503 and Retry-After while the store is down, even when the action catches the error', async () => {
    let down = true;
    const memory = new MemoryReplayStore();
    const flaky: ReplayStore = {
      consume: (key, exp) =>
        down
          ? Promise.reject(new StoreUnavailableError('Redis: no answer within 500 ms'))
          : memory.consume(key, exp),
    };
    const server = await started(flaky, true);
    const token = await idpToken();
    const res = await exchange(server, token);
    expect(res.status).to.equal(503);
    expect(res.headers).to.include({ ...NO_STORE, 'retry-after': '5' });
    expect(res.body).to.deep.equal({
      error: 'temporarily_unavailable',
      error_description: 'The server is busy; retry later.',
    });
    const entry = await newest(server);
    expect(entry.type).to.equal('fecte');
    expect(entry.details.cause).to.equal(
      `action ${server.actionId}: api.replay.consume: the replay store failed: Redis: no answer within 500 ms`,
    );
    expect(entry.details.console).to.deep.equal([
      'replay check skipped: ERR_REPLAY_STORE_UNAVAILABLE',
    ]);
    expect(entry).not.to.have.property('user_id');
    // No attempt spent: the store failed, not the token.
    expect(await server.cte.attackProtection.status(IP)).to.include({ remaining_attempts: 10 });

    down = false;
    expect((await exchange(server, token)).status).to.equal(200);
    expect((await exchange(server, token)).body).to.deep.equal(USED);
  });

  it('fails closed with 500 when the action passes expiresAt in milliseconds', async () => {
    const server = await started(new MemoryReplayStore());
    const profile = await deployCodeProfile(server.cte, {
      name: 'ms-mistake',
      code: actionCode(`
  await api.replay.consume('k', { expiresAt: Date.now() + 60000 });
  api.authentication.setUserById('auth0|alice');`),
      subjectTokenType: 'urn:acme:ms-mistake',
    });
    const res = await exchange(server, 'anything', profile.subjectTokenType);
    expect(res.status).to.equal(500);
    expect(res.body.error).to.equal('server_error');
    expect((await newest(server)).details.cause).to.equal(
      `action ${profile.actionId} failed: TypeError: api.replay.consume: options.expiresAt is more than 366 days away; give it in seconds since the epoch (a JWT exp), not milliseconds`,
    );
  });

  it('gives in-process handlers the same api.replay', async () => {
    const server = await testServer({ stores: { replay: new MemoryReplayStore() } });
    servers.push(server);
    const seen: boolean[] = [];
    const handler: CustomTokenExchangeHandler = async (event, api) => {
      const first = await api.replay.consume(event.transaction.subject_token, {
        expiresAt: Math.floor(Date.now() / 1000) + 60,
      });
      seen.push(first);
      if (!first) return api.access.rejectInvalidSubjectToken('the subject token was already used');
      api.authentication.setUserById('auth0|alice');
    };
    const action = await server.cte.actions.create({ name: 'in-process-replay', handler });
    await server.cte.actions.deploy(action.id);
    await server.cte.profiles.create({
      name: 'In-process replay',
      subject_token_type: TOKEN_TYPE,
      action_id: action.id,
      type: 'custom_authentication',
    });
    expect((await exchange(server, 'opaque-1')).status).to.equal(200);
    expect((await exchange(server, 'opaque-1')).body).to.deep.equal(USED);
    expect(seen).to.deep.equal([true, false]);
  });
});
