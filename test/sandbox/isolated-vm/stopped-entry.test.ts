import { expect } from 'chai';
import type { ExecutionGate } from '../../../lib/sandbox/execution-gate.js';
import {
  PendingCapabilities,
  type RunOutcome,
  codeVersion,
  handlerCode,
  runOnce,
  sandboxRunner,
  untilWatchdogCovers,
} from '../fixtures/sandbox-helpers.js';

const LIMITS = { timeoutMs: 20_000, cpuTimeMs: 50, memoryMb: 64, maxConcurrency: 32 };
const SUCCEEDS = handlerCode("api.authentication.setUserById('next');");

/**
 * An entry that isolated-vm's `timeout` stopped fails with the action's CPU failure, or, when the
 * guest got under half the budget of CPU during it (a loaded machine, which the test cannot
 * rule out), with the temporary `overloaded` failure: both are that stop, and nothing else fails
 * so. Which of the two for how much CPU is stopped-failure.test.ts's.
 */
function expectStoppedByTimeout(outcome: RunOutcome): void {
  const { kind, message } = outcome.failure ?? {};
  if (kind === 'overloaded') {
    expect(message).to.match(
      /^the host was overloaded during the action: the entry was stopped after 50 ms, of which the action ran \d+\.\d ms, under its CPU budget of 50 ms$/,
    );
  } else {
    expect([kind, message]).to.deep.equal(['timeout', 'action exceeded its CPU budget of 50 ms']);
  }
}

/**
 * An entry isolated-vm's `timeout` stopped (the watchdog does not watch an isolate before its next
 * round begins): V8 leaves the isolate with that entry's rejected-promise record and microtasks,
 * which its next call of any kind would throw or run. The isolate is replaced instead.
 */
describe('the sandbox: an entry stopped by isolated-vm’s timeout', () => {
  let runner: ExecutionGate;
  beforeEach(async () => {
    runner = sandboxRunner({ capabilities: new PendingCapabilities() });
    // A round is running: an isolate created from now on is not watched before the next round,
    // which cannot begin while the first run below is synchronous, so its first entry takes `timeout`.
    expect((await runOnce(runner, codeVersion(SUCCEEDS))).failure).to.equal(undefined);
    await untilWatchdogCovers();
  });
  afterEach(() => runner.close());

  const stats = () => runner.stats().sandbox;

  it('disposes the isolate: a new version of the action then runs, nothing of the stopped entry escapes', async () => {
    const isolates = stats()?.isolates ?? 0;
    const spin = codeVersion(
      handlerCode('Promise.reject(new Error("left unhandled")); for (;;) {}'),
      { limits: LIMITS },
    );
    expectStoppedByTimeout(await runOnce(runner, spin));
    expect(stats()?.watchdogStops).to.equal(0);
    // Other code under the same action and number: a new context, made in a new isolate.
    const next = await runOnce(runner, { ...spin, code: SUCCEEDS });
    expect(next.failure).to.equal(undefined);
    expect(next.commands).to.deep.equal([{ type: 'setUserById', user_id: 'next' }]);
    // The stopped entry's isolate is gone: the one of the first action, and the new one.
    expect(stats()?.isolates).to.equal(isolates + 1);
  });

  it('replaces the isolate at once, so that the watchdog watches the next execution; releasing the version disposes the replacement', async () => {
    const isolates = stats()?.isolates ?? 0;
    const spin = codeVersion(handlerCode('for (;;) {}'), { limits: LIMITS });
    expectStoppedByTimeout(await runOnce(runner, spin));
    expect(stats()?.watchdogStops).to.equal(0);
    expect(stats()?.isolates).to.equal(isolates + 1);
    await untilWatchdogCovers();
    // The watchdog stops a spinning entry at its CPU budget: the action's CPU failure.
    const again = await runOnce(runner, spin);
    expect([again.failure?.kind, again.failure?.message]).to.deep.equal([
      'timeout',
      'action exceeded its CPU budget of 50 ms',
    ]);
    expect(stats()?.watchdogStops).to.equal(1);
    // The watchdog's stop leaves no isolate; the timeout's replacement goes with its version.
    expect(stats()?.isolates).to.equal(isolates);
    expectStoppedByTimeout(await runOnce(runner, spin));
    expect(stats()?.watchdogStops).to.equal(1);
    expect(stats()?.isolates).to.equal(isolates + 1);
    runner.release(spin);
    expect(stats()?.isolates).to.equal(isolates);
  });
});
