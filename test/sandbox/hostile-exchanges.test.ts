import { expect } from 'chai';
import { actionCode } from '../support/sandboxed-actions.js';
import {
  startHostileServer,
  timedExchange,
  type HostileServer,
  type TimedAnswer,
} from './fixtures/hostile-process.js';

const SERVER_ERROR = {
  error: 'server_error',
  error_description: 'The server encountered an unexpected error.',
};
/** "Not hung", not a speed measurement: far above the 100 ms budget plus the stated margin. */
const LIVENESS_MS = 3_000;

/** A getter that never returns, on an error's message: the attack on whoever reads it. */
const HOSTILE_ERROR = `const error = new Error('x');
  Object.defineProperty(error, 'message', { get() { for (;;) {} } });`;

/**
 * Sends the hostile exchange, then a good one while the first is in its action, and waits for
 * both (each gives up after twice the liveness bound).
 */
async function hostileThenGood(
  server: HostileServer,
): Promise<{ hostile: TimedAnswer; good: TimedAnswer }> {
  const start = Date.now();
  const hostile = timedExchange(server.origin, 'urn:acme:hostile', 'attack', 2 * LIVENESS_MS);
  await new Promise((resolve) => setTimeout(resolve, 20));
  const good = timedExchange(server.origin, 'urn:acme:good', 'fine', 2 * LIVENESS_MS, start);
  return { hostile: await hostile, good: await good };
}

function expectAnsweredInTime({ hostile, good }: { hostile: TimedAnswer; good: TimedAnswer }) {
  expect(hostile.status).to.equal(500);
  expect(hostile.body).to.deep.equal(SERVER_ERROR);
  expect(hostile.ms).to.be.below(LIVENESS_MS);
  expect(good.status, JSON.stringify(good.body)).to.equal(200);
  expect(good.body).to.have.property('issued_token_type');
  expect(good.ms).to.be.below(LIVENESS_MS);
}

/** The causes of the failed exchanges in the log, once both exchanges are logged. */
async function causes(server: HostileServer): Promise<string[]> {
  return (await server.entriesWritten(2))
    .filter((entry) => entry.type === 'fecte')
    .map((entry) => String((entry.details as Record<string, unknown>).cause));
}

// Each server runs in a process of its own: on the code this guards against, the hostile exchange
// hangs that process for good, which the test sees as a request without an answer.
describe('hostile actions cannot hold the server (over HTTP, in a child process)', function () {
  this.timeout(60_000);
  let server: HostileServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  describe('no value of guest origin is read outside the sandbox budget', () => {
    it('a rejection left unhandled with a never-ending message getter: 500, and the server serves', async () => {
      server = await startHostileServer(actionCode(`${HOSTILE_ERROR}\n  Promise.reject(error);`));
      const answers = await hostileThenGood(server);
      expectAnsweredInTime(answers);
      const failed = await causes(server);
      expect(failed).to.have.length(1);
      expect(failed[0]).to.match(/action did not set a user$/);
    });

    it('the same from a setTimeout callback', async () => {
      server = await startHostileServer(
        actionCode(`setTimeout(() => {
    ${HOSTILE_ERROR}
    Promise.reject(error);
  }, 1);
  await new Promise((resolve) => setTimeout(resolve, 30));`),
      );
      expectAnsweredInTime(await hostileThenGood(server));
      expect((await causes(server))[0]).to.match(/action did not set a user$/);
    });

    it('a thrown error with a never-ending message getter ends at the CPU budget', async () => {
      server = await startHostileServer(actionCode(`${HOSTILE_ERROR}\n  throw error;`));
      expectAnsweredInTime(await hostileThenGood(server));
      expect((await causes(server))[0]).to.match(/action exceeded its CPU budget of 100 ms$/);
    });
  });

  describe('no built-in holds the event loop much beyond the budget', () => {
    for (const [name, body, cause] of [
      [
        'JSON.parse of a text nested four million levels deep (the exploit as reported)',
        `JSON.parse('['.repeat(4e6) + ']'.repeat(4e6));`,
        /String\.prototype\.repeat: the result would be longer than 1048576 characters/,
      ],
      [
        'JSON.parse of a text nested four million levels deep, built by concatenation',
        `let open = '[';
  let close = ']';
  while (open.length < 4e6) { open += open; close += close; }
  JSON.parse(open + close);`,
        /JSON\.parse: the text is longer than 1048576 characters/,
      ],
      [
        'JSON.parse of a text nested deeply within the size limit',
        `JSON.parse('['.repeat(5e5) + ']'.repeat(5e5));`,
        /JSON\.parse: the text nests deeper than 512 levels/,
      ],
      [
        'global replaces of long strings, again and again',
        `const text = 'a'.repeat(1024 * 1024);
  for (;;) text.replaceAll('a', 'b') + text.replace(/a/g, 'c') + text.split('').length;`,
        /action exceeded its CPU budget of 100 ms$/,
      ],
      [
        'a sort and a copy of an array whose length was set to fifty million',
        `const list = []; list.length = 5e7; list[0] = 1; list.toReversed(); list.sort();`,
        /Array\.prototype\.toReversed: the array is longer than 262144 elements/,
      ],
    ] as const) {
      it(name, async () => {
        server = await startHostileServer(actionCode(body));
        expectAnsweredInTime(await hostileThenGood(server));
        expect((await causes(server))[0]).to.match(cause);
      });
    }
  });
});
