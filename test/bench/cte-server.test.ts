import { expect } from 'chai';
import { decodeProtectedHeader, decodeJwt } from 'jose';
import { makeSubjects, startServer } from '../../bench/harness.js';
import type { BenchServer } from '../../bench/harness.js';
import type { BenchConfig } from '../../bench/servers/child.js';
import { refreshRequestBody } from '../../bench/servers/cte.js';

const STARTUP_TIMEOUT_MS = 30_000;

/** What the benchmark measures must be a successful exchange of the kind its scenario names. */
describe('bench/servers/cte.ts: the exchange each scenario measures', function () {
  this.timeout(STARTUP_TIMEOUT_MS);

  const cases: Array<{ mode: string; alg: string; idToken: boolean; refreshToken?: boolean }> = [
    { mode: 'inline', alg: 'ES256', idToken: false },
    { mode: 'inline-sync', alg: 'ES256', idToken: false },
    { mode: 'sandbox', alg: 'ES256', idToken: false },
    { mode: 'default', alg: 'RS256', idToken: true },
    { mode: 'refresh', alg: 'ES256', idToken: false, refreshToken: true },
  ];

  for (const { mode, alg, idToken, refreshToken = false } of cases) {
    describe(`mode '${mode}'`, () => {
      let server: BenchServer | undefined;
      let config: BenchConfig;
      let tokens: string[];

      before(async () => {
        ({ config, tokens } = await makeSubjects(mode));
        server = await startServer('cte', config, false);
      });

      after(async () => {
        await server?.stop();
      });

      const post = (body: string) =>
        fetch(server!.url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body,
          signal: AbortSignal.timeout(10_000),
        });

      it(`issues a ${alg} access token${idToken ? ' and ID token' : ''}${refreshToken ? ' and a refresh token' : ''} for the subject's user`, async () => {
        const res = await post(server!.module.requestBody(tokens[7]!, config));
        expect(res.status).to.equal(200);
        const body = (await res.json()) as Record<string, unknown>;
        expect(Object.keys(body).sort()).to.deep.equal(
          [
            'access_token',
            'expires_in',
            'issued_token_type',
            'scope',
            'token_type',
            ...(idToken ? ['id_token'] : []),
            ...(refreshToken ? ['refresh_token'] : []),
          ].sort(),
        );
        expect(body.scope).to.equal(refreshToken ? 'offline_access' : idToken ? 'openid' : '');
        expect(body.token_type).to.equal('Bearer');
        expect(body.issued_token_type).to.equal('urn:ietf:params:oauth:token-type:access_token');
        const accessToken = body.access_token as string;
        expect(decodeProtectedHeader(accessToken).alg).to.equal(alg);
        expect(decodeJwt(accessToken).aud).to.include(config.audience);
        if (idToken) {
          const id = body.id_token as string;
          expect(decodeProtectedHeader(id).alg).to.equal('RS256');
          expect(decodeJwt(id).aud).to.equal(config.client.id);
          expect(decodeJwt(id).sub).to.equal(decodeJwt(accessToken).sub);
        }
      });

      it('refuses a subject token whose signature does not hold', async () => {
        const token = tokens[3]!;
        const tampered = `${token.slice(0, -4)}${token.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
        const res = await post(server!.module.requestBody(tampered, config));
        expect(res.status).to.equal(400);
        expect(await res.json()).to.deep.equal({
          error: 'invalid_request',
          error_description: 'invalid subject token: ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
        });
      });
    });
  }
});

/** `cte-refresh` measures refreshes as a user gets them by default: rotating refresh tokens. */
describe("bench/servers/cte.ts: the refresh mode 'refresh' measures", function () {
  this.timeout(STARTUP_TIMEOUT_MS);

  let server: BenchServer | undefined;
  let config: BenchConfig;
  let tokens: string[];

  before(async () => {
    ({ config, tokens } = await makeSubjects('refresh'));
    server = await startServer('cte', config, false);
  });

  after(async () => {
    await server?.stop();
  });

  const post = async (body: string) => {
    const res = await fetch(server!.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('answers a refresh with an ES256 access token and the next refresh token, and refuses the one it retired', async () => {
    const exchange = await post(server!.module.requestBody(tokens[11]!, config));
    const first = exchange.body.refresh_token as string;
    const refresh = await post(refreshRequestBody(first, config));
    expect(refresh.status).to.equal(200);
    expect(Object.keys(refresh.body).sort()).to.deep.equal(
      ['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type'].sort(),
    );
    expect(refresh.body.scope).to.equal('offline_access');
    const accessToken = refresh.body.access_token as string;
    expect(decodeProtectedHeader(accessToken).alg).to.equal('ES256');
    expect(decodeJwt(accessToken).sub).to.equal(
      decodeJwt(exchange.body.access_token as string).sub,
    );
    const second = refresh.body.refresh_token as string;
    expect(second)
      .to.match(/^cte_rt_/)
      .and.not.equal(first);

    expect(await post(refreshRequestBody(second, config))).to.have.property('status', 200);
    expect(await post(refreshRequestBody(first, config))).to.deep.equal({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'Unknown or invalid refresh token.' },
    });
  });
});
