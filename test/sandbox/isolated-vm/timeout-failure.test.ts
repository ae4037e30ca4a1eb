import { expect } from 'chai';
import { ActionFailure, DEFAULT_ACTION_LIMITS } from '../../../lib/sandbox/action-runner.js';
import { timeoutFailure, type Execution } from '../../../lib/sandbox/isolated-vm/execution.js';
import { RunawayPolicy } from '../../../lib/sandbox/runaway-policy.js';

/** Only the limits are read. */
const execution = { limits: { ...DEFAULT_ACTION_LIMITS, cpuTimeMs: 40 } } as unknown as Execution;

/** Spins this many ms of the process's CPU. */
function burn(ms: number): void {
  const started = process.cpuUsage();
  for (;;) {
    const { user, system } = process.cpuUsage(started);
    if (user + system >= ms * 1000) return;
  }
}

/** Whether `failure` counts toward the runaway streak: RUNAWAY_STREAK (3) of it suspend the caller. */
function countsAsRunaway(failure: ActionFailure): boolean {
  const policy = new RunawayPolicy(() => 0);
  for (let i = 0; i < 3; i += 1) policy.record('act', 'caller', failure);
  try {
    policy.admit('act', 'caller');
    return false;
  } catch {
    return true;
  }
}

describe("timeoutFailure: an entry isolated-vm's timeout stopped", () => {
  it('is a temporary failure, not a runaway, when the process used under half the budget (the host stalled)', () => {
    const failure = timeoutFailure(execution, process.cpuUsage(), 40);
    expect(failure).to.be.instanceOf(ActionFailure);
    expect(failure.kind).to.equal('overloaded');
    expect(failure.retryAfterSeconds).to.equal(1);
    expect(failure.message).to.match(
      /^the host was not running during the action \(descheduled\): the entry was stopped after 40 ms with \d+\.\d ms of CPU used, under its CPU budget of 40 ms$/,
    );
    expect(countsAsRunaway(failure)).to.equal(false);
  });

  it("is the action's CPU failure, a runaway, when the process used half the budget or more", () => {
    const started = process.cpuUsage();
    burn(20);
    const failure = timeoutFailure(execution, started, 40);
    expect([failure.kind, failure.message]).to.deep.equal([
      'timeout',
      'action exceeded its CPU budget of 40 ms',
    ]);
    expect(countsAsRunaway(failure)).to.equal(true);
  });

  it("is the action's CPU failure when nothing was measured (a watched entry)", () => {
    const failure = timeoutFailure(execution, undefined, 40);
    expect(failure.kind).to.equal('timeout');
    expect(countsAsRunaway(failure)).to.equal(true);
  });
});
