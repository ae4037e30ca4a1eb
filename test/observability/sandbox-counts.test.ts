import { expect } from 'chai';
import { MemoryActionCacheStore } from '../../lib/sandbox/capabilities/action-cache.js';
import { ExecutionGate } from '../../lib/sandbox/execution-gate.js';
import {
  RUNAWAY_STREAK,
  RUNAWAY_SUSPENSION_MS,
  RunawayPolicy,
} from '../../lib/sandbox/runaway-policy.js';
import { runaway } from '../support/sandboxed-actions.js';

describe('observability: the counts the sandbox exposes', () => {
  it('counts the suspensions in force, of actions and of callers, until they end', () => {
    let clock = 1_000_000;
    const policy = new RunawayPolicy(() => clock);
    expect(policy.suspensions()).to.deep.equal({ actions: 0, callers: 0 });
    for (let i = 0; i < RUNAWAY_STREAK; i += 1) policy.record('one', '203.0.113.7', runaway());
    expect(policy.suspensions()).to.deep.equal({ actions: 0, callers: 1 });
    for (const caller of ['a', 'b', 'c']) policy.record('all', caller, runaway());
    expect(policy.suspensions()).to.deep.equal({ actions: 1, callers: 1 });
    clock += RUNAWAY_SUSPENSION_MS;
    expect(policy.suspensions()).to.deep.equal({ actions: 0, callers: 0 });
  });

  it("stops counting a caller's suspension once the action's version is replaced", () => {
    const policy = new RunawayPolicy(() => 1_000_000);
    for (let i = 0; i < RUNAWAY_STREAK; i += 1) policy.record('act', '203.0.113.7', runaway());
    expect(policy.suspensions().callers).to.equal(1);
    policy.forget('act');
    expect(policy.suspensions()).to.deep.equal({ actions: 0, callers: 0 });
  });

  it('says whether code actions can run: disabled without the sandbox, idle until one loads it', async () => {
    const without = new ExecutionGate({ sandbox: false, cacheStore: new MemoryActionCacheStore() });
    const idle = new ExecutionGate({ sandbox: true, cacheStore: new MemoryActionCacheStore() });
    try {
      expect(without.stats()).to.deep.equal({
        executions: 0,
        sandbox: undefined,
        sandboxState: 'disabled',
        suspensions: { actions: 0, callers: 0 },
      });
      expect(idle.stats().sandboxState).to.equal('idle');
    } finally {
      await without.close();
      await idle.close();
    }
  });
});
