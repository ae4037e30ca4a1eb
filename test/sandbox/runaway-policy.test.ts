import { expect } from 'chai';
import { ActionFailure } from '../../lib/sandbox/action-runner.js';
import {
  RUNAWAY_STREAK,
  RUNAWAY_SUSPENSION_MS,
  RunawayPolicy,
  hostStalledFailure,
} from '../../lib/sandbox/runaway-policy.js';
import { runaway } from '../support/sandboxed-actions.js';

describe('RunawayPolicy: one caller cannot suspend an action for the others', () => {
  let clock: number;
  let policy: RunawayPolicy;
  const refusal = (actionId: string, caller?: string): ActionFailure | undefined => {
    try {
      policy.admit(actionId, caller);
      return undefined;
    } catch (err) {
      expect(err).to.be.instanceOf(ActionFailure);
      return err as ActionFailure;
    }
  };
  beforeEach(() => {
    clock = 1_000_000;
    policy = new RunawayPolicy(() => clock);
  });

  it('suspends only the caller whose executions ran away, and lets it back after the suspension', () => {
    for (let i = 0; i < RUNAWAY_STREAK; i += 1) policy.record('act', '203.0.113.7', runaway());
    const refused = refusal('act', '203.0.113.7');
    expect(refused?.kind).to.equal('overloaded');
    expect(refused?.message).to.equal(
      `action act is suspended for this caller for 10 s: its last ${RUNAWAY_STREAK} executions ran until the sandbox stopped them (CPU budget or memory limit)`,
    );
    expect(refused?.retryAfterSeconds).to.equal(RUNAWAY_SUSPENSION_MS / 1000);
    expect(refusal('act', '198.51.100.1')).to.equal(undefined);
    expect(refusal('other', '203.0.113.7')).to.equal(undefined);
    // Another caller's completed execution ends the action's streak, not this caller's suspension.
    policy.record('act', '198.51.100.1', undefined);
    expect(refusal('act', '203.0.113.7')?.kind).to.equal('overloaded');
    clock += RUNAWAY_SUSPENSION_MS;
    expect(refusal('act', '203.0.113.7')).to.equal(undefined);
  });

  it('suspends the action for everyone when the runaways in a row come from distinct callers', () => {
    policy.record('act', 'a', runaway());
    policy.record('act', 'a', runaway());
    policy.record('act', 'b', runaway());
    expect(refusal('act', 'c')).to.equal(undefined);
    policy.record('act', 'c', runaway());
    const refused = refusal('act', 'd');
    expect(refused?.message).to.match(
      /^action act is suspended for 10 s: its last 4 executions ran until/,
    );
    clock += RUNAWAY_SUSPENSION_MS;
    expect(refusal('act', 'd')).to.equal(undefined);
  });

  it('does not count runaways that a completion interrupted, nor failures that are not runaways', () => {
    for (const caller of ['a', 'b']) policy.record('act', caller, runaway());
    policy.record('act', 'e', undefined);
    for (const caller of ['c', 'd']) policy.record('act', caller, runaway());
    policy.record('act', 'f', new ActionFailure('threw', 'not a runaway'));
    policy.record('act', 'g', runaway());
    expect(refusal('act', 'h')).to.equal(undefined);
  });

  it('neither counts nor ends a streak for an execution stopped because the host was not running', () => {
    const stalled = () => hostStalledFailure(new ActionFailure('overloaded', 'host stalled'));
    for (let i = 0; i < RUNAWAY_STREAK; i += 1) policy.record('act', 'a', stalled());
    expect(refusal('act', 'a')).to.equal(undefined);
    for (let i = 0; i < RUNAWAY_STREAK - 1; i += 1) {
      policy.record('act', 'a', runaway());
      policy.record('act', 'a', stalled());
    }
    expect(refusal('act', 'a')).to.equal(undefined);
    policy.record('act', 'a', runaway());
    expect(refusal('act', 'a')?.message).to.match(
      new RegExp(`^action act is suspended for this caller for 10 s: its last ${RUNAWAY_STREAK} `),
    );
  });

  it('counts executions without a caller as one caller, and forgets an action replaced by a new version', () => {
    for (let i = 0; i < RUNAWAY_STREAK; i += 1) policy.record('act', undefined, runaway());
    expect(refusal('act')?.message).to.match(/^action act is suspended for 10 s:/);
    policy.forget('act');
    expect(refusal('act')).to.equal(undefined);
  });
});
