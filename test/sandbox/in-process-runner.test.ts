import { expect } from 'chai';
import { ApiRecorder } from '../../lib/actions/api-recorder.js';
import type {
  CustomTokenExchangeEvent,
  CustomTokenExchangeHandler,
} from '../../lib/actions/types.js';
import { ActionFailure, type ActionVersion } from '../../lib/sandbox/action-runner.js';
import { InProcessRunner } from '../../lib/sandbox/in-process-runner.js';
import { testEvent } from './fixtures/sandbox-helpers.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function version(
  handler: CustomTokenExchangeHandler | undefined,
  overrides: Partial<ActionVersion> = {},
): ActionVersion {
  const base: ActionVersion = {
    action_id: 'act_1',
    number: 1,
    secrets: { KEY: 'value' },
    allowed_hosts: [],
    allowed_private_networks: [],
    limits: { timeoutMs: 1000, cpuTimeMs: 100, memoryMb: 64, maxConcurrency: 2 },
    ...overrides,
  };
  if (handler !== undefined) base.handler = handler;
  return base;
}

/** The shared test event, with the secret and subject token these tests read. */
function event(): CustomTokenExchangeEvent {
  const base = testEvent();
  base.secrets = { KEY: 'value' };
  base.transaction.subject_token = 'subject';
  return base;
}

async function failure(promise: Promise<unknown>): Promise<ActionFailure> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(ActionFailure);
    return err as ActionFailure;
  }
  return expect.fail('expected an ActionFailure');
}

/** Runs `v` with its own limits (the execution gate passes its effective limits). */
function run(
  runner: InProcessRunner,
  v: ActionVersion,
  ev: CustomTokenExchangeEvent,
  recorder: ApiRecorder,
): Promise<void> {
  return runner.run(v, v.limits, ev, recorder);
}

const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

describe('InProcessRunner', () => {
  const runner = new InProcessRunner();

  it('runs the handler with the event and the recorder api', async () => {
    const recorder = new ApiRecorder();
    await run(
      runner,
      version(async (ev, api) => {
        api.authentication.setUserById(`user-of-${ev.transaction.subject_token}`);
        api.user.setAppMetadata('secret', ev.secrets.KEY);
      }),
      event(),
      recorder,
    );
    expect(recorder.commands).to.deep.equal([
      { type: 'setUserById', user_id: 'user-of-subject' },
      { type: 'setAppMetadata', key: 'secret', value: 'value' },
    ]);
  });

  it('passes a deep-frozen copy of the event', async () => {
    const original = event();
    const seen: { same: boolean; frozen: boolean[]; writeError: string; pushError: string } = {
      same: true,
      frozen: [],
      writeError: '',
      pushError: '',
    };
    await run(
      runner,
      version((ev) => {
        seen.same = ev === original;
        seen.frozen = [ev, ev.transaction, ev.request.body, ev.transaction.requested_scopes].map(
          (part) => Object.isFrozen(part),
        );
        try {
          ev.transaction.subject_token = 'forged';
        } catch (err) {
          seen.writeError = (err as Error).name;
        }
        try {
          ev.transaction.requested_scopes.push('admin');
        } catch (err) {
          seen.pushError = (err as Error).name;
        }
      }),
      original,
      new ApiRecorder(),
    );
    expect(seen).to.deep.equal({
      same: false,
      frozen: [true, true, true, true],
      writeError: 'TypeError',
      pushError: 'TypeError',
    });
    expect(Object.isFrozen(original)).to.equal(false);
    expect(original.transaction.subject_token).to.equal('subject');
  });

  it('accepts a synchronous handler', async () => {
    const recorder = new ApiRecorder();
    await run(
      runner,
      version((_ev, api) => api.authentication.setUserById('u1')),
      event(),
      recorder,
    );
    expect(recorder.commands).to.deep.equal([{ type: 'setUserById', user_id: 'u1' }]);
  });

  describe('failures', () => {
    it('times out at limits.timeoutMs, clears its timer, and ignores the late api calls', async () => {
      const recorder = new ApiRecorder();
      const started = Date.now();
      const error = await failure(
        run(
          runner,
          version(
            async (_ev, api) => {
              await sleep(150);
              api.authentication.setUserById('late');
            },
            { limits: { timeoutMs: 20, cpuTimeMs: 100, memoryMb: 64, maxConcurrency: 2 } },
          ),
          event(),
          recorder,
        ),
      );
      expect(error.kind).to.equal('timeout');
      expect(error.message).to.equal('action exceeded its 20 ms deadline');
      expect(Date.now() - started).to.be.lessThan(120);
      await sleep(200);
      expect(recorder.commands).to.deep.equal([]);
      expect(recorder.violations).to.deep.equal([]);
    });

    it('clears the deadline timer when the handler finishes first', async () => {
      // Mocha arms its own test timer once this function has returned its promise.
      await new Promise((resolve) => setImmediate(resolve));
      const before = timers();
      await run(
        runner,
        version(async () => undefined, {
          limits: { timeoutMs: 60_000, cpuTimeMs: 100, memoryMb: 64, maxConcurrency: 2 },
        }),
        event(),
        new ApiRecorder(),
      );
      expect(timers()).to.equal(before);
    });

    it('reports a thrown error as threw with name, message and first stack frame', async () => {
      const error = await failure(
        run(
          runner,
          version(function explode() {
            throw new TypeError('boom');
          }),
          event(),
          new ApiRecorder(),
        ),
      );
      expect(error.kind).to.equal('threw');
      expect(error.message).to.match(
        /^TypeError: boom \(at explode \(.*in-process-runner\.test\.ts:\d+:\d+\)\)$/,
      );
    });

    it('reports a rejected promise as threw', async () => {
      const error = await failure(
        run(
          runner,
          version(async () => {
            await sleep(1);
            throw new RangeError('out of range');
          }),
          event(),
          new ApiRecorder(),
        ),
      );
      expect(error.kind).to.equal('threw');
      expect(error.message).to.match(/^RangeError: out of range \(at .+:\d+:\d+\)?\)$/);
    });

    it('reports a thrown non-Error by value', async () => {
      const error = await failure(
        run(
          runner,
          version(() => {
            throw 'nope';
          }),
          event(),
          new ApiRecorder(),
        ),
      );
      expect({ kind: error.kind, message: error.message }).to.deep.equal({
        kind: 'threw',
        message: 'threw a non-Error value: "nope"',
      });
    });

    it('reports an ActionApiError the handler did not catch as threw', async () => {
      const recorder = new ApiRecorder();
      const error = await failure(
        run(
          runner,
          version((_ev, api) => api.authentication.setOrganization('')),
          event(),
          recorder,
        ),
      );
      expect(error.kind).to.equal('threw');
      expect(error.message).to.match(
        /^ActionApiError: api\.authentication\.setOrganization: organization must not be empty \(at .+\)$/,
      );
      expect(recorder.violations).to.deep.equal([
        'api.authentication.setOrganization: organization must not be empty',
      ]);
    });

    it('refuses a version with sandboxed code and no handler', async () => {
      const error = await failure(
        run(
          runner,
          version(undefined, { code: 'exports.onExecuteCustomTokenExchange = async () => {}' }),
          event(),
          new ApiRecorder(),
        ),
      );
      expect({ kind: error.kind, message: error.message }).to.deep.equal({
        kind: 'invalid',
        message: 'this runner executes only in-process handlers',
      });
    });

    it('refuses a version with neither handler nor code', async () => {
      const error = await failure(run(runner, version(undefined), event(), new ApiRecorder()));
      expect({ kind: error.kind, message: error.message }).to.deep.equal({
        kind: 'invalid',
        message: 'action act_1 version 1 has no handler',
      });
    });
  });

  it('ignores api calls made after a successful execution ended', async () => {
    const recorder = new ApiRecorder();
    await run(
      runner,
      version((_ev, api) => {
        api.authentication.setUserById('u1');
        // A forgotten chain: runs after the router has decided.
        void sleep(5).then(() => api.access.deny('late', 'too late'));
      }),
      event(),
      recorder,
    );
    await sleep(20);
    expect(recorder.commands).to.deep.equal([{ type: 'setUserById', user_id: 'u1' }]);
  });

  it('close resolves', async () => {
    await new InProcessRunner().close();
  });
});
