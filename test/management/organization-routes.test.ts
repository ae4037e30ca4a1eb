import { expect } from 'chai';
import { apiError, expectAudit, managementServerPerTest } from './management-support.js';

const NOT_FOUND = apiError(
  404,
  'Not Found',
  'No organization found by that id or name',
  'not_found',
);

describe('Management API: /organizations', () => {
  const server = managementServerPerTest();

  it('creates an organization (201, audited) that cte.organizations then reads', async () => {
    const res = await server.api
      .post('/organizations', { name: 'acme', display_name: 'Acme', metadata: { tier: 'gold' } })
      .expect(201);
    expect(res.body).to.eql({
      id: res.body.id,
      name: 'acme',
      display_name: 'Acme',
      metadata: { tier: 'gold' },
    });
    expect(res.body.id).to.match(/^org_[A-Za-z0-9]{16}$/);
    expect(res.headers['cache-control']).to.equal('no-store');
    expect(await server.cte.organizations.get(res.body.id)).to.eql(res.body);
    const [entry] = await server.entries('sapi');
    expectAudit(entry, 'sapi', 'Create an organization', 'POST /api/v2/organizations', 201);
    expect(entry!.details.target).to.eql({ type: 'organization', id: res.body.id });
    expect(entry!.details.after).to.eql(res.body);
  });

  it('gets by id and by name; 404 with the handle message for neither', async () => {
    const created = await server.cte.organizations.create({ name: 'acme' });
    expect((await server.api.get(`/organizations/${created.id}`).expect(200)).body).to.eql(created);
    expect((await server.api.get('/organizations/name/acme').expect(200)).body).to.eql(created);
    const byId = await server.api.get('/organizations/org_AAAAAAAAAAAAAAAA').expect(404);
    expect(byId.body).to.eql(NOT_FOUND);
    const byName = await server.api.get('/organizations/name/nobody').expect(404);
    expect(byName.body).to.eql(NOT_FOUND);
  });

  it('refuses bad bodies and taken names with the handle messages, audited as fapi', async () => {
    await server.cte.organizations.create({ name: 'acme' });
    for (const [sent, status, code] of [
      [{ name: 'Not Valid' }, 400, 'invalid_body'],
      [{ name: 'acme2', branding: {} }, 400, 'invalid_body'],
      [{}, 400, 'invalid_body'],
      [{ name: 'acme' }, 409, 'conflict'],
    ] as const) {
      const res = await server.api.post('/organizations', sent).expect(status);
      const fromHandle = await server.cte.organizations
        .create(sent as never)
        .catch((err: Error) => err.message);
      expect(res.body).to.eql(
        apiError(status, status === 400 ? 'Bad Request' : 'Conflict', fromHandle as string, code),
      );
    }
    const failures = await server.entries('fapi');
    expect(failures).to.have.length(4);
    expectAudit(
      failures[3],
      'fapi',
      'Failed POST /organizations',
      'POST /api/v2/organizations',
      409,
    );
  });

  it('updates and deletes, audited with before and after', async () => {
    const created = await server.cte.organizations.create({ name: 'acme', display_name: 'Acme' });
    const path = `/organizations/${created.id}`;
    const updated = await server.api
      .patch(path, { name: 'acme-corp', display_name: null })
      .expect(200);
    expect(updated.body).to.eql({ id: created.id, name: 'acme-corp', metadata: {} });
    await server.api.delete(path).expect(204);
    expect((await server.api.get(path).expect(404)).body).to.eql(NOT_FOUND);
    expect((await server.api.delete(path).expect(404)).body).to.eql(NOT_FOUND);
    const entries = await server.entries('sapi');
    expect(entries.map((entry) => entry.description)).to.eql([
      'Update an organization',
      'Delete an organization',
    ]);
    expect(entries[0]!.details.before).to.eql(created);
    expect(entries[0]!.details.after).to.eql(updated.body);
    expect(entries[1]!.details.before).to.eql(updated.body);
    expect(entries[1]!.details).not.to.have.property('after');
    expectAudit(entries[1], 'sapi', 'Delete an organization', `DELETE /api/v2${path}`, 204);
  });

  describe('paging', () => {
    let all: Array<{ id: string }>;
    beforeEach(async () => {
      for (let i = 0; i < 5; i += 1) await server.cte.organizations.create({ name: `org-${i}` });
      all = await server.cte.organizations.list();
    });

    it('answers a bare array by default, and start, limit and total with include_totals', async () => {
      expect((await server.api.get('/organizations').expect(200)).body).to.eql(all);
      const page = await server.api
        .get('/organizations?page=1&per_page=2&include_totals=true')
        .expect(200);
      expect(page.body).to.eql({ organizations: all.slice(2, 4), start: 2, limit: 2, total: 5 });
      const bare = await server.api.get('/organizations?page=2&per_page=2').expect(200);
      expect(bare.body).to.eql(all.slice(4));
    });

    it('follows checkpoints with from, take and next', async () => {
      const first = await server.api.get('/organizations?take=2').expect(200);
      expect(first.body).to.eql({ organizations: all.slice(0, 2), next: all[2]!.id });
      const second = await server.api.get(`/organizations?take=2&from=${all[2]!.id}`).expect(200);
      expect(second.body).to.eql({ organizations: all.slice(2, 4), next: all[4]!.id });
      const last = await server.api.get(`/organizations?take=2&from=${all[4]!.id}`).expect(200);
      expect(last.body).to.eql({ organizations: all.slice(4) });
    });

    it('refuses bad paging with 400', async () => {
      for (const [query, message, code] of [
        ['per_page=0', 'Query validation error: per_page must be an integer from 1 to 100.'],
        ['include_totals=yes', 'Query validation error: include_totals must be true or false.'],
        ['from=org_nope', 'Query validation error: from is not a valid checkpoint.'],
        [
          'page=20&per_page=50',
          'Requesting page exceeds the allowed maximum of 1000 records',
          'invalid_paging',
        ],
      ]) {
        const res = await server.api.get(`/organizations?${query}`).expect(400);
        expect(res.body).to.eql(
          apiError(400, 'Bad Request', message!, code ?? 'invalid_query_string'),
        );
      }
    });
  });

  describe('members', () => {
    let path: string;
    let id: string;
    beforeEach(async () => {
      id = (await server.cte.organizations.create({ name: 'acme' })).id;
      path = `/organizations/${id}/members`;
    });

    it('adds, lists with the known users’ profiles, and removes members, each change audited', async () => {
      await server.api.post(path, { members: ['auth0|alice', 'auth0|unknown'] }).expect(204);
      expect(await server.cte.organizations.members.list(id)).to.eql([
        'auth0|alice',
        'auth0|unknown',
      ]);
      const listed = await server.api.get(path).expect(200);
      expect(listed.body).to.eql([
        {
          user_id: 'auth0|alice',
          email: 'alice@example.com',
          name: 'Alice Liddell',
          picture: 'https://example.com/alice.png',
        },
        { user_id: 'auth0|unknown' },
      ]);
      const totals = await server.api.get(`${path}?per_page=1&include_totals=true`).expect(200);
      expect(totals.body).to.eql({
        members: [listed.body[0]],
        start: 0,
        limit: 1,
        total: 2,
      });
      const checkpoint = await server.api.get(`${path}?take=1`).expect(200);
      expect(checkpoint.body).to.eql({ members: [listed.body[0]], next: 'auth0|unknown' });

      await server.api
        .delete(path)
        .send({ members: ['auth0|unknown'] })
        .expect(204);
      expect(await server.cte.organizations.members.list(id)).to.eql(['auth0|alice']);

      const entries = await server.entries('sapi');
      expect(entries.map((entry) => entry.description)).to.eql([
        'Add members to an organization',
        'Delete members from an organization',
      ]);
      expectAudit(entries[0], 'sapi', 'Add members to an organization', `POST /api/v2${path}`, 204);
      expect(entries[0]!.details.target).to.eql({ type: 'organization', id });
      expect(entries[0]!.details.after).to.eql({ members: ['auth0|alice', 'auth0|unknown'] });
      expect(entries[1]!.details.before).to.eql({ members: ['auth0|unknown'] });
    });

    it('refuses bodies other than { members: [1 to 10 ids] } and unknown organizations', async () => {
      const shape = apiError(
        400,
        'Bad Request',
        'Invalid request body: expected { members: [...] }.',
        'invalid_body',
      );
      expect((await server.api.post(path, ['auth0|alice']).expect(400)).body).to.eql(shape);
      expect((await server.api.post(path, { members: ['a'], roles: [] }).expect(400)).body).to.eql(
        shape,
      );
      expect((await server.api.delete(path).expect(400)).body).to.eql(shape);
      const tooMany = Array.from({ length: 11 }, (_, i) => `auth0|${i}`);
      const fromHandle = await server.cte.organizations.members
        .add(id, tooMany)
        .catch((err: Error) => err.message);
      expect((await server.api.post(path, { members: tooMany }).expect(400)).body).to.eql(
        apiError(400, 'Bad Request', fromHandle as string, 'invalid_body'),
      );
      const elsewhere = '/organizations/org_AAAAAAAAAAAAAAAA/members';
      expect((await server.api.get(elsewhere).expect(404)).body).to.eql(NOT_FOUND);
      expect(
        (await server.api.post(elsewhere, { members: ['auth0|alice'] }).expect(404)).body,
      ).to.eql(NOT_FOUND);
      expect(await server.cte.organizations.members.list(id)).to.eql([]);
      expect(await server.entries('sapi')).to.eql([]);
    });
  });
});
