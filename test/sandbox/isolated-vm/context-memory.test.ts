import { expect } from 'chai';
import type { ExecutionGate } from '../../../lib/sandbox/execution-gate.js';
import {
  PendingCapabilities,
  codeVersion,
  handlerCode,
  runOnce,
  sandboxRunner,
} from '../fixtures/sandbox-helpers.js';

const LIMITS = { timeoutMs: 20_000, cpuTimeMs: 5_000, memoryMb: 16, maxConcurrency: 32 };

/**
 * An execution that keeps 17 MB (in 8-byte numbers) while it awaits a fetch. isolated-vm checks an
 * isolate's heap against its memory limit (16 MB) after each context it creates, but stops running
 * code only past the limit plus V8's young generation (a few MB more): the execution runs on, and
 * the next context created in its isolate (another version of the action) finds the heap full.
 */
const HOLDS_17_MB = handlerCode(`
  const hoard = [];
  for (let i = 0; i < (17 * 1024 * 1024) / 8 / 10000; i++) hoard.push(new Array(10000).fill(i + 0.5));
  await fetch('https://idp.example.com/wait');
  api.authentication.setUserById(String(hoard.length));
`);
const SUCCEEDS = handlerCode("api.authentication.setUserById('next');");

describe('the sandbox: an isolate that runs out of memory while a context is created in it', () => {
  let capabilities: PendingCapabilities;
  let runner: ExecutionGate;
  beforeEach(() => {
    capabilities = new PendingCapabilities();
    runner = sandboxRunner({ capabilities });
  });
  afterEach(() => runner.close());

  it("fails the execution that needed the context and those in flight in the isolate with 'memory'; the next execution gets a new isolate", async () => {
    const holder = codeVersion(HOLDS_17_MB, { limits: LIMITS });
    const held = runOnce(runner, holder);
    await capabilities.waitForCalls(1);
    expect(runner.stats().sandbox).to.include({ isolates: 1, contexts: 1, executions: 1 });

    const second = await runOnce(runner, { ...holder, number: 2, code: SUCCEEDS });
    expect([second.failure?.kind, second.failure?.message]).to.deep.equal([
      'memory',
      'the sandbox ran out of memory preparing the action (memory limit 16 MB)',
    ]);
    // The execution holding the memory lost its isolate too, at once, not when its fetch settles.
    const holderOutcome = await held;
    expect([holderOutcome.failure?.kind, holderOutcome.failure?.message]).to.deep.equal([
      'memory',
      'action exceeded its memory limit of 16 MB (its isolate was disposed and is replaced for the next execution)',
    ]);
    expect(holderOutcome.commands).to.deep.equal([]);
    expect(runner.stats().sandbox).to.include({ isolates: 0, contexts: 0, executions: 0 });

    const next = await runOnce(runner, { ...holder, number: 2, code: SUCCEEDS });
    expect(next.failure).to.equal(undefined);
    expect(next.commands).to.deep.equal([{ type: 'setUserById', user_id: 'next' }]);
    expect(runner.stats().sandbox).to.include({ isolates: 1, contexts: 1, executions: 0 });
  });
});
