import { expect } from 'chai';
import { ActionFailure, type ActionVersion } from '../../../lib/sandbox/action-runner.js';
import { hostFunctions } from '../../../lib/sandbox/isolated-vm/host-functions.js';
import { IsolatePool } from '../../../lib/sandbox/isolated-vm/isolate-pool.js';
import { loadIsolatedVm, type Isolate } from '../../../lib/sandbox/isolated-vm/isolates.js';
import { codeVersion, handlerCode } from '../fixtures/sandbox-helpers.js';

const LIMITS = { timeoutMs: 20_000, cpuTimeMs: 100, memoryMb: 16, maxConcurrency: 4 };
const CODE = handlerCode("api.authentication.setUserById('u');");

/**
 * The pool over the real isolated-vm, with hooks the tests drive: the observer sees each isolate
 * the pool creates (and may dispose it at once), `checkSource` runs between the pool's check that
 * the action's isolate is alive and the context's creation.
 */
function poolUnderTest(hooks: {
  created?: (isolate: Isolate) => void;
  checkSource?: (code: string) => void;
}) {
  const created: Isolate[] = [];
  const dropped: Isolate[] = [];
  const lost: string[][] = [];
  const pool = new IsolatePool<string>({
    hostFunctions: hostFunctions<never>({ current: () => undefined, invoke: () => undefined }),
    observer: {
      created: (isolate) => {
        created.push(isolate);
        hooks.created?.(isolate);
      },
      dropped: (isolate) => dropped.push(isolate),
    },
    onCatastrophicError: (message) => {
      throw new Error(`catastrophic error in a test: ${message}`);
    },
    checkSource: (code) => hooks.checkSource?.(code),
    onLost: (executions) => lost.push(executions),
  });
  /** Every isolate the pool made and still holds is alive and watched; the others were dropped. */
  const watched = () => created.filter((isolate) => !dropped.includes(isolate));
  return { pool, created, dropped, lost, watched };
}

/** What `fn` throws (it must throw). */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('the sandbox: isolate pool, an isolate that fails while a context is prepared', () => {
  before(() => loadIsolatedVm());

  let closers: Array<() => void> = [];
  afterEach(() => {
    for (const close of closers) close();
    closers = [];
  });
  const track = <T extends { pool: IsolatePool<string> }>(made: T): T => {
    closers.push(() => made.pool.close());
    return made;
  };

  it('an isolate disposed before its first context: the memory failure, the isolate dropped, the next call builds a new one', () => {
    let disposeNext = true;
    const { pool, created, dropped, lost, watched } = track(
      poolUnderTest({
        created: (isolate) => {
          if (disposeNext) isolate.dispose();
          disposeNext = false;
        },
      }),
    );
    const version: ActionVersion & { code: string } = { ...codeVersion(CODE), code: CODE };
    const err = thrownBy(() => pool.contextFor(version, LIMITS));
    expect(err).to.be.instanceOf(ActionFailure);
    expect([(err as ActionFailure).kind, (err as ActionFailure).message]).to.deep.equal([
      'memory',
      'the sandbox ran out of memory preparing the action (memory limit 16 MB)',
    ]);
    expect(dropped).to.deep.equal([created[0]]);
    expect(lost).to.deep.equal([[]]);
    expect(pool.stats()).to.deep.equal({ isolates: 0, contexts: 0 });

    const vc = pool.contextFor(version, LIMITS);
    expect(created).to.have.length(2);
    expect(vc.owner.isolate).to.equal(created[1]);
    expect(vc.owner.isolate.isDisposed).to.equal(false);
    expect(watched()).to.deep.equal([created[1]]);
    expect(pool.stats()).to.deep.equal({ isolates: 1, contexts: 1 });
  });

  it('an isolate disposed between executions, once the pool found it alive: its executions in flight are lost with it, the next call builds a new one', () => {
    let disposeAt: Isolate | undefined;
    const { pool, created, dropped, lost, watched } = track(
      poolUnderTest({
        checkSource: () => {
          disposeAt?.dispose();
          disposeAt = undefined;
        },
      }),
    );
    const v1: ActionVersion & { code: string } = { ...codeVersion(CODE), code: CODE };
    const v2 = { ...v1, number: 2 };
    const first = pool.contextFor(v1, LIMITS);
    pool.entered(first, 'in flight in version 1');
    disposeAt = first.owner.isolate;

    const err = thrownBy(() => pool.contextFor(v2, LIMITS));
    expect(err).to.be.instanceOf(ActionFailure);
    expect((err as ActionFailure).kind).to.equal('memory');
    expect(lost).to.deep.equal([['in flight in version 1']]);
    expect(dropped).to.deep.equal([created[0]]);
    expect(pool.executions()).to.deep.equal([]);
    expect(pool.stats()).to.deep.equal({ isolates: 0, contexts: 0 });
    // The lost execution leaving later changes nothing.
    pool.left(first, 'in flight in version 1');

    const next = pool.contextFor(v2, LIMITS);
    expect(next.owner.isolate).to.equal(created[1]);
    expect(watched()).to.deep.equal([created[1]]);
    expect(pool.stats()).to.deep.equal({ isolates: 1, contexts: 1 });
  });

  it("code the source check refuses: its 'invalid' failure as it is; the isolate stays for the action's next version", () => {
    const refusal = new ActionFailure('invalid', 'SyntaxError: refused (line 1, column 1)');
    const { pool, created, dropped, lost } = track(
      poolUnderTest({
        checkSource: (code) => {
          if (code !== CODE) throw refusal;
        },
      }),
    );
    const bad: ActionVersion & { code: string } = { ...codeVersion('}'), code: '}' };
    expect(thrownBy(() => pool.contextFor(bad, LIMITS))).to.equal(refusal);
    expect(lost).to.deep.equal([]);
    expect(pool.stats()).to.deep.equal({ isolates: 1, contexts: 0 });

    const good = pool.contextFor({ ...bad, number: 2, code: CODE }, LIMITS);
    expect(good.owner.isolate).to.equal(created[0]);
    expect(pool.stats()).to.deep.equal({ isolates: 1, contexts: 1 });
    // Releasing the refused version leaves the isolate to the version that runs in it.
    pool.release(bad);
    expect(dropped).to.deep.equal([]);
    pool.release({ ...bad, number: 2 });
    expect(dropped).to.deep.equal([created[0]]);
    expect(created[0]?.isDisposed).to.equal(true);
  });

  it("a source check that fails otherwise: the 'threw' failure naming it, nothing lost", () => {
    let fail = true;
    const { pool, created, lost } = track(
      poolUnderTest({
        checkSource: () => {
          if (fail) throw new Error('the scratch isolate could not be created');
        },
      }),
    );
    const version: ActionVersion & { code: string } = { ...codeVersion(CODE), code: CODE };
    const err = thrownBy(() => pool.contextFor(version, LIMITS));
    expect(err).to.be.instanceOf(ActionFailure);
    expect([(err as ActionFailure).kind, (err as ActionFailure).message]).to.deep.equal([
      'threw',
      'the sandbox could not be prepared: the scratch isolate could not be created',
    ]);
    expect(lost).to.deep.equal([]);
    fail = false;
    expect(pool.contextFor(version, LIMITS).owner.isolate).to.equal(created[0]);
    expect(pool.stats()).to.deep.equal({ isolates: 1, contexts: 1 });
  });
});
