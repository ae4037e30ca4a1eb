import { expect } from 'chai';
import { decideOutcome } from '../../lib/actions/action-outcome.js';
import type { ActionOutcome } from '../../lib/actions/action-outcome.js';
import { ApiRecorder } from '../../lib/actions/api-recorder.js';
import { executeAction } from '../../lib/actions/execute-action.js';
import { Redaction } from '../../lib/actions/redaction.js';
import type {
  CustomTokenExchangeApi,
  CustomTokenExchangeEvent,
} from '../../lib/sandbox/action-types.js';
import { OAuthError } from '../../lib/errors.js';
import { ActionFailure } from '../../lib/sandbox/action-runner.js';
import type { ActionRunner, ActionVersion } from '../../lib/sandbox/action-runner.js';
import { rejectionAs } from '../support/rejections.js';

const SECRET = 'the-action-secret-0123456789';
const TOKEN = 'subject-token-abcdefghijklmnop';

const version: ActionVersion = {
  action_id: 'act_1',
  number: 1,
  secrets: { API_KEY: SECRET },
  allowed_hosts: [],
  allowed_private_networks: [],
  limits: { timeoutMs: 1000, cpuTimeMs: 100, memoryMb: 16, maxConcurrency: 1 },
};

/** A runner that hands the recorder's api to `body`, or fails as told. */
function runner(body: (api: CustomTokenExchangeApi) => void | Promise<void>): ActionRunner {
  return {
    run: async (_version, _event, recorder) => body(recorder.api() as CustomTokenExchangeApi),
    close: async () => undefined,
  };
}

type Decided = Exclude<ActionOutcome, { kind: 'deny' | 'fail' }>;

async function execute(
  run: ActionRunner,
  options: { consolePrefix?: string; log?: { console?: string[] } } = {},
) {
  const redaction = new Redaction([TOKEN]);
  const recorder = new ApiRecorder({ redact: redaction.redact });
  const log = options.log ?? {};
  const execution = executeAction<Decided>({
    runner: run,
    version,
    event: {} as CustomTokenExchangeEvent,
    recorder,
    decide: () => decideOutcome(recorder),
    redaction,
    label: 'action act_1',
    log,
    ...(options.consolePrefix === undefined ? {} : { consolePrefix: options.consolePrefix }),
  });
  return { execution, log, redaction };
}

const refusal = (promise: Promise<unknown>) => rejectionAs(promise, OAuthError);

function answer(error: OAuthError) {
  const { status, error: code, description, headers, privateCause } = error;
  return { status, code, description, headers, privateCause };
}

describe('executeAction: one failure mapping for every trigger', () => {
  it("resolves the trigger's own outcome, leaving the log alone when nothing was logged", async () => {
    const { execution, log } = await execute(
      runner((api) => {
        api.authentication.setUserById('auth0|alice');
      }),
    );
    expect(await execution).to.deep.include({
      kind: 'user',
      selection: { type: 'id', user_id: 'auth0|alice' },
    });
    expect(log).to.deep.equal({});
  });

  it('maps an overloaded runner to 503 temporarily_unavailable with its Retry-After', async () => {
    const { execution } = await execute(
      runner(() => {
        throw new ActionFailure('overloaded', 'action act_1 already runs 1 executions', 7);
      }),
    );
    expect(answer(await refusal(execution))).to.deep.equal({
      status: 503,
      code: 'temporarily_unavailable',
      description: 'The server is busy; retry later.',
      headers: { 'Retry-After': '7' },
      privateCause: 'action act_1: action act_1 already runs 1 executions',
    });
  });

  for (const failure of [
    new ActionFailure('timeout', 'action exceeded its 1000 ms deadline'),
    new Error('boom'),
  ]) {
    it(`maps a ${failure.name} to 500 server_error, the cause only in the log`, async () => {
      const { execution } = await execute(
        runner(() => {
          throw failure;
        }),
      );
      expect(answer(await refusal(execution))).to.deep.equal({
        status: 500,
        code: 'server_error',
        description: 'The server encountered an unexpected error.',
        headers: {},
        privateCause: `action act_1 failed: ${failure.message}`,
      });
    });
  }

  it("maps a deny to the action's code and reason, 500 for server_error", async () => {
    for (const [code, status] of [
      ['access_denied', 400],
      ['server_error', 500],
    ] as const) {
      const { execution } = await execute(runner((api) => api.access.deny(code, 'not you')));
      expect(answer(await refusal(execution))).to.deep.equal({
        status,
        code,
        description: 'not you',
        headers: {},
        privateCause: 'denied by the action act_1',
      });
    }
  });

  it('fails closed with 500 when the action decided nothing', async () => {
    const { execution } = await execute(runner(() => undefined));
    expect(answer(await refusal(execution))).to.deep.equal({
      status: 500,
      code: 'server_error',
      description: 'The server encountered an unexpected error.',
      headers: {},
      privateCause: 'action act_1: action did not set a user',
    });
  });

  it('appends the console lines, prefixed and redacted, whatever the end', async () => {
    const log = { console: ['[earlier] line'] };
    const { execution, redaction } = await execute(
      {
        run: async (_version, _event, recorder) => {
          recorder.console('log', [`token ${TOKEN} secret ${SECRET}`]);
          throw new Error(`cannot use ${SECRET}`);
        },
        close: async () => undefined,
      },
      { consolePrefix: '[post-exchange] ', log },
    );
    const error = await refusal(execution);
    expect(log.console).to.deep.equal([
      '[earlier] line',
      '[post-exchange] token [redacted] secret [redacted]',
    ]);
    // The action's secrets joined the request's redaction before it ran: the cause is clean too.
    expect(redaction.redact(error.privateCause ?? '')).to.equal(
      'action act_1 failed: cannot use [redacted]',
    );
  });
});

describe('Redaction', () => {
  it('redacts every value, including one added after the first use', () => {
    const redaction = new Redaction(['first-value-0123456789', undefined, 42]);
    expect(redaction.redact('a first-value-0123456789 b')).to.equal('a [redacted] b');
    redaction.add(['second-value-0123456789']);
    expect(redaction.redact('first-value-0123456789 second-value-0123456789')).to.equal(
      '[redacted] [redacted]',
    );
  });
});
