import { expect } from 'chai';
import { ActionFailure, DEFAULT_ACTION_LIMITS } from '../../../lib/sandbox/action-runner.js';
import { stoppedFailure, type Execution } from '../../../lib/sandbox/isolated-vm/execution.js';
import { countsAsRunaway } from '../fixtures/sandbox-helpers.js';

/** Only the limits are read. */
const execution = { limits: { ...DEFAULT_ACTION_LIMITS, cpuTimeMs: 40 } } as unknown as Execution;

describe('stoppedFailure: an entry stopped part-way (watchdog or isolated-vm’s timeout)', () => {
  it('is a temporary failure, not a runaway, when the guest ran under half the budget (kept from running)', () => {
    const failure = stoppedFailure(execution, { cpuMs: 19.94, afterMs: 399.2, budgetMs: 40 });
    expect(failure).to.be.instanceOf(ActionFailure);
    expect([failure.kind, failure.message, failure.retryAfterSeconds]).to.deep.equal([
      'overloaded',
      'the host was overloaded during the action: the entry was stopped after 400 ms, of which the action ran 19.9 ms, under its CPU budget of 40 ms',
      1,
    ]);
    expect(countsAsRunaway(failure)).to.equal(false);
  });

  it('measures half of the entry’s own budget, what remained of the execution’s', () => {
    const failure = stoppedFailure(execution, { cpuMs: 10, afterMs: 200, budgetMs: 20 });
    expect([failure.kind, failure.message]).to.deep.equal([
      'timeout',
      'action exceeded its CPU budget of 40 ms',
    ]);
    expect(countsAsRunaway(failure)).to.equal(true);
  });

  it("is the action's CPU failure, a runaway, when the guest ran half the budget or more", () => {
    for (const cpuMs of [20, 40, 41.5]) {
      const failure = stoppedFailure(execution, { cpuMs, afterMs: 400, budgetMs: 40 });
      expect([failure.kind, failure.message]).to.deep.equal([
        'timeout',
        'action exceeded its CPU budget of 40 ms',
      ]);
      expect(countsAsRunaway(failure)).to.equal(true);
    }
  });

  it("is the action's CPU failure when the guest's CPU time is unknown", () => {
    const failure = stoppedFailure(execution, { cpuMs: NaN, afterMs: 400, budgetMs: 40 });
    expect(failure.kind).to.equal('timeout');
    expect(countsAsRunaway(failure)).to.equal(true);
  });
});
