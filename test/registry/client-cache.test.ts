import { expect } from 'chai';
import { OAuthError } from '../../lib/errors.js';
import { ClientCache, parseClientCacheOptions } from '../../lib/registry/client-store.js';
import type { ClientCacheConfig, ClientStore } from '../../lib/registry/client-store.js';
import { parseClient } from '../../lib/registry/clients.js';
import type { ClientDefinition } from '../../lib/registry/clients.js';

const SECRET = 'app-secret-0123456789abcdef';
const CONFIG: ClientCacheConfig = parseClientCacheOptions(undefined, 'options.clientCache');

/** A store over a map that counts its reads and can be made to fail or to wait. */
class CountingStore implements ClientStore {
  readonly rows = new Map<string, ClientDefinition>();
  reads: string[] = [];
  failure: Error | undefined;
  /** While set, reads wait for `open()`. */
  gate: Promise<void> | undefined;
  #open: (() => void) | undefined;

  hold(): void {
    this.gate = new Promise((resolve) => (this.#open = resolve));
  }

  open(): void {
    this.gate = undefined;
    this.#open?.();
  }

  async get(clientId: string): Promise<ClientDefinition | undefined> {
    this.reads.push(clientId);
    await this.gate;
    if (this.failure) throw this.failure;
    const row = this.rows.get(clientId);
    return row && structuredClone(row);
  }
}

function definition(clientId: string, fields: Partial<ClientDefinition> = {}): ClientDefinition {
  return { client_id: clientId, client_secret: SECRET, name: clientId, ...fields };
}

describe('ClientCache', () => {
  let now: number;
  let store: CountingStore;
  const cache = (config: Partial<ClientCacheConfig> = {}) =>
    new ClientCache(
      store,
      { ...CONFIG, ...config },
      (def) => parseClient(def, 'client'),
      () => now,
    );

  beforeEach(() => {
    now = Date.UTC(2026, 0, 1);
    store = new CountingStore();
    store.rows.set('app', definition('app'));
  });

  async function failure(run: () => unknown): Promise<OAuthError> {
    try {
      await run();
    } catch (error) {
      expect(error).to.be.instanceOf(OAuthError);
      return error as OAuthError;
    }
    return expect.fail('it answered');
  }

  it('reads a client once per ttlMs, answering it at once in between', async () => {
    const clients = cache({ ttlMs: 60_000 });
    const first = await clients.find('app');
    expect(first).to.include({ client_id: 'app', name: 'app' });
    now += 59_999;
    expect(clients.find('app')).to.equal(first);
    expect(store.reads).to.deep.equal(['app']);
    now += 1;
    store.rows.set('app', definition('app', { name: 'Renamed' }));
    const second = await clients.find('app');
    expect(second).to.include({ name: 'Renamed' });
    expect(store.reads).to.deep.equal(['app', 'app']);
  });

  it('keeps the same record while the definition is unchanged', async () => {
    const clients = cache({ ttlMs: 1000 });
    const first = await clients.find('app');
    now += 1000;
    expect(await clients.find('app')).to.equal(first);
    expect(store.reads).to.have.length(2);
  });

  it('remembers an id the store does not know for negativeTtlMs', async () => {
    const clients = cache({ negativeTtlMs: 10_000 });
    expect(await clients.find('ghost')).to.equal(undefined);
    expect(clients.find('ghost')).to.equal(undefined);
    now += 9_999;
    store.rows.set('ghost', definition('ghost'));
    expect(clients.find('ghost')).to.equal(undefined);
    now += 1;
    expect(await clients.find('ghost')).to.include({ client_id: 'ghost' });
    expect(store.reads).to.deep.equal(['ghost', 'ghost']);
  });

  it('keeps unknown ids apart from clients: a flood of them never evicts a client', async () => {
    const clients = cache({ maxEntries: 2, maxNegativeEntries: 3 });
    store.rows.set('b', definition('b'));
    const a = await clients.find('app');
    await clients.find('b');
    for (let i = 0; i < 50; i++) await clients.find(`random-${i}`);
    store.reads = [];
    expect(clients.find('app')).to.equal(a);
    expect(await clients.find('random-0')).to.equal(undefined);
    expect(await clients.find('random-49')).to.equal(undefined);
    expect(store.reads).to.deep.equal(['random-0']);
  });

  it('evicts the least recently used client beyond maxEntries', async () => {
    const clients = cache({ maxEntries: 2 });
    store.rows.set('b', definition('b'));
    store.rows.set('c', definition('c'));
    await clients.find('app');
    await clients.find('b');
    clients.find('app');
    await clients.find('c');
    store.reads = [];
    expect(clients.find('app')).to.include({ client_id: 'app' });
    expect(await clients.find('b')).to.include({ client_id: 'b' });
    expect(store.reads).to.deep.equal(['b']);
  });

  it('answers ids no definition can have without reading the store', async () => {
    const clients = cache();
    for (const id of ['', 'x'.repeat(129), 'line\nbreak', 'nul\u0000', 42 as unknown as string]) {
      expect(clients.find(id)).to.equal(undefined);
    }
    expect(store.reads).to.deep.equal([]);
  });

  it('shares one read among concurrent requests for one id', async () => {
    const clients = cache();
    store.hold();
    const pending = [clients.find('app'), clients.find('app'), clients.find('app')];
    store.open();
    const answers = await Promise.all(pending);
    expect(new Set(answers).size).to.equal(1);
    expect(store.reads).to.deep.equal(['app']);
  });

  it('refuses a read beyond maxReadsInFlight with 503, and reads again once one ended', async () => {
    const clients = cache({ maxReadsInFlight: 2 });
    store.hold();
    const pending = [clients.find('a'), clients.find('b')];
    const refused = await failure(() => clients.find('c'));
    expect([refused.status, refused.error, refused.headers, refused.privateCause]).to.deep.equal([
      503,
      'temporarily_unavailable',
      { 'Retry-After': '1' },
      '2 client store reads in flight, the most clientCache.maxReadsInFlight allows',
    ]);
    store.open();
    await Promise.all(pending);
    expect(await clients.find('c')).to.equal(undefined);
    expect(store.reads).to.deep.equal(['a', 'b', 'c']);
  });

  it('answers 503 while the store fails, caching nothing, and recovers with it', async () => {
    const clients = cache();
    store.failure = new Error('connection refused');
    for (let i = 0; i < 2; i++) {
      const error = await failure(() => clients.find('app'));
      expect([error.status, error.headers, error.privateCause]).to.deep.equal([
        503,
        { 'Retry-After': '5' },
        'the client store failed: connection refused',
      ]);
    }
    store.failure = undefined;
    expect(await clients.find('app')).to.include({ client_id: 'app' });
    expect(store.reads).to.have.length(3);
  });

  it('turns a store that throws instead of rejecting into the same 503', async () => {
    const throwing: ClientStore = {
      get() {
        throw new Error('not connected');
      },
    };
    const clients = new ClientCache(throwing, CONFIG, (def) => parseClient(def, 'client'));
    expect((await failure(() => clients.find('app'))).privateCause).to.equal(
      'the client store failed: not connected',
    );
  });

  it('answers 500 for an invalid definition, with the reason, and remembers it like an unknown id', async () => {
    const clients = cache({ negativeTtlMs: 5000 });
    store.rows.set('bad', definition('bad', { token_endpoint_auth_method: 'tls' as never }));
    store.rows.set('liar', definition('other'));
    const bad = await failure(() => clients.find('bad'));
    expect([bad.status, bad.error, bad.privateCause]).to.deep.equal([
      500,
      'server_error',
      'the client store answered an invalid definition for client "bad": client.token_endpoint_auth_method must be one of client_secret_basic, client_secret_post, private_key_jwt, none',
    ]);
    expect((await failure(() => clients.find('bad'))).privateCause).to.equal(bad.privateCause);
    expect((await failure(() => clients.find('liar'))).privateCause).to.equal(
      'the client store answered an invalid definition for client "liar": client.client_id is "other"',
    );
    expect(store.reads).to.deep.equal(['bad', 'liar']);
  });

  it('forgets one client or every client on invalidate, also a read in progress', async () => {
    const clients = cache();
    store.rows.set('b', definition('b'));
    await clients.find('app');
    await clients.find('b');
    await clients.find('ghost');
    store.rows.set('app', definition('app', { name: 'Changed' }));
    store.rows.set('ghost', definition('ghost'));
    clients.invalidate('app');
    expect(await clients.find('app')).to.include({ name: 'Changed' });
    expect(clients.find('b')).to.include({ client_id: 'b' });
    clients.invalidate();
    expect(await clients.find('ghost')).to.include({ client_id: 'ghost' });
    // A read that began before invalidate() answers its request but is not cached.
    store.hold();
    const stale = clients.find('b');
    clients.invalidate('b');
    store.rows.set('b', definition('b', { name: 'New' }));
    store.open();
    expect(await stale).to.include({ client_id: 'b' });
    expect(await clients.find('b')).to.include({ name: 'New' });
  });

  it('refuses bad options with the option named', () => {
    expect(() => parseClientCacheOptions({ ttlMs: -1 }, 'options.clientCache')).to.throw(
      TypeError,
      'options.clientCache.ttlMs must be an integer from 0 to 86400000',
    );
    expect(() => parseClientCacheOptions({ size: 1 }, 'options.clientCache')).to.throw(
      TypeError,
      'options.clientCache.size is not a known property',
    );
    expect(parseClientCacheOptions({}, 'o')).to.deep.equal({
      ttlMs: 60_000,
      negativeTtlMs: 10_000,
      maxEntries: 10_000,
      maxNegativeEntries: 10_000,
      maxReadsInFlight: 32,
    });
  });
});
