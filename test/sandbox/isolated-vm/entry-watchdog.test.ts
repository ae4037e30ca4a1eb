import { expect } from 'chai';
import ivm from 'isolated-vm';
import { EntryWatchdog } from '../../../lib/sandbox/isolated-vm/entry-watchdog.js';
import { loadIsolatedVm } from '../../../lib/sandbox/isolated-vm/isolates.js';
import { until } from '../../support/until.js';

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
    const entry = watchdog.begin(isolate, 12.2);
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
      const entry = watchdog.begin(other, 20);
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
      const entry = watchdog.begin(isolate, 50);
      expect(entry.timeoutMs).to.equal(0);
      expect(run.applySync(undefined, [false])).to.equal(42);
      expect(watchdog.end(entry)).to.equal(false);
    }
    expect(isolate.isDisposed).to.equal(false);
  });

  it('disposes the isolate of an entry still running at its deadline; end() says so', async () => {
    watchdog.watch(isolate);
    await untilWatched(watchdog);
    const entry = watchdog.begin(isolate, 30);
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
    const outer = watchdog.begin(isolate, 50);
    const inner = watchdog.begin(isolate, 50);
    expect([outer.timeoutMs, inner.timeoutMs]).to.deep.equal([0, 50]);
    expect(watchdog.end(inner)).to.equal(false);
    expect(watchdog.end(outer)).to.equal(false);
  });

  it('stops watching an isolate it is told to forget, and everything once closed', async () => {
    watchdog.watch(isolate);
    await untilWatched(watchdog);
    watchdog.unwatch(isolate);
    expect(watchdog.begin(isolate, 20).timeoutMs).to.equal(20);
    watchdog.watch(isolate);
    await untilWatched(watchdog);
    watchdog.close();
    expect(watchdog.begin(isolate, 20).timeoutMs).to.equal(20);
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
