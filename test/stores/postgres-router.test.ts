import { expect } from 'chai';
import { decodeJwt } from 'jose';
import request from 'supertest';
import type { LogEntry } from '../../lib/logs/log-entry.js';
import { migrate } from '../../lib/stores/postgres/migrate.js';
import { PostgresLogSink } from '../../lib/stores/postgres/postgres-log-sink.js';
import { PostgresPermissionStore } from '../../lib/stores/postgres/postgres-permission-store.js';
import { PostgresRefreshTokenStore } from '../../lib/stores/postgres/postgres-refresh-token-store.js';
import { PostgresReplayStore } from '../../lib/stores/postgres/postgres-replay-store.js';
import { PostgresRevokedTokenStore } from '../../lib/stores/postgres/postgres-revoked-token-store.js';
import { PostgresUserStore } from '../../lib/stores/postgres/postgres-user-store.js';
import { API, SECRET, basic, exchangeBody, form, testServer } from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';
import { openPGlite, type TestDatabase } from '../support/postgres-databases.js';

const INTROSPECTION_SECRET = 'orders-api-introspection-secret';

/** Two routers sharing one database, as two instances would (one process: the SQL is the same). */
describe('routers sharing PostgreSQL stores', function () {
  this.timeout(30_000);
  let db: TestDatabase | undefined;
  let instances: Array<{ server: TestServer; sink: PostgresLogSink }> = [];

  before(async () => {
    db = await openPGlite();
    await migrate(db.database);
    for (let i = 0; i < 2; i++) {
      const sink = new PostgresLogSink({ database: db.database });
      const server = await testServer({
        users: new PostgresUserStore({ database: db.database }),
        logSinks: [sink],
        stores: {
          replay: new PostgresReplayStore({ database: db.database }),
          refreshTokens: new PostgresRefreshTokenStore({ database: db.database }),
          revokedTokens: new PostgresRevokedTokenStore({ database: db.database }),
        },
        resourceServers: [
          {
            identifier: API,
            scopes: [{ value: 'read:orders' }],
            signing_alg: 'ES256',
            allow_offline_access: true,
            introspection: { client_id: 'orders-api', client_secret: INTROSPECTION_SECRET },
          },
        ],
      });
      instances.push({ server, sink });
    }
  });

  after(async () => {
    await Promise.all(instances.map(({ server }) => server.cte.close()));
    instances = [];
    await db?.close();
  });

  const exchange = (server: TestServer, subjectToken: string) =>
    request(server.app)
      .post('/oauth/token')
      .set('Authorization', basic('app', SECRET))
      .type('form')
      .send(form(exchangeBody({ subject_token: subjectToken })));

  it('creates one user for one new identity exchanged on both at once, and logs on both', async () => {
    const written: LogEntry[][] = instances.map(() => []);
    instances.forEach(({ server }, i) =>
      server.cte.on('secte', (entry) => written[i]!.push(entry)),
    );
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => exchange(instances[i % 2]!.server, 'conn:partner:p-1')),
    );
    expect(answers.map((res) => res.status)).to.deep.equal(Array(6).fill(200));
    const users = await db!.query<{ user_id: string; logins_count: number }>(
      `SELECT user_id, logins_count FROM cte_users WHERE user_id = 'partner|p-1'`,
    );
    expect(users).to.deep.equal([{ user_id: 'partner|p-1', logins_count: 6 }]);

    await Promise.all(instances.map(({ sink }) => sink.flush()));
    const [a, b] = instances.map(({ server }) => server);
    // Each instance wrote three entries; logs.list() on either answers for both.
    expect(written.map((entries) => entries.length)).to.deep.equal([3, 3]);
    const all = await a!.cte.logs.list({ user_id: 'partner|p-1' });
    expect(all).to.have.length(6);
    expect(all.every((entry) => entry.type === 'secte')).to.equal(true);
    const byId = new Map(all.map((entry): [string, LogEntry] => [entry.log_id, entry]));
    for (const entry of written.flat()) expect(byId.get(entry.log_id)).to.deep.equal(entry);
    expect(await b!.cte.logs.list({ user_id: 'partner|p-1' })).to.deep.equal(all);
    expect(await b!.cte.logs.list({ user_id: 'partner|p-1', take: 2 })).to.deep.equal(
      all.slice(0, 2),
    );
  });

  it('redeems on one instance a refresh token issued by the other; of two at once on both, one wins', async () => {
    const [a, b] = instances.map(({ server }) => server);
    const issued = await request(a!.app)
      .post('/oauth/token')
      .set('Authorization', basic('app', SECRET))
      .type('form')
      .send(
        form(
          exchangeBody({ subject_token: 'conn:partner:p-2', scope: 'offline_access read:orders' }),
        ),
      );
    expect(issued.status, JSON.stringify(issued.body)).to.equal(200);
    const refresh = (server: TestServer, token: string) =>
      request(server.app)
        .post('/oauth/token')
        .set('Authorization', basic('app', SECRET))
        .type('form')
        .send(form({ grant_type: 'refresh_token', refresh_token: token }));
    const rotated = await refresh(b!, issued.body.refresh_token as string);
    expect(rotated.status).to.equal(200);
    expect(rotated.body.scope).to.equal('offline_access read:orders');
    const successor = rotated.body.refresh_token as string;
    const [one, two] = await Promise.all([refresh(a!, successor), refresh(b!, successor)]);
    expect([one.status, two.status].sort()).to.deep.equal([200, 400]);
    const loser = one.status === 400 ? one : two;
    expect(loser.body).to.deep.equal({
      error: 'invalid_grant',
      error_description: 'Unknown or invalid refresh token.',
    });
    // The loser's token was rotated by the winner: reuse, so the whole family is revoked.
    const winner = one.status === 200 ? one : two;
    expect((await refresh(a!, winner.body.refresh_token as string)).status).to.equal(400);
    const families = await a!.cte.refreshTokens.listForUser('partner|p-2');
    expect(families.map((family) => family.active)).to.deep.equal([false]);
  });

  it('answers introspection on one instance for an access token revoked on the other: inactive', async () => {
    const [a, b] = instances.map(({ server }) => server);
    const issued = await exchange(a!, 'conn:partner:p-3');
    expect(issued.status, JSON.stringify(issued.body)).to.equal(200);
    const token = issued.body.access_token as string;
    const introspect = () =>
      request(a!.app)
        .post('/oauth/introspect')
        .set('Authorization', basic('orders-api', INTROSPECTION_SECRET))
        .type('form')
        .send(form({ token }));
    const before = await introspect();
    expect(before.status).to.equal(200);
    expect(before.body.active).to.equal(true);
    const revoked = await request(b!.app)
      .post('/oauth/revoke')
      .set('Authorization', basic('app', SECRET))
      .type('form')
      .send(form({ token }));
    expect(revoked.status).to.equal(200);
    expect(revoked.text).to.equal('');
    const [row] = await db!.query<{ jti: string }>('SELECT jti FROM cte_revoked_tokens');
    expect(row?.jti).to.match(/^cte_at_/);
    const after = await introspect();
    expect(after.status).to.equal(200);
    expect(after.body).to.deep.equal({ active: false });
  });

  it('answers logs.list() from the in-memory ring when no sink answers queries', async () => {
    const server = await testServer();
    try {
      const written: LogEntry[] = [];
      server.cte.on('secte', (entry) => written.push(entry));
      expect((await exchange(server, 'user:auth0|alice')).status).to.equal(200);
      await new Promise<void>((resolve) => queueMicrotask(resolve));
      expect(await server.cte.logs.list({ type: 'secte' })).to.deep.equal(written);
      await server.cte.logs.list({ nope: 1 } as never).then(
        () => expect.fail('an unknown field was accepted'),
        (error: Error) =>
          expect(error.message).to.equal('MemoryLogSink.list: unknown query field "nope"'),
      );
    } finally {
      await server.cte.close();
    }
  });

  it('narrows the scopes of an exchange on one instance by a role assigned through the other', async () => {
    const routers: TestServer[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        routers.push(
          await testServer({
            permissions: { store: new PostgresPermissionStore({ database: db!.database }) },
            resourceServers: [
              {
                identifier: API,
                scopes: [{ value: 'read:orders' }, { value: 'write:orders' }],
                signing_alg: 'ES256',
                enforce_policies: true,
                token_dialect: 'access_token_authz',
              },
            ],
          }),
        );
      }
      const [a, b] = routers;
      const granted = async (server: TestServer) => {
        const res = await request(server.app)
          .post('/oauth/token')
          .set('Authorization', basic('app', SECRET))
          .type('form')
          .send(
            form(
              exchangeBody({
                subject_token: 'conn:partner:rbac',
                scope: 'read:orders write:orders',
              }),
            ),
          );
        expect(res.status, JSON.stringify(res.body)).to.equal(200);
        const claims = decodeJwt(res.body.access_token as string);
        return { scope: res.body.scope as string | undefined, permissions: claims.permissions };
      };
      expect(await granted(b!)).to.deep.equal({ scope: '', permissions: [] });

      const role = await a!.cte.permissions.create({ name: 'orders-writer' });
      await a!.cte.permissions.rolePermissions.add(role.id, [
        { resource_server_identifier: API, permission_name: 'write:orders' },
      ]);
      await a!.cte.permissions.userRoles.assign('partner|rbac', [role.id]);
      expect(await granted(b!)).to.deep.equal({
        scope: 'write:orders',
        permissions: ['write:orders'],
      });
      expect(await b!.cte.permissions.get(role.id)).to.deep.equal({
        id: role.id,
        name: 'orders-writer',
      });

      await b!.cte.permissions.delete(role.id);
      expect(await granted(a!)).to.deep.equal({ scope: '', permissions: [] });
      expect(await db!.query('SELECT * FROM cte_user_roles')).to.deep.equal([]);
    } finally {
      await Promise.all(routers.map((server) => server.cte.close()));
    }
  });
});
