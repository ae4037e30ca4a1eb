import crypto from 'node:crypto';
import { expect } from 'chai';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import request from 'supertest';
import { PostgresKeyStore } from '../../lib/stores/postgres/postgres-key-store.js';
import { keyStoreContract } from '../../lib/testing/index.js';
import { API, SECRET, basic, exchangeBody, form, testServer } from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';
import { onEachDatabase } from '../support/postgres-databases.js';
import { waitUntil } from '../support/server-process.js';

const EDDSA_PRIVATE = {
  crv: 'Ed25519',
  d: 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A',
  kty: 'OKP',
  x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
};

onEachDatabase('PostgresKeyStore', (db) => {
  keyStoreContract(() => new PostgresKeyStore({ database: db().database }), {
    name: 'the KeyStore contract',
  });

  describe('with an encryption key', () => {
    const sealing = crypto.randomBytes(32);

    beforeEach(async () => {
      await db().query('TRUNCATE cte_signing_keys, cte_signing_key_schedule');
    });
    const key = {
      kid: 'ed-sealed',
      alg: 'EdDSA' as const,
      public_jwk: { crv: 'Ed25519', kty: 'OKP', x: EDDSA_PRIVATE.x },
      private_jwk: EDDSA_PRIVATE,
      published_at: 1,
      signs_from: 1,
      retired_at: null,
      expires_at: null,
    };

    it('seals private JWKs in the table and opens them on load, bound to their kid', async () => {
      const store = new PostgresKeyStore({ database: db().database, encryptionKey: sealing });
      const { revision } = await store.load();
      await store.save(revision, [key]);
      const [row] = await db().query<{ private_jwk: Record<string, string> }>(
        'SELECT private_jwk FROM cte_signing_keys',
      );
      expect(Object.keys(row!.private_jwk)).to.deep.equal(['sealed']);
      expect(JSON.stringify(row)).not.to.include(EDDSA_PRIVATE.d);
      expect((await store.load()).keys).to.deep.equal([key]);
      // A sealed key moved under another kid does not open.
      await db().query(`UPDATE cte_signing_keys SET kid = 'moved'`);
      await store.load().then(
        () => expect.fail('opened a key under another kid'),
        (error: Error) =>
          expect(error.message).to.equal(
            'the private key of "moved" does not open with this encryptionKey (another key, or altered)',
          ),
      );
    });

    it('refuses to load sealed keys without the key, or with another', async () => {
      const store = new PostgresKeyStore({ database: db().database, encryptionKey: sealing });
      const { revision } = await store.load();
      await store.save(revision, [key]);
      const without = new PostgresKeyStore({ database: db().database });
      await without.load().then(
        () => expect.fail('loaded without the key'),
        (error: Error) =>
          expect(error.message).to.equal(
            'the private key of "ed-sealed" is sealed: give PostgresKeyStore the encryptionKey it was sealed with',
          ),
      );
      const other = new PostgresKeyStore({
        database: db().database,
        encryptionKey: crypto.randomBytes(32),
      });
      await other.load().then(
        () => expect.fail('loaded with another key'),
        (error: Error) => expect(error.message).to.match(/does not open with this encryptionKey/),
      );
    });

    it('reads keys saved in clear before, and seals them at the next save', async () => {
      const clear = new PostgresKeyStore({ database: db().database });
      const { revision } = await clear.load();
      await clear.save(revision, [key]);
      const sealed = new PostgresKeyStore({ database: db().database, encryptionKey: sealing });
      const loaded = await sealed.load();
      expect(loaded.keys).to.deep.equal([key]);
      await sealed.save(loaded.revision, loaded.keys);
      const [row] = await db().query<{ private_jwk: Record<string, string> }>(
        'SELECT private_jwk FROM cte_signing_keys',
      );
      expect(Object.keys(row!.private_jwk)).to.deep.equal(['sealed']);
    });

    it('refuses an encryption key that is not 32 bytes', () => {
      expect(
        () => new PostgresKeyStore({ database: db().database, encryptionKey: Buffer.alloc(16) }),
      ).to.throw(TypeError, 'PostgresKeyStore: options.encryptionKey must be 32 bytes');
    });
  });

  describe('behind two routers without keys of their own', () => {
    let routers: TestServer[] = [];

    before(async () => {
      await db().query('TRUNCATE cte_signing_keys, cte_signing_key_schedule');
      // A JWKS max-age of 2 s: each reads the schedule again every second.
      const options = () => ({
        // The fixtures' own keys left out: the store makes them.
        keys: undefined as never,
        jwksMaxAge: 2,
        stores: { keys: new PostgresKeyStore({ database: db().database }) },
      });
      routers = await Promise.all([testServer(options()), testServer(options())]);
    });

    after(async () => {
      await Promise.all(routers.map((router) => router.cte.close()));
    });

    const exchange = (router: TestServer) =>
      request(router.app)
        .post('/oauth/token')
        .set('Authorization', basic('app', SECRET))
        .type('form')
        .send(form(exchangeBody()));
    const jwks = async (router: TestServer) =>
      (await request(router.app).get('/.well-known/jwks.json').expect(200)).body as {
        keys: Array<{ kid: string }>;
      };

    it('serve one JWKS and sign with the same keys, made once in the store', async () => {
      const [a, b] = routers as [TestServer, TestServer];
      const issued = await exchange(a);
      expect(issued.status, JSON.stringify(issued.body)).to.equal(200);
      expect(await jwks(a)).to.deep.equal(await jwks(b));
      await jwtVerify(issued.body.access_token, createLocalJWKSet(await jwks(b)), {
        audience: API,
      });
      const fromB = await exchange(b);
      expect(decodeProtectedHeader(fromB.body.access_token).kid).to.equal(
        decodeProtectedHeader(issued.body.access_token).kid,
      );
      const stored = await db().query<{ alg: string; private: boolean }>(
        'SELECT alg, private_jwk IS NOT NULL AS private FROM cte_signing_keys ORDER BY position',
      );
      // One current and one next key for each alg the fixtures sign with, private parts kept.
      const algs = new Set(stored.map((row) => row.alg));
      expect([...algs]).to.include('ES256');
      expect(stored).to.have.length(2 * algs.size);
      expect(stored.every((row) => row.private)).to.equal(true);
    });

    it('publish a rotation made on one everywhere, then both sign with the new key', async () => {
      const [a, b] = routers as [TestServer, TestServer];
      const before = decodeProtectedHeader((await exchange(b)).body.access_token).kid;
      const [rotation] = await a.cte.keys.rotate('ES256');
      expect(rotation!.retired).to.equal(before);
      await waitUntil(
        async () => (await jwks(b)).keys.some((key) => key.kid === rotation!.next),
        'the other router reading the new schedule',
      );
      await waitUntil(
        async () =>
          decodeProtectedHeader((await exchange(b)).body.access_token).kid === rotation!.current,
        'the rotated-to key signing on the other router',
      );
      expect(Date.now()).to.be.at.least(Date.parse(rotation!.signs_from));
      const fromA = await exchange(a);
      expect(decodeProtectedHeader(fromA.body.access_token).kid).to.equal(rotation!.current);
      expect((await jwks(b)).keys.map((key) => key.kid)).to.include(before);
    });
  });
});
