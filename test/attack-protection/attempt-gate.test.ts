import FakeTimers from '@sinonjs/fake-timers';
import { expect } from 'chai';
import { AttemptGate } from '../../lib/attack-protection/attempt-gate.js';
import type { AttemptLease, AttemptRefusal } from '../../lib/attack-protection/attempt-lease.js';
import { MemoryAttemptStore } from '../../lib/index.js';
import type { AttemptPolicy, AttemptStore } from '../../lib/index.js';
import { countingAttemptStore } from '../support/counting-attempt-store.js';

const START = Date.parse('2026-03-01T12:00:00.000Z');
const POLICY: AttemptPolicy = { maxAttempts: 3, rate: 60_000 };
const KEY = '203.0.113.9';

/** The gate's timers (polls, queue timeouts, renewals) and both clocks, driven by the test. */
let clock: FakeTimers.Clock;

/** The memory store on the fake clock, counting the calls the gate makes. */
function countingStore() {
  const inner = new MemoryAttemptStore({ now: () => clock.now });
  return { inner, ...countingAttemptStore(inner) };
}

function gateOn(
  store: AttemptStore,
  options: Partial<ConstructorParameters<typeof AttemptGate>[0]> = {},
) {
  return new AttemptGate({
    store,
    policy: POLICY,
    queueLimit: 100,
    queueTimeoutMs: 5000,
    pollMs: 10,
    now: () => clock.now,
    ...options,
  });
}

function lease(result: AttemptLease | AttemptRefusal): AttemptLease {
  if ('refused' in result) throw new Error(`refused: ${result.refused}`);
  return result;
}

/** Settles after every queued promise reaction and the timers due now have run. */
const tick = () => clock.tickAsync(0);

describe('AttemptGate', () => {
  beforeEach(() => {
    clock = FakeTimers.install({
      now: START,
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'],
    });
  });
  afterEach(() => clock.uninstall());

  it('costs one store call for a valid exchange on a full bucket, and none for the next one of the key', async () => {
    const { store, calls } = countingStore();
    const gate = gateOn(store);
    lease(await gate.admit(KEY)).settle();
    expect(calls).to.deep.equal(['reserve']);
    lease(await gate.admit(KEY)).settle();
    lease(await gate.admit(KEY)).settle();
    expect(calls).to.deep.equal(['reserve']);
    // Another key has its own hold.
    lease(await gate.admit('198.51.100.1')).settle();
    expect(calls).to.deep.equal(['reserve', 'reserve']);
    gate.close();
  });

  it('gives the hold back at once when the bucket is not full: attempts are scarce then', async () => {
    const { store, inner, calls } = countingStore();
    await inner.take(KEY, POLICY);
    const gate = gateOn(store);
    lease(await gate.admit(KEY)).settle();
    await tick();
    expect(calls).to.deep.equal(['reserve', 'release']);
    // Both attempts left can be held by other instances now.
    const hold = (id: string) => inner.reserve(KEY, POLICY, { id, ttlMs: 60_000 });
    expect((await hold('a')).reserved).to.equal(true);
    expect((await hold('b')).reserved).to.equal(true);
    expect((await hold('c')).reserved).to.equal(false);
    gate.close();
  });

  it('lets at most the attempts left run at once; the rest wait, and are refused once the key is blocked', async () => {
    const { store } = countingStore();
    const gate = gateOn(store);
    const admitted = await Promise.all([gate.admit(KEY), gate.admit(KEY), gate.admit(KEY)]);
    const waiting = Array.from({ length: 5 }, () => gate.admit(KEY));
    let settled = 0;
    for (const promise of waiting) void promise.then(() => (settled += 1));
    await tick();
    expect(settled).to.equal(0);
    for (const result of admitted) await lease(result).spend();
    const refused = await Promise.all(waiting);
    expect(refused.map((r) => ('refused' in r ? r.refused : 'admitted'))).to.deep.equal(
      Array(5).fill('blocked'),
    );
    expect(await gate.admit(KEY)).to.deep.include({ refused: 'blocked' });
    gate.close();
  });

  it('hands the hold of a valid exchange to the next waiting one, in order, without a store call', async () => {
    const { store, calls } = countingStore();
    const gate = gateOn(store);
    const running = await Promise.all([gate.admit(KEY), gate.admit(KEY), gate.admit(KEY)]);
    const order: number[] = [];
    const waiting = [0, 1, 2, 3, 4].map((i) =>
      gate.admit(KEY).then((result) => {
        order.push(i);
        return lease(result);
      }),
    );
    await tick();
    const callsBefore = calls.length;
    // One ends: its hold goes to the first waiting exchange; the other four wait on.
    lease(running[0]).settle();
    await tick();
    expect(order).to.deep.equal([0]);
    // No hold given back and placed again, and no look at the store for the exchanges still
    // waiting: a hand-over frees no attempt.
    expect(calls.slice(callsBefore)).to.deep.equal([]);
    lease(running[1]).settle();
    lease(running[2]).settle();
    const first = await Promise.all(waiting.slice(0, 3));
    expect(order).to.deep.equal([0, 1, 2]);
    for (const result of first) result.settle();
    for (const result of await Promise.all(waiting.slice(3))) result.settle();
    expect(order).to.deep.equal([0, 1, 2, 3, 4]);
    expect(calls.slice(callsBefore)).to.deep.equal([]);
    gate.close();
  });

  it('admits exactly one exchange per regained attempt', async () => {
    const { store, inner } = countingStore();
    for (let i = 0; i < 3; i++) await inner.take(KEY, POLICY);
    const gate = gateOn(store);
    expect(await gate.admit(KEY)).to.deep.include({ refused: 'blocked' });
    await clock.tickAsync(POLICY.rate);
    const results = Array.from({ length: 10 }, () => gate.admit(KEY));
    const first = lease(await results[0]!);
    await tick();
    await first.spend();
    const rest = await Promise.all(results.slice(1));
    expect(rest.every((r) => 'refused' in r && r.refused === 'blocked')).to.equal(true);
    gate.close();
  });

  it('refuses beyond queueLimit waiting exchanges, and those that wait longer than queueTimeoutMs', async () => {
    const { store } = countingStore();
    const gate = gateOn(store, { queueLimit: 2, queueTimeoutMs: 150 });
    const running = await Promise.all([gate.admit(KEY), gate.admit(KEY), gate.admit(KEY)]);
    const waiting = [gate.admit(KEY), gate.admit(KEY)];
    expect(await gate.admit(KEY)).to.deep.equal({ refused: 'queue-full' });
    await clock.tickAsync(150);
    expect(await Promise.all(waiting)).to.deep.equal([
      { refused: 'timeout' },
      { refused: 'timeout' },
    ]);
    for (const result of running) lease(result).settle();
    gate.close();
  });

  it('admits what waits once the holds of an instance that died lapse in the shared store', async () => {
    const { inner } = countingStore();
    const dead = gateOn(inner);
    // Three exchanges of an instance that then died: never settled.
    for (let i = 0; i < 3; i++) lease(await dead.admit(KEY));
    dead.close();
    const alive = gateOn(inner, { holdTtlMs: 5000, queueTimeoutMs: 10_000 });
    const waiting = alive.admit(KEY);
    // The dead holds lapse after their 5-second TTL; the next 10 ms poll finds an attempt free.
    await clock.tickAsync(5000 + 10);
    lease(await waiting).settle();
    alive.close();
  });

  it('refuses the exchanges still waiting when closed', async () => {
    const { store } = countingStore();
    const gate = gateOn(store);
    for (let i = 0; i < 3; i++) lease(await gate.admit(KEY));
    const waiting = gate.admit(KEY);
    gate.close();
    expect(await waiting).to.deep.equal({ refused: 'closed' });
    expect(await gate.admit(KEY)).to.deep.equal({ refused: 'closed' });
  });

  it('rejects the waiting exchanges with the store’s error when it fails, and the next admit too', async () => {
    const { store, inner } = countingStore();
    let failing = false;
    const flaky: AttemptStore = {
      ...store,
      reserve: (key, policy, hold) =>
        failing ? Promise.reject(new Error('store down')) : inner.reserve(key, policy, hold),
    };
    const gate = gateOn(flaky);
    for (let i = 0; i < 3; i++) lease(await gate.admit(KEY));
    const waiting = gate.admit(KEY);
    failing = true;
    let error: unknown;
    await waiting.catch((err: unknown) => (error = err));
    expect((error as Error).message).to.equal('store down');
    gate.close();
  });

  it('renews a hold in use before it lapses, so a long exchange keeps it', async () => {
    const { store, calls } = countingStore();
    const gate = gateOn(store, { holdTtlMs: 60 });
    const long = lease(await gate.admit(KEY));
    await clock.tickAsync(100);
    expect(calls.filter((call) => call === 'reserve').length).to.be.at.least(2);
    long.settle();
    gate.close();
  });

  it('spends once: a second spend throws, a settle after it does nothing', async () => {
    const { store } = countingStore();
    const gate = gateOn(store);
    const admitted = lease(await gate.admit(KEY));
    expect(await admitted.spend()).to.deep.include({ taken: true, remaining: 2 });
    admitted.settle();
    let error: unknown;
    await admitted.spend().catch((err: unknown) => (error = err));
    expect((error as Error).message).to.equal('AttemptLease: spent or settled already');
    expect((await store.peek(KEY, POLICY)).remaining).to.equal(2);
    gate.close();
  });
});
