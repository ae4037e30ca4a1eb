import { expect } from 'chai';
import request from 'supertest';
import { MemoryPermissionStore } from '../../lib/index.js';
import { API, exchangeBody, form } from '../support/fixtures.js';
import { apiError, expectAudit, managementServerPerTest } from './management-support.js';
import { APP } from '../support/oauth-responses.js';

const ROLE_NOT_FOUND = apiError(404, 'Not Found', 'No role found by that id', 'not_found');
const READ_ORDERS = { resource_server_identifier: API, permission_name: 'read:orders' };

describe('Management API: /roles and users’ roles and permissions', () => {
  const server = managementServerPerTest(() => ({
    permissions: { store: new MemoryPermissionStore() },
  }));

  it('creates, gets, updates and deletes a role, each change audited', async () => {
    const created = await server.api
      .post('/roles', { name: 'orders-reader', description: 'Reads orders' })
      .expect(200);
    expect(created.body).to.eql({
      id: created.body.id,
      name: 'orders-reader',
      description: 'Reads orders',
    });
    expect(created.body.id).to.match(/^rol_[A-Za-z0-9]{16}$/);
    const path = `/roles/${created.body.id}`;
    expect((await server.api.get(path).expect(200)).body).to.eql(created.body);
    const updated = await server.api.patch(path, { name: 'readers' }).expect(200);
    expect(updated.body).to.eql({ ...created.body, name: 'readers' });
    expect(await server.cte.permissions.get(created.body.id)).to.eql(updated.body);
    const deleted = await server.api.delete(path).expect(200);
    expect(deleted.text).to.equal('');
    expect((await server.api.get(path).expect(404)).body).to.eql(ROLE_NOT_FOUND);

    const entries = await server.entries('sapi');
    expect(entries.map((entry) => entry.description)).to.eql([
      'Create a role',
      'Update a role',
      'Delete a role',
    ]);
    expectAudit(entries[0], 'sapi', 'Create a role', 'POST /api/v2/roles', 200);
    expect(entries[0]!.details.target).to.eql({ type: 'role', id: created.body.id });
    expect(entries[1]!.details.before).to.eql(created.body);
    expect(entries[1]!.details.after).to.eql(updated.body);
    expect(entries[2]!.details.before).to.eql(updated.body);
  });

  it('lists roles with name_filter and Auth0 offset paging', async () => {
    for (const name of ['orders-reader', 'orders-writer', 'billing']) {
      await server.cte.permissions.create({ name });
    }
    const all = await server.cte.permissions.list();
    expect((await server.api.get('/roles').expect(200)).body).to.eql(all);
    const filtered = await server.api.get('/roles?name_filter=ORDERS').expect(200);
    expect(filtered.body.map((role: { name: string }) => role.name).sort()).to.eql([
      'orders-reader',
      'orders-writer',
    ]);
    const page = await server.api.get('/roles?per_page=1&page=1&include_totals=true').expect(200);
    expect(page.body).to.eql({ roles: [all[1]], start: 1, limit: 1, total: 3 });
  });

  it('refuses a taken name (409) and bad bodies (400) with the handle messages', async () => {
    await server.cte.permissions.create({ name: 'orders-reader' });
    const taken = await server.api.post('/roles', { name: 'orders-reader' }).expect(409);
    expect(taken.body).to.eql(
      apiError(409, 'Conflict', 'A role with the same name already exists', 'conflict'),
    );
    const nameless = await server.api.post('/roles', { description: 'x' }).expect(400);
    expect(nameless.body).to.eql(
      apiError(400, 'Bad Request', 'name must be a string of 1 to 50 characters', 'invalid_body'),
    );
    expect((await server.entries('fapi')).map((entry) => entry.details.status_code)).to.eql([
      409, 400,
    ]);
  });

  it('adds, lists and removes a role’s permissions', async () => {
    const role = await server.cte.permissions.create({ name: 'orders-reader' });
    const path = `/roles/${role.id}/permissions`;
    const write = { resource_server_identifier: API, permission_name: 'write:orders' };
    const added = await server.api.post(path, { permissions: [READ_ORDERS, write] }).expect(201);
    expect(added.text).to.equal('');
    const listed = await server.api.get(path).expect(200);
    expect(listed.body).to.have.deep.members([READ_ORDERS, write]);
    const totals = await server.api.get(`${path}?include_totals=true`).expect(200);
    expect(totals.body).to.eql({ permissions: listed.body, start: 0, limit: 50, total: 2 });
    await server.api
      .delete(path)
      .send({ permissions: [write] })
      .expect(200);
    expect(await server.cte.permissions.rolePermissions.list(role.id)).to.eql([READ_ORDERS]);
    const entries = await server.entries('sapi');
    expect(entries.map((entry) => entry.description)).to.eql([
      'Add permissions to a role',
      'Remove permissions from a role',
    ]);
    expect(entries[0]!.details.after).to.eql({ permissions: [READ_ORDERS, write] });
    expect(entries[1]!.details.before).to.eql({ permissions: [write] });

    const shape = apiError(
      400,
      'Bad Request',
      'Invalid request body: expected { permissions: [...] }.',
      'invalid_body',
    );
    expect((await server.api.post(path, [READ_ORDERS]).expect(400)).body).to.eql(shape);
    const badName = await server.api
      .post(path, { permissions: [{ resource_server_identifier: API, permission_name: 'a b' }] })
      .expect(400);
    expect(badName.body).to.eql(
      apiError(
        400,
        'Bad Request',
        'permissions[0].permission_name is not a scope token',
        'invalid_body',
      ),
    );
    const missing = await server.api
      .post('/roles/rol_AAAAAAAAAAAAAAAA/permissions', { permissions: [READ_ORDERS] })
      .expect(404);
    expect(missing.body).to.eql(ROLE_NOT_FOUND);
  });

  it('assigns and removes a user’s roles; the user’s permissions follow', async () => {
    const role = await server.cte.permissions.create({ name: 'orders-reader' });
    await server.cte.permissions.rolePermissions.add(role.id, [READ_ORDERS]);
    const path = '/users/auth0%7Calice/roles';
    await server.api.post(path, { roles: [role.id] }).expect(204);
    expect((await server.api.get(path).expect(200)).body).to.eql([role]);
    const permissions = await server.api.get('/users/auth0%7Calice/permissions').expect(200);
    expect(permissions.body).to.eql([READ_ORDERS]);
    await server.api
      .delete(path)
      .send({ roles: [role.id] })
      .expect(204);
    expect((await server.api.get(path).expect(200)).body).to.eql([]);
    expect((await server.api.get('/users/auth0%7Calice/permissions').expect(200)).body).to.eql([]);
    const entries = await server.entries('sapi');
    expectAudit(
      entries[0],
      'sapi',
      'Assign roles to a user',
      'POST /api/v2/users/auth0%7Calice/roles',
      204,
    );
    expect(entries[0]!.details.target).to.eql({ type: 'user', id: 'auth0|alice' });
    expect(entries[0]!.details.after).to.eql({ roles: [role.id] });
    expect(entries[1]!.description).to.equal('Remove roles from a user');
    expect(entries[1]!.details.before).to.eql({ roles: [role.id] });

    const unknown = await server.api.post(path, { roles: ['rol_AAAAAAAAAAAAAAAA'] }).expect(404);
    expect(unknown.body).to.eql(ROLE_NOT_FOUND);
    const shape = await server.api.post(path, { roles: [role.id], extra: 1 }).expect(400);
    expect(shape.body).to.eql(
      apiError(
        400,
        'Bad Request',
        'Invalid request body: expected { roles: [...] }.',
        'invalid_body',
      ),
    );
  });

  it('assigns a role to users and lists them with the known users’ profiles, paged', async () => {
    const role = await server.cte.permissions.create({ name: 'orders-reader' });
    const path = `/roles/${role.id}/users`;
    const assigned = await server.api
      .post(path, { users: ['auth0|unknown', 'auth0|alice'] })
      .expect(200);
    expect(assigned.text).to.equal('');
    expect(await server.cte.permissions.userRoles.list('auth0|alice')).to.eql([role]);
    const alice = {
      user_id: 'auth0|alice',
      email: 'alice@example.com',
      name: 'Alice Liddell',
      picture: 'https://example.com/alice.png',
    };
    const listed = await server.api.get(path).expect(200).expect('Content-Type', /json/);
    expect(listed.body).to.eql([alice, { user_id: 'auth0|unknown' }]);
    const totals = await server.api.get(`${path}?per_page=1&include_totals=true`).expect(200);
    expect(totals.body).to.eql({ users: [alice], start: 0, limit: 1, total: 2 });
    const first = await server.api.get(`${path}?take=1`).expect(200);
    expect(first.body).to.eql({ users: [alice], next: 'auth0|unknown' });
    const second = await server.api.get(`${path}?from=auth0%7Cunknown&take=1`).expect(200);
    expect(second.body).to.eql({ users: [{ user_id: 'auth0|unknown' }] });

    const [entry, ...others] = await server.entries('sapi');
    expect(others).to.eql([]);
    expectAudit(entry, 'sapi', 'Assign users to a role', `POST /api/v2${path}`, 200);
    expect(entry!.details.target).to.eql({ type: 'role', id: role.id });
    expect(entry!.details.after).to.eql({ users: ['auth0|unknown', 'auth0|alice'] });
  });

  it('refuses a bad body (400) and an unknown role (404) on /roles/{id}/users, assigning no one', async () => {
    const role = await server.cte.permissions.create({ name: 'orders-reader' });
    const path = `/roles/${role.id}/users`;
    const shape = apiError(
      400,
      'Bad Request',
      'Invalid request body: expected { users: [...] }.',
      'invalid_body',
    );
    expect((await server.api.post(path, ['auth0|alice']).expect(400)).body).to.eql(shape);
    expect((await server.api.post(path, { users: ['auth0|alice'], x: 1 }).expect(400)).body).to.eql(
      shape,
    );
    const empty = await server.api.post(path, { users: [] }).expect(400);
    expect(empty.body).to.eql(
      apiError(400, 'Bad Request', 'users must be a non-empty array', 'invalid_body'),
    );
    const notText = await server.api.post(path, { users: ['auth0|alice', 7] }).expect(400);
    expect(notText.body).to.eql(
      apiError(
        400,
        'Bad Request',
        'users[1] must be a string of 1 to 300 characters',
        'invalid_body',
      ),
    );
    const unknown = '/roles/rol_AAAAAAAAAAAAAAAA/users';
    const assign = await server.api.post(unknown, { users: ['auth0|alice'] }).expect(404);
    expect(assign.body).to.eql(ROLE_NOT_FOUND);
    expect((await server.api.get(unknown).expect(404)).body).to.eql(ROLE_NOT_FOUND);
    expect((await server.api.get(path).expect(200)).body).to.eql([]);
    expect(await server.cte.permissions.userRoles.list('auth0|alice')).to.eql([]);
    expect(await server.entries('sapi')).to.eql([]);
    const failures = await server.entries('fapi');
    expect(failures.map((entry) => entry.details.status_code)).to.eql([400, 400, 400, 400, 404]);
  });

  it('a role assigned over HTTP changes the scopes of the next exchange on an API with enforce_policies', async () => {
    await server.cte.resourceServers.update(API, { enforce_policies: true });
    const exchange = () =>
      request(server.app)
        .post('/oauth/token')
        .set('Authorization', APP)
        .type('form')
        .send(form(exchangeBody({ scope: 'read:orders write:orders' })));
    const before = await exchange().expect(200);
    expect(before.body.scope).to.equal('');

    const role = (await server.api.post('/roles', { name: 'orders-reader' }).expect(200)).body;
    await server.api.post(`/roles/${role.id}/permissions`, { permissions: [READ_ORDERS] });
    await server.api.post('/users/auth0%7Calice/roles', { roles: [role.id] }).expect(204);

    const after = await exchange().expect(200);
    expect(after.body.scope).to.equal('read:orders');
    const [entry] = await server.cte.logs.list({ type: 'secte' });
    expect(entry).to.deep.include({ scope: 'read:orders', user_id: 'auth0|alice' });
  });
});

describe('Management API: /roles without a permission store', () => {
  const server = managementServerPerTest();

  it('answers 501 unsupported on every role route, and changes nothing', async () => {
    const unsupported = apiError(
      501,
      'Not Implemented',
      'Roles and permissions are changed only on a router with options.permissions.store.',
      'unsupported',
    );
    expect((await server.api.get('/roles').expect(501)).body).to.eql(unsupported);
    expect((await server.api.post('/roles', { name: 'x-role' }).expect(501)).body).to.eql(
      unsupported,
    );
    expect((await server.api.get('/users/auth0%7Calice/permissions').expect(501)).body).to.eql(
      unsupported,
    );
    expect((await server.api.get('/roles/rol_x/users').expect(501)).body).to.eql(unsupported);
    const assign = await server.api.post('/roles/rol_x/users', { users: ['auth0|alice'] });
    expect(assign.status).to.equal(501);
    expect(assign.body).to.eql(unsupported);
    const failures = await server.entries('fapi');
    expect(failures.map((entry) => entry.details.status_code)).to.eql([501, 501]);
    expect(failures[0]!.details).to.include({ error: 'unsupported', status_code: 501 });
    expect(await server.entries('sapi')).to.eql([]);
  });
});
