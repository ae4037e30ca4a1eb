import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { capture, startExample } from '../support/example-process.js';
import type { ExampleProcess } from '../support/example-process.js';
import { STARTUP_TIMEOUT_MS, expectExampleIssued } from '../support/example-http.js';

/** The parts of the printed token exchange curl command. */
interface PrintedExchange {
  url: string;
  clientId: string;
  clientSecret: string;
  grantType: string;
  subjectTokenType: string;
  subjectToken: string;
  audience: string;
  scope: string;
  /** The URL of the printed `client_credentials` curl command. */
  hostGrantUrl: string;
}

function parseCurl(output: string): PrintedExchange {
  const block = capture(output, /^(curl -s \S+ \\\n(?:\s+-[ud] .*\n?)+)/m, 'the exchange command');
  const [clientId, clientSecret] = capture(block, /^\s+-u (\S+)/m, '-u').split(':') as [
    string,
    string,
  ];
  return {
    url: capture(block, /^curl -s (\S+) \\$/m, 'the token endpoint URL'),
    clientId,
    clientSecret,
    grantType: capture(block, /^\s+-d grant_type=(\S+)/m, 'grant_type'),
    subjectTokenType: capture(block, /^\s+-d subject_token_type=(\S+)/m, 'subject_token_type'),
    subjectToken: capture(block, /^\s+-d subject_token=(\S+)/m, 'subject_token'),
    audience: capture(block, /^\s+-d audience=(\S+)/m, 'audience'),
    scope: capture(block, /^\s+-d 'scope=([^']*)'/m, 'scope'),
    hostGrantUrl: capture(
      output,
      /^curl -s (\S+) -d grant_type=client_credentials$/m,
      'the client_credentials command',
    ),
  };
}

describe('examples/demo-server end to end (spawned with --no-node-snapshot)', function () {
  this.timeout(STARTUP_TIMEOUT_MS);
  let demo: ExampleProcess | undefined;
  let printed: PrintedExchange;
  let port: number;

  before(async () => {
    demo = await startExample('examples/demo-server/server.ts', {
      ready: /^Public keys: .*Tenant logs: \S+$/m,
    });
    port = demo.port;
    printed = parseCurl(demo.output.stdout);
  });

  after(async () => {
    await demo?.stop();
  });

  it('prints a curl command for its own port with the demo client and profile', () => {
    expect(printed).to.deep.include({
      url: `http://localhost:${port}/oauth/token`,
      clientId: 'demo-app',
      grantType: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subjectTokenType: 'urn:acme:partner-id-token',
      audience: 'https://api.acme.example/orders',
      scope: 'openid profile email read:orders',
      hostGrantUrl: `http://localhost:${port}/oauth/token`,
    });
    expect(printed.clientSecret).to.have.length.greaterThan(0);
    expect(printed.subjectToken).to.match(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it('performs the printed exchange: 200, tokens that verify against the demo JWKS, sub partner-idp|jane-42', async () => {
    const res = await fetch(printed.url, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${printed.clientId}:${printed.clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({
        grant_type: printed.grantType,
        subject_token_type: printed.subjectTokenType,
        subject_token: printed.subjectToken,
        audience: printed.audience,
        scope: printed.scope,
      }),
    });
    const body = (await res.json()) as Record<string, unknown>;
    expectExampleIssued(res, body, {
      scope: 'openid profile email read:orders',
      id_token: body.id_token,
    });

    const origin = new URL(printed.url).origin;
    const jwksRes = await fetch(`${origin}/.well-known/jwks.json`);
    expect(jwksRes.status).to.equal(200);
    const jwks = createLocalJWKSet(
      (await jwksRes.json()) as Parameters<typeof createLocalJWKSet>[0],
    );
    const issuer = `${origin}/`;

    const access = await jwtVerify(String(body.access_token), jwks, {
      issuer,
      audience: printed.audience,
      typ: 'at+jwt',
      algorithms: ['ES256'],
    });
    const { iat, exp, jti } = access.payload;
    expect(exp! - iat!).to.equal(3600);
    expect(iat).to.be.closeTo(Math.floor(Date.now() / 1000), 30);
    expect(access.payload).to.deep.equal({
      iss: issuer,
      sub: 'partner-idp|jane-42',
      aud: printed.audience,
      iat,
      exp,
      jti,
      client_id: 'demo-app',
      scope: 'openid profile email read:orders',
    });

    const id = await jwtVerify(String(body.id_token), jwks, {
      issuer,
      audience: 'demo-app',
      algorithms: ['RS256'],
    });
    expect(id.payload).to.deep.equal({
      iss: issuer,
      sub: 'partner-idp|jane-42',
      aud: 'demo-app',
      iat: id.payload.iat,
      exp: id.payload.exp,
      auth_time: id.payload.iat,
      name: 'Jane Partner',
      updated_at: id.payload.updated_at,
      email: 'jane@partner.example',
      email_verified: true,
    });

    // The demo's tenant log has the secte entry of that exchange, and no token.
    const logs = (await (await fetch(`${origin}/logs`)).json()) as Array<Record<string, unknown>>;
    expect(logs.map((e) => [e.type, e.user_id, e.connection])).to.deep.equal([
      ['secte', 'partner-idp|jane-42', 'partner-idp'],
    ]);
    expect(JSON.stringify(logs)).not.to.include(printed.subjectToken.split('.')[2]!.slice(0, 16));
  });

  it("answers the host's own client_credentials grant through the same endpoint", async () => {
    const res = await fetch(printed.hostGrantUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    const body = (await res.json()) as Record<string, unknown>;
    expect(res.status, JSON.stringify(body)).to.equal(200);
    expect(res.headers.get('cache-control')).to.equal('no-store');
    expect(body).to.deep.equal({
      access_token: body.access_token,
      token_type: 'Bearer',
      expires_in: 600,
      issued_by: 'the host server',
    });
    expect(body.access_token).to.match(/^host-[0-9a-f]{32}$/);
  });
});

describe('examples/demo-server on a port already in use', function () {
  this.timeout(30_000);
  it('says so and exits 1 instead of crashing', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, 'localhost', resolve));
    const { port } = blocker.address() as AddressInfo;
    try {
      const started = startExample('examples/demo-server/server.ts', {
        ready: /^Public keys: /m,
        env: { PORT: String(port) },
      });
      let failure: Error | undefined;
      await started.catch((err: Error) => (failure = err));
      expect(failure?.message).to.match(/exited \(1\) before it was ready/);
      expect(failure?.message).to.include(`cannot listen on localhost:${port}: listen EADDRINUSE`);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});

describe('examples/demo-server on SIGTERM', function () {
  this.timeout(30_000);
  it('drains the server and the router, then exits 0 by itself', async () => {
    const demo = await startExample('examples/demo-server/server.ts', {
      ready: /^Public keys: .*Tenant logs: \S+$/m,
    });
    try {
      // A keep-alive connection that has been used: the drain must close it, not wait for it.
      const res = await fetch(`http://localhost:${demo.port}/.well-known/jwks.json`);
      expect(res.status).to.equal(200);
      await res.arrayBuffer();
      const exited = new Promise<[number | null, string | null]>((resolve) =>
        demo.child.once('exit', (code, signal) => resolve([code, signal])),
      );
      const started = performance.now();
      demo.child.kill('SIGTERM');
      const outcome = await Promise.race([
        exited,
        new Promise<'still running'>((resolve) =>
          setTimeout(() => resolve('still running'), 10_000).unref(),
        ),
      ]);
      expect(outcome, demo.output.stderr).to.deep.equal([0, null]);
      expect(performance.now() - started).to.be.below(10_000);
    } finally {
      await demo.stop();
    }
  });
});
