import { expect } from 'chai';
import request from 'supertest';
import type { CustomTokenExchangeOptions, LogEntry } from '../../lib/index.js';
import { API, GRANT, form, testServer } from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';
import { NO_STORE, APP } from '../support/oauth-responses.js';

const LIMITED_TYPE = 'urn:acme:limited-token';

/** A server with one more profile, whose action counts its runs and can be held. */
async function limitedServer(
  options: Partial<CustomTokenExchangeOptions> = {},
  profile: { max_token_length?: number } = {},
) {
  const server = await testServer(options);
  let runs = 0;
  let held: Promise<void> | undefined;
  const action = await server.cte.actions.create({
    name: 'counting-action',
    handler: async (_event, api) => {
      runs++;
      await held;
      api.authentication.setUserById('auth0|alice');
    },
  });
  await server.cte.actions.deploy(action.id);
  const created = await server.cte.profiles.create({
    name: 'Limited tokens',
    subject_token_type: LIMITED_TYPE,
    action_id: action.id,
    type: 'custom_authentication',
    ...profile,
  });
  return {
    server,
    profileId: created.id,
    runs: () => runs,
    /** Holds every execution from now on until the returned function is called. */
    hold: (): (() => void) => {
      let release = () => {};
      held = new Promise((resolve) => (release = resolve));
      return () => {
        held = undefined;
        release();
      };
    },
  };
}

function exchange(server: TestServer, extra: Record<string, string> = {}) {
  return request(server.app)
    .post('/oauth/token')
    .set('Authorization', APP)
    .type('form')
    .send(form({ grant_type: GRANT, subject_token_type: LIMITED_TYPE, ...extra }));
}

async function newest(server: TestServer): Promise<LogEntry> {
  const [entry] = await server.cte.logs.list();
  return entry!;
}

describe('POST /oauth/token: the size cap on subject and actor tokens', () => {
  it('accepts a subject token of exactly 16384 characters by default', async () => {
    const { server, runs } = await limitedServer();
    const res = await exchange(server, { subject_token: 'a'.repeat(16384) });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(runs()).to.equal(1);
  });

  for (const [name, extra] of [
    ['a subject token', { subject_token: 'a'.repeat(16385) }],
    [
      'an actor token',
      {
        subject_token: 'a',
        actor_token: 'a'.repeat(16385),
        actor_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      },
    ],
  ] as const) {
    it(`refuses ${name} one character longer with 400 invalid_request before the action runs`, async () => {
      const { server, runs } = await limitedServer();
      const res = await exchange(server, extra);
      const parameter = 'actor_token' in extra ? 'actor_token' : 'subject_token';
      const description = `${parameter} is longer than 16384 characters`;
      expect(res.status).to.equal(400);
      expect(res.headers).to.include(NO_STORE);
      expect(res.body).to.deep.equal({ error: 'invalid_request', error_description: description });
      expect(runs()).to.equal(0);
      const entry = await newest(server);
      expect(entry.type).to.equal('fecte');
      expect(entry.details).to.deep.equal({
        subject_token_type: LIMITED_TYPE,
        error: 'invalid_request',
        error_description: description,
        cause: `${parameter} of 16385 characters`,
      });
    });
  }

  it("takes a profile's own max_token_length, such as room for a SAML assertion", async () => {
    const { server, runs } = await limitedServer({}, { max_token_length: 200_000 });
    const saml = await exchange(server, { subject_token: 'P'.repeat(150_000) });
    expect(saml.status, JSON.stringify(saml.body)).to.equal(200);
    const over = await exchange(server, { subject_token: 'P'.repeat(200_001) });
    expect(over.status).to.equal(400);
    expect(over.body).to.deep.equal({
      error: 'invalid_request',
      error_description: 'subject_token is longer than 200000 characters',
    });
    expect(runs()).to.equal(1);
  });

  it('takes the router-wide maxTokenLength for profiles without their own', async () => {
    const { server, runs, profileId } = await limitedServer({ maxTokenLength: 1000 });
    expect((await exchange(server, { subject_token: 'a'.repeat(1000) })).status).to.equal(200);
    const over = await exchange(server, { subject_token: 'a'.repeat(1001) });
    expect(over.body).to.deep.equal({
      error: 'invalid_request',
      error_description: 'subject_token is longer than 1000 characters',
    });
    // A profile's cap can rise above the router's and come back to it.
    await server.cte.profiles.update(profileId, { max_token_length: 2000 });
    expect((await exchange(server, { subject_token: 'a'.repeat(1001) })).status).to.equal(200);
    await server.cte.profiles.update(profileId, { max_token_length: null });
    expect((await exchange(server, { subject_token: 'a'.repeat(1001) })).status).to.equal(400);
    expect(runs()).to.equal(2);
  });
});

describe('POST /oauth/token: the cap on requests in flight', () => {
  it('refuses requests beyond maxExchangesInFlight with 503 and Retry-After, and keeps answering', async () => {
    const { server, runs, hold } = await limitedServer({ maxExchangesInFlight: 4 });
    const release = hold();
    try {
      // then() starts each request; supertest sends nothing until it is awaited or then()'d.
      const running = Array.from({ length: 4 }, () =>
        exchange(server, { subject_token: 't' }).then((res) => res),
      );
      await waitFor(() => runs() === 4);

      // A flood while the four are held: every one refused at once, none reaches an action.
      const flood = await Promise.all(
        Array.from({ length: 40 }, () => exchange(server, { subject_token: 't' })),
      );
      for (const res of flood) {
        expect(res.status).to.equal(503);
        expect(res.headers).to.include({ ...NO_STORE, 'retry-after': '1' });
        expect(res.body).to.deep.equal({
          error: 'temporarily_unavailable',
          error_description: 'The server is busy; retry later.',
        });
      }
      expect(runs()).to.equal(4);
      const refusal = await newest(server);
      expect(refusal.type).to.equal('fecte');
      expect(refusal.client_id).to.equal(null);
      expect(refusal.details).to.deep.equal({
        error: 'temporarily_unavailable',
        error_description: 'The server is busy; retry later.',
        cause: '4 token requests in flight, the most maxExchangesInFlight allows',
      });

      // What is not an exchange of ours is still served: the host's grants, the JWKS.
      const host = await request(server.app)
        .post('/oauth/token')
        .type('form')
        .send(form({ grant_type: 'client_credentials' }));
      expect(host.body).to.include({ host: true });
      await request(server.app).get('/.well-known/jwks.json').expect(200);

      release();
      for (const res of await Promise.all(running)) expect(res.status).to.equal(200);
    } finally {
      release();
    }
    // The slots are free again.
    expect((await exchange(server, { subject_token: 't' })).status).to.equal(200);
  });

  it('counts refreshes too, and frees the slot of every request, answered or refused', async () => {
    const { server, runs, hold } = await limitedServer({ maxExchangesInFlight: 1 });
    await server.cte.resourceServers.update(API, { allow_offline_access: true });
    const issued = await exchange(server, { subject_token: 't', scope: 'offline_access' });
    const refreshToken = (issued.body as { refresh_token: string }).refresh_token;
    const release = hold();
    try {
      const running = exchange(server, { subject_token: 't' }).then((res) => res);
      await waitFor(() => runs() === 2);
      const refresh = await request(server.app)
        .post('/oauth/token')
        .set('Authorization', APP)
        .type('form')
        .send(form({ grant_type: 'refresh_token', refresh_token: refreshToken }));
      expect(refresh.status).to.equal(503);
      expect((await newest(server)).type).to.equal('fertft');
      release();
      expect((await running).status).to.equal(200);
    } finally {
      release();
    }
    for (let i = 0; i < 3; i++) {
      expect((await exchange(server, { subject_token: 'a'.repeat(20_000) })).status).to.equal(400);
    }
    expect((await exchange(server, { subject_token: 't' })).status).to.equal(200);
  });
});

describe('POST /oauth/token: the cap on action executions (maxExecutions)', () => {
  it('refuses an execution beyond maxExecutions with 503 and Retry-After, logs why, and runs again once one ended', async () => {
    const { server, profileId, runs, hold } = await limitedServer({ maxExecutions: 1 });
    const { action_id: actionId } = await server.cte.profiles.get(profileId);
    const release = hold();
    try {
      const running = exchange(server, { subject_token: 't' }).then((res) => res);
      await waitFor(() => runs() === 1);
      const refused = await exchange(server, { subject_token: 't' });
      expect(refused.status).to.equal(503);
      expect(refused.headers).to.include({ ...NO_STORE, 'retry-after': '1' });
      expect(refused.body).to.deep.equal({
        error: 'temporarily_unavailable',
        error_description: 'The server is busy; retry later.',
      });
      expect(runs()).to.equal(1);
      const refusal = await newest(server);
      expect([refusal.type, refusal.details]).to.deep.equal([
        'fecte',
        {
          subject_token_type: LIMITED_TYPE,
          profile_id: profileId,
          action_id: actionId,
          error: 'temporarily_unavailable',
          error_description: 'The server is busy; retry later.',
          cause: `action ${actionId}: the router already runs 1 action executions (its limit)`,
        },
      ]);
      release();
      expect((await running).status).to.equal(200);
    } finally {
      release();
    }
    expect((await exchange(server, { subject_token: 't' })).status).to.equal(200);
    expect(runs()).to.equal(2);
  });
});

/** Resolves once `condition` holds, polling; rejects after `timeoutMs`. */
async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
