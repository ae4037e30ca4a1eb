import type { Server } from 'node:http';
import FakeTimers from '@sinonjs/fake-timers';
import { expect } from 'chai';
import request from 'supertest';
import type { CustomTokenExchangeHandler, CustomTokenExchangeOptions } from '../../lib/index.js';
import { SECRET, exchangeBody, form, testServer } from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';
import { recordingLogger } from '../support/recording-logger.js';
import type { LoggedRecord } from '../support/recording-logger.js';
import { until } from '../support/until.js';
import { APP } from '../support/oauth-responses.js';

const GATED_TYPE = 'urn:acme:gated-token';
const SHUTTING_DOWN = {
  error: 'temporarily_unavailable',
  error_description: 'The server is busy; retry later.',
};
/** A token with the shape of the router's refresh tokens: its revocation and introspection are ours. */
const OUR_REFRESH_TOKEN_SHAPE = `cte_rt_${'A'.repeat(22)}.${'A'.repeat(43)}`;
const SHUTDOWN_CAUSE = 'the router is shutting down (close() was called)';

interface Harness extends TestServer {
  listening: Server;
  records: LoggedRecord[];
  /** Executions of the gated action that began. */
  entered: () => number;
}

/**
 * The fixture server with a profile whose action waits for `gate` before it sets the user, so
 * exchanges stay in flight as long as a test wants; listening on a port, for many requests at once.
 */
async function harness(
  gate: Promise<void>,
  options: Partial<CustomTokenExchangeOptions> = {},
): Promise<Harness> {
  const { logger, records } = recordingLogger();
  const server = await testServer({ logger, ...options });
  let entered = 0;
  const gated: CustomTokenExchangeHandler = async (event, api) => {
    entered += 1;
    await gate;
    api.authentication.setUserById(event.transaction.subject_token);
  };
  const action = await server.cte.actions.create({
    name: 'gated',
    handler: gated,
    limits: { timeoutMs: 60_000 },
  });
  await server.cte.actions.deploy(action.id);
  await server.cte.profiles.create({
    name: 'Gated tokens',
    subject_token_type: GATED_TYPE,
    action_id: action.id,
    type: 'custom_authentication',
  });
  server.app.set('trust proxy', 'loopback');
  const listening = server.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => listening.once('listening', resolve));
  return { ...server, listening, records, entered: () => entered };
}

async function stopListening(server: Harness): Promise<void> {
  server.listening.closeAllConnections();
  await new Promise<void>((resolve) => server.listening.close(() => resolve()));
}

let clients = 0;

/**
 * A token exchange by `app`, each from an IP of its own: suspicious IP throttling lets one IP
 * have only as many exchanges in its action at once as it has attempts left.
 */
function exchange(server: Harness, subjectTokenType: string) {
  clients += 1;
  return request(server.listening)
    .post('/oauth/token')
    .set('Authorization', APP)
    .set('X-Forwarded-For', `198.51.${100 + (clients >> 8)}.${clients & 255}`)
    .type('form')
    .send(
      form(exchangeBody({ subject_token: 'auth0|alice', subject_token_type: subjectTokenType })),
    )
    .then((res) => res);
}

function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe('graceful shutdown: close()', () => {
  it('under load: answers every exchange in flight, refuses new ones with 503, then closes', async () => {
    const { opened, open } = gate();
    const server = await harness(opened);
    try {
      const inFlight = Array.from({ length: 30 }, () => exchange(server, GATED_TYPE));
      await until(() => server.entered() === 30, 'every exchange runs its action');

      let closed = false;
      const closing = server.cte.close().then(() => {
        closed = true;
      });
      expect(server.records).to.deep.equal([
        {
          level: 'info',
          fields: { component: 'shutdown', inFlight: 30, closeTimeoutMs: 5000 },
          message:
            'customTokenExchange: closing; waiting for 30 token requests in flight (5000 ms at most).',
        },
      ]);

      // New requests of ours are refused at once; the host's routes and the JWKS still answer.
      const refused = await Promise.all(
        Array.from({ length: 5 }, () => exchange(server, GATED_TYPE)),
      );
      for (const res of refused) {
        expect(res.status).to.equal(503);
        expect(res.headers).to.include({
          'retry-after': '1',
          'cache-control': 'no-store',
          pragma: 'no-cache',
        });
        expect(res.body).to.deep.equal(SHUTTING_DOWN);
      }
      for (const path of ['/oauth/revoke', '/oauth/introspect']) {
        const refusal = await request(server.listening)
          .post(path)
          .type('form')
          .send({ token: OUR_REFRESH_TOKEN_SHAPE, client_id: 'post-app', client_secret: SECRET });
        expect(refusal.status, path).to.equal(503);
        expect(refusal.headers, path).to.include({ 'retry-after': '1' });
        expect(refusal.body, path).to.deep.equal(SHUTTING_DOWN);
      }
      const host = await request(server.listening)
        .post('/oauth/token')
        .type('form')
        .send({ grant_type: 'client_credentials' });
      expect(host.body).to.deep.include({ host: true });
      await request(server.listening).get('/.well-known/jwks.json').expect(200);
      expect(server.entered()).to.equal(30);
      expect(closed).to.equal(false);

      open();
      const answers = await Promise.all(inFlight);
      expect(answers.map((res) => res.status)).to.deep.equal(Array<number>(30).fill(200));
      for (const res of answers) expect(res.body.access_token).to.be.a('string');
      await closing;
      expect(server.records).to.have.length(1);

      // Every answer was logged before the sinks closed: 30 successes, 5 refusals.
      const entries = await server.cte.logs.list();
      expect(entries.filter((entry) => entry.type === 'secte')).to.have.length(30);
      const failures = entries.filter((entry) => entry.type === 'fecte');
      expect(failures).to.have.length(5);
      for (const entry of failures) {
        // Refused before its parameters are read, as a request over maxExchangesInFlight is.
        expect(entry.details).to.deep.equal({
          error: 'temporarily_unavailable',
          error_description: SHUTTING_DOWN.error_description,
          cause: SHUTDOWN_CAUSE,
        });
      }
      expect(server.cte.logs.dropped().map((count) => count.dropped)).to.deep.equal([0]);

      // Closed for good: a later request is refused too, and close() answers the same promise.
      expect((await exchange(server, GATED_TYPE)).status).to.equal(503);
      expect(server.cte.close()).to.equal(server.cte.close());
    } finally {
      open();
      await stopListening(server);
      await server.cte.close();
    }
  });

  it('stops waiting for requests in flight after closeTimeoutMs, warns, and stops anyway', async () => {
    const { opened, open } = gate();
    const server = await harness(opened, { closeTimeoutMs: 2_000 });
    const clock = FakeTimers.install({
      toFake: ['setTimeout', 'clearTimeout'],
      shouldClearNativeTimers: true,
    });
    try {
      const stuck = exchange(server, GATED_TYPE);
      await until(() => server.entered() === 1, 'the exchange runs its action');
      let closed = false;
      const closing = server.cte.close().then(() => {
        closed = true;
      });
      await clock.tickAsync(1_999);
      expect(closed).to.equal(false);
      await clock.tickAsync(1);
      await closing;
      expect(server.records.map(({ level, message }) => ({ level, message }))).to.deep.equal([
        {
          level: 'info',
          message:
            'customTokenExchange: closing; waiting for 1 token requests in flight (2000 ms at most).',
        },
        {
          level: 'warn',
          message:
            'customTokenExchange: close() stopped waiting after 2000 ms with 1 token requests ' +
            'still in flight; the sandboxes stop under them.',
        },
      ]);
      expect(server.records[1]!.fields).to.deep.equal({
        component: 'shutdown',
        inFlight: 1,
        closeTimeoutMs: 2_000,
      });
      // The exchange left behind still gets its answer, at its action's own deadline.
      await clock.tickAsync(60_000);
      const res = await stuck;
      expect(res.status).to.equal(500);
      expect(res.body).to.deep.equal({
        error: 'server_error',
        error_description: 'The server encountered an unexpected error.',
      });
    } finally {
      clock.uninstall();
      open();
      await stopListening(server);
    }
  });
});
