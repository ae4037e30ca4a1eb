import { expect } from 'chai';
import { ActionFailure, type ActionVersion } from '../../../lib/sandbox/action-runner.js';
import type { ExecutionGate } from '../../../lib/sandbox/execution-gate.js';
import { EntryWatchdog } from '../../../lib/sandbox/isolated-vm/entry-watchdog.js';
import { hostFunctions } from '../../../lib/sandbox/isolated-vm/host-functions.js';
import { IsolatePool } from '../../../lib/sandbox/isolated-vm/isolate-pool.js';
import { loadIsolatedVm, type Isolate } from '../../../lib/sandbox/isolated-vm/isolates.js';
import { SourceCheck } from '../../../lib/sandbox/isolated-vm/source-check.js';
import { interceptIsolates } from '../fixtures/isolate-maker.js';
import {
  PendingCapabilities,
  codeVersion,
  handlerCode,
  runOnce,
  sandboxRunner,
  untilWatchdogCovers,
} from '../fixtures/sandbox-helpers.js';
import { until } from '../../support/until.js';

const LIMITS = { timeoutMs: 20_000, cpuTimeMs: 100, memoryMb: 16, maxConcurrency: 4 };
const CODE = handlerCode("api.authentication.setUserById('u');");
/** The actions' isolates here; the source check's and the watchdog's have limits of their own. */
const ACTION_MB = LIMITS.memoryMb;
const SCRATCH_MB = 32;
const WATCHDOG_MB = 8;

/** What `fn` throws (it must throw): kind and message of an ActionFailure, else the error. */
function failureOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err instanceof ActionFailure ? [err.kind, err.message] : err;
  }
  throw new Error('expected a throw');
}

describe('the sandbox: an isolate that cannot be created, or is disposed before its first use', () => {
  before(() => loadIsolatedVm());

  let isolates: ReturnType<typeof interceptIsolates>;
  let closers: Array<() => unknown> = [];
  beforeEach(() => {
    isolates = interceptIsolates();
  });
  afterEach(async () => {
    isolates.restore();
    for (const close of closers) await close();
    closers = [];
  });

  function pool() {
    const created: Isolate[] = [];
    const made = new IsolatePool<string>({
      hostFunctions: hostFunctions<never>({ current: () => undefined, invoke: () => undefined }),
      observer: { created: (isolate) => created.push(isolate), dropped: () => undefined },
      onCatastrophicError: (message) => {
        throw new Error(`catastrophic error in a test: ${message}`);
      },
      checkSource: () => undefined,
      onLost: () => {
        throw new Error('nothing is in flight to lose');
      },
    });
    closers.push(() => made.close());
    return { pool: made, created };
  }

  const version: ActionVersion & { code: string } = { ...codeVersion(CODE), code: CODE };

  describe("an action's isolate", () => {
    it("creation throws: the 'threw' failure naming it, nothing kept; the next call creates one", () => {
      const { pool: under, created } = pool();
      isolates.next('throw', ACTION_MB);
      expect(failureOf(() => under.contextFor(version, LIMITS))).to.deep.equal([
        'threw',
        'the sandbox could not be prepared: the host cannot create an isolate now',
      ]);
      expect(created).to.deep.equal([]);
      expect(under.stats()).to.deep.equal({ isolates: 0, contexts: 0 });

      const vc = under.contextFor(version, LIMITS);
      expect(created).to.deep.equal([vc.owner.isolate]);
      expect(vc.owner.isolate.isDisposed).to.equal(false);
      expect(under.stats()).to.deep.equal({ isolates: 1, contexts: 1 });
    });

    it("disposed before the prelude is compiled in it: the 'threw' failure, nothing kept; the next call creates one", () => {
      const { pool: under, created } = pool();
      isolates.next('dispose', ACTION_MB);
      expect(failureOf(() => under.contextFor(version, LIMITS))).to.deep.equal([
        'threw',
        'the sandbox could not be prepared: Isolated is disposed',
      ]);
      expect(created).to.deep.equal([]);
      expect(under.stats()).to.deep.equal({ isolates: 0, contexts: 0 });

      const vc = under.contextFor(version, LIMITS);
      expect(created).to.deep.equal([vc.owner.isolate]);
      expect(isolates.withLimit(ACTION_MB).map((isolate) => isolate.isDisposed)).to.deep.equal([
        true,
        false,
      ]);
      expect(under.stats()).to.deep.equal({ isolates: 1, contexts: 1 });
    });
  });

  describe("the source check's isolate", () => {
    it("creation throws: the check fails with 'threw', never 'invalid'; the next check creates one", () => {
      const check = new SourceCheck((message) => {
        throw new Error(`catastrophic error in a test: ${message}`);
      });
      closers.push(() => check.close());
      isolates.next('throw', SCRATCH_MB);
      expect(failureOf(() => check.check(CODE))).to.deep.equal([
        'threw',
        "the sandbox could not check the action's code: the host cannot create an isolate now",
      ]);
      expect(check.check(CODE)).to.equal(undefined);
      expect(failureOf(() => check.check('}'))).to.have.property('0', 'invalid');
      expect(isolates.withLimit(SCRATCH_MB)).to.have.length(1);
    });

    it("disposed (or full) before its context is made: the check fails with 'threw'; the next check makes a new one", () => {
      const check = new SourceCheck((message) => {
        throw new Error(`catastrophic error in a test: ${message}`);
      });
      closers.push(() => check.close());
      isolates.next('dispose', SCRATCH_MB);
      expect(failureOf(() => check.check(CODE))).to.deep.equal([
        'threw',
        "the sandbox could not check the action's code: Isolated is disposed",
      ]);
      expect(check.check(CODE)).to.equal(undefined);
      expect(isolates.withLimit(SCRATCH_MB).map((isolate) => isolate.isDisposed)).to.deep.equal([
        true,
        false,
      ]);
    });
  });

  describe("the source check's isolate disposed while it checks", () => {
    /** Valid code of about 95 kB: its check takes a few ms, long enough to be stopped part-way. */
    const LONG = handlerCode(
      Array.from(
        { length: 2000 },
        (_, i) => `const v${i} = [${i}, { a: ${i} }, (x) => x + ${i}];`,
      ).join('\n'),
    );
    let watchdog: EntryWatchdog;
    afterEach(() => watchdog.close());

    it("the check fails with 'threw', never refusing valid code as 'invalid'; the next check makes a new isolate", async function () {
      this.timeout(20_000);
      const check = new SourceCheck((message) => {
        throw new Error(`catastrophic error in a test: ${message}`);
      });
      closers.push(() => check.close());
      check.check(LONG);
      // The watchdog disposes the check's isolate from its own thread, as the memory limit would,
      // at its wall-time backstop (10 ms for a budget of 1 ms: compiling is not in the isolate's
      // cpuTime): some checks end before, the others are stopped part-way.
      watchdog = new EntryWatchdog();
      const failures: unknown[] = [];
      for (let attempt = 0; attempt < 200 && failures.length < 3; attempt += 1) {
        const scratch = isolates.withLimit(SCRATCH_MB).at(-1) as Isolate;
        watchdog.watch(scratch);
        await until(() => watchdog.covering, 'the watchdog watches the check’s isolate');
        // The last scratch isolate may be disposed already (the next check makes another).
        const entry = watchdog.begin(scratch, 1, scratch.isDisposed ? 0n : scratch.cpuTime);
        try {
          // Code not checked before: V8 compiles it anew rather than from its cache.
          check.check(`${LONG}\n// ${attempt}`);
        } catch (err) {
          failures.push(err instanceof ActionFailure ? err.kind : err);
          expect(scratch.isDisposed).to.equal(true);
        } finally {
          watchdog.end(entry);
        }
      }
      expect(failures).to.deep.equal(['threw', 'threw', 'threw']);
      expect(check.check(LONG)).to.equal(undefined);
    });
  });

  describe('through the router’s runner', () => {
    let runner: ExecutionGate;
    beforeEach(() => {
      runner = sandboxRunner({ capabilities: new PendingCapabilities() });
      closers.push(() => runner.close());
    });

    it("an action's isolate that cannot be created fails that execution with 'threw'; the next one runs", async () => {
      const action = codeVersion(CODE, { limits: LIMITS });
      isolates.next('throw', ACTION_MB);
      const failed = await runOnce(runner, action);
      expect([failed.failure?.kind, failed.failure?.message]).to.deep.equal([
        'threw',
        'the sandbox could not be prepared: the host cannot create an isolate now',
      ]);
      expect(runner.stats().sandbox).to.include({ isolates: 0, contexts: 0, executions: 0 });

      const next = await runOnce(runner, action);
      expect(next.failure).to.equal(undefined);
      expect(next.commands).to.deep.equal([{ type: 'setUserById', user_id: 'u' }]);
      expect(runner.stats().sandbox).to.include({ isolates: 1, contexts: 1, executions: 0 });
    });

    it('the watchdog’s isolate disposed: a new one is made, and it stops an action that spins forever', async () => {
      const action = codeVersion(CODE, { limits: { ...LIMITS, cpuTimeMs: 50 } });
      expect((await runOnce(runner, action)).failure).to.equal(undefined);
      await untilWatchdogCovers();
      const [first, ...others] = isolates.withLimit(WATCHDOG_MB);
      expect(others).to.deep.equal([]);
      first?.dispose();
      await until(
        () => isolates.withLimit(WATCHDOG_MB).length === 2,
        'a new watchdog isolate is made',
      );
      await untilWatchdogCovers();

      // Another version of the action: a context in the isolate the new watchdog isolate watches.
      const spun = await runOnce(runner, {
        ...action,
        number: 2,
        code: handlerCode('for (;;) {}'),
      });
      expect([spun.failure?.kind, spun.failure?.message]).to.deep.equal([
        'timeout',
        'action exceeded its CPU budget of 50 ms',
      ]);
      expect(runner.stats().sandbox).to.include({ watchdogStops: 1, isolates: 0, executions: 0 });
      expect((await runOnce(runner, action)).failure).to.equal(undefined);
    });

    it("a source check that cannot run refuses no code as invalid: validate fails with 'threw', then accepts it", async () => {
      isolates.next('dispose', SCRATCH_MB);
      let refusal: unknown;
      await runner.validate?.(CODE).catch((err: unknown) => {
        refusal = err;
      });
      expect(refusal).to.be.instanceOf(ActionFailure);
      expect([(refusal as ActionFailure).kind, (refusal as ActionFailure).message]).to.deep.equal([
        'threw',
        "the sandbox could not check the action's code: Isolated is disposed",
      ]);
      await runner.validate?.(CODE);
      expect(isolates.withLimit(SCRATCH_MB)).to.have.length(2);
    });
  });
});
