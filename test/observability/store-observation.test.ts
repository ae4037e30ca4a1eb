import { ProxyTracerProvider, SpanStatusCode } from '@opentelemetry/api';
import { expect } from 'chai';
import { observeStore } from '../../lib/observability/store-observation.js';
import { NO_TELEMETRY, Telemetry } from '../../lib/observability/telemetry.js';
import { MemoryUserStore } from '../../lib/index.js';
import { points, testTelemetry } from '../support/telemetry.js';
import type { TestTelemetry } from '../support/telemetry.js';

/** A store with private state, a sync method, an async one, a failing one and a getter. */
class CountingStore {
  #calls = 0;
  readonly label = 'counting';
  get calls(): number {
    return this.#calls;
  }
  count(step: number): number {
    this.#calls += step;
    return this.#calls;
  }
  async load(key: string): Promise<string> {
    this.#calls += 1;
    return `value of ${key}`;
  }
  async broken(): Promise<never> {
    throw Object.assign(new Error('secret-in-message'), { code: 'ECONNRESET' });
  }
  explode(): never {
    throw new RangeError('sync failure');
  }
}

describe('observability: observeStore', () => {
  let telemetry: TestTelemetry;
  let observed: CountingStore;
  let inner: CountingStore;

  beforeEach(() => {
    telemetry = testTelemetry();
    inner = new CountingStore();
    const router = new Telemetry({
      tracerProvider: telemetry.tracerProvider,
      meterProvider: telemetry.meterProvider,
      enduserId: false,
      clientIdInMetrics: false,
    });
    observed = observeStore(router, 'users', inner);
  });
  afterEach(() => telemetry.shutdown());

  it("calls the store's own methods on the store, passing values and promises through", async () => {
    expect(observed.count(2)).to.equal(2);
    expect(await observed.load('k')).to.equal('value of k');
    expect(inner.calls).to.equal(3);
    expect(observed.calls).to.equal(3);
    expect(observed.label).to.equal('counting');
    expect(telemetry.spans().map((span) => [span.name, span.attributes])).to.deep.equal([
      ['cte.store.users.count', { 'cte.store': 'users', 'cte.store.operation': 'count' }],
      ['cte.store.users.load', { 'cte.store': 'users', 'cte.store.operation': 'load' }],
    ]);
  });

  it('passes failures on, sync and async, marking the span and counting cte.store.errors', async () => {
    let rejection: unknown;
    await observed.broken().catch((err: unknown) => (rejection = err));
    expect((rejection as { code: string }).code).to.equal('ECONNRESET');
    expect(() => observed.explode()).to.throw(RangeError, 'sync failure');

    const spans = telemetry.spans();
    expect(spans.map((span) => [span.name, span.status])).to.deep.equal([
      ['cte.store.users.broken', { code: SpanStatusCode.ERROR, message: 'ECONNRESET' }],
      ['cte.store.users.explode', { code: SpanStatusCode.ERROR, message: 'RangeError' }],
    ]);
    expect(JSON.stringify(spans.map((span) => span.attributes))).not.to.include(
      'secret-in-message',
    );
    expect(points((await telemetry.metrics()).get('cte.store.errors'))).to.deep.equal([
      {
        attributes: {
          'cte.store': 'users',
          'cte.store.operation': 'broken',
          'error.type': 'ECONNRESET',
        },
        value: 1,
      },
      {
        attributes: {
          'cte.store': 'users',
          'cte.store.operation': 'explode',
          'error.type': 'RangeError',
        },
        value: 1,
      },
    ]);
  });

  it('keeps the memory user store usable (a sync store behind the wrapper)', async () => {
    const users = new MemoryUserStore([{ user_id: 'u1', email: 'u1@example.com' }]);
    const wrapped = observeStore(NO_TELEMETRY, 'users', users);
    expect(wrapped.getById('u1')).to.deep.include({ user_id: 'u1' });
    expect(wrapped.list()).to.have.length(1);
    await wrapped.ping();
  });

  it('counts failures with metrics alone (no tracer), and builds nothing without either', async () => {
    const metricsOnly = new Telemetry({
      tracerProvider: new ProxyTracerProvider(),
      meterProvider: telemetry.meterProvider,
      enduserId: false,
      clientIdInMetrics: false,
    });
    expect(metricsOnly.recordsMetrics).to.equal(true);
    expect(NO_TELEMETRY.recordsMetrics).to.equal(false);
    const store = observeStore(metricsOnly, 'replay', new CountingStore());
    await store.broken().catch(() => undefined);
    expect(telemetry.spans()).to.deep.equal([]);
    expect(points((await telemetry.metrics()).get('cte.store.errors'))).to.deep.equal([
      {
        attributes: {
          'cte.store': 'replay',
          'cte.store.operation': 'broken',
          'error.type': 'ECONNRESET',
        },
        value: 1,
      },
    ]);
    const bare = observeStore(NO_TELEMETRY, 'replay', new CountingStore());
    const pending = bare.load('k');
    expect(pending).to.be.instanceOf(Promise);
    expect(await pending).to.equal('value of k');
  });
});
