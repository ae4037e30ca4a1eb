import { expect } from 'chai';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, LookupFunction } from 'node:net';
import { HostCapabilities } from '../../../lib/sandbox/capabilities/host-capabilities.js';
import type {
  CapabilityScope,
  SafeFetchResponse,
} from '../../../lib/sandbox/capabilities/host-capabilities.js';
import { until } from '../../support/until.js';
import { rejection } from '../fixtures/capability-rejection.js';

/**
 * One local server for every case: `/ok`, `/echo` (method, headers, body as JSON),
 * `/redirect?to=...&status=...`, `/loop` (redirects to itself), `/big` (streams 64 kB without a
 * Content-Length), `/big-declared`, `/hang` (never answers), `/cookies`.
 */
describe('HostCapabilities: fetch', function () {
  let server: http.Server;
  let port: number;
  let hits: string[] = [];
  let closedSockets = 0;
  const controllers: AbortController[] = [];
  let host: HostCapabilities;
  let lookups: string[] = [];

  /** Resolves `*.test` names from a table; never touches real DNS. */
  const table: Record<string, Array<{ address: string; family: number }>> = {};
  const lookup: LookupFunction = (hostname, _options, callback) => {
    lookups.push(hostname);
    const addresses = table[hostname];
    if (!addresses) {
      callback(
        Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }),
        [],
      );
      return;
    }
    callback(null, addresses);
  };
  const loopback = [{ address: '127.0.0.1', family: 4 }];

  const origin = (): string => `http://127.0.0.1:${port}`;
  const scope = (overrides: Partial<CapabilityScope> = {}): CapabilityScope => {
    const controller = new AbortController();
    controllers.push(controller);
    return {
      actionId: 'act_fetch',
      allowedHosts: [`127.0.0.1:${port}`, `alias.test:${port}`],
      allowedPrivateNetworks: ['127.0.0.1/32'],
      deadline: Date.now() + 5000,
      signal: controller.signal,
      ...overrides,
    };
  };
  const fetch = (
    url: string,
    init?: Record<string, unknown>,
    capabilityScope: CapabilityScope = scope(),
    capabilities: HostCapabilities = host,
  ) =>
    capabilities.invoke(
      capabilityScope,
      'fetch',
      init === undefined ? [url] : [url, init],
    ) as Promise<SafeFetchResponse>;

  before(async () => {
    table['alias.test'] = loopback;
    table['good.test'] = loopback;
    server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      hits.push(url.pathname);
      const body: Buffer[] = [];
      req.on('data', (chunk: Buffer) => body.push(chunk));
      req.on('end', () => {
        switch (url.pathname) {
          case '/ok':
            res.writeHead(200, 'Fine', { 'content-type': 'text/plain' });
            res.end('héllo');
            return;
          case '/echo':
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(
              JSON.stringify({
                method: req.method,
                headers: req.headers,
                body: Buffer.concat(body).toString('utf8'),
              }),
            );
            return;
          case '/redirect':
            res.writeHead(Number(url.searchParams.get('status') ?? 302), {
              location: url.searchParams.get('to') ?? '/ok',
            });
            res.end();
            return;
          case '/loop':
            res.writeHead(302, { location: '/loop' });
            res.end();
            return;
          case '/big':
            res.writeHead(200, { 'content-type': 'text/plain' });
            for (let i = 0; i < 64; i += 1) res.write('x'.repeat(1024));
            res.end();
            return;
          case '/big-declared':
            res.writeHead(200, { 'content-length': String(64 * 1024) });
            res.end('x'.repeat(64 * 1024));
            return;
          case '/cookies':
            res.setHeader('set-cookie', ['a=1', 'b=2']);
            res.end('');
            return;
          case '/hang':
            return;
          default:
            res.writeHead(404);
            res.end();
        }
      });
    });
    server.on('connection', (socket) => {
      socket.on('close', () => {
        closedSockets += 1;
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  beforeEach(() => {
    host = new HostCapabilities({ lookup });
    hits = [];
    lookups = [];
  });

  afterEach(() => {
    host.close();
    for (const controller of controllers.splice(0)) controller.abort();
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  describe('allowed requests', () => {
    it('fetches an allowed loopback host when 127.0.0.1/32 is allowed', async () => {
      const response = await fetch(`${origin()}/ok?x=1#frag`);
      expect(response).to.deep.include({
        url: `${origin()}/ok?x=1`,
        status: 200,
        statusText: 'Fine',
        body: 'héllo',
        redirected: false,
      });
      expect(response.headers).to.deep.include(['content-type', 'text/plain']);
      expect(JSON.parse(JSON.stringify(response))).to.deep.equal(response);
    });

    it('sends the method, headers and body, with the host User-Agent and no compression', async () => {
      const response = await fetch(`${origin()}/echo`, {
        method: 'post',
        headers: [
          ['Content-Type', 'application/x-www-form-urlencoded'],
          ['X-Multi', 'a'],
          ['x-multi', 'b'],
        ],
        body: 'token=abc',
      });
      const echoed = JSON.parse(response.body) as {
        method: string;
        headers: Record<string, string>;
        body: string;
      };
      expect(echoed.method).to.equal('POST');
      expect(echoed.body).to.equal('token=abc');
      expect(echoed.headers).to.include({
        'content-type': 'application/x-www-form-urlencoded',
        'x-multi': 'a, b',
        'user-agent': 'express-custom-token-exchange (action fetch)',
        'accept-encoding': 'identity',
        'content-length': '9',
        host: `127.0.0.1:${port}`,
      });
      const custom = await fetch(`${origin()}/echo`, {
        headers: { 'User-Agent': 'my-action/1.0' },
      });
      expect(JSON.parse(custom.body).headers['user-agent']).to.equal('my-action/1.0');
    });

    it('keeps repeated response headers apart', async () => {
      const response = await fetch(`${origin()}/cookies`);
      expect(response.headers.filter(([name]) => name === 'set-cookie')).to.deep.equal([
        ['set-cookie', 'a=1'],
        ['set-cookie', 'b=2'],
      ]);
    });

    it('resolves an allowed hostname through the lookup and sends its Host header', async () => {
      const response = await fetch(
        `http://good.test:${port}/echo`,
        undefined,
        scope({
          allowedHosts: [`good.test:${port}`],
        }),
      );
      expect(JSON.parse(response.body).headers.host).to.equal(`good.test:${port}`);
      expect(lookups).to.deep.equal(['good.test']);
    });
  });

  describe('allow-list and addresses', () => {
    it('refuses a host that is not allowed, without resolving or connecting', async () => {
      const err = await rejection(fetch(`http://other.test:${port}/ok`));
      expect(err.toJSON()).to.deep.equal({
        name: 'CapabilityError',
        code: 'ERR_FETCH_HOST_NOT_ALLOWED',
        message: `fetch: other.test:${port} is not in the action's allowed_hosts`,
      });
      const wrongPort = await rejection(
        fetch(`http://127.0.0.1:${port + 1 === 65536 ? 1 : port + 1}/ok`),
      );
      expect(wrongPort.code).to.equal('ERR_FETCH_HOST_NOT_ALLOWED');
      expect(lookups).to.deep.equal([]);
      expect(hits).to.deep.equal([]);
    });

    it('refuses loopback without allowed_private_networks, IP literals included', async () => {
      const noNetworks = { allowedPrivateNetworks: [] };
      const err = await rejection(fetch(`${origin()}/ok`, undefined, scope(noNetworks)));
      expect(err.code).to.equal('ERR_FETCH_ADDRESS_NOT_ALLOWED');
      expect(err.message).to.equal(
        'fetch: 127.0.0.1 resolves to a loopback address, which actions may not reach unless its' +
          ' network is listed in allowed_private_networks',
      );
      const decimal = await rejection(
        fetch(`http://2130706433:${port}/ok`, undefined, scope(noNetworks)),
      );
      expect(decimal.code).to.equal('ERR_FETCH_ADDRESS_NOT_ALLOWED');
      const alias = await rejection(
        fetch(`http://alias.test:${port}/ok`, undefined, scope(noNetworks)),
      );
      expect(alias.code).to.equal('ERR_FETCH_ADDRESS_NOT_ALLOWED');
      const otherLoopback = await rejection(
        fetch(`${origin()}/ok`, undefined, scope({ allowedPrivateNetworks: ['127.0.0.2/32'] })),
      );
      expect(otherLoopback.code).to.equal('ERR_FETCH_ADDRESS_NOT_ALLOWED');
      expect(hits).to.deep.equal([]);
    });

    it('refuses non-public IP literals before connecting', async () => {
      const literals = [
        '[::1]',
        '169.254.169.254',
        '10.0.0.1',
        '0.0.0.0',
        '[::ffff:127.0.0.1]',
        '[fd00::1]',
      ];
      for (const literal of literals) {
        const url = `http://${literal}:${port}/ok`;
        const err = await rejection(
          fetch(
            url,
            undefined,
            scope({ allowedHosts: [`${literal}:${port}`], allowedPrivateNetworks: [] }),
          ),
        );
        expect(err.code, literal).to.equal('ERR_FETCH_ADDRESS_NOT_ALLOWED');
      }
      expect(hits).to.deep.equal([]);
    });

    it('refuses a hostname whose lookup returns a non-public address (DNS rebinding)', async () => {
      const cases: Array<[string, number, string]> = [
        ['127.0.0.1', 4, 'loopback'],
        ['10.0.0.1', 4, 'private'],
        ['::ffff:127.0.0.1', 6, 'loopback'],
        ['169.254.169.254', 4, 'link-local'],
        ['100.64.0.1', 4, 'shared (CGNAT)'],
        ['fd00::1', 6, 'unique-local'],
        ['224.0.0.1', 4, 'multicast'],
        ['0.0.0.0', 4, 'unspecified'],
        ['::1', 6, 'loopback'],
      ];
      const fetchRebound = () =>
        rejection(
          fetch(
            `http://rebind.test:${port}/ok`,
            undefined,
            scope({ allowedHosts: [`rebind.test:${port}`], allowedPrivateNetworks: [] }),
          ),
        );
      for (const [address, family, category] of cases) {
        table['rebind.test'] = [{ address, family }];
        const err = await fetchRebound();
        expect(err.code, address).to.equal('ERR_FETCH_ADDRESS_NOT_ALLOWED');
        expect(err.message, address).to.include(`resolves to a ${category} address`);
      }
      // One bad address among public ones is enough to refuse (nothing is connected to).
      table['rebind.test'] = [
        { address: '93.184.216.34', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ];
      const mixed = await fetchRebound();
      expect(mixed.code).to.equal('ERR_FETCH_ADDRESS_NOT_ALLOWED');
      expect(lookups.filter((name) => name === 'rebind.test')).to.have.length(cases.length + 1);
      expect(hits).to.deep.equal([]);
    });

    it('reports an unresolvable host as ERR_FETCH_FAILED', async () => {
      const err = await rejection(
        fetch(
          `http://missing.test:${port}/ok`,
          undefined,
          scope({ allowedHosts: [`missing.test:${port}`] }),
        ),
      );
      expect(err.code).to.equal('ERR_FETCH_FAILED');
      expect(err.message).to.equal(
        `fetch to http://missing.test:${port} failed: could not resolve missing.test`,
      );
    });
  });

  describe('redirects', () => {
    it('follows a redirect to an allowed host, dropping credentials across origins', async () => {
      const to = encodeURIComponent(`http://alias.test:${port}/echo`);
      const response = await fetch(`${origin()}/redirect?to=${to}`, {
        headers: { Authorization: 'Bearer secret', 'X-Trace': '1' },
      });
      expect(response.status).to.equal(200);
      expect(response.redirected).to.equal(true);
      expect(response.url).to.equal(`http://alias.test:${port}/echo`);
      const echoed = JSON.parse(response.body) as { headers: Record<string, string> };
      expect(echoed.headers).to.not.have.property('authorization');
      expect(echoed.headers['x-trace']).to.equal('1');
      expect(hits).to.deep.equal(['/redirect', '/echo']);
    });

    it('keeps credentials and the method on a same-origin 307, turns a 303 POST into a GET', async () => {
      const same = await fetch(`${origin()}/redirect?status=307&to=%2Fecho`, {
        method: 'POST',
        headers: { Authorization: 'Bearer secret', 'Content-Type': 'text/plain' },
        body: 'kept',
      });
      expect(JSON.parse(same.body)).to.deep.include({ method: 'POST', body: 'kept' });
      expect(JSON.parse(same.body).headers.authorization).to.equal('Bearer secret');
      const seeOther = await fetch(`${origin()}/redirect?status=303&to=%2Fecho`, {
        method: 'POST',
        headers: { 'Content-Type': 'text/plain' },
        body: 'dropped',
      });
      const echoed = JSON.parse(seeOther.body) as { method: string; body: string; headers: object };
      expect(echoed).to.deep.include({ method: 'GET', body: '' });
      expect(echoed.headers).to.not.have.property('content-type');
    });

    it('refuses a redirect to a host that is not allowed', async () => {
      const to = encodeURIComponent(`http://evil.test:${port}/ok`);
      const err = await rejection(fetch(`${origin()}/redirect?to=${to}`));
      expect(err.code).to.equal('ERR_FETCH_HOST_NOT_ALLOWED');
      expect(err.message).to.equal(
        `fetch: redirect to evil.test:${port} is not in the action's allowed_hosts`,
      );
      const file = await rejection(
        fetch(`${origin()}/redirect?to=${encodeURIComponent('file:///etc/passwd')}`),
      );
      expect(file.code).to.equal('ERR_FETCH_INVALID_URL');
      expect(lookups).to.deep.equal([]);
      expect(hits).to.deep.equal(['/redirect', '/redirect']);
    });

    it('re-checks the address of every hop', async () => {
      table['inside.test'] = [{ address: '10.0.0.1', family: 4 }];
      const to = encodeURIComponent(`http://inside.test:${port}/ok`);
      const err = await rejection(
        fetch(
          `${origin()}/redirect?to=${to}`,
          undefined,
          scope({
            allowedHosts: [`127.0.0.1:${port}`, `inside.test:${port}`],
          }),
        ),
      );
      expect(err.code).to.equal('ERR_FETCH_ADDRESS_NOT_ALLOWED');
      expect(hits).to.deep.equal(['/redirect']);
    });

    it('stops after maxRedirects', async () => {
      const capabilities = new HostCapabilities({ lookup, maxRedirects: 2 });
      try {
        const err = await rejection(fetch(`${origin()}/loop`, undefined, scope(), capabilities));
        expect(err.toJSON()).to.deep.equal({
          name: 'CapabilityError',
          code: 'ERR_FETCH_TOO_MANY_REDIRECTS',
          message: 'fetch: more than 2 redirects',
        });
        expect(hits).to.deep.equal(['/loop', '/loop', '/loop']);
      } finally {
        capabilities.close();
      }
    });

    it("returns the redirect itself with redirect: 'manual' and refuses it with 'error'", async () => {
      const manual = await fetch(`${origin()}/redirect?to=%2Fok`, { redirect: 'manual' });
      expect(manual.status).to.equal(302);
      expect(manual.redirected).to.equal(false);
      expect(manual.headers).to.deep.include(['location', '/ok']);
      const err = await rejection(fetch(`${origin()}/redirect?to=%2Fok`, { redirect: 'error' }));
      expect(err.code).to.equal('ERR_FETCH_REDIRECT');
      expect(hits).to.deep.equal(['/redirect', '/redirect']);
    });
  });

  describe('limits', () => {
    it('times out a server that never answers (fetchTimeoutMs)', async () => {
      const capabilities = new HostCapabilities({ lookup, fetchTimeoutMs: 150 });
      try {
        const started = Date.now();
        const err = await rejection(fetch(`${origin()}/hang`, undefined, scope(), capabilities));
        const elapsed = Date.now() - started;
        expect(err.code).to.equal('ERR_FETCH_TIMEOUT');
        expect(err.message).to.equal(`fetch to ${origin()} timed out after 150 ms`);
        expect(elapsed).to.be.within(140, 1000);
      } finally {
        capabilities.close();
      }
    });

    it('settles by the scope deadline when it comes before the fetch timeout', async () => {
      const deadline = Date.now() + 250;
      const err = await rejection(fetch(`${origin()}/hang`, undefined, scope({ deadline })));
      expect(err.code).to.equal('ERR_CAPABILITY_TIMEOUT');
      expect(Date.now()).to.be.within(deadline - 5, deadline + 150);
    });

    it('cuts off a response body over maxResponseBytes, streamed or declared', async () => {
      const capabilities = new HostCapabilities({ lookup, maxResponseBytes: 4096 });
      try {
        for (const path of ['/big', '/big-declared']) {
          const err = await rejection(
            fetch(`${origin()}${path}`, undefined, scope(), capabilities),
          );
          expect(err.toJSON(), path).to.deep.equal({
            name: 'CapabilityError',
            code: 'ERR_FETCH_TOO_LARGE',
            message: `fetch: the response from ${origin()} is larger than 4096 bytes`,
          });
        }
        const small = await fetch(`${origin()}/ok`, undefined, scope(), capabilities);
        expect(small.body).to.equal('héllo');
      } finally {
        capabilities.close();
      }
    });

    it('refuses a request body over 1 MiB without sending it', async () => {
      const err = await rejection(
        fetch(`${origin()}/echo`, { method: 'POST', body: 'x'.repeat(1024 * 1024 + 1) }),
      );
      expect(err.code).to.equal('ERR_FETCH_TOO_LARGE');
      expect(hits).to.deep.equal([]);
    });
  });

  describe('request validation', () => {
    it('refuses Host, hop-by-hop and framing headers, and header injection', async () => {
      for (const name of [
        'Host',
        'Connection',
        'Transfer-Encoding',
        'Content-Length',
        'Upgrade',
        'TE',
        'Proxy-Authorization',
        'Accept-Encoding',
      ]) {
        const err = await rejection(fetch(`${origin()}/echo`, { headers: { [name]: 'x' } }));
        expect(err.toJSON(), name).to.deep.equal({
          name: 'TypeError',
          code: 'ERR_FETCH_INVALID_REQUEST',
          message: `fetch: the "${name}" header is set by the host and cannot be set`,
        });
      }
      const injected = await rejection(
        fetch(`${origin()}/echo`, { headers: { 'X-A': 'x\r\nHost: evil.test' } }),
      );
      expect(injected.code).to.equal('ERR_FETCH_INVALID_REQUEST');
      const badName = await rejection(fetch(`${origin()}/echo`, { headers: { 'X A': 'x' } }));
      expect(badName.code).to.equal('ERR_FETCH_INVALID_REQUEST');
      expect(hits).to.deep.equal([]);
    });

    it('refuses other schemes, credentials in the URL, bad methods, bodies on GET', async () => {
      const cases: Array<[string, Record<string, unknown> | undefined, string]> = [
        ['file:///etc/passwd', undefined, 'ERR_FETCH_INVALID_URL'],
        ['ftp://127.0.0.1/', undefined, 'ERR_FETCH_INVALID_URL'],
        ['not a url', undefined, 'ERR_FETCH_INVALID_URL'],
        [`http://user:pass@127.0.0.1:${port}/ok`, undefined, 'ERR_FETCH_INVALID_URL'],
        [`${origin()}/ok`, { method: 'CONNECT' }, 'ERR_FETCH_INVALID_REQUEST'],
        [`${origin()}/ok`, { method: 'TRACE' }, 'ERR_FETCH_INVALID_REQUEST'],
        [`${origin()}/ok`, { method: 'GET /x' }, 'ERR_FETCH_INVALID_REQUEST'],
        [`${origin()}/ok`, { body: 'x' }, 'ERR_FETCH_INVALID_REQUEST'],
        [`${origin()}/ok`, { method: 'POST', body: { a: 1 } }, 'ERR_FETCH_INVALID_REQUEST'],
        [`${origin()}/ok`, { redirect: 'always' }, 'ERR_FETCH_INVALID_REQUEST'],
      ];
      for (const [url, init, code] of cases) {
        const err = await rejection(fetch(url, init));
        expect(err.code, `${url} ${JSON.stringify(init)}`).to.equal(code);
      }
      const secretUrl = await rejection(fetch(`http://user:hunter2@127.0.0.1:${port}/ok`));
      expect(secretUrl.message).to.not.include('hunter2');
      expect(hits).to.deep.equal([]);
    });
  });

  describe('https', () => {
    // A self-signed certificate for 127.0.0.1 (test-only key): not trusted, so never fetched.
    const TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg5tXEVvrFCdOF3qP8
BrMjfjoyw20Zp3lr8TYyGJzWxt+hRANCAARt3lJBOn79K0UqP1O4ViK+FmcYyvsk
/CFJbf0UVfEfZFf4Bso0oxr8jzcjfKvQsHkpco6JG/Qhug0CNrKGnIyt
-----END PRIVATE KEY-----`;
    const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBjzCCATagAwIBAgIUN78Isx79puZfOtd7aW35cgs7QsEwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTEyNTE5MDUyN1oYDzIxMjYxMTAx
MTkwNTI3WjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAARt3lJBOn79K0UqP1O4ViK+FmcYyvsk/CFJbf0UVfEfZFf4Bso0oxr8
jzcjfKvQsHkpco6JG/Qhug0CNrKGnIyto2QwYjAdBgNVHQ4EFgQUiWCgBtBhLZAT
CrVumqqcEiBOEcwwHwYDVR0jBBgwFoAUiWCgBtBhLZATCrVumqqcEiBOEcwwDwYD
VR0TAQH/BAUwAwEB/zAPBgNVHREECDAGhwR/AAABMAoGCCqGSM49BAMCA0cAMEQC
IHl/BPiyHoGHwmyKGbnMb6wIkPQ4lyztBf8Z/GH84RqTAiBLvgoft3+rMAEE4zuW
b+PbdGt2j6Grjkea43nN9O0ACg==
-----END CERTIFICATE-----`;

    it('verifies server certificates: a self-signed one fails with a TLS error', async () => {
      let requests = 0;
      const tlsServer = https.createServer({ key: TEST_KEY, cert: TEST_CERT }, (_req, res) => {
        requests += 1;
        res.end('should not be reached');
      });
      await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
      const tlsPort = (tlsServer.address() as AddressInfo).port;
      try {
        const err = await rejection(
          fetch(
            `https://127.0.0.1:${tlsPort}/`,
            undefined,
            scope({ allowedHosts: [`127.0.0.1:${tlsPort}`] }),
          ),
        );
        expect(err.code).to.equal('ERR_FETCH_FAILED');
        expect(err.message).to.match(
          new RegExp(
            `^fetch to https://127\\.0\\.0\\.1:${tlsPort} failed: TLS error \\([A-Z_]+\\)$`,
          ),
        );
        expect(requests).to.equal(0);
      } finally {
        tlsServer.closeAllConnections();
        await new Promise<void>((resolve) => tlsServer.close(() => resolve()));
      }
    });
  });

  describe('revocation', () => {
    it('rejects a pending fetch when the execution ends, closes its connection, and refuses later calls', async () => {
      const controller = new AbortController();
      const s = scope({ signal: controller.signal });
      const closedBefore = closedSockets;
      const pending = fetch(`${origin()}/hang`, undefined, s);
      await until(() => hits.length === 1, 'the request reaches the server');
      expect(hits).to.deep.equal(['/hang']);
      const started = Date.now();
      controller.abort();
      const err = await rejection(pending);
      // At once, not when the server answers (/hang never does): the bound leaves room for a
      // loaded machine's scheduling and is still far from any timeout of the request.
      expect(Date.now() - started).to.be.lessThan(1000);
      expect(err.code).to.equal('ERR_CAPABILITY_REVOKED');
      await until(() => closedSockets > closedBefore, 'the connection closes');
      expect(closedSockets).to.equal(closedBefore + 1);

      const later = await rejection(fetch(`${origin()}/ok`, undefined, s));
      expect(later.code).to.equal('ERR_CAPABILITY_REVOKED');
      expect(hits).to.deep.equal(['/hang']);
    });
  });
});
