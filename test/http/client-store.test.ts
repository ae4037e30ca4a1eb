import { expect } from 'chai';
import request from 'supertest';
import type { ManagementError } from '../../lib/errors.js';
import { hashClientSecret } from '../../lib/registry/client-secret-hash.js';
import type { ClientStore } from '../../lib/registry/client-store.js';
import type { ClientDefinition } from '../../lib/registry/clients.js';
import { MemoryClientStore } from '../../lib/registry/memory-client-store.js';
import { SECRET, basic, exchangeBody, form, testServer } from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';
import { INVALID_CLIENT } from '../support/oauth-responses.js';

const NEW_SECRET = 'rotated-secret-0123456789abcdef';
const CTE = { token_exchange: { allow_any_profile_of_type: ['custom_authentication'] } };

/** A client store over `inner` that counts the reads reaching it and can be made to fail. */
class Registry implements ClientStore {
  reads = 0;
  down = false;
  constructor(readonly inner: MemoryClientStore) {}
  async get(clientId: string): Promise<ClientDefinition | undefined> {
    this.reads += 1;
    if (this.down) throw new Error('the registry database is down');
    return this.inner.get(clientId);
  }
}

describe('clients read from a ClientStore', () => {
  let registry: Registry;
  let server: TestServer;

  beforeEach(async () => {
    registry = new Registry(
      new MemoryClientStore([
        {
          client_id: 'hashed-app',
          name: 'Hashed app',
          client_secret_hash: await hashClientSecret(SECRET, { logN: 10 }),
          token_endpoint_auth_method: 'client_secret_basic',
          ...CTE,
        },
      ]),
    );
    server = await testServer({ clients: registry, clientCache: { ttlMs: 60_000 } });
  });

  afterEach(async () => {
    await server.cte.close();
  });

  const exchange = (clientId: string, secret: string) =>
    request(server.app)
      .post('/oauth/token')
      .set('Authorization', basic(clientId, secret))
      .type('form')
      .send(form(exchangeBody()));

  it('authenticates a client with a hashed secret, reading the store once', async () => {
    const first = await exchange('hashed-app', SECRET);
    expect(first.status, JSON.stringify(first.body)).to.equal(200);
    const second = await exchange('hashed-app', SECRET);
    expect(second.status).to.equal(200);
    expect(registry.reads).to.equal(1);
    const [entry] = await server.cte.logs.list({ type: 'secte', take: 1 });
    expect(entry).to.include({ client_id: 'hashed-app', client_name: 'Hashed app' });
  });

  it('refuses a wrong secret and an unknown client, reading an unknown id once', async () => {
    const wrong = await exchange('hashed-app', `${SECRET}x`);
    expect([wrong.status, wrong.body]).to.deep.equal([401, INVALID_CLIENT]);
    for (let i = 0; i < 3; i++) {
      const unknown = await exchange('ghost-app', SECRET);
      expect([unknown.status, unknown.body]).to.deep.equal([401, INVALID_CLIENT]);
    }
    expect(registry.reads).to.equal(2);
    const [entry] = await server.cte.logs.list({ type: 'fecte', take: 1 });
    expect(entry!.details).to.include({ error: 'invalid_client' });
    expect(entry!.details.cause).to.equal('unknown client "ghost-app" (client_secret_basic)');
  });

  it('sees a change made in the store once invalidated: a rotation with two secrets, then one', async () => {
    expect((await exchange('hashed-app', SECRET)).status).to.equal(200);
    await registry.inner.update('hashed-app', {
      client_secret_hash: [
        await hashClientSecret(NEW_SECRET, { logN: 10 }),
        (await registry.inner.get('hashed-app'))!.client_secret_hash as string,
      ],
    });
    // Cached: the new secret is not known yet.
    expect((await exchange('hashed-app', NEW_SECRET)).status).to.equal(401);
    await server.cte.clients.invalidate('hashed-app');
    expect((await exchange('hashed-app', NEW_SECRET)).status).to.equal(200);
    expect((await exchange('hashed-app', SECRET)).status).to.equal(200);
    const [newest] = (await registry.inner.get('hashed-app'))!.client_secret_hash as string[];
    await registry.inner.update('hashed-app', { client_secret_hash: newest! });
    await server.cte.clients.invalidate();
    expect((await exchange('hashed-app', SECRET)).status).to.equal(401);
    expect((await exchange('hashed-app', NEW_SECRET)).status).to.equal(200);
  });

  it('answers 503 with Retry-After while the store fails, and logs why', async () => {
    registry.down = true;
    const res = await exchange('hashed-app', SECRET);
    expect(res.status).to.equal(503);
    expect(res.headers['retry-after']).to.equal('5');
    expect(res.body).to.deep.equal({
      error: 'temporarily_unavailable',
      error_description: 'The server is busy; retry later.',
    });
    const [entry] = await server.cte.logs.list({ type: 'fecte', take: 1 });
    expect(entry!.details.cause).to.equal('the client store failed: the registry database is down');
    registry.down = false;
    expect((await exchange('hashed-app', SECRET)).status).to.equal(200);
  });

  it('answers 500 for a client the store holds in a shape the router refuses', async () => {
    const broken: ClientStore = {
      get: async (clientId) => ({ client_id: clientId, name: 'Broken', colour: 'red' }) as never,
    };
    const other = await testServer({ clients: broken });
    try {
      const res = await request(other.app)
        .post('/oauth/token')
        .set('Authorization', basic('broken', SECRET))
        .type('form')
        .send(form(exchangeBody()));
      expect([res.status, res.body]).to.deep.equal([
        500,
        { error: 'server_error', error_description: 'The server encountered an unexpected error.' },
      ]);
      const [entry] = await other.cte.logs.list({ type: 'fecte', take: 1 });
      expect(entry!.details.cause).to.equal(
        'the client store answered an invalid definition for client "broken": client.colour is not a known property',
      );
    } finally {
      await other.cte.close();
    }
  });

  it('answers any origin’s preflight, and lets only the origins its client allows read the answer', async () => {
    await registry.inner.update('hashed-app', { allowed_origins: ['https://app.example.com'] });
    for (const origin of ['https://app.example.com', 'https://evil.example']) {
      const preflight = await request(server.app)
        .options('/oauth/token')
        .set('Origin', origin)
        .set('Access-Control-Request-Method', 'POST')
        .set('Access-Control-Request-Headers', 'content-type');
      expect(preflight.status, origin).to.equal(204);
      expect(preflight.headers['access-control-allow-origin'], origin).to.equal(origin);
      const answer = await exchange('hashed-app', SECRET).set('Origin', origin);
      expect(answer.status, origin).to.equal(200);
      expect(answer.headers['access-control-allow-origin'], origin).to.equal(
        origin === 'https://app.example.com' ? origin : undefined,
      );
    }
  });

  it('reads a client through the handle, and leaves writes and listing to a store that only reads', async () => {
    const view = await server.cte.clients.get('hashed-app');
    expect(view).to.include({ client_id: 'hashed-app', name: 'Hashed app' });
    expect(view).not.to.have.property('client_secret_hash');
    const missing = await server.cte.clients.get('ghost-app').then(
      () => expect.fail('found a client the store does not have'),
      (error: ManagementError) => error,
    );
    expect([missing.code, missing.message]).to.deep.equal([
      'not_found',
      'client ghost-app does not exist',
    ]);
    for (const call of [
      () => server.cte.clients.create({ client_id: 'x', name: 'X', client_secret: SECRET }),
      () => server.cte.clients.update('hashed-app', { name: 'X' }),
      () => server.cte.clients.delete('hashed-app'),
    ]) {
      const refused = await call().then(
        () => expect.fail('wrote through a store that only reads'),
        (error: ManagementError) => error,
      );
      expect([refused.code, refused.message]).to.deep.equal([
        'unsupported',
        'the clients come from a ClientStore without create, update and delete: change them in ' +
          'your registry, then call clients.invalidate(client_id)',
      ]);
    }
    const listed = await server.cte.clients.list().then(
      () => expect.fail('listed a store'),
      (error: ManagementError) => error,
    );
    expect(listed.code).to.equal('unsupported');
  });

  it('writes through a store that writes, and serves the change at once on this instance', async () => {
    const store = new MemoryClientStore();
    const writable = await testServer({ clients: store });
    try {
      const created = await writable.cte.clients.create({
        client_id: 'runtime-app',
        name: 'Runtime app',
        client_secret_hash: await hashClientSecret(SECRET, { logN: 10 }),
        token_endpoint_auth_method: 'client_secret_basic',
        ...CTE,
      });
      expect(created).to.include({ client_id: 'runtime-app', name: 'Runtime app' });
      expect(created).not.to.have.property('client_secret_hash');
      expect((await store.get('runtime-app'))?.name).to.equal('Runtime app');
      const call = () =>
        request(writable.app)
          .post('/oauth/token')
          .set('Authorization', basic('runtime-app', SECRET))
          .type('form')
          .send(form(exchangeBody()));
      expect((await call()).status).to.equal(200);
      expect(await writable.cte.clients.update('runtime-app', { name: 'Renamed' })).to.include({
        name: 'Renamed',
      });
      expect((await writable.cte.clients.get('runtime-app')).name).to.equal('Renamed');
      await writable.cte.clients.delete('runtime-app');
      expect((await call()).status).to.equal(401);
      const again = await writable.cte.clients.delete('runtime-app').then(
        () => expect.fail('deleted twice'),
        (error: ManagementError) => error,
      );
      expect(again.code).to.equal('not_found');
    } finally {
      await writable.cte.close();
    }
  });

  it('accepts clientGrants naming clients only the store knows, and refuses clientCache with an array', async () => {
    const granted = await testServer({
      clients: registry,
      clientGrants: [{ client_id: 'hashed-app', audience: 'https://api.example.com/', scope: [] }],
    });
    await granted.cte.close();
    const error = await testServer({ clientCache: { ttlMs: 1 } }).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(error?.message).to.equal(
      'customTokenExchange: options.clientCache applies to a ClientStore in options.clients, not to an array',
    );
  });
});
