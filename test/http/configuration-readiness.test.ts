import { expect } from 'chai';
import request from 'supertest';
import { MemoryConfigStore } from '../../lib/index.js';
import type { ConfigKind, ConfigSnapshot } from '../../lib/index.js';
import { exchangeBody, form, testServer } from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';
import { APP } from '../support/oauth-responses.js';

/** A memory store whose first load waits for `release()`, or fails when `failFirstLoad`. */
class GatedConfigStore extends MemoryConfigStore {
  readonly #gate: Promise<void>;
  release!: () => void;
  failFirstLoad = false;
  listeners: Array<() => void> = [];

  constructor() {
    super();
    this.#gate = new Promise((resolve) => {
      this.release = resolve;
    });
  }

  override async load(kinds: readonly ConfigKind[]): Promise<ConfigSnapshot> {
    if (this.failFirstLoad) throw new Error('connection refused');
    await this.#gate;
    return super.load(kinds);
  }

  override subscribe(listener: () => void): () => void {
    this.listeners.push(listener);
    return super.subscribe(listener);
  }
}

const exchange = (server: TestServer) =>
  request(server.app)
    .post('/oauth/token')
    .set('Authorization', APP)
    .type('form')
    .send(form(exchangeBody()));

describe('token requests before the shared configuration is loaded', function () {
  this.timeout(10_000);
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.cte.close();
    server = undefined;
  });

  it('wait for the first load, then are answered', async () => {
    const store = new GatedConfigStore();
    server = await testServer({ stores: { config: store } });
    let answered = false;
    const pending = exchange(server).then((res) => {
      answered = true;
      return res;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(answered, 'answered before the configuration was loaded').to.equal(false);
    store.release();
    const res = await pending;
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    await server.cte.ready();
  });

  it('answer 503 temporarily_unavailable while the first load failed, and 200 once a sync read it all', async () => {
    const store = new GatedConfigStore();
    store.failFirstLoad = true;
    store.release();
    server = await testServer({ stores: { config: store } });
    const ready = await server.cte.ready().then(
      () => 'resolved',
      (err: Error) => err.message,
    );
    expect(ready).to.equal('connection refused');

    const refused = await exchange(server);
    expect(refused.status).to.equal(503);
    expect(refused.body).to.eql({
      error: 'temporarily_unavailable',
      error_description: 'The server is busy; retry later.',
    });
    expect(refused.headers['retry-after']).to.equal('1');
    expect(refused.headers['cache-control']).to.equal('no-store');
    const [entry] = await server.cte.logs.list();
    expect(entry).to.include({ type: 'fecte' });
    expect(entry!.details).to.include({
      error: 'temporarily_unavailable',
      cause: 'the shared configuration (stores.config) is not loaded yet: see cte.ready()',
    });

    // The store is back: the next sync (a notification here, the resync timer otherwise) reads
    // the whole configuration.
    for (const listener of store.listeners) listener();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await exchange(server)).status).to.equal(200);
  });

  it('leave the host’s own grants alone while it loads', async () => {
    const store = new GatedConfigStore();
    server = await testServer({ stores: { config: store } });
    const res = await request(server.app)
      .post('/oauth/token')
      .type('form')
      .send(form({ grant_type: 'authorization_code', code: 'x' }));
    expect(server.hostRequests).to.have.length(1);
    expect(res.status).to.not.equal(503);
    store.release();
  });
});
