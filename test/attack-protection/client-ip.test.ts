import { expect } from 'chai';
import express from 'express';
import type { Request } from 'express';
import request from 'supertest';
import {
  ipCountingKey,
  isIpAddress,
  normalizeIp,
  resolveClientIp,
} from '../../lib/attack-protection/client-ip.js';
import { IpAllowList } from '../../lib/attack-protection/ip-allow-list.js';
import type { OAuthError } from '../../lib/errors.js';
import { parseClient } from '../../lib/registry/clients.js';

const SECRET = 'app-secret-0123456789abcdef';
const trusted = parseClient(
  {
    client_id: 'bff',
    client_secret: SECRET,
    name: 'BFF',
    is_token_endpoint_ip_header_trusted: true,
  },
  'c',
);
const untrusted = parseClient({ client_id: 'app', client_secret: SECRET, name: 'App' }, 'c');

describe('normalizeIp', () => {
  const cases: Array<[string | undefined, string]> = [
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['::ffff:cb00:7107', '203.0.113.7'],
    ['2001:db8::7', '2001:db8::7'],
    ['::1', '::1'],
    [undefined, ''],
    ['', ''],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () => {
      expect(normalizeIp(input)).to.equal(expected);
    });
  }
});

describe('isIpAddress', () => {
  const cases: Array<[string, boolean]> = [
    ['203.0.113.7', true],
    ['2001:db8::1', true],
    ['::ffff:203.0.113.7', true],
    ['2001:db8::1%eth0', false],
    ['fe80::1%1', false],
    ['203.0.113.7%eth0', false],
    ['203.0.113.7:443', false],
    ['', false],
  ];
  for (const [text, expected] of cases) {
    it(`${JSON.stringify(text)} → ${expected}`, () => {
      expect(isIpAddress(text)).to.equal(expected);
    });
  }
});

describe('ipCountingKey', () => {
  it('keys IPv4 by address and IPv6 by network', () => {
    expect(ipCountingKey('203.0.113.7', 64)).to.equal('203.0.113.7');
    expect(ipCountingKey('2001:db8:1:2:3:4:5:6', 64)).to.equal('2001:db8:1:2::/64');
    expect(ipCountingKey('2001:db8:1:2:3:4:5:6', 48)).to.equal('2001:db8:1::/48');
    expect(ipCountingKey('', 64)).to.equal('unknown');
  });
});

describe('IpAllowList', () => {
  const list = new IpAllowList(['203.0.113.7', '198.51.100.0/24', '2001:db8:aaaa::/48']);
  const cases: Array<[string, boolean]> = [
    ['203.0.113.7', true],
    ['::ffff:203.0.113.7', true],
    ['203.0.113.8', false],
    ['198.51.100.255', true],
    ['198.51.101.0', false],
    ['2001:db8:aaaa:ffff::1', true],
    ['2001:db8:aaab::1', false],
    ['not an ip', false],
  ];
  for (const [ip, listed] of cases) {
    it(`${listed ? 'lists' : 'does not list'} ${ip}`, () => {
      expect(list.has(ip)).to.equal(listed);
    });
  }

  it('lists nothing when empty, and refuses an entry that is not an IP or CIDR', () => {
    expect(new IpAllowList([]).has('203.0.113.7')).to.equal(false);
    expect(() => new IpAllowList(['203.0.113.0/33'])).to.throw(TypeError, '203.0.113.0/33');
  });
});

describe('resolveClientIp', () => {
  /** A request through a real Express app, so req.ip follows `trust proxy` as in production. */
  async function ipOf(
    headers: Record<string, string>,
    client = trusted,
    trustProxy: string | false = false,
  ): Promise<{ status: number; body: unknown }> {
    const app = express();
    if (trustProxy) app.set('trust proxy', trustProxy);
    app.get('/', (req: Request, res) => {
      try {
        res.json({ ip: resolveClientIp(req, client, 'auth0-forwarded-for') });
      } catch (err) {
        res.status((err as OAuthError).status).json((err as OAuthError).toJSON());
      }
    });
    const res = await request(app).get('/').set(headers);
    return { status: res.status, body: res.body };
  }

  it('is req.ip, as an IPv4 address, without a header', async () => {
    expect(await ipOf({})).to.deep.equal({ status: 200, body: { ip: '127.0.0.1' } });
  });

  it('ignores X-Forwarded-For unless trust proxy says otherwise', async () => {
    expect(await ipOf({ 'X-Forwarded-For': '198.51.100.1' })).to.deep.equal({
      status: 200,
      body: { ip: '127.0.0.1' },
    });
    expect(await ipOf({ 'X-Forwarded-For': '198.51.100.1' }, trusted, 'loopback')).to.deep.equal({
      status: 200,
      body: { ip: '198.51.100.1' },
    });
  });

  it('takes the forwarded header of a trusted client, normalized', async () => {
    expect(await ipOf({ 'auth0-forwarded-for': ' 2001:db8::9 ' })).to.deep.equal({
      status: 200,
      body: { ip: '2001:db8::9' },
    });
    expect(await ipOf({ 'auth0-forwarded-for': '::ffff:192.0.2.9' })).to.deep.equal({
      status: 200,
      body: { ip: '192.0.2.9' },
    });
    expect(await ipOf({ 'auth0-forwarded-for': '' })).to.deep.equal({
      status: 200,
      body: { ip: '127.0.0.1' },
    });
  });

  it('ignores the header for a client that is not trusted', async () => {
    expect(await ipOf({ 'auth0-forwarded-for': '192.0.2.9' }, untrusted)).to.deep.equal({
      status: 200,
      body: { ip: '127.0.0.1' },
    });
  });

  it('refuses a trusted client sending something else than one IP', async () => {
    expect(await ipOf({ 'auth0-forwarded-for': '192.0.2.9, 192.0.2.10' })).to.deep.equal({
      status: 400,
      body: {
        error: 'invalid_request',
        error_description: 'the auth0-forwarded-for header must be one IP address',
      },
    });
  });
});
