import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import FakeTimers from '@sinonjs/fake-timers';
import { expect } from 'chai';
import request from 'supertest';
import type { Response } from 'supertest';
import { FunctionLogSink, JsonLinesLogSink } from '../../lib/index.js';
import type { LogEntry, LogSink } from '../../lib/index.js';
import { SECRET, basic, exchangeBody, form, testServer } from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';
import { recordingLogger } from '../support/recording-logger.js';
import { until } from '../support/until.js';
import { APP } from '../support/oauth-responses.js';

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A token exchange by `app` (Basic) unless `auth` is '', from `ip` (trust proxy is on). */
function exchange(
  server: TestServer,
  subjectToken: string,
  {
    ip,
    auth = APP,
    extra = {},
  }: { ip?: string; auth?: string; extra?: Record<string, string> } = {},
): Promise<Response> {
  const req = request(server.app).post('/oauth/token').set('User-Agent', 'cte-log-tests/1.0');
  if (ip) req.set('X-Forwarded-For', ip);
  if (auth) req.set('Authorization', auth);
  return req
    .type('form')
    .send(form(exchangeBody({ subject_token: subjectToken, ...extra })))
    .then((res) => res);
}

/** Status, headers that matter and body of a response, tokens replaced by their shape. */
function shape(res: Response) {
  const body = { ...(res.body as Record<string, unknown>) };
  for (const key of ['access_token', 'id_token']) {
    if (typeof body[key] === 'string') body[key] = `<jwt ${body[key].split('.').length} parts>`;
  }
  return {
    status: res.status,
    cacheControl: res.headers['cache-control'],
    contentType: res.headers['content-type'],
    body,
  };
}

/** An entry without what differs from run to run (ids, dates; profile ids differ per router). */
function stable(entry: LogEntry) {
  const { log_id: _id, date: _date, ...rest } = entry;
  const {
    access_token_jti: jti,
    profile_id: profile,
    action_id: action,
    ...details
  } = rest.details;
  if (details.cause) details.cause = details.cause.replace(/[0-9a-f-]{36}/g, '<action id>');
  return { ...rest, details, has: { jti: !!jti, profile: !!profile, action: !!action } };
}

/** The exchanges every sink test sends: a success, a deny, an action that throws, a bad secret. */
const SCRIPT: Array<{ token: string; auth?: string }> = [
  { token: 'user:auth0|alice' },
  { token: 'deny:access_denied:not today' },
  { token: 'throw' },
  { token: 'user:auth0|alice', auth: basic('app', 'wrong-secret-0123456789') },
  { token: 'conn:partner:p-42' },
];

async function runScript(server: TestServer) {
  const shapes = [];
  for (const { token, auth } of SCRIPT) {
    shapes.push(shape(await exchange(server, token, auth === undefined ? {} : { auth })));
  }
  return { shapes, entries: (await server.cte.logs.list()).map(stable) };
}

/** Mean time of `count` successful exchanges, in ms. */
async function meanExchangeMs(server: TestServer, count: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const res = await exchange(server, 'user:auth0|alice');
    expect(res.status).to.equal(200);
  }
  return (performance.now() - started) / count;
}

/** Replaces console.warn (the default logger's warn) for the duration of `fn`, collecting what it is given. */
async function capturingWarnings(fn: (warnings: string[]) => Promise<void>): Promise<void> {
  const original = console.warn;
  const warnings: string[] = [];
  console.warn = (message: string) => warnings.push(message);
  try {
    await fn(warnings);
  } finally {
    console.warn = original;
  }
}

/** The warning the router logs when the first sink, an Object, drops an entry for `reason`. */
function dropWarning(reason: string) {
  return {
    level: 'warn',
    fields: { component: 'tenant-log' },
    message:
      'customTokenExchange: tenant-log sink options.logSinks[0] (Object) dropped an entry: ' +
      `Error: ${reason}. logs.dropped() counts every drop; this warning repeats at most once a ` +
      'minute per sink.',
  };
}

describe('tenant logs through the router', () => {
  describe('(await cte.logs.list()): the in-memory ring as an operator queries it', () => {
    let server: TestServer;
    let beforeDeny: Date;
    let afterSpa: Date;

    before(async () => {
      server = await testServer();
      server.app.set('trust proxy', 'loopback');
      // Entry dates come from a fake Date the test moves on between the groups of requests, so the
      // date-range query below has clear bounds; in the past, so no entry lies in the future.
      const clock = FakeTimers.install({ now: Date.now() - 60_000, toFake: ['Date'] });
      const nextSecond = (): number => {
        clock.setSystemTime(clock.now + 1000);
        return clock.now;
      };
      // Kept as numbers while Date is faked: a fake Date is no `instanceof` the real one.
      let fromMs = 0;
      let toMs = 0;
      try {
        const ok = async (res: Promise<Response>, status: number) => {
          const answer = await res;
          expect(answer.status, JSON.stringify(answer.body)).to.equal(status);
        };
        await ok(exchange(server, 'user:auth0|alice', { ip: '203.0.113.7' }), 200);
        await ok(
          exchange(server, 'conn:partner:p-42', {
            ip: '198.51.100.9',
            auth: '',
            extra: { client_id: 'post-app', client_secret: SECRET },
          }),
          200,
        );
        fromMs = nextSecond();
        await ok(exchange(server, 'deny:access_denied:nope', { ip: '198.51.100.9' }), 400);
        await ok(
          exchange(server, 'user:auth0|alice', {
            ip: '2001:db8::7',
            auth: '',
            extra: { client_id: 'spa' },
          }),
          200,
        );
        toMs = clock.now + 1; // just after the entries so far: to_date is exclusive
        nextSecond();
        await ok(
          exchange(server, 'user:auth0|alice', {
            ip: '203.0.113.7',
            auth: basic('app', 'not-the-secret'),
          }),
          401,
        );
      } finally {
        clock.uninstall();
      }
      beforeDeny = new Date(fromMs);
      afterSpa = new Date(toMs);
    });
    after(async () => {
      await server.cte.close();
    });

    /** [type, client_id, user_id, ip] of the entries a query lists. */
    const summary = (entries: LogEntry[]) =>
      entries.map((e) => [e.type, e.client_id, e.user_id, e.ip]);

    it('lists every entry newest first', async () => {
      expect(summary(await server.cte.logs.list())).to.eql([
        ['fecte', 'app', undefined, '203.0.113.7'],
        ['secte', 'spa', 'auth0|alice', '2001:db8::7'],
        ['fecte', 'app', undefined, '198.51.100.9'],
        ['secte', 'post-app', 'partner|p-42', '198.51.100.9'],
        ['secte', 'app', 'auth0|alice', '203.0.113.7'],
      ]);
    });

    it('filters by type, client, user, IP and date range, alone or together', async () => {
      const { logs } = server.cte;
      expect(summary(await logs.list({ type: 'fecte' }))).to.eql([
        ['fecte', 'app', undefined, '203.0.113.7'],
        ['fecte', 'app', undefined, '198.51.100.9'],
      ]);
      // The failed Basic attempt named client app: an operator finds it under that client.
      expect(summary(await logs.list({ client_id: 'app' }))).to.eql([
        ['fecte', 'app', undefined, '203.0.113.7'],
        ['fecte', 'app', undefined, '198.51.100.9'],
        ['secte', 'app', 'auth0|alice', '203.0.113.7'],
      ]);
      expect(summary(await logs.list({ user_id: 'auth0|alice' }))).to.eql([
        ['secte', 'spa', 'auth0|alice', '2001:db8::7'],
        ['secte', 'app', 'auth0|alice', '203.0.113.7'],
      ]);
      expect(summary(await logs.list({ ip: '198.51.100.9' }))).to.eql([
        ['fecte', 'app', undefined, '198.51.100.9'],
        ['secte', 'post-app', 'partner|p-42', '198.51.100.9'],
      ]);
      expect(summary(await logs.list({ ip: '2001:DB8::7' }))).to.eql([
        ['secte', 'spa', 'auth0|alice', '2001:db8::7'],
      ]);
      expect(summary(await logs.list({ from_date: beforeDeny, to_date: afterSpa }))).to.eql([
        ['secte', 'spa', 'auth0|alice', '2001:db8::7'],
        ['fecte', 'app', undefined, '198.51.100.9'],
      ]);
      expect(
        summary(await logs.list({ from_date: beforeDeny.toISOString(), type: 'secte' })),
      ).to.eql([['secte', 'spa', 'auth0|alice', '2001:db8::7']]);
      expect(
        summary(await logs.list({ ip: '203.0.113.7', type: 'secte', user_id: 'auth0|alice' })),
      ).to.eql([['secte', 'app', 'auth0|alice', '203.0.113.7']]);
    });

    it('pages with take and the from cursor, stable while exchanges keep writing', async () => {
      const all = (await server.cte.logs.list()).map((e) => e.log_id);
      const seen: string[] = [];
      let from: string | undefined;
      for (;;) {
        const page = await server.cte.logs.list({ take: 2, ...(from ? { from } : {}) });
        if (page.length === 0) break;
        seen.push(...page.map((e) => e.log_id));
        from = page.at(-1)!.log_id;
        // A new exchange between two pages lands before the first page, not in the next one.
        await exchange(server, 'user:auth0|alice', { ip: '192.0.2.1' });
      }
      expect(seen).to.eql(all);
      expect(await server.cte.logs.list({ ip: '192.0.2.1' })).to.have.length(3);
    });

    it('refuses a misspelt filter rather than listing everything', async () => {
      const error = await server.cte.logs.list({ clientId: 'app' } as never).then(
        () => expect.fail('a misspelt filter was accepted'),
        (err: unknown) => err,
      );
      expect(error)
        .to.be.instanceOf(TypeError)
        .with.property('message', 'MemoryLogSink.list: unknown query field "clientId"');
    });
  });

  describe('a slow or failing sink never slows or fails an exchange', () => {
    let baseline: TestServer;
    let baselineRun: Awaited<ReturnType<typeof runScript>>;
    let baselineMs: number;

    before(async () => {
      baseline = await testServer();
      baselineRun = await runScript(baseline);
      await meanExchangeMs(baseline, 5); // warm up
      baselineMs = await meanExchangeMs(baseline, 20);
    });
    after(async () => {
      await baseline.cte.close();
    });

    /** Sends the script and the timed exchanges through a router with `sink`, as through the baseline. */
    async function expectUnaffected(server: TestServer): Promise<void> {
      const run = await runScript(server);
      expect(run).to.deep.equal(baselineRun);
      const sinkMs = await meanExchangeMs(server, 20);
      // Generous bounds: the point is that nothing waits for the sink, which would add its
      // whole (here: infinite) latency to each exchange.
      expect(sinkMs, `${sinkMs.toFixed(1)} ms vs ${baselineMs.toFixed(1)} ms`).to.be.lessThan(
        baselineMs * 3 + 20,
      );
    }

    it('a sink whose write never resolves: same answers, same time, the writes still pending', async () => {
      const pending: Array<() => void> = [];
      const neverResolves: LogSink = {
        write: () => new Promise<void>((resolve) => pending.push(resolve)),
      };
      const server = await testServer({ logSinks: [neverResolves] });
      await expectUnaffected(server);
      // Every entry reached the sink, and not one of its writes has settled.
      expect(pending).to.have.length(SCRIPT.length + 20);
      expect(server.cte.logs.dropped()).to.eql([
        { sink: 'memory', name: 'MemoryLogSink', dropped: 0 },
        { sink: 0, name: 'Object', dropped: 0 },
      ]);
      pending.forEach((resolve) => resolve());
      await server.cte.close();
    });

    it('a sink whose write throws: same answers, same time; drops counted and warned about once', async () => {
      const { logger, records } = recordingLogger();
      const throwing: LogSink = {
        write: () => {
          throw new Error('disk on fire');
        },
      };
      const server = await testServer({ logSinks: [throwing], logger });
      await expectUnaffected(server);
      expect(server.cte.logs.dropped()).to.eql([
        { sink: 'memory', name: 'MemoryLogSink', dropped: 0 },
        { sink: 0, name: 'Object', dropped: SCRIPT.length + 20 },
      ]);
      expect(records).to.eql([dropWarning('disk on fire')]);
      await server.cte.close();
    });

    it('a FunctionLogSink whose logger rejects: drops go to onLogSinkError with the sink and entry', async () => {
      const reported: Array<{ error: string; sink: LogSink; entry: LogEntry }> = [];
      const sink = new FunctionLogSink(async () => {
        throw new Error('log service unavailable');
      });
      const server = await testServer({
        logSinks: [sink],
        onLogSinkError: (error, failed, entry) =>
          reported.push({ error: (error as Error).message, sink: failed, entry }),
      });
      await expectUnaffected(server);
      await settle();
      expect(server.cte.logs.dropped()[1]).to.eql({
        sink: 0,
        name: 'FunctionLogSink',
        dropped: SCRIPT.length + 20,
      });
      expect(reported).to.have.length(SCRIPT.length + 20);
      expect(reported[0]!.error).to.equal('log service unavailable');
      expect(reported[0]!.sink).to.equal(sink);
      expect(
        reported
          .map((r) => r.entry.log_id)
          .reverse()
          .slice(0, 20),
      ).to.eql((await server.cte.logs.list({ take: 20 })).map((e) => e.log_id));
      expect(Object.isFrozen(reported[0]!.entry)).to.equal(true);
      await server.cte.close();
    });

    it('a JsonLinesLogSink on a stream that stopped reading: same answers; its buffer stays capped, drops counted', async () => {
      const stuck = new Writable({ write: () => undefined }); // never calls back
      const reports: number[] = [];
      const sink = new JsonLinesLogSink({
        stream: stuck,
        flushIntervalMs: 0,
        maxBufferBytes: 4096,
        closeTimeoutMs: 10,
        onError: (_error, dropped) => reports.push(dropped),
      });
      const server = await testServer({ logSinks: [sink] });
      await expectUnaffected(server);
      const [, counted] = server.cte.logs.dropped();
      // About 4 KiB of entries fit; every other entry was dropped, and counted.
      expect(counted!.dropped).to.be.within(SCRIPT.length + 20 - 10, SCRIPT.length + 20 - 2);
      expect(reports.reduce((a, b) => a + b, 0)).to.equal(counted!.dropped);
      await server.cte.close();
      expect(server.cte.logs.dropped()[1]!.dropped).to.equal(SCRIPT.length + 20);
    });

    it('close() stops waiting for a write that never settles after closeTimeoutMs (5 s), counting it as dropped', async () => {
      const { logger, records } = recordingLogger();
      const server = await testServer({
        logSinks: [{ write: () => new Promise<void>(() => undefined) }],
        logger,
      });
      expect((await exchange(server, 'user:auth0|alice')).status).to.equal(200);
      const clock = FakeTimers.install({
        toFake: ['setTimeout', 'clearTimeout'],
        shouldClearNativeTimers: true,
      });
      try {
        let closed = false;
        const closing = server.cte.close().then(() => {
          closed = true;
        });
        await until(() => clock.countTimers() > 0, 'close() waits for the pending write');
        await clock.tickAsync(4_999);
        expect(closed).to.equal(false);
        await clock.tickAsync(1);
        await closing;
      } finally {
        clock.uninstall();
      }
      expect(server.cte.logs.dropped()[1]!.dropped).to.equal(1);
      expect(records).to.eql([
        dropWarning('the write was still pending when the tenant log closed'),
      ]);
    });
  });

  describe('JsonLinesLogSink to a file through the router', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'cte-tenant-logs-'));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('holds every entry the ring holds, in write order, once close() flushed it', async () => {
      const path = join(dir, 'tenant.jsonl');
      const sink = new JsonLinesLogSink({ path, flushIntervalMs: 60_000 });
      const server = await testServer({ logSinks: [sink] });
      await runScript(server);
      expect(sink.written).to.equal(0); // buffered: the interval has not passed
      await server.cte.close();
      const lines = (await readFile(path, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as LogEntry);
      expect(lines).to.eql((await server.cte.logs.list()).reverse());
      expect(lines.map((e) => e.type)).to.eql(['secte', 'fecte', 'fecte', 'fecte', 'secte']);
      expect(server.cte.logs.dropped()[1]).to.eql({
        sink: 0,
        name: 'JsonLinesLogSink',
        dropped: 0,
      });
    });
  });

  describe("events: cte.on('secte' | 'fecte' | any type written)", () => {
    let server: TestServer;
    beforeEach(async () => {
      server = await testServer();
    });
    afterEach(async () => {
      await server.cte.close();
    });

    it('emits every entry under its type, as deep-frozen copies equal to the ring’s', async () => {
      const seen: Array<[string, LogEntry]> = [];
      const chained = server.cte
        .on('secte', (e) => seen.push(['secte', e]))
        .on('fecte', (e) => seen.push(['fecte', e]));
      expect(chained).to.equal(server.cte);
      await runScript(server);
      await settle();
      const ring = (await server.cte.logs.list()).reverse();
      expect(seen.map(([type]) => type)).to.eql(['secte', 'fecte', 'fecte', 'fecte', 'secte']);
      expect(seen.map(([, e]) => e)).to.eql(ring);
      for (const [type, e] of seen) {
        expect(e.type).to.equal(type);
        expect(Object.isFrozen(e)).to.equal(true);
        expect(Object.isFrozen(e.details)).to.equal(true);
      }
      // A listener cannot change what the ring (or another sink) holds.
      expect(() => {
        (seen[0]![1].details as { profile_id?: string }).profile_id = 'changed';
      }).to.throw(TypeError);
    });

    it('once() hears one entry; off() stops a listener', async () => {
      const once: string[] = [];
      const on: string[] = [];
      const listener = (e: LogEntry) => on.push(e.type);
      server.cte.once('secte', (e) => once.push(e.type)).on('secte', listener);
      await exchange(server, 'user:auth0|alice');
      server.cte.off('secte', listener);
      await exchange(server, 'user:auth0|alice');
      await settle();
      expect(once).to.eql(['secte']);
      expect(on).to.eql(['secte']);
      expect(await server.cte.logs.list()).to.have.length(2);
    });

    it('a listener that throws or rejects changes nothing for the exchange, and is warned about once', async () => {
      await capturingWarnings(async (warnings) => {
        const other = await testServer();
        const clean = await runScript(other);
        await other.cte.close();
        const heard: string[] = [];
        server.cte
          .on('secte', () => {
            throw new Error('listener bug');
          })
          .on('fecte', async () => {
            throw new Error('async listener bug');
          })
          .on('secte', (e) => heard.push(e.type));
        expect(await runScript(server)).to.deep.equal(clean);
        await settle();
        expect(heard).to.eql(['secte', 'secte']);
        expect(warnings).to.have.members([
          'customTokenExchange: a "secte" tenant-log listener failed: Error: listener bug. ' +
            'The exchange was not affected.',
          'customTokenExchange: a "fecte" tenant-log listener failed: Error: async listener bug. ' +
            'The exchange was not affected.',
        ]);
      });
    });
  });

  it('refuses an onLogSinkError that is not a function', async () => {
    let error: unknown;
    try {
      await testServer({ onLogSinkError: 'console.warn' as never });
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(TypeError);
    expect((error as Error).message).to.equal(
      'customTokenExchange: options.onLogSinkError must be a function (error, sink, entry) => void',
    );
  });
});
