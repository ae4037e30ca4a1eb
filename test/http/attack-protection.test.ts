import { expect } from 'chai';
import { MemoryStore } from 'express-rate-limit';
import type { Store } from 'express-rate-limit';
import request from 'supertest';
import { ManagementError, MemoryAttemptStore } from '../../lib/index.js';
import type {
  AttackProtectionOptions,
  AttemptStore,
  CustomTokenExchangeHandler,
  LogEntry,
} from '../../lib/index.js';
import {
  SECRET,
  SUBJECT_TYPE,
  basic,
  commandAction,
  form,
  testServer,
  profileFor,
} from '../support/fixtures.js';
import { recordingLogger } from '../support/recording-logger.js';
import type { LoggedRecord } from '../support/recording-logger.js';
import type { TestServer } from '../support/fixtures.js';
import { NO_STORE } from '../support/oauth-responses.js';

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const PARTNER_TYPE = 'urn:acme:partner-token';
const START = Date.parse('2026-03-01T12:00:00.000Z');
const BLOCKED_BODY =
  '{"error":"too_many_attempts","error_description":"We have detected suspicious login behavior and further attempts will be blocked. Please contact the administrator."}';
const REJECTED = { error: 'invalid_request', error_description: 'the subject token is invalid' };
const RATE_LIMITED = {
  error: 'too_many_requests',
  error_description: 'Too many token exchange requests; retry after the time given in Retry-After.',
};
const STORE_DOWN = {
  error: 'temporarily_unavailable',
  error_description: 'The server is busy; retry later.',
};

interface Harness extends TestServer {
  /** The fake clock of the attempt store, in ms. */
  clock: { now: number };
  /** Id of the test fixture's profile (`SUBJECT_TYPE`) and of a second one (`PARTNER_TYPE`). */
  legacyProfile: string;
  partnerProfile: string;
  /** `event.request.ip` of every execution of the partner profile's action. */
  partnerIps: string[];
}

/**
 * The fixture server with a second profile whose action records how often it ran and the IP it
 * saw. `trustProxy` is Express's setting: `'loopback'` lets the tests speak for any client IP
 * through X-Forwarded-For, as a reverse proxy on the same host would.
 */
async function harness(
  attackProtection: AttackProtectionOptions = {},
  { trustProxy = 'loopback' }: { trustProxy?: string | false } = {},
): Promise<Harness> {
  const clock = { now: START };
  const store = new MemoryAttemptStore({ now: () => clock.now });
  const server = await testServer({
    attackProtection: {
      ...attackProtection,
      suspiciousIpThrottling: { store, ...attackProtection.suspiciousIpThrottling },
    },
  });
  if (trustProxy !== false) server.app.set('trust proxy', trustProxy);
  const partnerIps: string[] = [];
  const recording: CustomTokenExchangeHandler = async (event, api) => {
    partnerIps.push(event.request.ip);
    await commandAction(event, api);
  };
  const action = await server.cte.actions.create({ name: 'partner', handler: recording });
  await server.cte.actions.deploy(action.id);
  const partner = await server.cte.profiles.create({
    name: 'Partner tokens',
    subject_token_type: PARTNER_TYPE,
    action_id: action.id,
    type: 'custom_authentication',
  });
  await server.cte.clients.create({
    client_id: 'backend',
    client_secret: SECRET,
    name: 'Backend for frontend',
    token_endpoint_auth_method: 'client_secret_basic',
    is_token_endpoint_ip_header_trusted: true,
    token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
  });
  return {
    ...server,
    clock,
    legacyProfile: (await profileFor(server.cte, SUBJECT_TYPE)).id,
    partnerProfile: partner.id,
    partnerIps,
  };
}

interface Exchange {
  /** The client IP, sent as X-Forwarded-For. */
  ip?: string;
  token?: string;
  type?: string;
  client?: 'app' | 'backend';
  headers?: Record<string, string>;
}

function exchange(server: TestServer, options: Exchange = {}) {
  const { ip, token = 'user:auth0|alice', type = SUBJECT_TYPE, client = 'app' } = options;
  const req = request(server.app)
    .post('/oauth/token')
    .set('Authorization', basic(client, SECRET))
    .type('form');
  if (ip !== undefined) req.set('X-Forwarded-For', ip);
  for (const [name, value] of Object.entries(options.headers ?? {})) req.set(name, value);
  return req.send(form({ grant_type: GRANT, subject_token: token, subject_token_type: type }));
}

/** `count` rejected subject tokens, each answered 400 as the action decided. */
async function reject(server: TestServer, count: number, options: Exchange = {}): Promise<void> {
  for (let i = 0; i < count; i++) {
    const res = await exchange(server, { ...options, token: 'reject' });
    expect(res.status, `rejection ${i + 1}`).to.equal(400);
    expect(res.body).to.deep.equal(REJECTED);
  }
}

async function expectBlocked(server: TestServer, options: Exchange = {}): Promise<void> {
  const res = await exchange(server, options);
  expect(res.status).to.equal(429);
  expect(res.headers).to.include(NO_STORE);
  expect(res.headers['content-type']).to.match(/^application\/json/);
  expect(res.text).to.equal(BLOCKED_BODY);
}

async function expectExchanged(server: TestServer, options: Exchange = {}): Promise<void> {
  const res = await exchange(server, options);
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  expect(res.body.access_token).to.be.a('string');
}

async function entries(server: TestServer, type: LogEntry['type']): Promise<LogEntry[]> {
  return (await server.cte.logs.list()).filter((entry) => entry.type === type);
}

describe('attack protection: suspicious IP throttling', () => {
  it('blocks an IP after 10 rejected subject tokens: 429 with the exact body, on every profile, before any action runs', async () => {
    const server = await harness();
    await reject(server, 9, { ip: '203.0.113.10' });
    // Rejections on another profile count against the same IP.
    await reject(server, 1, { ip: '203.0.113.10', type: PARTNER_TYPE });
    const partnerRuns = server.partnerIps.length;
    const aliceBefore = server.users.getById('auth0|alice');

    await expectBlocked(server, { ip: '203.0.113.10' });
    await expectBlocked(server, { ip: '203.0.113.10', type: PARTNER_TYPE });
    await expectBlocked(server, { ip: '203.0.113.10', token: 'reject', type: PARTNER_TYPE });

    expect(server.partnerIps).to.have.length(partnerRuns);
    // The fixture action would have refreshed alice's profile on a login.
    expect(server.users.getById('auth0|alice')).to.deep.equal(aliceBefore);
    expect(await server.cte.attackProtection.status('203.0.113.10')).to.include({
      blocked: true,
      remaining_attempts: 0,
    });
  });

  it('leaves another IP unaffected', async () => {
    const server = await harness();
    await reject(server, 10, { ip: '203.0.113.10' });
    await expectBlocked(server, { ip: '203.0.113.10' });
    await expectExchanged(server, { ip: '203.0.113.11' });
    await expectExchanged(server, { ip: '203.0.113.11', type: PARTNER_TYPE });
    expect(await server.cte.attackProtection.status('203.0.113.11')).to.include({
      blocked: false,
      remaining_attempts: 10,
    });
  });

  it('ignores X-Forwarded-For when trust proxy is off: every request counts against the socket IP', async () => {
    const server = await harness({}, { trustProxy: false });
    for (let i = 1; i <= 10; i++) await reject(server, 1, { ip: `198.51.100.${i}` });
    await expectBlocked(server, { ip: '198.51.100.99' });
    await expectBlocked(server);
    expect(await server.cte.attackProtection.status('127.0.0.1')).to.include({ blocked: true });
    expect(await server.cte.attackProtection.status('198.51.100.1')).to.include({
      blocked: false,
      remaining_attempts: 10,
    });
    const ips = new Set((await server.cte.logs.list()).map((entry) => entry.ip));
    expect([...ips]).to.deep.equal(['127.0.0.1']);
  });

  it('gives one attempt back every rate ms, one at a time', async () => {
    const server = await harness();
    const ip = '203.0.113.10';
    await reject(server, 10, { ip });
    await expectBlocked(server, { ip });

    server.clock.now = START + 600_000 - 1;
    await expectBlocked(server, { ip });
    server.clock.now = START + 600_000;
    expect(await server.cte.attackProtection.status(ip)).to.include({
      blocked: false,
      remaining_attempts: 1,
    });
    // One attempt: a good exchange does not use it, a rejection does.
    await expectExchanged(server, { ip });
    await reject(server, 1, { ip });
    await expectBlocked(server, { ip });

    // The fraction of the next attempt is kept: the second one is back at 2 × rate.
    server.clock.now = START + 2 * 600_000;
    expect(await server.cte.attackProtection.status(ip)).to.include({ remaining_attempts: 1 });
    server.clock.now = START + 12 * 600_000;
    expect(await server.cte.attackProtection.status(ip)).to.include({
      remaining_attempts: 10,
      next_attempt_at: null,
    });
  });

  it('honours maxAttempts and rate from the options', async () => {
    const server = await harness({ suspiciousIpThrottling: { maxAttempts: 3, rate: 60_000 } });
    await reject(server, 3, { ip: '203.0.113.10' });
    await expectBlocked(server, { ip: '203.0.113.10' });
    server.clock.now = START + 60_000;
    await expectExchanged(server, { ip: '203.0.113.10' });
  });

  it('never blocks allow-listed IPs and networks (an IP, an IPv4 CIDR, an IPv6 CIDR)', async () => {
    const allowlist = ['203.0.113.10', '198.51.100.0/24', '2001:db8:aaaa::/48'];
    const server = await harness({ suspiciousIpThrottling: { allowlist } });
    for (const ip of ['203.0.113.10', '198.51.100.77', '2001:db8:aaaa:1::5']) {
      await reject(server, 15, { ip });
      await expectExchanged(server, { ip });
      expect(await server.cte.attackProtection.status(ip)).to.include({
        allowlisted: true,
        blocked: false,
        remaining_attempts: 10,
      });
    }
    // Neighbours outside the list are throttled as usual.
    await reject(server, 10, { ip: '198.51.101.1' });
    await expectBlocked(server, { ip: '198.51.101.1' });
    expect((await entries(server, 'limit_cte')).map((entry) => entry.ip)).to.deep.equal([
      '198.51.101.1',
    ]);
  });

  it('unblocks an IP through cte.attackProtection.unblock(ip)', async () => {
    const server = await harness();
    await reject(server, 10, { ip: '203.0.113.10' });
    await expectBlocked(server, { ip: '203.0.113.10' });
    await server.cte.attackProtection.unblock('203.0.113.10');
    await expectExchanged(server, { ip: '203.0.113.10' });
    expect(await server.cte.attackProtection.status('203.0.113.10')).to.include({
      blocked: false,
      remaining_attempts: 10,
    });
  });

  it('reports status(ip): attempts left and when the next one comes back', async () => {
    const server = await harness();
    expect(await server.cte.attackProtection.status('203.0.113.10')).to.deep.equal({
      ip: '203.0.113.10',
      key: '203.0.113.10',
      enabled: true,
      allowlisted: false,
      blocked: false,
      remaining_attempts: 10,
      max_attempts: 10,
      rate: 600_000,
      next_attempt_at: null,
    });
    await reject(server, 2, { ip: '203.0.113.10' });
    server.clock.now = START + 1000;
    await reject(server, 1, { ip: '203.0.113.10' });
    // Asked in its IPv4-mapped IPv6 form, the IP is the same.
    expect(await server.cte.attackProtection.status('::ffff:203.0.113.10')).to.deep.equal({
      ip: '203.0.113.10',
      key: '203.0.113.10',
      enabled: true,
      allowlisted: false,
      blocked: false,
      remaining_attempts: 7,
      max_attempts: 10,
      rate: 600_000,
      next_attempt_at: new Date(START + 600_000).toISOString(),
    });
    for (const bad of ['not-an-ip', '203.0.113.10:443', '', 42]) {
      let error: unknown;
      try {
        await server.cte.attackProtection.status(bad as string);
      } catch (err) {
        error = err;
      }
      expect(error, String(bad)).to.be.instanceOf(ManagementError);
      expect(error).to.include({
        code: 'invalid_body',
        message: 'ip must be an IPv4 or IPv6 address',
      });
    }
  });

  it('counts IPv6 clients per /64: two addresses of one /64 share a bucket, another /64 does not', async () => {
    const server = await harness();
    await reject(server, 5, { ip: '2001:db8:1:2::1' });
    await reject(server, 5, { ip: '2001:db8:1:2:ffff:ffff:ffff:fffe' });
    await expectBlocked(server, { ip: '2001:db8:1:2::3' });
    await expectExchanged(server, { ip: '2001:db8:1:3::1' });
    expect(await server.cte.attackProtection.status('2001:db8:1:2::42')).to.include({
      key: '2001:db8:1:2::/64',
      blocked: true,
    });
    await server.cte.attackProtection.unblock('2001:db8:1:2:abcd::1');
    await expectExchanged(server, { ip: '2001:db8:1:2::1' });
  });

  it('groups IPv6 by a configured prefix, and counts IPv4-mapped IPv6 as the IPv4 address', async () => {
    const server = await harness({ suspiciousIpThrottling: { ipv6Subnet: 48 } });
    await reject(server, 5, { ip: '2001:db8:1:2::1' });
    await reject(server, 5, { ip: '2001:db8:1:3::1' });
    await expectBlocked(server, { ip: '2001:db8:1:ffff::1' });
    await expectExchanged(server, { ip: '2001:db8:2::1' });

    await reject(server, 10, { ip: '::ffff:203.0.113.20' });
    await expectBlocked(server, { ip: '203.0.113.20' });
    const [block] = (await entries(server, 'limit_cte')).filter(
      (entry) => entry.ip === '203.0.113.20',
    );
    expect(block?.details.suspicious_ip_throttling?.key).to.equal('203.0.113.20');
  });

  it('writes one limit_cte entry when an IP becomes blocked, and a fecte entry for each refused request', async () => {
    const server = await harness();
    const profile = await profileFor(server.cte, SUBJECT_TYPE);
    await reject(server, 9, { ip: '203.0.113.10' });
    expect(await entries(server, 'limit_cte')).to.deep.equal([]);
    server.clock.now = START + 5000;
    await reject(server, 1, { ip: '203.0.113.10', headers: { 'User-Agent': 'attacker/1.0' } });

    const blocks = await entries(server, 'limit_cte');
    expect(blocks).to.have.length(1);
    const block = blocks[0]!;
    expect(block).to.deep.equal({
      log_id: block.log_id,
      date: block.date,
      type: 'limit_cte',
      description: 'Blocked IP address: too many invalid subject tokens via Custom Token Exchange',
      client_id: 'app',
      client_name: 'First-party app',
      ip: '203.0.113.10',
      user_agent: 'attacker/1.0',
      hostname: '127.0.0.1',
      audience: 'https://api.example.com/',
      details: {
        subject_token_type: SUBJECT_TYPE,
        profile_id: profile.id,
        action_id: profile.action_id,
        suspicious_ip_throttling: {
          key: '203.0.113.10',
          max_attempts: 10,
          rate: 600_000,
          next_attempt_at: new Date(START + 600_000).toISOString(),
        },
      },
    });
    // The rejection that blocked the IP still has its own fecte entry, written after the block.
    const [latest, beforeLatest] = await server.cte.logs.list();
    expect([latest!.type, beforeLatest!.type]).to.deep.equal(['fecte', 'limit_cte']);
    expect(latest!.details).to.include({
      error: 'invalid_request',
      cause: 'invalid subject token',
    });

    await expectBlocked(server, { ip: '203.0.113.10', type: PARTNER_TYPE });
    await expectBlocked(server, { ip: '203.0.113.10' });
    expect(await entries(server, 'limit_cte')).to.have.length(1);
    const refused = (await entries(server, 'fecte')).slice(0, 2);
    expect(refused.map((entry) => entry.details)).to.deep.equal([
      {
        subject_token_type: SUBJECT_TYPE,
        error: 'too_many_attempts',
        error_description: JSON.parse(BLOCKED_BODY).error_description,
        cause: 'suspicious IP throttling: 203.0.113.10 is blocked',
      },
      {
        subject_token_type: PARTNER_TYPE,
        error: 'too_many_attempts',
        error_description: JSON.parse(BLOCKED_BODY).error_description,
        cause: 'suspicious IP throttling: 203.0.113.10 is blocked',
      },
    ]);
    expect(refused.map((entry) => [entry.ip, entry.client_id])).to.deep.equal([
      ['203.0.113.10', 'app'],
      ['203.0.113.10', 'app'],
    ]);
  });

  it('is not counted or enforced when disabled', async () => {
    const server = await harness({ suspiciousIpThrottling: { enabled: false } });
    await reject(server, 12, { ip: '203.0.113.10' });
    await expectExchanged(server, { ip: '203.0.113.10' });
    expect(await server.cte.attackProtection.status('203.0.113.10')).to.include({
      enabled: false,
      blocked: false,
      remaining_attempts: 10,
    });
    expect(await entries(server, 'limit_cte')).to.deep.equal([]);
  });
});

describe('attack protection: the client IP', () => {
  it('takes the end user IP from auth0-forwarded-for for a client with is_token_endpoint_ip_header_trusted', async () => {
    const server = await harness({}, { trustProxy: false });
    const forwarded = (ip: string) => ({ 'auth0-forwarded-for': ip });
    await reject(server, 10, { client: 'backend', headers: forwarded('192.0.2.50') });
    await expectBlocked(server, { client: 'backend', headers: forwarded('192.0.2.50') });
    // The server's other users, and the server itself, are not blocked.
    await expectExchanged(server, { client: 'backend', headers: forwarded('192.0.2.51') });
    await expectExchanged(server, { client: 'backend' });
    expect(await server.cte.attackProtection.status('127.0.0.1')).to.include({
      remaining_attempts: 10,
    });

    // The action and the log see the forwarded IP.
    await expectExchanged(server, {
      client: 'backend',
      type: PARTNER_TYPE,
      headers: forwarded('::ffff:192.0.2.52'),
    });
    expect(server.partnerIps).to.deep.equal(['192.0.2.52']);
    expect((await server.cte.logs.list())[0]).to.include({ type: 'secte', ip: '192.0.2.52' });
  });

  it('ignores the forwarded-IP header of any other client', async () => {
    const server = await harness({}, { trustProxy: false });
    const headers = { 'auth0-forwarded-for': '192.0.2.60' };
    await reject(server, 10, { client: 'app', headers });
    // The rejections counted against the socket IP, not the one the client claimed.
    expect(await server.cte.attackProtection.status('192.0.2.60')).to.include({
      remaining_attempts: 10,
    });
    await expectBlocked(server, {
      client: 'app',
      headers: { 'auth0-forwarded-for': '192.0.2.61' },
    });
    await expectBlocked(server, { client: 'app', type: PARTNER_TYPE, headers });
    expect(server.partnerIps).to.deep.equal([]);
    expect(new Set((await server.cte.logs.list()).map((entry) => entry.ip))).to.deep.equal(
      new Set(['127.0.0.1']),
    );
  });

  it('shows event.request.ip and the log ip per trust proxy, and uses a configured header name', async () => {
    const server = await harness({ forwardedIpHeader: 'X-End-User-IP' });
    await expectExchanged(server, { ip: '203.0.113.30', type: PARTNER_TYPE });
    await expectExchanged(server, {
      client: 'backend',
      ip: '203.0.113.31',
      type: PARTNER_TYPE,
      headers: { 'x-end-user-ip': '2001:db8::31', 'auth0-forwarded-for': '192.0.2.1' },
    });
    // auth0-forwarded-for is not the configured header: the trust-proxy IP counts.
    await expectExchanged(server, {
      client: 'backend',
      ip: '203.0.113.32',
      type: PARTNER_TYPE,
      headers: { 'auth0-forwarded-for': '192.0.2.1' },
    });
    expect(server.partnerIps).to.deep.equal(['203.0.113.30', '2001:db8::31', '203.0.113.32']);
    expect((await server.cte.logs.list()).map((entry) => entry.ip).reverse()).to.deep.equal([
      '203.0.113.30',
      '2001:db8::31',
      '203.0.113.32',
    ]);
  });

  it('refuses a trusted client whose forwarded-IP header is not one IP address', async () => {
    const server = await harness({}, { trustProxy: false });
    for (const value of ['203.0.113.1, 203.0.113.2', 'localhost', '203.0.113.1:8080']) {
      const res = await exchange(server, {
        client: 'backend',
        headers: { 'auth0-forwarded-for': value },
      });
      expect(res.status, value).to.equal(400);
      expect(res.headers).to.include(NO_STORE);
      expect(res.body).to.deep.equal({
        error: 'invalid_request',
        error_description: 'the auth0-forwarded-for header must be one IP address',
      });
    }
    expect(server.partnerIps).to.deep.equal([]);
  });
  it('refuses an IPv6 zone id in the forwarded-IP header as not an IP address, and logs why', async () => {
    const server = await harness({}, { trustProxy: false });
    for (const value of ['2001:db8::1%eth0', 'fe80::1%1', '::ffff:203.0.113.1%lo']) {
      const res = await exchange(server, {
        client: 'backend',
        headers: { 'auth0-forwarded-for': value },
      });
      expect(res.status, value).to.equal(400);
      expect(res.headers).to.include(NO_STORE);
      expect(res.headers['content-type']).to.match(/^application\/json/);
      expect(res.body).to.deep.equal({
        error: 'invalid_request',
        error_description: 'the auth0-forwarded-for header must be one IP address',
      });
      const [logged] = await entries(server, 'fecte');
      expect(logged).to.deep.include({
        type: 'fecte',
        description: 'the auth0-forwarded-for header must be one IP address',
        client_id: 'backend',
        client_name: 'Backend for frontend',
      });
      expect(logged!.details).to.deep.equal({
        subject_token_type: SUBJECT_TYPE,
        error: 'invalid_request',
        error_description: 'the auth0-forwarded-for header must be one IP address',
      });
    }
    expect(await entries(server, 'fecte')).to.have.length(3);
    expect(server.partnerIps).to.deep.equal([]);
  });

  it('refuses an IP with a zone id in status() and unblock()', async () => {
    const server = await harness();
    for (const ip of ['2001:db8::1%eth0', 'fe80::1%1']) {
      for (const call of [
        () => server.cte.attackProtection.status(ip),
        () => server.cte.attackProtection.unblock(ip),
      ]) {
        let error: unknown;
        try {
          await call();
        } catch (err) {
          error = err;
        }
        expect(error, ip).to.be.instanceOf(ManagementError);
        expect(error).to.include({
          code: 'invalid_body',
          message: 'ip must be an IPv4 or IPv6 address',
        });
      }
    }
  });
});

describe('attack protection: per-profile rate limits', () => {
  function rateLimitHeaders(res: request.Response) {
    return { limit: res.headers['ratelimit'], policy: res.headers['ratelimit-policy'] };
  }

  it('limits each profile per IP, with draft-8 RateLimit headers, and answers 429 too_many_requests', async () => {
    const server = await harness({ profileRateLimit: { windowMs: 60_000, limit: 3 } });
    for (let used = 1; used <= 3; used++) {
      const res = await exchange(server, { ip: '203.0.113.40' });
      expect(res.status).to.equal(200);
      const { limit, policy } = rateLimitHeaders(res);
      expect(limit).to.match(new RegExp(`^"3-in-1min"; r=${3 - used}; t=(60|59)$`));
      expect(policy).to.match(/^"3-in-1min"; q=3; w=60; pk=:[A-Za-z0-9+/=]+:$/);
    }
    const res = await exchange(server, { ip: '203.0.113.40' });
    expect(res.status).to.equal(429);
    expect(res.headers).to.include(NO_STORE);
    expect(res.body).to.deep.equal(RATE_LIMITED);
    expect(res.headers['retry-after']).to.match(/^(60|59)$/);
    expect(rateLimitHeaders(res).limit).to.match(/^"3-in-1min"; r=0; t=(60|59)$/);
    expect((await entries(server, 'fecte'))[0]!.details).to.deep.equal({
      subject_token_type: SUBJECT_TYPE,
      error: 'too_many_requests',
      error_description: RATE_LIMITED.error_description,
      cause: 'rate limit of default (3 per 60000 ms)',
    });

    // Counted per profile and per IP.
    await expectExchanged(server, { ip: '203.0.113.40', type: PARTNER_TYPE });
    await expectExchanged(server, { ip: '203.0.113.41' });
  });

  it('gives one profile its own limit through setProfileRateLimit, and null returns it to the default', async () => {
    const server = await harness({ profileRateLimit: { limit: 5 } });
    await server.cte.attackProtection.setProfileRateLimit(server.partnerProfile, { limit: 1 });
    expect(server.cte.attackProtection.getProfileRateLimit(server.partnerProfile)).to.deep.equal({
      windowMs: 60_000,
      limit: 1,
    });
    expect(server.cte.attackProtection.getProfileRateLimit(server.legacyProfile)).to.deep.equal({
      windowMs: 60_000,
      limit: 5,
    });
    await expectExchanged(server, { ip: '203.0.113.40', type: PARTNER_TYPE });
    const limited = await exchange(server, { ip: '203.0.113.40', type: PARTNER_TYPE });
    expect(limited.status).to.equal(429);
    expect(limited.body).to.deep.equal(RATE_LIMITED);
    expect(rateLimitHeaders(limited).policy).to.match(/^"1-in-1min"; q=1; w=60; /);
    await expectExchanged(server, { ip: '203.0.113.40' });

    await server.cte.attackProtection.setProfileRateLimit(server.partnerProfile, null);
    const res = await exchange(server, { ip: '203.0.113.40', type: PARTNER_TYPE });
    expect(res.status).to.equal(200);
    expect(rateLimitHeaders(res).limit).to.match(/^"5-in-1min"; r=4; /);
  });

  it('limits only the profiles given a limit when no default is configured', async () => {
    const server = await harness();
    const res = await exchange(server, { ip: '203.0.113.40' });
    expect(res.status).to.equal(200);
    expect(rateLimitHeaders(res)).to.deep.equal({ limit: undefined, policy: undefined });
    expect(server.cte.attackProtection.getProfileRateLimit(server.legacyProfile)).to.equal(
      undefined,
    );

    await server.cte.attackProtection.setProfileRateLimit(server.legacyProfile, {
      windowMs: 10_000,
      limit: 2,
    });
    await expectExchanged(server, { ip: '203.0.113.40' });
    await expectExchanged(server, { ip: '203.0.113.40' });
    const limited = await exchange(server, { ip: '203.0.113.40' });
    expect(limited.status).to.equal(429);
    expect(rateLimitHeaders(limited).policy).to.match(/^"2-in-10sec"; q=2; w=10; /);
    await expectExchanged(server, { ip: '203.0.113.40', type: PARTNER_TYPE });
  });

  it('refuses an unknown profile or a bad limit with a ManagementError', async () => {
    const server = await harness();
    const cases: Array<[string, unknown, string, string]> = [
      ['tep_unknown', { limit: 1 }, 'not_found', 'profile'],
      [server.legacyProfile, { limit: 0 }, 'invalid_body', 'limit.limit must be an integer'],
      [server.legacyProfile, { windowMs: 10 }, 'invalid_body', 'limit.windowMs must be'],
      [server.legacyProfile, { max: 3 }, 'invalid_body', 'limit.max is not a known property'],
      [server.legacyProfile, 'fast', 'invalid_body', 'limit must be a plain object'],
    ];
    for (const [profileId, limit, code, message] of cases) {
      let error: unknown;
      try {
        await server.cte.attackProtection.setProfileRateLimit(profileId, limit as never);
      } catch (err) {
        error = err;
      }
      expect(error, JSON.stringify(limit)).to.be.instanceOf(ManagementError);
      expect((error as ManagementError).code).to.equal(code);
      expect((error as ManagementError).message).to.include(message);
    }
    expect(server.cte.attackProtection.getProfileRateLimit(server.legacyProfile)).to.equal(
      undefined,
    );
  });

  it('makes each limiter’s store once, when the limit is configured, never during a request, and shuts replaced ones down', async () => {
    const made: string[] = [];
    const shutDown: string[] = [];
    const errors: unknown[] = [];
    const originalError = console.error;
    console.error = (...args: unknown[]) => void errors.push(args);
    try {
      const server = await harness({
        profileRateLimit: {
          limit: 100,
          store: (name) => {
            made.push(name);
            const store = new MemoryStore();
            const shutdown = store.shutdown.bind(store);
            store.shutdown = () => {
              shutDown.push(name);
              shutdown();
            };
            return store;
          },
        },
      });
      expect(made).to.deep.equal(['default']);
      await server.cte.attackProtection.setProfileRateLimit(server.partnerProfile, { limit: 50 });
      expect(made).to.deep.equal(['default', server.partnerProfile]);
      for (let i = 0; i < 3; i++) {
        await expectExchanged(server, { ip: `203.0.113.${50 + i}` });
        await expectExchanged(server, { ip: `203.0.113.${50 + i}`, type: PARTNER_TYPE });
      }
      expect(made).to.deep.equal(['default', server.partnerProfile]);

      await server.cte.attackProtection.setProfileRateLimit(server.partnerProfile, { limit: 40 });
      expect(shutDown).to.deep.equal([server.partnerProfile]);
      await server.cte.close();
      expect(shutDown).to.deep.equal([server.partnerProfile, server.partnerProfile, 'default']);
      // express-rate-limit reports misuse (ERR_ERL_CREATED_IN_REQUEST_HANDLER, ...) on console.error.
      expect(errors).to.deep.equal([]);
    } finally {
      console.error = originalError;
    }
  });
});

describe('attack protection: a store that fails (onStoreError)', () => {
  const down = () => Promise.reject(new Error('connect ECONNREFUSED 10.0.0.5:6379'));
  const failingAttempts: AttemptStore = {
    peek: down,
    take: down,
    reserve: down,
    release: down,
    reset: down,
  };
  const failingRateStore = (): Store => ({
    increment: () => down(),
    decrement: () => undefined,
    resetKey: () => undefined,
  });

  let logged: LoggedRecord[];

  async function failingServer(attackProtection: AttackProtectionOptions): Promise<TestServer> {
    const { logger, records } = recordingLogger();
    logged = records;
    const server = await testServer({ attackProtection, logger });
    server.app.set('trust proxy', 'loopback');
    return server;
  }

  it('fails closed by default: 503 temporarily_unavailable with Retry-After, the cause in the log', async () => {
    const server = await failingServer({ suspiciousIpThrottling: { store: failingAttempts } });
    const res = await exchange(server, { ip: '203.0.113.70' });
    expect(res.status).to.equal(503);
    expect(res.headers).to.include({ ...NO_STORE, 'retry-after': '5' });
    expect(res.body).to.deep.equal(STORE_DOWN);
    expect((await server.cte.logs.list())[0]!.details).to.deep.equal({
      subject_token_type: SUBJECT_TYPE,
      error: 'temporarily_unavailable',
      error_description: STORE_DOWN.error_description,
      cause: 'the suspicious IP throttling store failed: Error: connect ECONNREFUSED 10.0.0.5:6379',
    });
    expect(logged).to.deep.equal([]);
  });

  it('fails closed when only counting a rejection fails: 503, not the 400 that tells the verdict', async () => {
    const store = new MemoryAttemptStore();
    const takeFails: AttemptStore = {
      peek: (key, policy) => store.peek(key, policy),
      take: down,
      reserve: (key, policy, hold) => store.reserve(key, policy, hold),
      release: (key, holdId) => store.release(key, holdId),
      reset: (key) => store.reset(key),
    };
    const server = await failingServer({ suspiciousIpThrottling: { store: takeFails } });
    await expectExchanged(server, { ip: '203.0.113.71' });
    const res = await exchange(server, { ip: '203.0.113.71', token: 'reject' });
    expect(res.status).to.equal(503);
    expect(res.body).to.deep.equal(STORE_DOWN);
    expect((await server.cte.logs.list())[0]!.details.cause).to.equal(
      'the suspicious IP throttling store failed: Error: connect ECONNREFUSED 10.0.0.5:6379',
    );
  });

  it('fails open when asked: requests proceed, and the logger warns once for many failures', async () => {
    const server = await failingServer({
      onStoreError: 'fail-open',
      suspiciousIpThrottling: { store: failingAttempts },
    });
    await expectExchanged(server, { ip: '203.0.113.72' });
    await reject(server, 12, { ip: '203.0.113.72' });
    await expectExchanged(server, { ip: '203.0.113.72' });
    expect(logged).to.deep.equal([
      {
        level: 'warn',
        fields: { component: 'attack-protection' },
        message:
          "customTokenExchange: the suspicious IP throttling store failed; onStoreError is 'fail-open', " +
          'so requests proceed without this protection: Error: connect ECONNREFUSED 10.0.0.5:6379',
      },
    ]);
  });

  it('applies the same choice to the rate-limit store: fail-closed 503, fail-open through', async () => {
    const closed = await failingServer({ profileRateLimit: { store: failingRateStore } });
    const res = await exchange(closed, { ip: '203.0.113.73' });
    expect(res.status).to.equal(503);
    expect(res.headers).to.include({ 'retry-after': '5' });
    expect(res.body).to.deep.equal(STORE_DOWN);
    expect((await closed.cte.logs.list())[0]!.details.cause).to.equal(
      'the profile rate limit store failed: Error: connect ECONNREFUSED 10.0.0.5:6379',
    );

    const open = await failingServer({
      onStoreError: 'fail-open',
      profileRateLimit: { store: failingRateStore },
    });
    await expectExchanged(open, { ip: '203.0.113.73' });
    await expectExchanged(open, { ip: '203.0.113.73' });
    expect(logged).to.have.length(1);
    expect(logged[0]!.message).to.match(
      /^customTokenExchange: the profile rate limit store failed; /,
    );
  });
});
