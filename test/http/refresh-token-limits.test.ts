import type { Server } from 'node:http';
import { expect } from 'chai';
import request from 'supertest';
import { MemoryRefreshTokenStore } from '../../lib/index.js';
import type { CustomTokenExchangeOptions, LogEntry } from '../../lib/index.js';
import { API, exchangeBody, form, testServer } from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';
import { APP, NO_STORE, UNKNOWN_REFRESH_TOKEN } from '../support/oauth-responses.js';
import { ALICE_ENTRY } from '../support/log-entries.js';

const SCOPE = 'openid offline_access read:orders';

async function offlineServer(overrides: Partial<CustomTokenExchangeOptions> = {}) {
  const server = await testServer(overrides);
  await server.cte.resourceServers.update(API, { allow_offline_access: true });
  return server;
}

/** A token exchange by `app` (Basic) with `subjectToken`; answers the refresh token. */
async function exchange(
  target: TestServer['app'] | Server,
  subjectToken = 'user:auth0|alice',
): Promise<string> {
  const res = await request(target)
    .post('/oauth/token')
    .set('Authorization', APP)
    .set('User-Agent', 'cte-tests/1.0')
    .type('form')
    .send(form(exchangeBody({ subject_token: subjectToken, scope: SCOPE })));
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  expect(res.body.refresh_token).to.be.a('string');
  return res.body.refresh_token as string;
}

function refresh(target: TestServer['app'] | Server, refreshToken: string) {
  return request(target)
    .post('/oauth/token')
    .set('Authorization', APP)
    .type('form')
    .send(form({ grant_type: 'refresh_token', refresh_token: refreshToken }));
}

const entries = (server: TestServer, type: LogEntry['type']) => server.cte.logs.list({ type });

describe('refresh tokens: one user cannot log others out', () => {
  it('revokes the user’s oldest refresh token with a client past maxRefreshTokensPerUserAndClient, and logs resource_cleanup', async () => {
    const server = await offlineServer({ maxRefreshTokensPerUserAndClient: 2 });
    const first = await exchange(server.app);
    const second = await exchange(server.app);
    const bob = await exchange(server.app, 'conn:partner:bob');
    expect(await entries(server, 'resource_cleanup')).to.deep.equal([]);
    const third = await exchange(server.app);

    const families = await server.cte.refreshTokens.listForUser('auth0|alice');
    expect(families.map((f) => f.active)).to.deep.equal([false, true, true]);
    const [cleanup] = await entries(server, 'resource_cleanup');
    expect(await entries(server, 'resource_cleanup')).to.have.length(1);
    expect(cleanup).to.deep.equal({
      log_id: cleanup!.log_id,
      date: cleanup!.date,
      type: 'resource_cleanup',
      description: 'Refresh tokens revoked: the user held more with this application than allowed',
      client_id: 'app',
      client_name: 'First-party app',
      ip: '127.0.0.1',
      user_agent: 'cte-tests/1.0',
      hostname: '127.0.0.1',
      audience: API,
      ...ALICE_ENTRY,
      details: {
        resource: 'refresh_tokens',
        start: 3,
        removedCount: 1,
        endCount: 2,
        refresh_token_family_id: families[2]!.family_id,
        revoked_refresh_token_family_ids: [families[0]!.family_id],
      },
    });
    // Written before the exchange's own secte entry.
    expect((await server.cte.logs.list())[0]!.type).to.equal('secte');
    expect((await server.cte.logs.list())[1]).to.deep.equal(cleanup);

    const refused = await refresh(server.app, first);
    expect(refused.status).to.equal(400);
    expect(refused.headers).to.include(NO_STORE);
    expect(refused.body).to.deep.equal(UNKNOWN_REFRESH_TOKEN);
    expect((await entries(server, 'fertft'))[0]!.details.cause).to.equal(
      `refresh token family ${families[0]!.family_id} was revoked`,
    );
    for (const token of [second, third, bob]) {
      const res = await refresh(server.app, token);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
    }
  });

  it('keeps another user’s refresh token through 1,100 exchanges by one user (memory store with maxFamilies 1000)', async function () {
    this.timeout(60_000);
    const store = new MemoryRefreshTokenStore({ maxFamilies: 1000 });
    const server = await offlineServer({ stores: { refreshTokens: store } });
    const cleanups: LogEntry[] = [];
    server.cte.on('resource_cleanup', (entry) => void cleanups.push(entry));
    const listening = server.app.listen(0, '127.0.0.1');
    try {
      const victim = await exchange(listening, 'conn:partner:bob');
      for (let i = 0; i < 1100; i++) await exchange(listening);

      const res = await refresh(listening, victim);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.body).to.include({ token_type: 'Bearer', scope: SCOPE });
      expect(res.body.refresh_token).to.match(/^cte_rt_/);
      expect(server.hostRequests).to.deep.equal([]);
      // The looping user holds 200 live families (the default), the store at most 1000.
      const alice = await server.cte.refreshTokens.listForUser('auth0|alice');
      expect(alice.filter((f) => f.active)).to.have.length(200);
      expect(store.size).to.be.at.most(1000);
      expect(store.evicted).to.equal(0);
      expect(cleanups).to.have.length(900);
      expect(cleanups.every((entry) => entry.user_id === 'auth0|alice')).to.equal(true);
    } finally {
      await new Promise<void>((resolve) => listening.close(() => resolve()));
    }
  });
});
