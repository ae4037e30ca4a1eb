import FakeTimers from '@sinonjs/fake-timers';
import { expect } from 'chai';
import { ApiRecorder } from '../../lib/actions/api-recorder.js';
import type {
  CustomTokenExchangeEvent,
  CustomTokenExchangeHandler,
} from '../../lib/sandbox/action-types.js';
import { ActionFailure, type ActionVersion } from '../../lib/sandbox/action-runner.js';
import { InProcessRunner } from '../../lib/sandbox/in-process-runner.js';
import { testEvent } from './fixtures/sandbox-helpers.js';

/** Settles after every queued promise reaction and one turn of the event loop. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A promise the test resolves when it chooses: `open()`. */
function latch(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

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
  /** How running `v` on a fresh event and recorder fails. */
  const failureOf = (v: ActionVersion) => failure(run(runner, v, event(), new ApiRecorder()));

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
      const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout'] });
      try {
        const recorder = new ApiRecorder();
        const late = latch();
        let settled = false;
        const failed = failure(
          run(
            runner,
            version(
              async (_ev, api) => {
                await late.opened;
                api.authentication.setUserById('late');
              },
              { limits: { timeoutMs: 20, cpuTimeMs: 100, memoryMb: 64, maxConcurrency: 2 } },
            ),
            event(),
            recorder,
          ),
        ).finally(() => (settled = true));
        await clock.tickAsync(19);
        expect(settled).to.equal(false);
        await clock.tickAsync(1);
        const error = await failed;
        expect(error.kind).to.equal('timeout');
        expect(error.message).to.equal('action exceeded its 20 ms deadline');
        expect(clock.countTimers()).to.equal(0);
        late.open();
        await settle();
        expect(recorder.commands).to.deep.equal([]);
        expect(recorder.violations).to.deep.equal([]);
      } finally {
        clock.uninstall();
      }
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
      const error = await failureOf(
        version(function explode() {
          throw new TypeError('boom');
        }),
      );
      expect(error.kind).to.equal('threw');
      expect(error.message).to.match(
        /^TypeError: boom \(at explode \(.*in-process-runner\.test\.ts:\d+:\d+\)\)$/,
      );
    });

    it('reports a rejected promise as threw', async () => {
      const error = await failureOf(
        version(async () => {
          await settle();
          throw new RangeError('out of range');
        }),
      );
      expect(error.kind).to.equal('threw');
      expect(error.message).to.match(/^RangeError: out of range \(at .+:\d+:\d+\)?\)$/);
    });

    it('reports a thrown non-Error by value', async () => {
      const error = await failureOf(
        version(() => {
          // A handler may throw anything, not only an Error: the runner must cope.
          // eslint-disable-next-line @typescript-eslint/only-throw-error
          throw 'nope';
        }),
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
      const error = await failureOf(
        version(undefined, { code: 'exports.onExecuteCustomTokenExchange = async () => {}' }),
      );
      expect({ kind: error.kind, message: error.message }).to.deep.equal({
        kind: 'invalid',
        message: 'this runner executes only in-process handlers',
      });
    });

    it('refuses a version with neither handler nor code', async () => {
      const error = await failureOf(version(undefined));
      expect({ kind: error.kind, message: error.message }).to.deep.equal({
        kind: 'invalid',
        message: 'action act_1 version 1 has no handler',
      });
    });
  });

  it('ignores api calls made after a successful execution ended', async () => {
    const recorder = new ApiRecorder();
    const late = latch();
    await run(
      runner,
      version((_ev, api) => {
        api.authentication.setUserById('u1');
        // A forgotten chain: runs after the router has decided.
        void late.opened.then(() => api.access.deny('late', 'too late'));
      }),
      event(),
      recorder,
    );
    late.open();
    await settle();
    expect(recorder.commands).to.deep.equal([{ type: 'setUserById', user_id: 'u1' }]);
  });

  it('close resolves', async () => {
    await new InProcessRunner().close();
  });
});
