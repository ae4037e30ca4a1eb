import type { Server } from 'node:http';
import { expect } from 'chai';
import request from 'supertest';
import type { Response } from 'supertest';
import { MemoryAttemptStore } from '../../lib/index.js';
import type {
  AttackProtectionOptions,
  AttemptStore,
  CustomTokenExchangeHandler,
  LogEntry,
} from '../../lib/index.js';
import { countingAttemptStore } from '../support/counting-attempt-store.js';
import { until } from '../support/until.js';
import { form, profileFor, testServer } from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';
import { NO_STORE, APP } from '../support/oauth-responses.js';

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const SLOW_TYPE = 'urn:acme:slow-partner-token';
const START = Date.parse('2026-03-01T12:00:00.000Z');
const BLOCKED_BODY =
  '{"error":"too_many_attempts","error_description":"We have detected suspicious login behavior and further attempts will be blocked. Please contact the administrator."}';
const REJECTED = { error: 'invalid_request', error_description: 'the partner token is invalid' };

interface Harness extends TestServer {
  listening: Server;
  clock: { now: number };
  /** Executions of the slow action so far, and the most running at once. */
  runs: { started: number; running: number; mostAtOnce: number };
  /**
   * From now on the executions for the tokens `which` picks (all by default) wait, as an action
   * fetching a JWKS would, until the returned function is called.
   */
  hold(which?: (token: string) => boolean): () => void;
}

/**
 * The fixture server with a profile whose action decides once the test lets it (see `hold`):
 * `guess:*` is rejected, `user:<id>` sets the user. It listens on a port (one server for many
 * concurrent requests); `trust proxy` is loopback so tests speak for any IP.
 */
async function harness(
  attackProtection: AttackProtectionOptions = {},
  { store }: { store?: AttemptStore } = {},
): Promise<Harness> {
  const clock = { now: START };
  const server = await testServer({
    attackProtection: {
      ...attackProtection,
      suspiciousIpThrottling: {
        store: store ?? new MemoryAttemptStore({ now: () => clock.now }),
        ...attackProtection.suspiciousIpThrottling,
      },
    },
  });
  server.app.set('trust proxy', 'loopback');
  const runs = { started: 0, running: 0, mostAtOnce: 0 };
  let held: { which: (token: string) => boolean; released: Promise<void> } | undefined;
  const hold = (which = (_token: string) => true) => {
    let release!: () => void;
    held = { which, released: new Promise<void>((resolve) => (release = resolve)) };
    return release;
  };
  const slow: CustomTokenExchangeHandler = async (event, api) => {
    runs.started += 1;
    runs.running += 1;
    runs.mostAtOnce = Math.max(runs.mostAtOnce, runs.running);
    try {
      const token = event.transaction.subject_token;
      if (held?.which(token)) await held.released;
      if (token.startsWith('user:')) api.authentication.setUserById(token.slice(5));
      else api.access.rejectInvalidSubjectToken('the partner token is invalid');
    } finally {
      runs.running -= 1;
    }
  };
  const action = await server.cte.actions.create({ name: 'slow-partner', handler: slow });
  await server.cte.actions.deploy(action.id);
  await server.cte.profiles.create({
    name: 'Slow partner tokens',
    subject_token_type: SLOW_TYPE,
    action_id: action.id,
    type: 'custom_authentication',
  });
  const listening = server.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => listening.once('listening', resolve));
  return { ...server, listening, clock, runs, hold };
}

async function stop(server: Harness): Promise<void> {
  await new Promise<void>((resolve) => server.listening.close(() => resolve()));
  await server.cte.close();
}

/** A token exchange of the slow profile by `app` from `ip`, with `extra` parameters. */
function exchange(server: Harness, ip: string, token: string, extra: Record<string, string> = {}) {
  return request(server.listening)
    .post('/oauth/token')
    .set('Authorization', APP)
    .set('X-Forwarded-For', ip)
    .type('form')
    .send(
      form({ grant_type: GRANT, subject_token: token, subject_token_type: SLOW_TYPE, ...extra }),
    )
    .then((res) => res);
}

const entries = (server: TestServer, type: LogEntry['type']) => server.cte.logs.list({ type });

/** A memory store answering in a later turn of the event loop, as a store across the network does. */
function distant(store: AttemptStore): AttemptStore {
  const later = <T>(answer: () => Promise<T>) =>
    new Promise<void>((resolve) => setImmediate(resolve)).then(answer);
  return {
    peek: (key, policy) => later(() => store.peek(key, policy)),
    take: (key, policy, holdId) => later(() => store.take(key, policy, holdId)),
    reserve: (key, policy, hold) => later(() => store.reserve(key, policy, hold)),
    release: (key, holdId) => later(() => store.release(key, holdId)),
    reset: (key) => later(() => store.reset(key)),
  };
}

describe('suspicious IP throttling under concurrency', function () {
  // A hard deadline for each test: a hang fails it, and the servers are stopped in `finally`.
  this.timeout(20_000);

  it('60 concurrent guesses from one IP (an action that awaits before rejecting, maxAttempts 10): at most 10 reach the action, the rest are 429', async () => {
    const server = await harness({ suspiciousIpThrottling: { maxAttempts: 10 } });
    try {
      const release = server.hold((token) => token.startsWith('guess:'));
      const guesses = Array.from({ length: 60 }, (_, i) =>
        exchange(server, '203.0.113.50', `guess:${i}`),
      );
      await until(() => server.runs.running === 10, 'ten guesses reach the action');
      // A good request from another IP meanwhile is served, promptly.
      const started = Date.now();
      const good = await exchange(server, '198.51.100.7', 'user:auth0|alice');
      expect(good.status, JSON.stringify(good.body)).to.equal(200);
      expect(Date.now() - started).to.be.below(5000);
      expect(server.runs.running).to.equal(10);

      release();
      const answers = await Promise.all(guesses);
      const rejected = answers.filter((res) => res.status === 400);
      const blocked = answers.filter((res) => res.status === 429);
      expect(rejected.length).to.be.at.most(10);
      expect(rejected.length + blocked.length).to.equal(60);
      for (const res of rejected) expect(res.body).to.deep.equal(REJECTED);
      for (const res of blocked) {
        expect(res.text).to.equal(BLOCKED_BODY);
        expect(res.headers).to.include(NO_STORE);
        expect(res.headers['content-type']).to.match(/^application\/json/);
      }
      // The action itself ran at most 10 times for that IP (plus the good request).
      expect(server.runs.started - 1).to.be.at.most(10);
      expect(await server.cte.attackProtection.status('203.0.113.50')).to.include({
        blocked: true,
        remaining_attempts: 0,
      });
      const limits = await entries(server, 'limit_cte');
      expect(limits).to.have.length(1);
      expect(limits[0]!.details.suspicious_ip_throttling).to.include({
        key: '203.0.113.50',
        max_attempts: 10,
      });
      const refused = (await entries(server, 'fecte')).filter(
        (entry) => entry.details.error === 'too_many_attempts',
      );
      expect(refused).to.have.length(blocked.length);
      expect(refused[0]!.details.cause).to.equal(
        'suspicious IP throttling: 203.0.113.50 is blocked',
      );
    } finally {
      await stop(server);
    }
  });

  it('never refuses a concurrent burst of valid tokens from one IP, also with few attempts left', async () => {
    const server = await harness({ suspiciousIpThrottling: { maxAttempts: 10 } });
    try {
      /** `count` exchanges at once, held in the action until `atOnce` of them run. */
      const burst = async (count: number, atOnce: number) => {
        const release = server.hold();
        const pending = Array.from({ length: count }, () =>
          exchange(server, '192.0.2.80', 'user:auth0|alice'),
        );
        await until(() => server.runs.running === atOnce, `${atOnce} exchanges run at once`);
        release();
        const answers = await Promise.all(pending);
        expect(answers.map((res) => res.status)).to.deep.equal(Array(count).fill(200));
      };
      await burst(80, 10);
      expect(server.runs.mostAtOnce).to.equal(10);
      // Eight invalid tokens leave two attempts: the burst runs two at a time, all served.
      for (let i = 0; i < 8; i++) {
        expect((await exchange(server, '192.0.2.80', `guess:${i}`)).status).to.equal(400);
      }
      server.runs.mostAtOnce = 0;
      await burst(40, 2);
      expect(server.runs.mostAtOnce).to.equal(2);
      expect(await server.cte.attackProtection.status('192.0.2.80')).to.include({
        remaining_attempts: 2,
      });
    } finally {
      await stop(server);
    }
  });

  it('admits exactly one more exchange per regained attempt, however many arrive at once', async () => {
    const server = await harness({ suspiciousIpThrottling: { maxAttempts: 3, rate: 600_000 } });
    try {
      for (let i = 0; i < 3; i++) {
        expect((await exchange(server, '203.0.113.60', `guess:${i}`)).status).to.equal(400);
      }
      expect((await exchange(server, '203.0.113.60', 'guess:blocked')).text).to.equal(BLOCKED_BODY);
      const before = server.runs.started;
      server.clock.now = START + 600_000;
      const release = server.hold();
      const pending = Array.from({ length: 20 }, (_, i) =>
        exchange(server, '203.0.113.60', `guess:again-${i}`),
      );
      await until(() => server.runs.running === 1, 'the regained attempt reaches the action');
      release();
      const answers = await Promise.all(pending);
      expect(answers.filter((res) => res.status === 400)).to.have.length(1);
      expect(answers.filter((res) => res.text === BLOCKED_BODY)).to.have.length(19);
      expect(server.runs.started - before).to.equal(1);
    } finally {
      await stop(server);
    }
  });

  it('holds across two routers sharing one store: 40 concurrent guesses split over both get at most 10 answers from the actions', async () => {
    const store = distant(new MemoryAttemptStore());
    const a = await harness({}, { store });
    const b = await harness({}, { store });
    try {
      const releases = [a.hold(), b.hold()];
      const pending = Array.from({ length: 40 }, (_, i) =>
        exchange(i % 2 ? a : b, '203.0.113.70', `guess:${i}`),
      );
      await until(
        () => a.runs.running + b.runs.running === 10,
        'ten guesses reach the actions of both routers',
      );
      for (const release of releases) release();
      const answers = await Promise.all(pending);
      expect(answers.filter((res) => res.status === 400).length).to.be.at.most(10);
      expect(answers.filter((res) => res.text === BLOCKED_BODY).length).to.be.at.least(30);
      expect(a.runs.started + b.runs.started).to.be.at.most(10);
    } finally {
      await stop(a);
      await stop(b);
    }
  });

  it('counts invalid ID-token actor tokens the same way: 30 at once, maxAttempts 5, at most 5 refused by the check', async () => {
    // The check itself is synchronous: a store answering in a later turn lets requests overlap.
    const server = await harness(
      { suspiciousIpThrottling: { maxAttempts: 5 } },
      { store: distant(new MemoryAttemptStore()) },
    );
    try {
      const answers = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          exchange(server, '203.0.113.90', 'user:auth0|alice', {
            actor_token: `not-an-id-token-${i}`,
            actor_token_type: 'urn:ietf:params:oauth:token-type:id_token',
          }),
        ),
      );
      const refusedByCheck = answers.filter((res) => res.status === 400);
      expect(refusedByCheck.length).to.be.at.most(5);
      expect(
        refusedByCheck.length + answers.filter((r) => r.text === BLOCKED_BODY).length,
      ).to.equal(30);
      expect(server.runs.started).to.equal(0);
    } finally {
      await stop(server);
    }
  });

  it('costs a valid exchange one store round trip while the bucket is full (as the one look did before holds), none for the next from the IP', async () => {
    const { store: counting, calls } = countingAttemptStore(new MemoryAttemptStore());
    const server = await harness({}, { store: counting });
    try {
      expect((await exchange(server, '192.0.2.10', 'user:auth0|alice')).status).to.equal(200);
      expect(calls).to.deep.equal(['reserve']);
      expect((await exchange(server, '192.0.2.10', 'user:auth0|alice')).status).to.equal(200);
      expect(calls).to.deep.equal(['reserve']);
      // An invalid token: its hold is taken (the hold kept for reuse served it).
      expect((await exchange(server, '192.0.2.10', 'guess:1')).status).to.equal(400);
      expect(calls).to.deep.equal(['reserve', 'take']);
      // With attempts used, a valid exchange gives its hold back: two round trips.
      calls.length = 0;
      expect((await exchange(server, '192.0.2.10', 'user:auth0|alice')).status).to.equal(200);
      expect(calls).to.deep.equal(['reserve', 'release']);
    } finally {
      await stop(server);
    }
  });

  it('gives the attempt back when an exchange is refused before its action runs (bad audience, rate limit)', async () => {
    const server = await harness({
      suspiciousIpThrottling: { maxAttempts: 2, queueTimeoutMs: 500 },
      profileRateLimit: { limit: 5 },
    });
    try {
      const ip = '203.0.113.77';
      expect((await exchange(server, ip, 'guess:1')).status).to.equal(400);
      // One attempt left: each refusal below holds it, then must give it back.
      for (let i = 0; i < 3; i++) {
        const res = await exchange(server, ip, 'user:auth0|alice', {
          audience: 'https://unknown.example.com/',
        });
        expect(res.status).to.equal(400);
        expect(res.body.error).to.equal('invalid_target');
      }
      expect((await exchange(server, ip, 'user:auth0|alice')).status).to.equal(200);
      const limited = await exchange(server, ip, 'user:auth0|alice');
      expect(limited.status).to.equal(429);
      expect(limited.body.error).to.equal('too_many_requests');
      const started = Date.now();
      await server.cte.attackProtection.setProfileRateLimit(
        (await profileFor(server.cte, SLOW_TYPE)).id,
        { limit: 100 },
      );
      expect((await exchange(server, ip, 'user:auth0|alice')).status).to.equal(200);
      expect(Date.now() - started).to.be.below(400);
      expect(await server.cte.attackProtection.status(ip)).to.include({ remaining_attempts: 1 });
    } finally {
      await stop(server);
    }
  });

  it('answers 503 with Retry-After past queueLimit waiting exchanges, and past queueTimeoutMs', async () => {
    const server = await harness({
      suspiciousIpThrottling: { maxAttempts: 2, queueLimit: 3, queueTimeoutMs: 300 },
    });
    try {
      const release = server.hold();
      const answered: Response[] = [];
      const pending = Array.from({ length: 8 }, () =>
        exchange(server, '203.0.113.99', 'user:auth0|alice').then((res) => {
          answered.push(res);
          return res;
        }),
      );
      // Two run and are held; three wait and time out, three find the queue full.
      await until(() => answered.length === 6, 'six exchanges are refused while two run');
      expect(server.runs.running).to.equal(2);
      release();
      const answers = await Promise.all(pending);
      const statuses = answers.map((res) => res.status).sort();
      expect(statuses).to.deep.equal([200, 200, 503, 503, 503, 503, 503, 503]);
      for (const res of answers.filter((r) => r.status === 503)) {
        expect(res.body).to.deep.equal({
          error: 'temporarily_unavailable',
          error_description: 'The server is busy; retry later.',
        });
        expect(res.headers).to.include({ ...NO_STORE, 'retry-after': '1' });
      }
      const causes = (await entries(server, 'fecte')).map((entry) => entry.details.cause);
      expect(
        causes.filter((c) => c?.includes('too many exchanges from 203.0.113.99')),
      ).to.have.length(3);
      expect(
        causes.filter((c) => c?.includes('no attempt of 203.0.113.99 came free')),
      ).to.have.length(3);
    } finally {
      await stop(server);
    }
  });
});
