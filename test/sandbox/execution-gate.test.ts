import { expect } from 'chai';
import { ApiRecorder } from '../../lib/actions/api-recorder.js';
import type { CustomTokenExchangeHandler } from '../../lib/sandbox/action-types.js';
import { ActionFailure, type ActionVersion } from '../../lib/sandbox/action-runner.js';
import {
  MemoryActionCacheStore,
  type ActionCacheStore,
  type CacheChange,
  type CacheEntry,
} from '../../lib/sandbox/capabilities/action-cache.js';
import { DEFAULT_MAX_EXECUTIONS, ExecutionGate } from '../../lib/sandbox/execution-gate.js';
import {
  EMPTY_FETCH_RESPONSE,
  PendingCapabilities,
  codeVersion,
  handlerCode,
  runOnce,
  sandboxRunner,
  testEvent,
} from './fixtures/sandbox-helpers.js';

function handlerVersion(
  actionId: string,
  handler: CustomTokenExchangeHandler,
  maxConcurrency = 2,
): ActionVersion {
  return {
    action_id: actionId,
    number: 1,
    handler,
    secrets: {},
    allowed_hosts: [],
    allowed_private_networks: [],
    limits: { timeoutMs: 1_000, cpuTimeMs: 100, memoryMb: 64, maxConcurrency },
  };
}

/** A promise held open until `open` is called. */
function held(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** An ActionCacheStore that counts its calls and can be made to fail. */
class CountingCacheStore implements ActionCacheStore {
  readonly inner = new MemoryActionCacheStore();
  loads = 0;
  applies = 0;
  failLoad = false;
  failApply = false;
  async load(actionId: string): Promise<Record<string, CacheEntry>> {
    this.loads += 1;
    if (this.failLoad) throw new Error('store down');
    return this.inner.load(actionId);
  }
  async apply(actionId: string, changes: ReadonlyArray<CacheChange>): Promise<void> {
    this.applies += 1;
    if (this.failApply) throw new Error('store down');
    return this.inner.apply(actionId, changes);
  }
}

describe('ExecutionGate: what holds for every execution, in process or sandboxed', function () {
  this.timeout(10_000);

  describe('concurrency', () => {
    it('refuses executions beyond maxConcurrency per action without running them', async () => {
      const gate = new ExecutionGate({ sandbox: false, cacheStore: new MemoryActionCacheStore() });
      const hold = held();
      let calls = 0;
      const busy = handlerVersion('act_1', async () => {
        calls += 1;
        await hold.opened;
      });
      const running = [runOnce(gate, busy), runOnce(gate, busy)];
      const refused = await runOnce(gate, busy);
      expect(refused.failure?.kind).to.equal('overloaded');
      expect(refused.failure?.message).to.equal(
        'action act_1 already runs 2 executions (maxConcurrency 2)',
      );
      expect(refused.failure?.retryAfterSeconds).to.equal(1);
      expect(calls).to.equal(2);
      // Another action has its own count.
      const other = await runOnce(
        gate,
        handlerVersion('act_2', (_event, api) => api.authentication.setUserById('u2')),
      );
      expect(other.commands).to.deep.equal([{ type: 'setUserById', user_id: 'u2' }]);
      hold.open();
      await Promise.all(running);
      expect((await runOnce(gate, busy)).failure).to.equal(undefined);
      expect(calls).to.equal(3);
    });

    it('frees the place of an execution that failed or timed out', async () => {
      const gate = new ExecutionGate({ sandbox: false, cacheStore: new MemoryActionCacheStore() });
      const hangs = handlerVersion('act_1', () => new Promise(() => undefined), 1);
      hangs.limits = { ...hangs.limits, timeoutMs: 10 };
      expect((await runOnce(gate, hangs)).failure?.kind).to.equal('timeout');
      const throws = handlerVersion(
        'act_1',
        () => {
          throw new Error('x');
        },
        1,
      );
      expect((await runOnce(gate, throws)).failure?.kind).to.equal('threw');
      const fine = handlerVersion('act_1', (_event, api) => api.authentication.setUserById('u'), 1);
      expect((await runOnce(gate, fine)).commands).to.have.length(1);
      expect(gate.stats().executions).to.equal(0);
    });

    it(`refuses executions beyond the router-wide cap (default ${DEFAULT_MAX_EXECUTIONS}), all actions together`, async () => {
      const capabilities = new PendingCapabilities();
      const gate = sandboxRunner({ capabilities, maxExecutions: 3 });
      try {
        const hold = held();
        const inProcess = handlerVersion('act_a', async () => hold.opened, 10);
        const sandboxed = codeVersion(handlerCode(`await fetch('https://idp.example.com/');`));
        const running = [
          runOnce(gate, inProcess),
          runOnce(gate, inProcess),
          runOnce(gate, sandboxed),
        ];
        await capabilities.waitForCalls(1);
        expect(gate.stats().executions).to.equal(3);
        for (const version of [inProcess, sandboxed]) {
          const refused = await runOnce(gate, version);
          expect(refused.failure?.kind).to.equal('overloaded');
          expect(refused.failure?.message).to.equal(
            'the router already runs 3 action executions (its limit)',
          );
          expect(refused.commands).to.deep.equal([]);
        }
        hold.open();
        capabilities.calls[0]?.resolve(EMPTY_FETCH_RESPONSE);
        await Promise.all(running);
        expect((await runOnce(gate, inProcess)).failure).to.equal(undefined);
      } finally {
        await gate.close();
      }
    });
  });

  describe('api.cache', () => {
    it('is loaded and saved only for actions whose code names it', async () => {
      const store = new CountingCacheStore();
      const gate = sandboxRunner({ capabilities: new PendingCapabilities(), cacheStore: store });
      try {
        const plain = codeVersion(handlerCode(`api.authentication.setUserById('u');`));
        const dynamic = codeVersion(
          handlerCode(`
            try { api['ca' + 'che'].get('k'); } catch (err) { console.log(err.message); }
            api.authentication.setUserById('u');
          `),
        );
        expect((await runOnce(gate, plain)).failure).to.equal(undefined);
        const unloaded = await runOnce(gate, dynamic);
        expect(unloaded.console.map((line) => line.message)).to.deep.equal([
          'api.cache.get is unavailable: api.cache is loaded for actions whose code names it (api.cache)',
        ]);
        expect({ loads: store.loads, applies: store.applies }).to.deep.equal({
          loads: 0,
          applies: 0,
        });
        const caching = codeVersion(
          handlerCode(`
            const before = api.cache.get('k');
            api.cache.set('k', 'v' + (before ? before.value : ''));
            api.authentication.setUserById('u');
          `),
        );
        await runOnce(gate, caching);
        await runOnce(gate, caching);
        expect({ loads: store.loads, applies: store.applies }).to.deep.equal({
          loads: 2,
          applies: 2,
        });
        expect((await store.load(caching.action_id)).k?.value).to.equal('vv');
      } finally {
        await gate.close();
      }
    });

    it('fails the execution when the store cannot load or save', async () => {
      const store = new CountingCacheStore();
      const gate = sandboxRunner({ capabilities: new PendingCapabilities(), cacheStore: store });
      try {
        const caching = codeVersion(
          handlerCode(`api.cache.set('k', 'v'); api.authentication.setUserById('u');`),
        );
        store.failLoad = true;
        const unloaded = await runOnce(gate, caching);
        expect(unloaded.failure?.message).to.equal('api.cache could not be loaded: store down');
        expect(unloaded.commands).to.deep.equal([]);
        store.failLoad = false;
        store.failApply = true;
        const unsaved = await runOnce(gate, caching);
        expect(unsaved.failure?.message).to.equal(
          'api.cache changes could not be saved: store down',
        );
      } finally {
        await gate.close();
      }
    });
  });

  it('refuses code actions without a sandbox, and anything once closed', async () => {
    const gate = new ExecutionGate({ sandbox: false, cacheStore: new MemoryActionCacheStore() });
    expect(gate.validate).to.equal(undefined);
    const refused = await runOnce(gate, codeVersion(handlerCode('')));
    expect(refused.failure?.kind).to.equal('invalid');
    expect(refused.failure?.message).to.equal(
      'code actions need the sandbox (options.sandbox is false)',
    );
    expect(gate.stats().sandbox).to.equal(undefined);
    await gate.close();
    const recorder = new ApiRecorder();
    let failure: unknown;
    try {
      await gate.run(
        handlerVersion('act_1', () => undefined),
        testEvent(),
        recorder,
      );
    } catch (err) {
      failure = err;
    }
    expect(failure).to.be.instanceOf(ActionFailure);
    expect((failure as ActionFailure).message).to.equal('the action runner is closed');
  });
});
