import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { ManagementError } from '../errors.js';
import type { ClientDefinition } from '../registry/clients.js';
import type { ManagedClientStore } from '../registry/managed-client-store.js';
import { rejectionOf, testApi, type ContractOptions, type StoreFactory } from './contract-api.js';

/**
 * Registers the tests every {@link ManagedClientStore} must pass: a client is read back as it
 * was written (nested fields and arrays included), an unknown id is `undefined`, answers are
 * copies, `update` changes the fields given and removes those set to `null`, `delete` removes,
 * and invalid definitions, taken ids, unknown ids and id changes are refused with the
 * `ManagementError` codes of the router's handles. `makeStore` may answer stores over one
 * shared backend: each test uses client ids of its own.
 */
export function clientStoreContract(
  makeStore: StoreFactory<ManagedClientStore>,
  options: ContractOptions = {},
): void {
  const { describe, it } = testApi(options);
  const SECRET = 'contract-secret-0123456789abcdef';
  const HASH = `$scrypt$ln=10,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$${'A'.repeat(43)}`;
  const full = (clientId: string): ClientDefinition => ({
    client_id: clientId,
    name: 'Contract app',
    client_secret: [SECRET, `${SECRET}-previous`],
    token_endpoint_auth_method: 'client_secret_basic',
    jwt_configuration: { alg: 'ES256', lifetime_in_seconds: 600 },
    token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
    client_metadata: { team: 'checkout', 'odd key \u00e9': '\u{1F600}' },
    refresh_token: { rotation_type: 'non-rotating', leeway: 10 },
  });
  const codeOf = async (operation: () => unknown) =>
    ((await rejectionOf(operation)) as ManagementError | undefined)?.code;

  describe(options.name ?? 'ManagedClientStore contract', () => {
    it('reads a client back as it was written; an unknown id is undefined', async () => {
      const store = await makeStore();
      const id = `app-${randomUUID()}`;
      assert.deepEqual(await store.create(full(id)), full(id));
      assert.deepEqual(await store.get(id), full(id));
      assert.equal(await store.get(`nobody-${randomUUID()}`), undefined);
    });

    it('answers copies: changing an answer changes nothing stored', async () => {
      const store = await makeStore();
      const id = `app-${randomUUID()}`;
      const given = full(id);
      await store.create(given);
      given.name = 'changed';
      const read = (await store.get(id))!;
      read.client_metadata!.team = 'changed';
      assert.deepEqual(await store.get(id), full(id));
    });

    it('updates the fields given, removes those set to null, and keeps the id', async () => {
      const store = await makeStore();
      const id = `app-${randomUUID()}`;
      await store.create(full(id));
      const rotated = await store.update(id, {
        client_secret: null,
        client_secret_hash: HASH,
        name: 'Renamed',
      });
      const expected: ClientDefinition = { ...full(id), name: 'Renamed', client_secret_hash: HASH };
      delete expected.client_secret;
      assert.deepEqual(rotated, expected);
      assert.deepEqual(await store.get(id), expected);
      assert.equal(await codeOf(() => store.update(id, { client_id: 'other' })), 'invalid_body');
      assert.equal(
        await codeOf(() => store.update(`nobody-${randomUUID()}`, { name: 'x' })),
        'not_found',
      );
      assert.deepEqual(await store.get(id), expected);
    });

    it('refuses an invalid definition, on create and on update, and keeps what it had', async () => {
      const store = await makeStore();
      const id = `app-${randomUUID()}`;
      assert.equal(
        await codeOf(() => store.create({ ...full(id), colour: 'red' } as ClientDefinition)),
        'invalid_body',
      );
      assert.equal(await store.get(id), undefined);
      await store.create(full(id));
      assert.equal(
        await codeOf(() => store.update(id, { token_endpoint_auth_method: 'tls' as never })),
        'invalid_body',
      );
      assert.equal(await codeOf(() => store.update(id, { name: null })), 'invalid_body');
      assert.deepEqual(await store.get(id), full(id));
    });

    it('refuses a client id that is taken, and keeps the first', async () => {
      const store = await makeStore();
      const id = `app-${randomUUID()}`;
      await store.create(full(id));
      assert.equal(await codeOf(() => store.create({ ...full(id), name: 'Impostor' })), 'conflict');
      assert.equal((await store.get(id))?.name, 'Contract app');
    });

    it('deletes a client, once', async () => {
      const store = await makeStore();
      const id = `app-${randomUUID()}`;
      await store.create(full(id));
      assert.equal(await store.delete(id), true);
      assert.equal(await store.delete(id), false);
      assert.equal(await store.get(id), undefined);
      await store.create(full(id));
      assert.deepEqual(await store.get(id), full(id));
    });
  });
}
