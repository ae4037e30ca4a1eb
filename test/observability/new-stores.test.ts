import crypto from 'node:crypto';
import { SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import request from 'supertest';
import type {
  ClientDefinition,
  ClientStore,
  CustomTokenExchangeOptions,
  KeySchedule,
  KeyStore,
  Signer,
  SigningKeyInput,
  StoredSigningKey,
} from '../../lib/index.js';
import { MemoryClientStore, MemoryKeyStore } from '../../lib/index.js';
import {
  SECRET,
  basic,
  exchangeBody,
  form,
  testServer,
  testSigningKeys,
  hashedAppClient,
} from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';
import { points, registerGlobalContext, spanTree, testTelemetry } from '../support/telemetry.js';
import type { TestTelemetry } from '../support/telemetry.js';

/** A store's ping that can be made to fail with a connection error. */
class Switch {
  down = false;
  ping = (): Promise<void> =>
    this.down
      ? Promise.reject(
          Object.assign(new Error('connect ECONNREFUSED 10.0.0.7'), { code: 'ECONNREFUSED' }),
        )
      : Promise.resolve();
}

/** A client store over a memory one, whose reads are counted and whose ping can fail. */
class Registry implements ClientStore {
  reads = 0;
  readonly health = new Switch();
  constructor(readonly inner: MemoryClientStore) {}
  get(clientId: string): Promise<ClientDefinition | undefined> {
    this.reads += 1;
    return this.inner.get(clientId);
  }
  ping(): Promise<void> {
    return this.health.ping();
  }
}

/** A key store over a memory one whose reads can hang or fail, and whose ping can fail. */
class Schedule implements KeyStore {
  readonly inner = new MemoryKeyStore();
  readonly health = new Switch();
  /** What `load()` does: read, never answer, or fail with `failure`. */
  reads: 'answer' | 'hang' | 'fail' = 'answer';
  failure: unknown = new Error('relation "cte_signing_keys" does not exist');
  load(): Promise<KeySchedule> {
    if (this.reads === 'hang') return new Promise<KeySchedule>(() => undefined);
    if (this.reads === 'fail') return Promise.reject(this.failure);
    return this.inner.load();
  }
  save(expectedRevision: number, keys: readonly StoredSigningKey[]): Promise<boolean> {
    return this.inner.save(expectedRevision, keys);
  }
  ping(): Promise<void> {
    return this.health.ping();
  }
}

async function hashedRegistry(): Promise<Registry> {
  return new Registry(new MemoryClientStore([await hashedAppClient()]));
}

describe('observability: client stores, key stores and signers', () => {
  let unregister: () => void;
  let telemetry: TestTelemetry;
  const started: TestServer[] = [];

  before(() => {
    unregister = registerGlobalContext();
  });
  after(() => unregister());
  beforeEach(() => {
    telemetry = testTelemetry();
  });
  afterEach(async () => {
    await Promise.all(started.splice(0).map((s) => s.cte.close()));
    await telemetry.shutdown();
  });

  async function server(overrides: Partial<CustomTokenExchangeOptions> = {}): Promise<TestServer> {
    const s = await testServer({
      ...overrides,
      observability: {
        tracerProvider: telemetry.tracerProvider,
        meterProvider: telemetry.meterProvider,
      },
    });
    started.push(s);
    return s;
  }

  /** A router keeping its keys in a fresh {@link Schedule} that `reads` as given (no host keys). */
  async function scheduleServer(reads: Schedule['reads']) {
    const schedule = new Schedule();
    schedule.reads = reads;
    // No keys of the host's: the router makes them into the store.
    return { schedule, s: await server({ keys: undefined as never, stores: { keys: schedule } }) };
  }

  /** The keys part of a health report while the key schedule cannot be read. */
  const keysFailing = (error: string) => ({ status: 'fail', development: false, keys: [], error });

  const exchange = (s: TestServer, clientId = 'app') =>
    request(s.app)
      .post('/oauth/token')
      .set('Authorization', basic(clientId, SECRET))
      .type('form')
      .send(form(exchangeBody()));

  const named = (spans: readonly ReadableSpan[], name: string) =>
    spans.filter((span) => span.name === name);

  describe('traces', () => {
    it("traces a ClientStore's read under client authentication when the cache misses, none when it hits", async () => {
      const registry = await hashedRegistry();
      const s = await server({ clients: registry, clientCache: { ttlMs: 60_000 } });

      await exchange(s, 'hashed-app').expect(200);
      expect(registry.reads).to.equal(1);
      const first = telemetry.spans();
      const reads = named(first, 'cte.store.clients.get');
      expect(reads).to.have.length(1);
      expect(reads[0]!.attributes).to.deep.equal({
        'cte.store': 'clients',
        'cte.store.operation': 'get',
      });
      // Read while the client authenticates, inside the token request's trace.
      expect(spanTree(first)).to.include.members([
        'cte.token > cte.client_authentication',
        'cte.client_authentication > cte.store.clients.get',
      ]);

      telemetry.exporter.reset();
      await exchange(s, 'hashed-app').expect(200);
      expect(registry.reads).to.equal(1);
      expect(named(telemetry.spans(), 'cte.store.clients.get')).to.deep.equal([]);
    });

    it("traces a KeyStore's load and save, at start and on cte.keys.rotate(), and counts its errors", async () => {
      const { schedule, s } = await scheduleServer('answer');
      await s.cte.keys.list();
      const atStart = spanTree(telemetry.spans());
      expect(atStart).to.include('(root) > cte.store.keys.load');
      expect(atStart).to.include('(root) > cte.store.keys.save');

      telemetry.exporter.reset();
      const [key] = await s.cte.keys.list();
      await s.cte.keys.add(await freshKey(key!.alg));
      await s.cte.keys.rotate(key!.alg);
      expect(spanTree(telemetry.spans())).to.deep.equal([
        '(root) > cte.store.keys.load',
        '(root) > cte.store.keys.load',
        '(root) > cte.store.keys.save',
        '(root) > cte.store.keys.save',
      ]);

      schedule.failure = Object.assign(new Error('password=hunter2'), { code: 'ECONNRESET' });
      schedule.reads = 'fail';
      telemetry.exporter.reset();
      const refused = await s.cte.keys.rotate(key!.alg).then(
        () => 'rotated without its store',
        (err: { code?: unknown }) => err.code,
      );
      expect(refused).to.equal('ECONNRESET');
      const [failed] = named(telemetry.spans(), 'cte.store.keys.load');
      expect(failed!.status).to.deep.equal({ code: SpanStatusCode.ERROR, message: 'ECONNRESET' });
      expect(JSON.stringify(failed!.attributes)).not.to.include('hunter2');
      expect(points((await telemetry.metrics()).get('cte.store.errors'))).to.deep.equal([
        {
          attributes: {
            'cte.store': 'keys',
            'cte.store.operation': 'load',
            'error.type': 'ECONNRESET',
          },
          value: 1,
        },
      ]);
    });

    it("keeps the signing span open through an async Signer, the Signer's own spans its children", async () => {
      const keys = await testSigningKeys();
      const es = keys.find((key) => key.alg === 'ES256')!;
      const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const kms = telemetry.tracerProvider.getTracer('kms');
      const signer: Signer = {
        kid: 'kms-es',
        alg: 'ES256',
        publicJwk: crypto.createPublicKey(privateKey).export({ format: 'jwk' }),
        sign: (data) =>
          kms.startActiveSpan('kms.sign', async (span) => {
            await new Promise((resolve) => setTimeout(resolve, 30));
            span.end();
            return crypto.sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
          }),
      };
      const s = await server({ keys: [...keys.filter((key) => key !== es), signer] });
      telemetry.exporter.reset();

      await exchange(s).expect(200);
      const spans = telemetry.spans();
      expect(spanTree(spans)).to.include('cte.token > cte.sign');
      expect(spanTree(spans)).to.include('cte.sign > kms.sign');
      const sign = named(spans, 'cte.sign')[0]!;
      const kmsSign = named(spans, 'kms.sign')[0]!;
      // Each span anchors its clock to Date.now() when it starts, so end times of two spans can
      // disagree by up to a millisecond: the KMS span ends first, within that.
      expect(milliseconds(sign.endTime)).to.be.at.least(milliseconds(kmsSign.endTime) - 1);
      expect(milliseconds(sign.duration)).to.be.at.least(25);
    });
  });

  describe('cte.health()', () => {
    it('reports a ClientStore and a KeyStore, up, then down with their error codes', async () => {
      const registry = await hashedRegistry();
      const schedule = new Schedule();
      const s = await server({
        clients: registry,
        keys: undefined as never,
        stores: { keys: schedule },
      });

      const up = await s.cte.health();
      expect(up.status).to.equal('pass');
      expect(up.stores.clients).to.deep.include({ status: 'up' });
      expect(up.stores.keys).to.deep.include({ status: 'up' });
      expect(up.keys.status).to.equal('pass');

      registry.health.down = true;
      schedule.health.down = true;
      const down = await s.cte.health();
      expect(down.status).to.equal('fail');
      for (const store of [down.stores.clients, down.stores.keys]) {
        expect(store).to.deep.include({ status: 'down', error: 'ECONNREFUSED' });
      }
      expect(JSON.stringify(down)).not.to.include('10.0.0.7');
      // A ping is not a request's call: no span, no store error.
      expect(named(telemetry.spans(), 'cte.store.clients.ping')).to.deep.equal([]);
      expect(named(telemetry.spans(), 'cte.store.keys.ping')).to.deep.equal([]);
    });

    it('reports no clients store for an array of clients, and the in-process key schedule as up', async () => {
      const s = await server();
      const report = await s.cte.health();
      expect(Object.keys(report.stores)).not.to.include('clients');
      expect(report.stores.keys).to.deep.include({ status: 'up' });
    });

    it('reports the memory client and key stores up', async () => {
      const s = await server({
        clients: new MemoryClientStore([]),
        keys: undefined as never,
        stores: { keys: new MemoryKeyStore() },
      });
      const report = await s.cte.health();
      expect(report.stores.clients).to.deep.include({ status: 'up' });
      expect(report.stores.keys).to.deep.include({ status: 'up' });
      expect(report.status).to.equal('pass');
    });

    it('fails the keys part while the schedule cannot be read, and passes once it can', async () => {
      const { schedule, s } = await scheduleServer('fail');
      const failing = await s.cte.health();
      expect(failing.status).to.equal('fail');
      expect(failing.keys).to.deep.equal(keysFailing('temporarily_unavailable'));
      // The store still answers its ping: only the schedule is unreadable.
      expect(failing.stores.keys).to.deep.include({ status: 'up' });
      expect(JSON.stringify(failing)).not.to.include('cte_signing_keys');

      schedule.reads = 'answer';
      const ready = await s.cte.health();
      expect(ready.status).to.equal('pass');
      expect(ready.keys.keys.map((key) => [key.alg, key.status])).to.have.deep.members([
        ['ES256', 'current'],
        ['RS256', 'current'],
        ['ES256', 'next'],
        ['RS256', 'next'],
      ]);
    });

    it('gives up on a schedule read that never answers after timeoutMs', async () => {
      const { s } = await scheduleServer('hang');
      const started = Date.now();
      const hung = await s.cte.health({ timeoutMs: 50 });
      expect(Date.now() - started).to.be.below(5_000);
      expect(hung.status).to.equal('fail');
      expect(hung.keys).to.deep.equal(keysFailing('timeout'));
    });
  });
});

/** A new private JWK of `alg`, for `cte.keys.add()`. */
async function freshKey(alg: string): Promise<SigningKeyInput> {
  const { exportJWK, generateKeyPair } = await import('jose');
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return {
    ...(await exportJWK(privateKey)),
    kid: `fresh-${crypto.randomUUID()}`,
    alg,
  } as SigningKeyInput;
}

/** An HrTime in ms. */
function milliseconds([seconds, nanos]: [number, number]): number {
  return seconds * 1000 + nanos / 1e6;
}
