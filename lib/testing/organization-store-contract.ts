import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { OrganizationConflictError } from '../organizations/organization-store.js';
import type { Organization, OrganizationStore } from '../organizations/organization-store.js';
import { rejectionOf, testApi, type ContractOptions, type StoreFactory } from './contract-api.js';

/**
 * Registers the tests every {@link OrganizationStore} must pass: organizations by id and by
 * name, unique ids and names, updates, members and enabled connections, deletion with both, and
 * copies that cannot change the store. `makeStore` may answer stores over one shared backend:
 * each test uses organizations of its own.
 */
export function organizationStoreContract(
  makeStore: StoreFactory<OrganizationStore>,
  options: ContractOptions = {},
): void {
  const { describe, it } = testApi(options);
  const suffix = () => randomBytes(8).toString('hex');
  const organization = (extra: Partial<Organization> = {}): Organization => ({
    id: `org_${suffix()}`,
    name: `acme-${suffix()}`,
    metadata: {},
    ...extra,
  });

  describe(options.name ?? 'OrganizationStore contract', () => {
    it('creates an organization found by id, by name and in the list', async () => {
      const store = await makeStore();
      const created = organization({ display_name: 'Acme Inc.', metadata: { tier: 'gold' } });
      assert.deepEqual(await store.create(created), created);
      assert.deepEqual(await store.get(created.id), created);
      assert.deepEqual(await store.getByName(created.name), created);
      const listed = (await store.list()).filter((org) => org.id === created.id);
      assert.deepEqual(listed, [created]);
      assert.equal(await store.get(`org_${suffix()}`), undefined);
      assert.equal(await store.getByName(`none-${suffix()}`), undefined);
    });

    it('lists in creation order', async () => {
      const store = await makeStore();
      const first = await store.create(organization());
      const second = await store.create(organization());
      const ids = (await store.list()).map((org) => org.id);
      assert.ok(ids.indexOf(first.id) < ids.indexOf(second.id));
    });

    it('refuses a taken id or name, and keeps the first', async () => {
      const store = await makeStore();
      const first = await store.create(organization());
      const sameId = await rejectionOf(() => store.create(organization({ id: first.id })));
      assert.ok(sameId instanceof OrganizationConflictError);
      assert.equal(sameId.field, 'id');
      const sameName = await rejectionOf(() => store.create(organization({ name: first.name })));
      assert.ok(sameName instanceof OrganizationConflictError);
      assert.equal(sameName.field, 'name');
      assert.deepEqual(await store.get(first.id), first);
    });

    it('updates name, display_name (null removes it) and metadata; the old name is free', async () => {
      const store = await makeStore();
      const created = await store.create(organization({ display_name: 'Acme' }));
      const name = `renamed-${suffix()}`;
      const renamed = await store.update(created.id, { name, metadata: { a: '1' } });
      assert.deepEqual(renamed, { ...created, name, metadata: { a: '1' } });
      assert.equal(await store.getByName(created.name), undefined);
      assert.deepEqual(await store.getByName(name), renamed);
      const cleared = await store.update(created.id, { display_name: null });
      assert.deepEqual(cleared, { id: created.id, name, metadata: { a: '1' } });
      assert.equal(await store.update(`org_${suffix()}`, { name: `x-${suffix()}` }), undefined);
      const other = await store.create(organization());
      const taken = await rejectionOf(() => store.update(other.id, { name }));
      assert.ok(taken instanceof OrganizationConflictError);
      assert.deepEqual(await store.get(other.id), other);
    });

    it('adds, lists and removes members', async () => {
      const store = await makeStore();
      const org = await store.create(organization());
      assert.deepEqual(await store.listMembers(org.id), []);
      assert.equal(await store.addMembers(org.id, ['auth0|b', 'auth0|a']), true);
      assert.equal(await store.addMembers(org.id, ['auth0|a']), true);
      assert.deepEqual(await store.listMembers(org.id), ['auth0|a', 'auth0|b']);
      assert.equal(await store.isMember(org.id, 'auth0|a'), true);
      assert.equal(await store.isMember(org.id, 'auth0|c'), false);
      assert.equal(await store.removeMembers(org.id, ['auth0|a', 'auth0|c']), true);
      assert.deepEqual(await store.listMembers(org.id), ['auth0|b']);
      const missing = `org_${suffix()}`;
      assert.equal(await store.addMembers(missing, ['auth0|a']), false);
      assert.equal(await store.removeMembers(missing, ['auth0|a']), false);
      assert.equal(await store.listMembers(missing), undefined);
      assert.equal(await store.isMember(missing, 'auth0|a'), false);
    });

    it('enables, changes, lists and disables connections', async () => {
      const store = await makeStore();
      const org = await store.create(organization());
      const db = { connection: 'db', assign_membership_on_login: false };
      const sso = { connection: 'acme-sso', assign_membership_on_login: true };
      assert.equal(await store.setConnection(org.id, db), true);
      assert.equal(await store.setConnection(org.id, sso), true);
      assert.deepEqual(await store.listConnections(org.id), [sso, db]);
      assert.deepEqual(await store.getConnection(org.id, 'db'), db);
      const changed = { connection: 'db', assign_membership_on_login: true };
      assert.equal(await store.setConnection(org.id, changed), true);
      assert.deepEqual(await store.getConnection(org.id, 'db'), changed);
      assert.equal(await store.removeConnection(org.id, 'db'), true);
      assert.equal(await store.removeConnection(org.id, 'db'), false);
      assert.equal(await store.getConnection(org.id, 'db'), undefined);
      assert.deepEqual(await store.listConnections(org.id), [sso]);
      const missing = `org_${suffix()}`;
      assert.equal(await store.setConnection(missing, db), false);
      assert.equal(await store.listConnections(missing), undefined);
    });

    it('deletes an organization with its members and connections', async () => {
      const store = await makeStore();
      const org = await store.create(organization());
      await store.addMembers(org.id, ['auth0|a']);
      await store.setConnection(org.id, { connection: 'db', assign_membership_on_login: false });
      assert.equal(await store.delete(org.id), true);
      assert.equal(await store.delete(org.id), false);
      assert.equal(await store.get(org.id), undefined);
      assert.equal(await store.getByName(org.name), undefined);
      assert.equal(await store.isMember(org.id, 'auth0|a'), false);
      const again = await store.create({ ...org, metadata: {} });
      assert.deepEqual(await store.listMembers(again.id), []);
      assert.deepEqual(await store.listConnections(again.id), []);
    });

    it('answers copies: changing them changes nothing stored', async () => {
      const store = await makeStore();
      const input = organization({ metadata: { a: '1' } });
      const created = await store.create(input);
      input.metadata.a = 'changed';
      created.metadata.a = 'changed';
      const read = (await store.get(input.id))!;
      read.metadata.a = 'changed';
      assert.deepEqual((await store.get(input.id))!.metadata, { a: '1' });
    });
  });
}
