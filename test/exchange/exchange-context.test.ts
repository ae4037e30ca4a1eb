import { expect } from 'chai';
import express from 'express';
import type { Request } from 'express';
import request from 'supertest';
import { exchangeContext } from '../../lib/exchange/exchange-context.js';
import { API, SECRET, basic, exchangeBody, form, testServer } from '../support/fixtures.js';

describe('exchange context: dropped once the answer is written and logged', () => {
  /** The router behind a host middleware that keeps every request it sees. */
  async function capturing() {
    const server = await testServer();
    const seen: Request[] = [];
    const app = express();
    app.use((req, _res, next) => {
      seen.push(req);
      next();
    });
    app.use(server.cte);
    const post = (body: Record<string, string | string[]>, auth: string) =>
      request(app).post('/oauth/token').set('Authorization', auth).type('form').send(form(body));
    return { server, seen, post };
  }

  for (const [name, body, auth, status] of [
    ['a successful exchange', exchangeBody(), basic('app', SECRET), 200],
    [
      'an exchange the action denies',
      exchangeBody({ subject_token: 'deny:access_denied:no' }),
      basic('app', SECRET),
      400,
    ],
    ['a failed client authentication', exchangeBody(), basic('app', 'wrong'), 401],
  ] as const) {
    it(`after ${name}, with its log entry written`, async () => {
      const { server, seen, post } = await capturing();
      const res = await post(body, auth);
      expect(res.status, JSON.stringify(res.body)).to.equal(status);
      expect(server.cte.logs.list()).to.have.length(1);
      expect(seen).to.have.length(1);
      expect(exchangeContext(seen[0]!)).to.equal(undefined);
    });
  }

  it('after a refresh of one of its tokens', async () => {
    const { server, seen, post } = await capturing();
    server.cte.resourceServers.update(API, { allow_offline_access: true });
    const issued = await post(
      exchangeBody({ scope: 'openid offline_access' }),
      basic('app', SECRET),
    );
    expect(issued.status, JSON.stringify(issued.body)).to.equal(200);
    const refreshToken = (issued.body as { refresh_token: string }).refresh_token;
    const res = await post(
      { grant_type: 'refresh_token', refresh_token: refreshToken },
      basic('app', SECRET),
    );
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(server.cte.logs.list().map((entry) => entry.type)).to.deep.equal(['sertft', 'secte']);
    expect(seen).to.have.length(2);
    expect(exchangeContext(seen[1]!)).to.equal(undefined);
  });
});
