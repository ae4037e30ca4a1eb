import { expect } from 'chai';
import { SUBJECT_TYPE, profileFor } from '../support/fixtures.js';
import { apiError, expectAudit, managementServer, STALE_ETAG } from './management-support.js';
import type { ManagementServer } from './management-support.js';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('Management API: /token-exchange-profiles', () => {
  let server: ManagementServer;
  let actionId: string;
  beforeEach(async () => {
    server = await managementServer();
    actionId = (await profileFor(server.cte)).action_id;
  });
  afterEach(async () => {
    await server.cte.close();
  });

  const body = (extra: Record<string, unknown> = {}) => ({
    name: 'Partner tokens',
    subject_token_type: 'urn:partner:id-token',
    action_id: actionId,
    type: 'custom_authentication',
    ...extra,
  });

  it('creates a profile (201, ETag, audit) that then serves exchanges', async () => {
    const res = await server.api.post('/token-exchange-profiles', body()).expect(201);
    expect(res.body).to.eql({
      id: res.body.id,
      name: 'Partner tokens',
      subject_token_type: 'urn:partner:id-token',
      action_id: actionId,
      type: 'custom_authentication',
      managed_by: 'api',
      created_at: res.body.created_at,
      updated_at: res.body.created_at,
    });
    expect(res.body.id).to.match(/^tep_/);
    expect(res.body.created_at).to.match(ISO);
    expect(res.headers.etag)
      .to.be.a('string')
      .and.match(/^".+"$/);
    expect(res.headers['cache-control']).to.equal('no-store');
    const [entry] = await server.entries('sapi');
    expectAudit(
      entry,
      'sapi',
      'Create a token exchange profile',
      'POST /api/v2/token-exchange-profiles',
      201,
    );
    expect(entry!.details.target).to.eql({ type: 'token_exchange_profile', id: res.body.id });
    expect(entry!.details.after).to.eql(res.body);
    expect(entry!.details).not.to.have.property('before');
    expect(await server.cte.profiles.get(res.body.id)).to.eql(res.body);
  });

  it('gets a profile with the ETag it was created with', async () => {
    const created = await server.api.post('/token-exchange-profiles', body()).expect(201);
    const res = await server.api.get(`/token-exchange-profiles/${created.body.id}`).expect(200);
    expect(res.body).to.eql(created.body);
    expect(res.headers.etag).to.equal(created.headers.etag);
  });

  it('lists code-defined profiles marked so, with from/take paging and next', async () => {
    const ids = [(await profileFor(server.cte)).id];
    for (let i = 0; i < 4; i += 1) {
      const res = await server.api
        .post('/token-exchange-profiles', body({ subject_token_type: `urn:partner:t${i}` }))
        .expect(201);
      ids.push(res.body.id);
    }
    const first = await server.api.get('/token-exchange-profiles?take=2').expect(200);
    expect(first.body.token_exchange_profiles.map((p: { id: string }) => p.id)).to.eql(
      ids.slice(0, 2),
    );
    expect(first.body.token_exchange_profiles[0]).to.include({
      subject_token_type: SUBJECT_TYPE,
      managed_by: 'code',
    });
    expect(first.body.next).to.equal(ids[2]);
    const second = await server.api
      .get(`/token-exchange-profiles?take=2&from=${first.body.next}`)
      .expect(200);
    expect(second.body.next).to.equal(ids[4]);
    const last = await server.api
      .get(`/token-exchange-profiles?take=2&from=${second.body.next}`)
      .expect(200);
    expect(last.body).to.eql({ token_exchange_profiles: [await server.cte.profiles.get(ids[4]!)] });
    const all = await server.api.get('/token-exchange-profiles').expect(200);
    expect(all.body).to.eql({ token_exchange_profiles: await server.cte.profiles.list() });
  });

  it('refuses bad paging with 400', async () => {
    for (const [query, message] of [
      ['take=0', 'Query validation error: take must be an integer from 1 to 100.'],
      ['take=101', 'Query validation error: take must be an integer from 1 to 100.'],
      ['from=tep_nope', 'Query validation error: from is not a valid checkpoint.'],
      ['take=1&take=2', 'Query validation error: take must be given once, as a string.'],
    ]) {
      const res = await server.api.get(`/token-exchange-profiles?${query}`).expect(400);
      expect(res.body).to.eql(apiError(400, 'Bad Request', message!, 'invalid_query_string'));
    }
  });

  it('answers 409 for a duplicate subject_token_type, with the handle message, audited as fapi', async () => {
    const res = await server.api
      .post('/token-exchange-profiles', body({ subject_token_type: SUBJECT_TYPE }))
      .expect(409);
    const fromHandle = await server.cte.profiles
      .create(body({ subject_token_type: SUBJECT_TYPE }) as never)
      .catch((err: Error) => err.message);
    expect(res.body).to.eql(apiError(409, 'Conflict', fromHandle as string, 'conflict'));
    const [entry] = await server.entries('fapi');
    expectAudit(
      entry,
      'fapi',
      'Failed POST /token-exchange-profiles',
      'POST /api/v2/token-exchange-profiles',
      409,
    );
    expect(entry!.details).to.include({ error: 'conflict', error_description: fromHandle });
  });

  it('validates bodies with the same messages as cte.profiles', async () => {
    const bodies: unknown[] = [
      body({ name: 'x' }),
      body({ type: 'other' }),
      body({ extra: true }),
      body({ subject_token_type: 'urn:ietf:params:oauth:token-type:jwt' }),
      [],
    ];
    for (const sent of bodies) {
      const res = await server.api.post('/token-exchange-profiles', sent as object).expect(400);
      const fromHandle = await server.cte.profiles
        .create(sent as never)
        .catch((err: Error) => err.message);
      expect(res.body).to.eql(apiError(400, 'Bad Request', fromHandle as string, 'invalid_body'));
    }
    const malformed = await server.api
      .post('/token-exchange-profiles')
      .set('Content-Type', 'application/json')
      .send('{"name":')
      .expect(400);
    expect(malformed.body).to.eql(
      apiError(400, 'Bad Request', 'Invalid request body: not valid JSON.', 'invalid_body'),
    );
  });

  it('updates name and subject_token_type, audited with before and after', async () => {
    const created = await server.api.post('/token-exchange-profiles', body()).expect(201);
    const res = await server.api
      .patch(`/token-exchange-profiles/${created.body.id}`, {
        name: 'Renamed',
        subject_token_type: 'urn:partner:v2',
      })
      .expect(200);
    expect(res.body).to.eql({
      ...created.body,
      name: 'Renamed',
      subject_token_type: 'urn:partner:v2',
      updated_at: res.body.updated_at,
    });
    expect(res.headers.etag).to.not.equal(created.headers.etag);
    const entries = await server.entries('sapi');
    expect(entries.map((entry) => entry.description)).to.eql([
      'Create a token exchange profile',
      'Update a token exchange profile',
    ]);
    expect(entries[1]!.details.before).to.eql(created.body);
    expect(entries[1]!.details.after).to.eql(res.body);
  });

  it('refuses action_id changes and unknown ids with the handle messages', async () => {
    const created = await server.api.post('/token-exchange-profiles', body()).expect(201);
    const fixed = await server.api
      .patch(`/token-exchange-profiles/${created.body.id}`, { action_id: 'other' })
      .expect(400);
    expect(fixed.body).to.eql(
      apiError(400, 'Bad Request', 'Unable to update field.', 'invalid_body'),
    );
    const missing = await server.api.get('/token-exchange-profiles/tep_missing').expect(404);
    const fromHandle = await server.cte.profiles
      .get('tep_missing')
      .catch((err: Error) => err.message);
    expect(missing.body).to.eql(apiError(404, 'Not Found', fromHandle as string, 'not_found'));
  });

  it('honours If-Match: 412 once the profile changed, last write wins without it', async () => {
    const created = await server.api.post('/token-exchange-profiles', body()).expect(201);
    const path = `/token-exchange-profiles/${created.body.id}`;
    const first = await server.api
      .patch(path, { name: 'First' })
      .set('If-Match', created.headers.etag!)
      .expect(200);
    const stale = await server.api
      .patch(path, { name: 'Second' })
      .set('If-Match', created.headers.etag!)
      .expect(412);
    expect(stale.body).to.eql(STALE_ETAG);
    await server.api.delete(path).set('If-Match', created.headers.etag!).expect(412);
    await server.api.patch(path, { name: 'Third' }).expect(200);
    await server.api.delete(path).set('If-Match', '"nope", *').expect(204);
    expect(first.body.name).to.equal('First');
  });

  it('deletes an API profile (204, audited) and refuses one defined in code with 409', async () => {
    const created = await server.api.post('/token-exchange-profiles', body()).expect(201);
    const res = await server.api.delete(`/token-exchange-profiles/${created.body.id}`).expect(204);
    expect(res.text).to.equal('');
    const entries = await server.entries('sapi');
    expect(entries[1]).to.include({ description: 'Delete a token exchange profile' });
    expect(entries[1]!.details.before).to.eql(created.body);
    expect(entries[1]!.details).not.to.have.property('after');

    const code = await profileFor(server.cte);
    for (const attempt of [
      server.api.delete(`/token-exchange-profiles/${code.id}`),
      server.api.patch(`/token-exchange-profiles/${code.id}`, { name: 'Hijacked' }),
    ]) {
      const refused = await attempt.expect(409);
      expect(refused.body).to.eql(
        apiError(
          409,
          'Conflict',
          `Token exchange profile ${code.id} is managed in code: it is defined by the host ` +
            'application at start-up (through cte.profiles); change it there, not through the ' +
            'Management API.',
          'conflict',
        ),
      );
    }
    expect(await server.cte.profiles.get(code.id)).to.eql(code);
  });
});
