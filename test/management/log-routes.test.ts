import { expect } from 'chai';
import request from 'supertest';
import type { LogEntry } from '../../lib/index.js';
import { SECRET, basic, exchangeBody, form } from '../support/fixtures.js';
import { apiError, managementServer } from './management-support.js';
import type { ManagementServer } from './management-support.js';

describe('Management API: /logs', () => {
  let server: ManagementServer;
  let all: LogEntry[];
  before(async () => {
    server = await managementServer();
    const exchange = (subject: string, clientId = 'app') =>
      request(server.app)
        .post('/oauth/token')
        .set('Authorization', basic(clientId, SECRET))
        .type('form')
        .send(form(exchangeBody({ subject_token: subject })));
    await exchange('user:auth0|alice').expect(200);
    await exchange('reject').expect(400);
    await exchange('user:auth0|alice').expect(200);
    await exchange('deny:nope').expect(400);
    all = await server.cte.logs.list();
    expect(all).to.have.length(4);
  });
  after(async () => {
    await server.cte.close();
  });

  it('lists every entry newest first, as the logs handle does', async () => {
    const res = await server.api.get('/logs').expect(200);
    expect(res.body).to.eql(all);
  });

  it("filters with Auth0's q: type, user_id, client_id, date ranges", async () => {
    const q = async (query: string) =>
      (await server.api.get(`/logs?q=${encodeURIComponent(query)}`).expect(200)).body as LogEntry[];
    expect((await q('type:secte')).map((e) => e.log_id)).to.eql(
      all.filter((e) => e.type === 'secte').map((e) => e.log_id),
    );
    expect(await q('type:(secte OR fecte)')).to.eql(all);
    expect(await q('user_id:"auth0|alice" AND type:secte')).to.have.length(2);
    expect(await q('client_id:post-app')).to.eql([]);
    expect(await q('date:[* TO 2000-01-01]')).to.eql([]);
    const since = all[1]!.date;
    expect(await q(`date:[${since} TO *]`)).to.eql(all.filter((e) => e.date >= since));
    const search = await server.api.get('/logs?search=type:fecte').expect(200);
    expect(search.body).to.have.length(2);
  });

  it('refuses what it cannot search with 400', async () => {
    for (const [query, message] of [
      [
        'connection:x',
        'Query validation error: connection cannot be searched (type, client_id, user_id, ip, date).',
      ],
      ['type:', 'Query validation error: cannot read q at "type:".'],
      ['date:[yesterday TO *]', 'Query validation error: "yesterday" is not a date.'],
    ]) {
      const res = await server.api.get(`/logs?q=${encodeURIComponent(query!)}`).expect(400);
      expect(res.body).to.eql(apiError(400, 'Bad Request', message!, 'invalid_query_string'));
    }
  });

  it('pages with page/per_page and include_totals', async () => {
    const res = await server.api.get('/logs?page=1&per_page=3&include_totals=true').expect(200);
    expect(res.body).to.eql({ start: 3, limit: 3, length: 1, total: 4, logs: all.slice(3) });
    const plain = await server.api.get('/logs?page=0&per_page=2').expect(200);
    expect(plain.body).to.eql(all.slice(0, 2));
  });

  it('pages from a checkpoint log_id with take', async () => {
    const res = await server.api.get(`/logs?from=${all[0]!.log_id}&take=2`).expect(200);
    expect(res.body).to.eql(all.slice(1, 3));
  });

  it('gets one entry by id, 404 for one it does not have', async () => {
    const res = await server.api.get(`/logs/${all[2]!.log_id}`).expect(200);
    expect(res.body).to.eql(all[2]);
    const missing = await server.api.get('/logs/0000000000000000000000aa').expect(404);
    expect(missing.body).to.eql(apiError(404, 'Not Found', 'Log not found', 'inexistent_log'));
    await server.api.get('/logs/not-an-id').expect(404);
  });
});
