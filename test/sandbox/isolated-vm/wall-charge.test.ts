import { expect } from 'chai';
import type {
  CapabilityName,
  CapabilityScope,
} from '../../../lib/sandbox/capabilities/host-capabilities.js';
import type { ActionVersion } from '../../../lib/sandbox/action-runner.js';
import type { ExecutionGate } from '../../../lib/sandbox/execution-gate.js';
import { WALL_BACKSTOP_FACTOR } from '../../../lib/sandbox/isolated-vm/entry-watchdog.js';
import { HOST_CALL_CHARGE_CAP_MS } from '../../../lib/sandbox/isolated-vm/host-calls.js';
import type { CapabilityInvoker } from '../../../lib/sandbox/isolated-vm/isolated-vm-runner.js';
import {
  codeVersion,
  countsAsRunaway,
  handlerCode,
  runOnce,
  sandboxRunner,
  untilWatchdogCovers,
  type RunOutcome,
} from '../fixtures/sandbox-helpers.js';

const CPU_MS = 50;
const LIMITS = { timeoutMs: 20_000, cpuTimeMs: CPU_MS, memoryMb: 64, maxConcurrency: 32 };
/** The wall time at which the watchdog stops an entry whatever its CPU time. */
const BACKSTOP_MS = WALL_BACKSTOP_FACTOR * CPU_MS;

/**
 * `jose.jwtVerify` answered within the entry (a synchronous host call, as the real capabilities'
 * cached JWKS does), after blocking the event loop's thread for the ms the token names: the
 * guest's CPU timer does not run meanwhile, as it does not while its thread is starved.
 */
class BlockingCapabilities implements CapabilityInvoker {
  readonly #sleeper = new Int32Array(new SharedArrayBuffer(4));
  invoke(): Promise<unknown> {
    return new Promise(() => {});
  }
  invokeSync(
    _scope: CapabilityScope,
    name: CapabilityName,
    args: readonly unknown[],
  ): { value: unknown } {
    const token = String(args[0]);
    const ms = Number(token.replace('spin', ''));
    if (name === 'jose.jwtVerify' && token.startsWith('spin')) {
      for (const until = performance.now() + ms; performance.now() < until;);
    } else if (name === 'jose.jwtVerify' && ms > 0) {
      Atomics.wait(this.#sleeper, 0, 0, ms);
    }
    return { value: { payload: { sub: 'alice' }, protectedHeader: { alg: 'ES256' } } };
  }
}

/**
 * An action whose one jwtVerify blocks the host `ms` (or, `spin` set, keeps it busy that long),
 * `times` times over (forever for Infinity).
 */
function verifying(ms: number, times: number, spin = false): string {
  return handlerCode(`
    const { jwtVerify } = require('jose');
    for (let i = 0; i < ${times === Infinity ? 'Infinity' : times}; i += 1) {
      await jwtVerify('${spin ? 'spin' : ''}${ms}', new Uint8Array(32));
    }
    api.authentication.setUserById('alice');`);
}

/** The action's CPU failure: `timeout`, the budget named, counted toward runaway suspension. */
function expectCpuRunaway(outcome: RunOutcome): void {
  expect([outcome.failure?.kind, outcome.failure?.message]).to.deep.equal([
    'timeout',
    `action exceeded its CPU budget of ${CPU_MS} ms`,
  ]);
  expect(countsAsRunaway(outcome.failure)).to.equal(true);
}

describe('the sandbox charges an action the CPU time it ran, not the wall time it was kept waiting', function () {
  this.timeout(30_000);
  let runner: ExecutionGate;

  beforeEach(() => {
    runner = sandboxRunner({ capabilities: new BlockingCapabilities() });
  });
  afterEach(() => runner.close());

  /**
   * A version of `code` whose isolate the watchdog watches: another version of the action ran first
   * (a new isolate's first entry takes isolated-vm's timeout, not the watchdog).
   */
  async function watchedVersion(code: string): Promise<ActionVersion> {
    const version = codeVersion(code, { limits: LIMITS, number: 2 });
    const warmUp = codeVersion(verifying(0, 1), { action_id: version.action_id, limits: LIMITS });
    expect((await runOnce(runner, warmUp)).failure).to.equal(undefined);
    await untilWatchdogCovers();
    return version;
  }

  /** Runs `code` once the watchdog watches its isolate. */
  async function watchedRun(code: string): Promise<{ outcome: RunOutcome; ms: number }> {
    const version = await watchedVersion(code);
    const started = Date.now();
    const outcome = await runOnce(runner, version);
    return { outcome, ms: Date.now() - started };
  }

  it('an entry kept from running for four times its CPU budget (a blocked host call) is not stopped', async () => {
    const { outcome, ms } = await watchedRun(verifying(4 * CPU_MS, 1));
    expect(ms).to.be.at.least(4 * CPU_MS);
    expect(outcome.failure).to.equal(undefined);
    expect(outcome.commands).to.deep.include({ type: 'setUserById', user_id: 'alice' });
  });

  it(`an action looping on a slow host call is charged for it, up to ${HOST_CALL_CHARGE_CAP_MS} ms a call: a runaway, stopped long before the backstop`, async () => {
    const { outcome, ms } = await watchedRun(verifying(20, Infinity));
    // Each 20 ms call is charged the cap: the budget is used after CPU_MS / cap calls.
    expect(ms).to.be.within((CPU_MS / HOST_CALL_CHARGE_CAP_MS) * 20, BACKSTOP_MS);
    expectCpuRunaway(outcome);
  });

  it('an action looping on a host call that keeps the processor busy (a JWT verified with a very large RSA key) is a runaway, stopped near its budget', async () => {
    const { outcome, ms } = await watchedRun(verifying(3, Infinity, true));
    expect(ms).to.be.within(CPU_MS, CPU_MS + 400);
    expectCpuRunaway(outcome);
  });

  it('an action looping on a synchronous host call that answers at once is stopped, a runaway', async () => {
    const { outcome, ms } = await watchedRun(verifying(0, Infinity));
    expect(ms).to.be.below(BACKSTOP_MS + 400);
    expectCpuRunaway(outcome);
  });

  it('an action looping on a synchronous api call is stopped, a runaway', async () => {
    const { outcome, ms } = await watchedRun(handlerCode("for (;;) api.cache.get('key');"));
    expect(ms).to.be.below(BACKSTOP_MS + 400);
    expectCpuRunaway(outcome);
  });

  it('a spinning action is stopped at its CPU budget, within a few polls, a runaway', async () => {
    const spin = handlerCode('for (;;) {}');
    const { outcome, ms } = await watchedRun(spin);
    expect(ms).to.be.within(CPU_MS, CPU_MS + 150);
    expectCpuRunaway(outcome);
  });
});
