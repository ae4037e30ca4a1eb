import { expect } from 'chai';
import request from 'supertest';
import { hashClientSecret } from '../../lib/registry/client-secret-hash.js';
import { PostgresClientStore } from '../../lib/stores/postgres/postgres-client-store.js';
import { clientStoreContract } from '../../lib/testing/index.js';
import { SECRET, basic, exchangeBody, form, testServer } from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';
import { onEachDatabase } from '../support/postgres-databases.js';

const NEW_SECRET = 'rotated-secret-0123456789abcdef';

onEachDatabase('PostgresClientStore', (db) => {
  clientStoreContract(() => new PostgresClientStore({ database: db().database }), {
    name: 'the ManagedClientStore contract',
  });

  describe('behind two routers', () => {
    let store: PostgresClientStore;
    let routers: TestServer[] = [];

    before(async () => {
      store = new PostgresClientStore({ database: db().database });
      await db().query("DELETE FROM cte_clients WHERE client_id = 'shared-app'");
      await store.create({
        client_id: 'shared-app',
        name: 'Shared app',
        client_secret_hash: await hashClientSecret(SECRET, { logN: 10 }),
        token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
      });
      routers = [await testServer({ clients: store }), await testServer({ clients: store })];
    });

    after(async () => {
      await Promise.all(routers.map((router) => router.cte.close()));
    });

    const exchange = (router: TestServer, secret: string) =>
      request(router.app)
        .post('/oauth/token')
        .type('form')
        .send(form({ ...exchangeBody(), client_id: 'shared-app', client_secret: secret }));

    it('authenticates one client on both, and sees a rotation on each once invalidated', async () => {
      for (const router of routers) expect((await exchange(router, SECRET)).status).to.equal(200);
      await store.update('shared-app', {
        client_secret_hash: await hashClientSecret(NEW_SECRET, { logN: 10 }),
      });
      await routers[0]!.cte.clients.invalidate('shared-app');
      expect((await exchange(routers[0]!, NEW_SECRET)).status).to.equal(200);
      expect((await exchange(routers[0]!, SECRET)).status).to.equal(401);
      // The other instance serves what it cached until it is told, or its ttlMs passes.
      expect((await exchange(routers[1]!, SECRET)).status).to.equal(200);
      await routers[1]!.cte.clients.invalidate('shared-app');
      expect((await exchange(routers[1]!, NEW_SECRET)).status).to.equal(200);
      await store.delete('shared-app');
      for (const router of routers) {
        await router.cte.clients.invalidate();
        const res = await request(router.app)
          .post('/oauth/token')
          .set('Authorization', basic('shared-app', NEW_SECRET))
          .type('form')
          .send(form(exchangeBody()));
        expect(res.status).to.equal(401);
      }
    });
  });
});
