import { expect } from 'chai';
import ivm from 'isolated-vm';
import {
  EntryWatchdog,
  WALL_BACKSTOP_FACTOR,
} from '../../../lib/sandbox/isolated-vm/entry-watchdog.js';
import { loadIsolatedVm } from '../../../lib/sandbox/isolated-vm/isolates.js';
import { until } from '../../support/until.js';
import { interceptIsolates } from '../fixtures/isolate-maker.js';

/** Waits until entries into the watched isolates are covered by a round (it begins within a few ms). */
function untilWatched(watchdog: EntryWatchdog): Promise<void> {
  return until(() => watchdog.covering, 'the watchdog watches the isolate');
}

describe('EntryWatchdog: stops entries past their budget without a timer each', function () {
  this.timeout(10_000);
  let watchdog: EntryWatchdog;
  let isolate: ivm.Isolate;
  let run: ivm.Reference;

  before(() => loadIsolatedVm());
  beforeEach(() => {
    watchdog = new EntryWatchdog();
    isolate = new ivm.Isolate({ memoryLimit: 16 });
    const context = isolate.createContextSync();
    run = context.evalSync('(function (spin) { if (spin) for (;;) {} return 42; })', {
      reference: true,
    });
  });
  afterEach(() => {
    watchdog.close();
    if (!isolate.isDisposed) isolate.dispose();
  });

  it('asks for isolated-vm’s timeout for an isolate it does not watch (yet)', () => {
    const entry = watchdog.begin(isolate, 12.2, isolate.cpuTime);
    expect(entry).to.deep.equal({ timeoutMs: 13, seq: 0 });
    expect(watchdog.end(entry)).to.equal(false);
  });

  it('says it covers every isolate only while a round that watches them all runs', async () => {
    expect(watchdog.covering).to.equal(false);
    watchdog.watch(isolate);
    await untilWatched(watchdog);
    const other = new ivm.Isolate({ memoryLimit: 16 });
    try {
      watchdog.watch(other);
      // A round that began before `other` was given does not watch it.
      expect(watchdog.covering).to.equal(false);
      await untilWatched(watchdog);
      const entry = watchdog.begin(other, 20, other.cpuTime);
      expect(watchdog.end(entry)).to.equal(false);
      expect(entry.timeoutMs).to.equal(0);
    } finally {
      other.dispose();
    }
    watchdog.close();
    expect(watchdog.covering).to.equal(false);
  });

  it('covers entries into a watched isolate once a round has begun: no timeout needed', async () => {
    watchdog.watch(isolate);
    await untilWatched(watchdog);
    for (let i = 0; i < 100; i += 1) {
      const entry = watchdog.begin(isolate, 50, isolate.cpuTime);
      expect(entry.timeoutMs).to.equal(0);
      expect(run.applySync(undefined, [false])).to.equal(42);
      expect(watchdog.end(entry)).to.equal(false);
    }
    expect(isolate.isDisposed).to.equal(false);
  });

  it('disposes the isolate of an entry still running at its deadline; end() says so', async () => {
    watchdog.watch(isolate);
    await untilWatched(watchdog);
    const entry = watchdog.begin(isolate, 30, isolate.cpuTime);
    expect(entry.timeoutMs).to.equal(0);
    const started = Date.now();
    expect(() => run.applySync(undefined, [true])).to.throw(
      'Isolate was disposed during execution',
    );
    expect(Date.now() - started).to.be.within(29, 300);
    expect(watchdog.end(entry)).to.equal(true);
    expect(isolate.isDisposed).to.equal(true);
  });

  it('gives an entry begun inside another one a timeout of its own', async () => {
    watchdog.watch(isolate);
    await untilWatched(watchdog);
    const outer = watchdog.begin(isolate, 50, isolate.cpuTime);
    const inner = watchdog.begin(isolate, 50, isolate.cpuTime);
    expect([outer.timeoutMs, inner.timeoutMs]).to.deep.equal([0, 50]);
    expect(watchdog.end(inner)).to.equal(false);
    expect(watchdog.end(outer)).to.equal(false);
  });

  it('stops watching an isolate it is told to forget, and everything once closed', async () => {
    watchdog.watch(isolate);
    await untilWatched(watchdog);
    watchdog.unwatch(isolate);
    expect(watchdog.begin(isolate, 20, isolate.cpuTime).timeoutMs).to.equal(20);
    watchdog.watch(isolate);
    await untilWatched(watchdog);
    watchdog.close();
    expect(watchdog.begin(isolate, 20, isolate.cpuTime).timeoutMs).to.equal(20);
  });

  it('listens for the process exit while it lives, and no longer once closed', () => {
    const before = process.listenerCount('exit');
    const other = new EntryWatchdog();
    expect(process.listenerCount('exit')).to.equal(before + 1);
    other.close();
    other.close();
    expect(process.listenerCount('exit')).to.equal(before);
  });
});

describe('EntryWatchdog: its own isolate disposed, or not creatable', function () {
  this.timeout(10_000);
  const WATCHDOG_MB = 8;
  let isolates: ReturnType<typeof interceptIsolates>;
  let watchdog: EntryWatchdog;
  let isolate: ivm.Isolate;
  let spin: ivm.Reference;

  before(() => loadIsolatedVm());
  beforeEach(() => {
    isolates = interceptIsolates();
    isolate = new ivm.Isolate({ memoryLimit: 16 });
    spin = isolate.createContextSync().evalSync('(function () { for (;;) {} })', {
      reference: true,
    });
  });
  afterEach(() => {
    isolates.restore();
    watchdog.close();
    if (!isolate.isDisposed) isolate.dispose();
  });

  /** An entry that spins forever, begun under the watchdog: it must be the one to stop it. */
  function spinUnderWatch(): void {
    const entry = watchdog.begin(isolate, 30, isolate.cpuTime);
    expect(entry.timeoutMs).to.equal(0);
    expect(() => spin.applySync(undefined, [])).to.throw('Isolate was disposed during execution');
    expect(watchdog.end(entry)).to.equal(true);
    expect(isolate.isDisposed).to.equal(true);
  }

  it('makes a new isolate when its own is disposed, which watches the isolates watched before and stops a spinning entry', async () => {
    watchdog = new EntryWatchdog();
    watchdog.watch(isolate);
    await untilWatched(watchdog);
    const [first] = isolates.withLimit(WATCHDOG_MB);
    first?.dispose();
    await until(
      () => isolates.withLimit(WATCHDOG_MB).length === 2 && watchdog.covering,
      'a new watchdog isolate covers the isolate',
    );
    spinUnderWatch();
  });

  it('is made even when its isolate cannot be: entries take a timeout, and a later round makes the isolate', async () => {
    isolates.next('throw', WATCHDOG_MB);
    watchdog = new EntryWatchdog();
    watchdog.watch(isolate);
    expect(watchdog.covering).to.equal(false);
    const entry = watchdog.begin(isolate, 30, isolate.cpuTime);
    expect(entry).to.deep.equal({ timeoutMs: 30, seq: 0 });
    expect(() => spin.applySync(undefined, [], { timeout: entry.timeoutMs })).to.throw(
      'Script execution timed out.',
    );
    expect(watchdog.end(entry)).to.equal(false);
    // Not tried again at once (a host that cannot make isolates is not asked at every entry).
    watchdog.end(watchdog.begin(isolate, 30, isolate.cpuTime));
    expect(isolates.withLimit(WATCHDOG_MB)).to.deep.equal([]);
    // Entries start a round while none runs; the isolate is tried again a second after it failed.
    await until(
      () => {
        watchdog.end(watchdog.begin(isolate, 30, isolate.cpuTime));
        return watchdog.covering;
      },
      'the watchdog made its isolate again',
      3_000,
    );
    expect(isolates.withLimit(WATCHDOG_MB)).to.have.length(1);
    spinUnderWatch();
  });
});

describe('EntryWatchdog: charges the guest’s CPU time, with a wall-time backstop', function () {
  this.timeout(10_000);
  const BUDGET_MS = 30;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  let watchdog: EntryWatchdog;
  let isolate: ivm.Isolate;
  let run: ivm.Reference;

  before(() => loadIsolatedVm());
  beforeEach(async () => {
    watchdog = new EntryWatchdog();
    isolate = new ivm.Isolate({ memoryLimit: 16 });
    const context = isolate.createContextSync();
    // A synchronous host call that keeps the entry's thread from running for `ms`.
    const block = new ivm.Callback((ms: number) => Atomics.wait(sleeper, 0, 0, ms));
    context.global.setSync('block', block);
    // The same, its time charged to the entry as the runner charges a capability call.
    const charged = new ivm.Callback((ms: number) => {
      Atomics.wait(sleeper, 0, 0, ms);
      watchdog.chargeHostCall(ms);
    });
    context.global.setSync('charged', charged);
    run = context.evalSync(
      `(function (mode, ms) {
        if (mode === 'spin') for (;;) {}
        if (mode === 'block') { block(ms); return 42; }
        // As the sandbox's guest awaits a host call answered at once: V8 stops a loop of bare
        // callbacks only long after its isolate is disposed, but stops it at its next microtask.
        if (mode === 'charged') (async () => { for (;;) await charged(ms); })();
        else (async () => { for (;;) await block(ms); })();
      })`,
      { reference: true },
    );
    watchdog.watch(isolate);
    await untilWatched(watchdog);
  });
  afterEach(() => {
    watchdog.close();
    if (!isolate.isDisposed) isolate.dispose();
  });

  /** Runs one watched entry; what it returned or threw, how long it took, and the watchdog's stop. */
  function enter(mode: string, ms = 0) {
    const entry = watchdog.begin(isolate, BUDGET_MS, isolate.cpuTime);
    expect(entry.timeoutMs).to.equal(0);
    const started = Date.now();
    let result: unknown;
    try {
      result = run.applySync(undefined, [mode, ms]);
    } catch (err) {
      result = (err as Error).message;
    }
    const tookMs = Date.now() - started;
    const stopped = watchdog.end(entry);
    return { result, tookMs, stopped, stop: watchdog.stopOf(entry) };
  }

  it('does not stop an entry kept from running (in a host call) past its budget: it is not the guest’s time', () => {
    const { stop, ...entry } = enter('block', 4 * BUDGET_MS);
    expect(entry.result).to.equal(42);
    expect(entry.stopped).to.equal(false);
    expect(entry.tookMs).to.be.at.least(4 * BUDGET_MS);
    expect(stop).to.equal(undefined);
    expect(isolate.isDisposed).to.equal(false);
  });

  it('stops a spinning entry once its guest used its budget, and tells how much it used', () => {
    const { stop, ...entry } = enter('spin');
    expect(entry).to.deep.include({
      result: 'Isolate was disposed during execution',
      stopped: true,
    });
    expect(entry.tookMs).to.be.within(BUDGET_MS - 1, BUDGET_MS + 150);
    expect(stop?.cpuMs).to.be.within(BUDGET_MS, BUDGET_MS + 150);
    expect(stop?.afterMs).to.be.within(BUDGET_MS, entry.tookMs + 1);
  });

  it(`stops an entry looping on a blocking host call at ${WALL_BACKSTOP_FACTOR} times its budget of wall time, its guest's CPU time tiny`, () => {
    const { stop, ...entry } = enter('loop', 5);
    expect(entry).to.deep.include({
      result: 'Isolate was disposed during execution',
      stopped: true,
    });
    const backstopMs = WALL_BACKSTOP_FACTOR * BUDGET_MS;
    expect(entry.tookMs).to.be.within(backstopMs, backstopMs + 200);
    expect(stop?.afterMs).to.be.within(backstopMs, entry.tookMs + 1);
    expect(stop?.cpuMs).to.be.below(BUDGET_MS / 2);
  });

  it('stops an entry looping on host calls charged to it once they and its guest used its budget', () => {
    const { stop, ...entry } = enter('charged', 5);
    expect(entry).to.deep.include({
      result: 'Isolate was disposed during execution',
      stopped: true,
    });
    expect(entry.tookMs).to.be.within(BUDGET_MS - 1, BUDGET_MS + 150);
    expect(stop?.cpuMs).to.be.at.least(BUDGET_MS);
  });
});
