import { expect } from 'chai';
import { ManagementError } from '../../lib/errors.js';
import { permissionsHandle } from '../../lib/handles/permissions-handle.js';
import { MemoryPermissionStore } from '../../lib/index.js';
import { rejectionAs } from '../support/rejections.js';

const API = 'https://api.example.com/';
const OTHER = 'https://other.example.com/';
const read = { resource_server_identifier: API, permission_name: 'read:orders' };
const write = { resource_server_identifier: API, permission_name: 'write:orders' };
const stuff = { resource_server_identifier: OTHER, permission_name: 'read:stuff' };

const rejection = (promise: Promise<unknown>) => rejectionAs(promise, ManagementError);

describe('cte.permissions (the handle over a PermissionStore)', () => {
  it('creates, gets, lists, updates and deletes roles; ids are rol_ and 16 characters', async () => {
    const handle = permissionsHandle(new MemoryPermissionStore());
    const role = await handle.create({ name: 'reader', description: 'Reads' });
    expect(role.id).to.match(/^rol_[A-Za-z0-9]{16}$/);
    expect(role).to.deep.equal({ id: role.id, name: 'reader', description: 'Reads' });
    expect(await handle.get(role.id)).to.deep.equal(role);
    expect(await handle.update(role.id, { name: 'readers', description: null })).to.deep.equal({
      id: role.id,
      name: 'readers',
    });
    expect(await handle.list()).to.deep.equal([{ id: role.id, name: 'readers' }]);
    await handle.delete(role.id);
    expect(await handle.list()).to.deep.equal([]);
    expect(await rejection(handle.get(role.id))).to.include({
      code: 'not_found',
      status: 404,
      message: 'No role found by that id',
    });
    expect(await rejection(handle.delete(role.id))).to.include({ code: 'not_found' });
  });

  it('refuses a duplicate name (conflict) and a bad body (invalid_body)', async () => {
    const handle = permissionsHandle(new MemoryPermissionStore());
    const first = await handle.create({ name: 'reader' });
    const second = await handle.create({ name: 'writer' });
    expect(await rejection(handle.create({ name: 'reader' }))).to.include({
      code: 'conflict',
      status: 409,
      message: 'A role with the same name already exists',
    });
    expect(await rejection(handle.update(second.id, { name: 'reader' }))).to.include({
      code: 'conflict',
    });
    expect(await handle.update(first.id, { name: 'reader' })).to.deep.equal(first);
    expect(await rejection(handle.create({ name: '' }))).to.include({
      code: 'invalid_body',
      status: 400,
      message: 'name must be a string of 1 to 50 characters',
    });
    expect(
      await rejection(
        handle.rolePermissions.add(first.id, [
          { resource_server_identifier: API, permission_name: 'has space' },
        ]),
      ),
    ).to.include({
      code: 'invalid_body',
      message: 'permissions[0].permission_name is not a scope token',
    });
    expect(await rejection(handle.rolePermissions.add(first.id, []))).to.include({
      code: 'invalid_body',
      message: 'permissions must be a non-empty array',
    });
  });

  it('role permissions, user roles and direct permissions make the effective permissions', async () => {
    const handle = permissionsHandle(new MemoryPermissionStore());
    const reader = await handle.create({ name: 'reader' });
    const writer = await handle.create({ name: 'writer' });
    await handle.rolePermissions.add(reader.id, [read]);
    await handle.rolePermissions.add(writer.id, [read, write]);
    expect(await handle.rolePermissions.list(writer.id)).to.deep.equal([read, write]);
    await handle.userRoles.assign('auth0|alice', [reader.id, writer.id]);
    await handle.userPermissions.add('auth0|alice', [stuff]);
    expect(await handle.userRoles.list('auth0|alice')).to.deep.equal([reader, writer]);
    expect(await handle.userPermissions.list('auth0|alice')).to.deep.equal([stuff, read, write]);
    expect(await handle.userPermissions.list('auth0|alice', API)).to.deep.equal([read, write]);

    await handle.rolePermissions.remove(writer.id, [write]);
    expect(await handle.userPermissions.list('auth0|alice', API)).to.deep.equal([read]);
    await handle.userRoles.remove('auth0|alice', [reader.id]);
    expect(await handle.userRoles.list('auth0|alice')).to.deep.equal([writer]);
    // A deleted role leaves every user.
    await handle.delete(writer.id);
    expect(await handle.userRoles.list('auth0|alice')).to.deep.equal([]);
    expect(await handle.userPermissions.list('auth0|alice')).to.deep.equal([stuff]);
    await handle.userPermissions.remove('auth0|alice', [stuff]);
    expect(await handle.userPermissions.list('auth0|alice')).to.deep.equal([]);
    expect(await handle.userPermissions.list('auth0|nobody')).to.deep.equal([]);
  });

  it('assigns a role to users, who then list it; the role lists them by id', async () => {
    const handle = permissionsHandle(new MemoryPermissionStore());
    const reader = await handle.create({ name: 'reader' });
    const writer = await handle.create({ name: 'writer' });
    await handle.userRoles.assign('auth0|carol', [writer.id]);
    await handle.roleUsers.assign(reader.id, ['auth0|bob', 'auth0|alice', 'auth0|bob']);
    await handle.roleUsers.assign(writer.id, ['auth0|alice']);
    expect(await handle.roleUsers.list(reader.id)).to.deep.equal(['auth0|alice', 'auth0|bob']);
    expect(await handle.roleUsers.list(writer.id)).to.deep.equal(['auth0|alice', 'auth0|carol']);
    expect(await handle.userRoles.list('auth0|alice')).to.deep.equal([reader, writer]);
    for (const [users, message] of [
      [[], 'users must be a non-empty array'],
      ['auth0|alice', 'users must be a non-empty array'],
      [['auth0|dave', ''], 'users[1] must be a string of 1 to 300 characters'],
    ] as const) {
      expect(await rejection(handle.roleUsers.assign(reader.id, users as never))).to.include({
        code: 'invalid_body',
        message,
      });
    }
    expect(await handle.roleUsers.list(reader.id)).to.deep.equal(['auth0|alice', 'auth0|bob']);
  });

  it('refuses an unknown role anywhere it is named, assigning none of a list with one unknown', async () => {
    const handle = permissionsHandle(new MemoryPermissionStore());
    const reader = await handle.create({ name: 'reader' });
    for (const attempt of [
      handle.rolePermissions.add('rol_0000000000000000', [read]),
      handle.rolePermissions.remove('rol_0000000000000000', [read]),
      handle.rolePermissions.list('rol_0000000000000000'),
      handle.update('rol_0000000000000000', { name: 'x' }),
      handle.userRoles.assign('auth0|alice', [reader.id, 'rol_0000000000000000']),
      handle.roleUsers.assign('rol_0000000000000000', ['auth0|alice']),
      handle.roleUsers.list('rol_0000000000000000'),
    ]) {
      expect(await rejection(attempt)).to.include({ code: 'not_found' });
    }
    expect(await handle.userRoles.list('auth0|alice')).to.deep.equal([]);
  });

  it('without a store every method rejects with unsupported', async () => {
    const handle = permissionsHandle(undefined);
    for (const attempt of [
      handle.create({ name: 'reader' }),
      handle.list(),
      handle.userPermissions.list('auth0|alice'),
      handle.userRoles.assign('auth0|alice', ['rol_0000000000000000']),
      handle.roleUsers.list('rol_0000000000000000'),
    ]) {
      expect(await rejection(attempt)).to.include({
        code: 'unsupported',
        status: 400,
        message: 'options.permissions has no store',
      });
    }
  });
});
