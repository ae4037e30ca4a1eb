import FakeTimers from '@sinonjs/fake-timers';
import { expect } from 'chai';
import { TemporarilyUnavailable } from '../../lib/errors.js';
import { ShutdownGate } from '../../lib/http/shutdown-gate.js';

describe('ShutdownGate', () => {
  it('counts the requests admitted until each is answered; answering twice counts once', () => {
    const gate = new ShutdownGate();
    const first = gate.enter();
    const second = gate.enter();
    expect(gate.inFlight).to.equal(2);
    first();
    first();
    expect(gate.inFlight).to.equal(1);
    second();
    expect(gate.inFlight).to.equal(0);
  });

  it('closes at once when nothing is in flight, then refuses with 503 and Retry-After: 1', async () => {
    const gate = new ShutdownGate();
    expect(await gate.close(5000)).to.equal(0);
    let refusal: unknown;
    try {
      gate.enter();
    } catch (err) {
      refusal = err;
    }
    expect(refusal).to.be.instanceOf(TemporarilyUnavailable);
    const error = refusal as TemporarilyUnavailable;
    expect({ status: error.status, error: error.error, headers: error.headers }).to.deep.equal({
      status: 503,
      error: 'temporarily_unavailable',
      headers: { 'Retry-After': '1' },
    });
    expect(gate.inFlight).to.equal(0);
  });

  it('resolves close() when the last request in flight is answered, with 0 left', async () => {
    const gate = new ShutdownGate();
    const answered = [gate.enter(), gate.enter()];
    let left: number | undefined;
    const closing = gate.close(5000).then((count) => (left = count));
    expect(() => gate.enter()).to.throw(TemporarilyUnavailable);
    answered[0]!();
    await Promise.resolve();
    expect(left).to.equal(undefined);
    answered[1]!();
    await closing;
    expect(left).to.equal(0);
  });

  it('stops waiting after the timeout and says how many are still in flight', async () => {
    const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const gate = new ShutdownGate();
      gate.enter();
      let left: number | undefined;
      const closing = gate.close(3000).then((count) => (left = count));
      await clock.tickAsync(2999);
      expect(left).to.equal(undefined);
      await clock.tickAsync(1);
      await closing;
      expect(left).to.equal(1);
    } finally {
      clock.uninstall();
    }
  });
});
