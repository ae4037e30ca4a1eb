import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { RoleNameConflictError } from '../permissions/permission-store.js';
import type { Permission, PermissionStore, Role } from '../permissions/permission-store.js';
import { rejectionOf, testApi, type ContractOptions, type StoreFactory } from './contract-api.js';

/** Permissions compared as sets: a store may answer them in any order. */
function sorted(permissions: readonly Permission[]): string[] {
  return permissions
    .map((p) => `${p.resource_server_identifier} ${p.permission_name}`)
    .sort((a, b) => a.localeCompare(b));
}

/**
 * Registers the tests every {@link PermissionStore} must pass: roles by id with unique names,
 * their permissions, users' roles and direct permissions, a role's users, the effective
 * permissions of a user for one API, and deletion of a role leaving every user. `makeStore` may answer stores over one
 * shared backend: each test uses roles, APIs and users of its own.
 */
export function permissionStoreContract(
  makeStore: StoreFactory<PermissionStore>,
  options: ContractOptions = {},
): void {
  const { describe, it } = testApi(options);
  const suffix = () => randomBytes(8).toString('hex');
  const role = (extra: Partial<Role> = {}): Role => ({
    id: `rol_${suffix()}`,
    name: `role-${suffix()}`,
    ...extra,
  });

  describe(options.name ?? 'PermissionStore contract', () => {
    it('creates a role found by id and in the list; updates and deletes it', async () => {
      const store = await makeStore();
      const created = role({ description: 'Reads orders' });
      assert.deepEqual(await store.createRole(created), created);
      assert.deepEqual(await store.getRole(created.id), created);
      assert.deepEqual(
        (await store.listRoles()).filter((r) => r.id === created.id),
        [created],
      );
      const renamed = `role-${suffix()}`;
      assert.deepEqual(await store.updateRole(created.id, { name: renamed, description: null }), {
        id: created.id,
        name: renamed,
      });
      assert.equal(
        await store.updateRole(`rol_${suffix()}`, { name: `role-${suffix()}` }),
        undefined,
      );
      assert.equal(await store.deleteRole(created.id), true);
      assert.equal(await store.getRole(created.id), undefined);
      assert.equal(await store.deleteRole(created.id), false);
    });

    it('refuses a taken role name with RoleNameConflictError, on create and on update', async () => {
      const store = await makeStore();
      const first = await store.createRole(role());
      const second = await store.createRole(role());
      const taken = await rejectionOf(() => store.createRole(role({ name: first.name })));
      assert.ok(taken instanceof RoleNameConflictError, String(taken));
      const renamed = await rejectionOf(() => store.updateRole(second.id, { name: first.name }));
      assert.ok(renamed instanceof RoleNameConflictError, String(renamed));
      assert.deepEqual(await store.getRole(second.id), second);
    });

    it('keeps role permissions, user roles and direct permissions; effective ones per API', async () => {
      const store = await makeStore();
      const api = `https://${suffix()}.example.com/`;
      const other = `https://${suffix()}.example.com/`;
      const user = `auth0|${suffix()}`;
      const read = { resource_server_identifier: api, permission_name: 'read:orders' };
      const write = { resource_server_identifier: api, permission_name: 'write:orders' };
      const stuff = { resource_server_identifier: other, permission_name: 'read:stuff' };
      const reader = await store.createRole(role());
      const writer = await store.createRole(role());
      assert.equal(await store.addRolePermissions(reader.id, [read]), true);
      assert.equal(await store.addRolePermissions(writer.id, [read, write, read]), true);
      assert.deepEqual(
        sorted((await store.listRolePermissions(writer.id)) ?? []),
        sorted([read, write]),
      );
      assert.equal(await store.addRolePermissions(`rol_${suffix()}`, [read]), false);
      assert.equal(await store.listRolePermissions(`rol_${suffix()}`), undefined);

      await store.assignUserRoles(user, [reader.id, writer.id]);
      await store.addUserPermissions(user, [stuff]);
      const roles = await store.listUserRoles(user);
      assert.deepEqual(roles.map((r) => r.id).sort(), [reader.id, writer.id].sort());
      assert.deepEqual(sorted(await store.listUserPermissions(user)), sorted([read, write, stuff]));
      assert.deepEqual(sorted(await store.listUserPermissions(user, api)), sorted([read, write]));

      assert.equal(await store.removeRolePermissions(writer.id, [write]), true);
      assert.deepEqual(sorted(await store.listUserPermissions(user, api)), sorted([read]));
      await store.removeUserRoles(user, [reader.id]);
      assert.deepEqual(
        (await store.listUserRoles(user)).map((r) => r.id),
        [writer.id],
      );
      assert.equal(await store.deleteRole(writer.id), true);
      assert.deepEqual(await store.listUserRoles(user), []);
      assert.deepEqual(sorted(await store.listUserPermissions(user)), sorted([stuff]));
      await store.removeUserPermissions(user, [stuff]);
      assert.deepEqual(await store.listUserPermissions(user), []);
      assert.deepEqual(await store.listUserPermissions(`auth0|${suffix()}`), []);
    });

    it('lists the users of a role, each once and ordered by id; none after it is deleted', async () => {
      const store = await makeStore();
      const reader = await store.createRole(role());
      const other = await store.createRole(role());
      const [bob, alice, carol] = ['bob', 'alice', 'carol'].map(
        (name) => `auth0|${name}-${suffix()}`,
      );
      assert.deepEqual(await store.listRoleUsers(reader.id), []);
      await store.assignUserRoles(bob!, [reader.id]);
      await store.assignUserRoles(alice!, [reader.id, other.id]);
      await store.assignUserRoles(alice!, [reader.id]);
      await store.assignUserRoles(carol!, [other.id]);
      assert.deepEqual(await store.listRoleUsers(reader.id), [alice, bob]);
      assert.deepEqual(await store.listRoleUsers(other.id), [alice, carol]);
      await store.removeUserRoles(bob!, [reader.id]);
      assert.deepEqual(await store.listRoleUsers(reader.id), [alice]);
      assert.equal(await store.listRoleUsers(`rol_${suffix()}`), undefined);
      assert.equal(await store.deleteRole(reader.id), true);
      assert.equal(await store.listRoleUsers(reader.id), undefined);
      assert.deepEqual(
        (await store.listUserRoles(alice!)).map((r) => r.id),
        [other.id],
      );
    });

    it('answers copies: changing what it returned changes nothing stored', async () => {
      const store = await makeStore();
      const created = await store.createRole(role());
      created.name = 'changed';
      const fetched = await store.getRole(created.id);
      assert.notEqual(fetched?.name, 'changed');
    });
  });
}
