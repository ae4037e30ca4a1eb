import FakeTimers from '@sinonjs/fake-timers';
import { expect } from 'chai';
import { ApiRecorder } from '../../../lib/actions/api-recorder.js';
import { ActionFailure } from '../../../lib/sandbox/action-runner.js';
import { MemoryActionCacheStore } from '../../../lib/sandbox/capabilities/action-cache.js';
import type { ExecutionGate } from '../../../lib/sandbox/execution-gate.js';
import { RUNAWAY_STREAK, RUNAWAY_SUSPENSION_MS } from '../../../lib/sandbox/runaway-policy.js';
import {
  AnsweringCapabilities,
  PendingCapabilities,
  codeVersion,
  handlerCode,
  messagesOfSuccess,
  nextTurn,
  runOnce,
  runPastHostStalls,
  testEvent,
  untilWatchdogCovers,
  EMPTY_FETCH_RESPONSE,
  sandboxRunner,
} from '../fixtures/sandbox-helpers.js';

describe('the sandbox: running actions', () => {
  let runner: ExecutionGate;
  before(() => {
    runner = sandboxRunner({ capabilities: new PendingCapabilities() });
  });
  after(() => runner.close());

  it('runs the exported handler with a copy of the event and records api calls and console lines in order', async () => {
    const event = testEvent();
    const outcome = await runOnce(
      runner,
      codeVersion(
        handlerCode(`
          console.log('client', event.client.client_id, 'scopes', event.transaction.requested_scopes);
          console.warn('secret is', event.secrets.api_key, 'event secret', event.secrets.from_event);
          event.client.client_id = 'changed inside';
          api.authentication.setUserById('user-' + event.request.body.extra);
          api.user.setAppMetadata('plan', { tier: event.client.metadata.tier });
          console.error('done');
        `),
      ),
      event,
    );
    expect(outcome.failure).to.equal(undefined);
    expect(outcome.commands).to.deep.equal([
      { type: 'setUserById', user_id: 'user-value' },
      { type: 'setAppMetadata', key: 'plan', value: { tier: 'gold' } },
    ]);
    expect(outcome.console).to.deep.equal([
      { level: 'log', message: 'client client-1 scopes ["read"]' },
      { level: 'warn', message: 'secret is secret-value event secret undefined' },
      { level: 'error', message: 'done' },
    ]);
    expect(event.client.client_id).to.equal('client-1');
  });

  it('accepts module.exports assignment, sync handlers, and calls the handler with this === exports', async () => {
    const outcome = await runOnce(
      runner,
      codeVersion(`
        module.exports = {
          marker: 'm',
          onExecuteCustomTokenExchange(event, api) {
            api.authentication.setUserById(this.marker + (this === module.exports));
          },
        };
      `),
    );
    expect(outcome.failure).to.equal(undefined);
    expect(outcome.commands).to.deep.equal([{ type: 'setUserById', user_id: 'mtrue' }]);
  });

  it('fails with a clear message when the code does not export the handler', async () => {
    const outcome = await runOnce(runner, codeVersion('exports.somethingElse = () => {};'));
    expect(outcome.failure?.kind).to.equal('threw');
    expect(outcome.failure?.message).to.equal(
      'exports.onExecuteCustomTokenExchange is not a function: the action must assign exports.onExecuteCustomTokenExchange = async (event, api) => { ... }',
    );
  });

  it("reports a throw with its message and the author's line and column", async () => {
    const code = [
      'const helper = (value) => {',
      '  if (!value) throw new TypeError("no value given");',
      '  return value;',
      '};',
      'exports.onExecuteCustomTokenExchange = async (event, api) => {',
      '  helper(event.request.body.missing);',
      '};',
    ].join('\n');
    const outcome = await runOnce(runner, codeVersion(code));
    expect(outcome.failure?.kind).to.equal('threw');
    expect(outcome.failure?.message).to.equal('TypeError: no value given (line 2, column 21)');
  });

  it('reports a rejection after an await with its line, and a thrown non-Error by value', async () => {
    const capabilities = new AnsweringCapabilities();
    const local = sandboxRunner({ capabilities });
    try {
      const afterAwait = await runOnce(
        local,
        codeVersion(
          handlerCode(`
            const response = await fetch('https://idp.example.com/userinfo');
            const body = await response.json();
            if (body.ok) undefinedFunction();
          `),
        ),
      );
      expect(afterAwait.failure?.message).to.equal(
        'ReferenceError: undefinedFunction is not defined (line 5, column 26)',
      );
      const notAnError = await runOnce(local, codeVersion(handlerCode(`throw 'plain string';`)));
      expect(notAnError.failure?.message).to.equal('threw a non-Error value: "plain string"');
    } finally {
      await local.close();
    }
  });

  it('ignores a promise the action leaves rejected without a handler, never reading its reason', async () => {
    // Reading the reason would run its getters where nothing bounds them (see beginEntry).
    const outcome = await runOnce(
      runner,
      codeVersion(
        handlerCode(`const reason = new TypeError('forgotten');
          Object.defineProperty(reason, 'message', { get() { api.access.deny('read', 'read'); return 'x'; } });
          Promise.reject(reason);
          const handledLater = Promise.reject(new Error('handled'));
          await null;
          handledLater.catch(() => undefined);
          api.authentication.setUserById('u');`),
      ),
    );
    expect(outcome.failure).to.equal(undefined);
    expect(outcome.commands).to.deep.equal([{ type: 'setUserById', user_id: 'u' }]);
  });

  it("rethrows the recorder's refusal inside the action as an Error with the same message", async () => {
    const outcome = await runOnce(
      runner,
      codeVersion(
        handlerCode(`
          try {
            api.authentication.setUserById('');
          } catch (err) {
            console.log(err instanceof Error, err.name, err.message);
            console.log(String(err.stack).includes('/') ? 'host path leaked' : 'no host path');
          }
          api.authentication.setUserById(42);
        `),
      ),
    );
    // The guest saw exactly the recorder's message, and the uncaught second refusal failed the run.
    expect(outcome.violations).to.have.length(2);
    expect(outcome.console.map((line) => line.message)).to.deep.equal([
      `true ActionApiError ${outcome.violations[0]}`,
      'no host path',
    ]);
    expect(outcome.violations[0]).to.match(/^api\.authentication\.setUserById: /);
    expect(outcome.failure?.kind).to.equal('threw');
    expect(outcome.failure?.message).to.equal(
      `ActionApiError: ${outcome.violations[1]} (line 9, column 30)`,
    );
  });

  it('refuses api arguments that cannot be copied, inside the action', async () => {
    const outcome = await runOnce(
      runner,
      codeVersion(
        handlerCode(`
          try { api.user.setAppMetadata('k', () => 1); } catch (err) { console.log(err.name, err.message); }
          try { api.user.setAppMetadata('k', 'x'.repeat(100000)); } catch (err) { console.log(err.name, err.message); }
        `),
      ),
    );
    expect(messagesOfSuccess(outcome)).to.deep.equal([
      'TypeError api.user.setAppMetadata: argument 2 is a function, not plain data',
      'RangeError api.user.setAppMetadata: the arguments are larger than 65536 characters',
    ]);
  });

  it('copies api arguments once for the host: a getter is refused unread, a proxy is read once', async () => {
    // A getter answering small to one read and huge to the next used to pass a guest-side size
    // check and then cross huge.
    const outcome = await runOnce(
      runner,
      codeVersion(
        handlerCode(`
          let reads = 0;
          const actor = { get sub() { reads++; return reads === 1 ? 'small' : 'x'.repeat(1e6); } };
          try { api.authentication.setActor(actor); } catch (err) { console.log(err.name, err.message); }
          const lying = new Proxy({ sub: 'agent' }, {
            getOwnPropertyDescriptor(target, key) {
              reads++;
              return { value: reads === 1 ? 'agent-' + reads : 'y'.repeat(1e6), writable: true, enumerable: true, configurable: true };
            },
          });
          api.authentication.setActor(lying);
          console.log('reads', reads);
          api.authentication.setUserById('u');
        `),
      ),
    );
    expect(messagesOfSuccess(outcome)).to.deep.equal([
      'TypeError api.authentication.setActor: argument 1.sub is a getter, not plain data',
      'reads 1',
    ]);
    expect(outcome.commands).to.deep.equal([
      { type: 'setActor', actor: { sub: 'agent-1' } },
      { type: 'setUserById', user_id: 'u' },
    ]);
  });

  it('gives api.cache over the action cache store, saving changes after the execution', async () => {
    const store = new MemoryActionCacheStore();
    const local = sandboxRunner({ capabilities: new PendingCapabilities(), cacheStore: store });
    try {
      const version = codeVersion(
        handlerCode(`
          const seen = api.cache.get('token');
          console.log('seen', seen === undefined ? 'nothing' : seen.value);
          console.log(JSON.stringify(api.cache.set('token', 'cached-' + event.request.body.extra, { ttl: 60000 })));
          console.log(JSON.stringify(api.cache.set('', 'x')));
          console.log(JSON.stringify(api.cache.delete('other')));
          if (seen) throw new Error('second run fails after writing');
        `),
      );
      const first = await runOnce(local, version);
      expect(messagesOfSuccess(first)).to.deep.equal([
        'seen nothing',
        '{"type":"success"}',
        '{"type":"error","code":"INVALID_KEY"}',
        '{"type":"success"}',
      ]);
      expect((await store.load(version.action_id)).token?.value).to.equal('cached-value');
      const second = await runOnce(local, version);
      expect(second.console[0]?.message).to.equal('seen cached-value');
      expect(second.failure?.message).to.match(/^Error: second run fails after writing/);
      expect((await store.load(version.action_id)).token?.value).to.equal('cached-value');
    } finally {
      await local.close();
    }
  });
});

describe('the sandbox: validate', () => {
  let runner: ExecutionGate;
  before(() => {
    runner = sandboxRunner({ capabilities: new PendingCapabilities() });
  });
  after(() => runner.close());

  const invalid = async (code: string): Promise<ActionFailure> => {
    try {
      await runner.validate?.(code);
    } catch (err) {
      expect(err).to.be.instanceOf(ActionFailure);
      return err as ActionFailure;
    }
    throw new Error('validate accepted the code');
  };

  for (const [code, message] of [
    [
      'exports.onExecuteCustomTokenExchange = async (event, api) => {\n  let a = ;\n};',
      "SyntaxError: Unexpected token ';' (line 2, column 11)",
    ],
    [
      'const x = 1;\nconst x = 2;',
      "SyntaxError: Identifier 'x' has already been declared (line 2, column 7)",
    ],
    [
      'exports.a = 1;\n\n  }',
      "SyntaxError: Unexpected token '}' at the end of the code (line 3, column 4): check for unbalanced braces or parentheses",
    ],
    [
      'let exports = {};',
      "SyntaxError: Identifier 'exports' has already been declared (line 1, column 5)",
    ],
    [
      'exports.onExecuteCustomTokenExchange = async () => {\n  await 1;',
      "SyntaxError: Unexpected token ')' at the end of the code (line 2, column 11): check for unbalanced braces or parentheses",
    ],
    [
      'exports.f = () => { await fetch("x"); };',
      'SyntaxError: await is only valid in async functions and the top level bodies of modules (line 1, column 21)',
    ],
  ] as const) {
    it(`reports ${JSON.stringify(code.slice(0, 40))} with line and column`, async () => {
      const failure = await invalid(code);
      expect(failure.kind).to.equal('invalid');
      expect(failure.message).to.equal(message);
    });
  }

  it('refuses code that closes the module function early to run outside it', async () => {
    const failure = await invalid('}); globalThis.escaped = true; (function () {');
    expect(failure.kind).to.equal('invalid');
    expect(failure.message).to.match(/^SyntaxError: the code closes its module function early/);
  });

  it('refuses code larger than 100 kB', async () => {
    const failure = await invalid(`// ${'x'.repeat(100 * 1024)}`);
    expect(failure.message).to.equal(
      'the code is 102403 bytes; actions may have at most 102400 bytes (100 kB)',
    );
  });

  it('compiles without running: a top-level infinite loop validates at once', async () => {
    const started = Date.now();
    await runner.validate?.('for (;;) {}\nexports.onExecuteCustomTokenExchange = async () => {};');
    expect(Date.now() - started).to.be.below(1000);
  });

  it('reports a syntax error at run time as invalid too', async () => {
    const outcome = await runOnce(runner, codeVersion('exports.x = ;'));
    expect(outcome.failure?.kind).to.equal('invalid');
    expect(outcome.failure?.message).to.equal(
      "SyntaxError: Unexpected token ';' (line 1, column 13)",
    );
  });
});

describe('the sandbox: limits and failures', function () {
  this.timeout(20_000);
  let capabilities: PendingCapabilities;
  let runner: ExecutionGate;
  beforeEach(() => {
    capabilities = new PendingCapabilities();
    runner = sandboxRunner({ capabilities });
  });
  afterEach(() => runner.close());

  const ok = handlerCode(`api.authentication.setUserById('next-' + event.request.body.extra);`);
  const expectNextRunSucceeds = async (actionId: string): Promise<void> => {
    const next = await runOnce(runner, codeVersion(ok, { action_id: actionId, number: 2 }));
    expect(next.failure).to.equal(undefined);
    expect(next.commands).to.deep.equal([{ type: 'setUserById', user_id: 'next-value' }]);
  };

  it('stops an infinite loop at the CPU budget; the next execution succeeds', async () => {
    const version = codeVersion(handlerCode('for (;;) {}'), {
      limits: { timeoutMs: 20_000, cpuTimeMs: 50, memoryMb: 64, maxConcurrency: 32 },
    });
    const started = Date.now();
    const outcome = await runPastHostStalls(() => runOnce(runner, version));
    expect(Date.now() - started).to.be.below(1_000);
    expect(outcome.failure?.kind).to.equal('timeout');
    expect(outcome.failure?.message).to.equal('action exceeded its CPU budget of 50 ms');
    const again = await runOnce(runner, codeVersion(ok, { action_id: version.action_id }));
    expect(again.failure).to.equal(undefined);
  });

  it('stops a runaway execution of a watched isolate without a timer: its isolate is replaced, its other executions fail', async () => {
    const limits = { timeoutMs: 20_000, cpuTimeMs: 50, memoryMb: 64, maxConcurrency: 32 };
    const version = codeVersion(
      handlerCode(`
        if (event.request.body.extra === 'spin') for (;;) {}
        if (event.request.body.extra === 'wait') await new Promise((resolve) => setTimeout(resolve, 300));
        api.authentication.setUserById('ran');
      `),
      { limits },
    );
    const run = (extra: string) => {
      const event = testEvent();
      event.request.body = { extra };
      return runOnce(runner, version, event);
    };
    // The isolate exists and a watchdog round that knows it has begun.
    expect((await run('quick')).failure).to.equal(undefined);
    await untilWatchdogCovers();
    expect((await run('quick')).failure).to.equal(undefined);

    const waiting = run('wait');
    const started = Date.now();
    const spun = await run('spin');
    expect(Date.now() - started).to.be.within(40, 500);
    expect(spun.failure?.kind).to.equal('timeout');
    expect(spun.failure?.message).to.equal('action exceeded its CPU budget of 50 ms');
    expect(runner.stats().sandbox?.watchdogStops).to.equal(1);
    const waited = await waiting;
    expect(waited.failure?.message).to.equal(
      'another execution of the action exceeded its CPU budget of 50 ms and its isolate was stopped (it is replaced for the next execution)',
    );
    expect((await run('quick')).commands).to.deep.equal([{ type: 'setUserById', user_id: 'ran' }]);
  });

  it('shares one watchdog between runners: closing one leaves the others covered', async () => {
    const limits = { timeoutMs: 20_000, cpuTimeMs: 40, memoryMb: 64, maxConcurrency: 32 };
    const version = codeVersion(
      handlerCode(`
        if (event.request.body.extra === 'spin') for (;;) {}
        api.authentication.setUserById('ran');
      `),
      { limits },
    );
    const other = sandboxRunner({ capabilities });
    const run = (target: ExecutionGate, extra: string) => {
      const event = testEvent();
      event.request.body = { extra };
      return runOnce(target, version, event);
    };
    expect((await run(other, 'quick')).failure).to.equal(undefined);
    expect((await run(runner, 'quick')).failure).to.equal(undefined);
    await other.close();
    await untilWatchdogCovers();
    expect((await run(runner, 'quick')).failure).to.equal(undefined);
    const spun = await run(runner, 'spin');
    expect(spun.failure?.message).to.equal('action exceeded its CPU budget of 40 ms');
    expect(runner.stats().sandbox?.watchdogStops).to.equal(1);
  });

  describe('an action that keeps running away', () => {
    let clock: number;
    let own: ExecutionGate;
    const limits = { timeoutMs: 20_000, cpuTimeMs: 20, memoryMb: 64, maxConcurrency: 32 };
    const spinning = codeVersion(
      handlerCode(`
        if (event.request.body.extra === 'spin') for (;;) {}
        api.authentication.setUserById('fine');
      `),
      { limits },
    );
    const run = (extra: string, version = spinning) => {
      const event = testEvent();
      event.request.body = { extra };
      return runOnce(own, version, event);
    };
    beforeEach(() => {
      clock = 1_000_000;
      own = sandboxRunner({ capabilities, now: () => clock });
    });
    afterEach(() => own.close());

    it(`is suspended after ${RUNAWAY_STREAK} runaways in a row: refused at once, 503 material`, async () => {
      for (let i = 0; i < RUNAWAY_STREAK; i += 1) {
        expect((await runPastHostStalls(() => run('spin'))).failure?.message).to.equal(
          'action exceeded its CPU budget of 20 ms',
        );
      }
      const started = Date.now();
      const refused = await run('fine');
      // At once: nothing waited for (the action did not run, its commands show). The bound is of
      // a scheduling hiccup on a loaded machine, far below any wait the gate could make.
      expect(Date.now() - started).to.be.below(500);
      expect(refused.failure?.kind).to.equal('overloaded');
      expect(refused.failure?.message).to.equal(
        `action ${spinning.action_id} is suspended for 10 s: its last 3 executions ran until the sandbox stopped them (CPU budget or memory limit)`,
      );
      expect(refused.failure?.retryAfterSeconds).to.equal(RUNAWAY_SUSPENSION_MS / 1000);
      expect(refused.commands).to.deep.equal([]);

      clock += 4_000;
      expect((await run('fine')).failure?.message).to.match(/is suspended for 6 s/);
      // After the suspension one execution may run; another runaway doubles the suspension.
      clock += 6_000;
      expect((await runPastHostStalls(() => run('spin'))).failure?.kind).to.equal('timeout');
      expect((await run('fine')).failure?.retryAfterSeconds).to.equal(20);
      clock += 20_000;
      expect((await run('fine')).commands).to.deep.equal([
        { type: 'setUserById', user_id: 'fine' },
      ]);
      // The success reset the streak: runaways start counting from zero again.
      expect((await runPastHostStalls(() => run('spin'))).failure?.kind).to.equal('timeout');
      expect((await run('fine')).failure).to.equal(undefined);
    });

    it("suspends only the caller whose input makes the action run away (the router's IP bucket key)", async () => {
      const forCaller = (extra: string, caller: string) => {
        const event = testEvent();
        event.request.body = { extra };
        return runOnce(own, spinning, event, { caller });
      };
      for (let i = 0; i < RUNAWAY_STREAK; i += 1) {
        const spun = await runPastHostStalls(() => forCaller('spin', '203.0.113.7'));
        expect(spun.failure?.kind).to.equal('timeout');
      }
      const refused = await forCaller('fine', '203.0.113.7');
      expect(refused.failure?.kind).to.equal('overloaded');
      expect(refused.failure?.message).to.match(/is suspended for this caller for 10 s/);
      expect((await forCaller('fine', '198.51.100.1')).commands).to.deep.equal([
        { type: 'setUserById', user_id: 'fine' },
      ]);
    });

    it('counts runaways in a row only: a completed execution between them resets the count', async () => {
      for (const extra of ['spin', 'spin', 'fine', 'spin', 'spin']) {
        await (extra === 'spin' ? runPastHostStalls(() => run(extra)) : run(extra));
      }
      expect((await run('fine')).failure).to.equal(undefined);
    });

    it('lifts the suspension when another version is deployed (the old one is released)', async () => {
      for (let i = 0; i < RUNAWAY_STREAK; i += 1) await runPastHostStalls(() => run('spin'));
      expect((await run('fine')).failure?.kind).to.equal('overloaded');
      own.release(spinning);
      const fixed = { ...spinning, number: 2 };
      expect((await run('fine', fixed)).failure).to.equal(undefined);
    });
  });

  it('stops while(true) after an await, and charges the CPU budget across awaits', async () => {
    const spinAfterAwait = codeVersion(
      handlerCode(`await new Promise((resolve) => setTimeout(resolve, 5)); while (true) {}`),
    );
    const spun = await runPastHostStalls(() => runOnce(runner, spinAfterAwait));
    expect(spun.failure?.kind).to.equal('timeout');
    expect(spun.failure?.message).to.equal('action exceeded its CPU budget of 100 ms');

    // Steps of 10 ms of wall time, so of at most 10 ms of CPU: each far under the budget alone
    // (so that even a step the scheduler delays is), over it together. About nine steps finish;
    // on a loaded machine a step gets less CPU and more do, but not all 300 unless the budget
    // were not charged across awaits.
    const spinInSteps = codeVersion(
      handlerCode(`
        const spin = (ms) => { const end = Date.now() + ms; while (Date.now() < end) {} };
        for (let i = 0; i < 300; i++) {
          spin(10);
          await new Promise((resolve) => setTimeout(resolve, 1));
          console.log('step', i);
        }
      `),
    );
    const stepped = await runPastHostStalls(() => runOnce(runner, spinInSteps));
    expect([stepped.failure?.kind, stepped.failure?.message]).to.deep.equal([
      'timeout',
      'action exceeded its CPU budget of 100 ms',
    ]);
    const steps = stepped.console.map((line) => line.message);
    expect(steps.length).to.be.within(2, 299);
    expect(steps).to.deep.equal(steps.map((_, i) => `step ${i}`));
    await expectNextRunSucceeds(spinInSteps.action_id);
  });

  it('fails at the wall-clock deadline a capability call that never settles, and revokes it', async () => {
    const version = codeVersion(
      handlerCode(
        `await fetch('https://idp.example.com/slow'); api.authentication.setUserById('late');`,
      ),
      { limits: { timeoutMs: 300, cpuTimeMs: 100, memoryMb: 64, maxConcurrency: 32 } },
    );
    const started = Date.now();
    const outcome = await runOnce(runner, version);
    const elapsed = Date.now() - started;
    expect(elapsed).to.be.within(250, 2_000);
    expect(outcome.failure?.kind).to.equal('timeout');
    expect(outcome.failure?.message).to.equal(
      'action exceeded its wall-clock deadline of 300 ms (still waiting for fetch)',
    );
    expect(outcome.commands).to.deep.equal([]);
    const call = capabilities.calls[0];
    expect(call?.name).to.equal('fetch');
    expect(call?.scope.signal.aborted).to.equal(true);
    expect(call?.scope.deadline).to.be.a('number');
    // Settling after the end changes nothing and enters nothing.
    call?.resolve(EMPTY_FETCH_RESPONSE);
    await nextTurn();
    expect(runner.stats().executions).to.equal(0);
    await expectNextRunSucceeds(version.action_id);
  });

  it('fails at once an action awaiting a promise nothing can resolve', async () => {
    const outcome = await runOnce(runner, codeVersion(handlerCode('await new Promise(() => {});')));
    expect(outcome.failure?.kind).to.equal('threw');
    expect(outcome.failure?.message).to.equal(
      'the action awaits a promise that can never settle (no host call or timer is pending)',
    );
  });

  it('reports deep recursion as a throw; the next execution succeeds', async () => {
    const version = codeVersion(handlerCode('const dive = (n) => dive(n + 1) + 1; dive(0);'));
    const outcome = await runOnce(runner, version);
    expect(outcome.failure?.kind).to.equal('threw');
    expect(outcome.failure?.message).to.match(/^RangeError: Maximum call stack size exceeded/);
    await expectNextRunSucceeds(version.action_id);
  });

  it("fails a memory bomb with 'memory', replaces the isolate, and leaves another action untouched", async () => {
    const limits = { timeoutMs: 20_000, cpuTimeMs: 5_000, memoryMb: 16, maxConcurrency: 32 };
    const bystander = codeVersion(
      handlerCode(`
        let kept = 'bystander';
        await fetch('https://idp.example.com/wait');
        api.authentication.setUserById(kept);
      `),
    );
    const bystanderRun = runOnce(runner, bystander);
    const sameActionVictim = codeVersion(
      handlerCode(`await fetch('https://idp.example.com/wait');`),
      {
        limits,
      },
    );
    const victimRun = runOnce(runner, sameActionVictim);
    await capabilities.waitForCalls(2);

    const bomb = codeVersion(
      handlerCode('const hoard = []; for (;;) hoard.push(new Array(100000).fill(hoard.length));'),
      { action_id: sameActionVictim.action_id, number: 2, limits },
    );
    const exploded = await runOnce(runner, bomb);
    expect(exploded.failure?.kind).to.equal('memory');
    expect(exploded.failure?.message).to.equal(
      'action exceeded its memory limit of 16 MB (its isolate was disposed and is replaced for the next execution)',
    );
    // The bomb's isolate was the same action's: its execution in flight failed with it.
    const victim = await victimRun;
    expect(victim.failure?.kind).to.equal('memory');

    // Another action's isolate is untouched: its execution resumes and succeeds.
    const pending = capabilities.calls.find((call) => call.scope.actionId === bystander.action_id);
    pending?.resolve(EMPTY_FETCH_RESPONSE);
    const survived = await bystanderRun;
    expect(survived.failure).to.equal(undefined);
    expect(survived.commands).to.deep.equal([{ type: 'setUserById', user_id: 'bystander' }]);

    const next = await runOnce(
      runner,
      codeVersion(ok, { action_id: bomb.action_id, number: 2, limits }),
    );
    expect(next.failure).to.equal(undefined);
  });

  it('keeps huge console output bounded', async () => {
    const outcome = await runOnce(
      runner,
      codeVersion(
        handlerCode(`
          console.log('x'.repeat(1024 * 1024));
          for (let i = 0; i < 2000; i++) console.log('line', i);
          api.authentication.setUserById('still-running');
        `),
      ),
    );
    expect(outcome.failure).to.equal(undefined);
    expect(outcome.console).to.have.length(101);
    expect(outcome.console[0]?.message).to.equal('x'.repeat(256));
    expect(outcome.console[100]).to.deep.equal({
      level: 'warn',
      message: '1901 more console lines dropped (at most 100 are kept)',
    });
    expect(outcome.commands).to.deep.equal([{ type: 'setUserById', user_id: 'still-running' }]);
  });

  it("refuses executions beyond maxConcurrency with 'overloaded' without running them", async () => {
    const version = codeVersion(
      handlerCode(
        `console.log('started'); await fetch('https://idp.example.com/wait'); api.authentication.setUserById('u');`,
      ),
      { limits: { timeoutMs: 20_000, cpuTimeMs: 100, memoryMb: 64, maxConcurrency: 2 } },
    );
    const first = runOnce(runner, version);
    const second = runOnce(runner, version);
    await capabilities.waitForCalls(2);
    const third = await runOnce(runner, version);
    expect(third.failure?.kind).to.equal('overloaded');
    expect(third.failure?.message).to.equal(
      `action ${version.action_id} already runs 2 executions (maxConcurrency 2)`,
    );
    expect(third.console).to.deep.equal([]);
    for (const call of capabilities.calls) {
      call.resolve(EMPTY_FETCH_RESPONSE);
    }
    expect((await first).failure).to.equal(undefined);
    expect((await second).failure).to.equal(undefined);
    const fourth = runOnce(runner, version);
    await capabilities.waitForCalls(3);
    capabilities.calls[2]?.resolve(EMPTY_FETCH_RESPONSE);
    expect((await fourth).failure).to.equal(undefined);
  });

  it('revokes capabilities when the execution ends: a forgotten call is aborted, later ones never start', async () => {
    const version = codeVersion(
      handlerCode(`
        fetch('https://idp.example.com/first')
          .then(() => fetch('https://idp.example.com/second'))
          .then(() => api.authentication.setUserById('too late'));
        setTimeout(() => api.authentication.setUserById('timer too late'), 20);
        api.authentication.setUserById('in time');
      `),
    );
    const recorder = new ApiRecorder();
    // The guest's timer is a host setTimeout: a fake one shows it is cleared, and when it was due.
    const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      await runner.run(version, testEvent(), recorder);
      expect(clock.countTimers()).to.equal(0);
      expect(capabilities.calls).to.have.length(1);
      const forgotten = capabilities.calls[0];
      expect(forgotten?.scope.signal.aborted).to.equal(true);
      forgotten?.resolve(EMPTY_FETCH_RESPONSE);
      await nextTurn();
      clock.tick(60);
      await nextTurn();
    } finally {
      clock.uninstall();
    }
    expect(capabilities.calls).to.have.length(1);
    expect(recorder.commands).to.deep.equal([{ type: 'setUserById', user_id: 'in time' }]);
  });

  it('bounds setTimeout by the deadline and runs its callback inside the execution', async () => {
    const outcome = await runOnce(
      runner,
      codeVersion(
        handlerCode(`
          const started = Date.now();
          await new Promise((resolve) => setTimeout(resolve, 30, 'value'));
          const id = setTimeout(() => api.authentication.setUserById('cleared'), 5);
          clearTimeout(id);
          await new Promise((resolve) => setTimeout(resolve, 20));
          api.authentication.setUserById(Date.now() - started >= 45 ? 'waited' : 'too fast');
          try { setTimeout('code string', 1); } catch (err) { console.log(err.message); }
        `),
      ),
    );
    expect(outcome.failure).to.equal(undefined);
    expect(outcome.commands).to.deep.equal([{ type: 'setUserById', user_id: 'waited' }]);
    expect(outcome.console[0]?.message).to.equal(
      'setTimeout: the callback must be a function (strings are not evaluated)',
    );

    const tooLong = await runOnce(
      runner,
      codeVersion(handlerCode(`await new Promise((resolve) => setTimeout(resolve, 60000));`), {
        limits: { timeoutMs: 200, cpuTimeMs: 100, memoryMb: 64, maxConcurrency: 32 },
      }),
    );
    expect(tooLong.failure?.message).to.equal(
      'action exceeded its wall-clock deadline of 200 ms (still waiting for timer)',
    );
  });
});

describe('the sandbox: deploys, release and close', () => {
  it('finishes an execution on the version it started with while the next version serves new ones', async () => {
    const capabilities = new PendingCapabilities();
    const runner = sandboxRunner({ capabilities });
    try {
      const v1 = codeVersion(
        handlerCode(
          `await fetch('https://idp.example.com/slow'); api.authentication.setUserById('v1');`,
        ),
      );
      const v2 = { ...v1, number: 2, code: handlerCode(`api.authentication.setUserById('v2');`) };
      const inFlight = runOnce(runner, v1);
      await capabilities.waitForCalls(1);

      const served = await runOnce(runner, v2);
      expect(served.commands).to.deep.equal([{ type: 'setUserById', user_id: 'v2' }]);
      runner.release(v1);
      expect(runner.stats().sandbox).to.deep.equal({
        isolates: 1,
        contexts: 2,
        executions: 1,
        watchdogStops: 0,
      });

      capabilities.calls[0]?.resolve(EMPTY_FETCH_RESPONSE);
      const finished = await inFlight;
      expect(finished.failure).to.equal(undefined);
      expect(finished.commands).to.deep.equal([{ type: 'setUserById', user_id: 'v1' }]);
      expect(runner.stats().sandbox).to.deep.equal({
        isolates: 1,
        contexts: 1,
        executions: 0,
        watchdogStops: 0,
      });

      runner.release(v2);
      expect(runner.stats().sandbox).to.deep.equal({
        isolates: 0,
        contexts: 0,
        executions: 0,
        watchdogStops: 0,
      });
      const again = await runOnce(runner, v2);
      expect(again.commands).to.deep.equal([{ type: 'setUserById', user_id: 'v2' }]);
    } finally {
      await runner.close();
    }
  });

  it('moves an action to a new isolate when its memory limit changes', async () => {
    const runner = sandboxRunner({ capabilities: new PendingCapabilities() });
    try {
      const v1 = codeVersion(handlerCode(`api.authentication.setUserById('v1');`));
      await runOnce(runner, v1);
      const v2 = { ...v1, number: 2, limits: { ...v1.limits, memoryMb: 32 } };
      const outcome = await runOnce(runner, v2);
      expect(outcome.commands).to.deep.equal([{ type: 'setUserById', user_id: 'v1' }]);
      expect(runner.stats().sandbox).to.deep.equal({
        isolates: 1,
        contexts: 1,
        executions: 0,
        watchdogStops: 0,
      });
    } finally {
      await runner.close();
    }
  });

  it('fails executions in flight when closed, and refuses to run afterwards', async () => {
    const capabilities = new PendingCapabilities();
    const runner = sandboxRunner({ capabilities });
    const inFlight = runOnce(
      runner,
      codeVersion(handlerCode(`await fetch('https://idp.example.com/');`)),
    );
    await capabilities.waitForCalls(1);
    await runner.close();
    const outcome = await inFlight;
    expect(outcome.failure?.kind).to.equal('threw');
    expect(outcome.failure?.message).to.equal('the action sandbox was closed');
    expect(capabilities.calls[0]?.scope.signal.aborted).to.equal(true);
    expect(runner.stats().sandbox).to.deep.equal({
      isolates: 0,
      contexts: 0,
      executions: 0,
      watchdogStops: 0,
    });
    const after = await runOnce(runner, codeVersion(handlerCode('')));
    expect(after.failure?.message).to.equal('the action runner is closed');
  });
});
