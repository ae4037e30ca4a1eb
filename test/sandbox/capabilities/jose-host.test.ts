import FakeTimers from '@sinonjs/fake-timers';
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import {
  CapabilityError,
  HostCapabilities,
} from '../../../lib/sandbox/capabilities/host-capabilities.js';
import type {
  CapabilityScope,
  KeyDescriptor,
} from '../../../lib/sandbox/capabilities/host-capabilities.js';
import { rejection } from '../fixtures/capability-rejection.js';

/** A local HTTP server counting its hits; `respond` decides each answer. */
interface CountingServer {
  origin: string;
  host: string;
  hits: number;
  respond: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  close(): Promise<void>;
}

async function startServer(
  respond: CountingServer['respond'] = (_req, res) => res.end(),
): Promise<CountingServer> {
  const state = { hits: 0, respond };
  const server = http.createServer((req, res) => {
    state.hits += 1;
    state.respond(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    get hits() {
      return state.hits;
    },
    set hits(value: number) {
      state.hits = value;
    },
    get respond() {
      return state.respond;
    },
    set respond(value) {
      state.respond = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const sendJson = (res: http.ServerResponse, body: unknown, status = 200): void => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** `<header>.<payload>` as given, signed with ES256: tokens jose's own signing would not make. */
async function signRaw(key: CryptoKey, protectedHeader: string, payload: string): Promise<string> {
  const signature = await crypto.subtle.sign(
    { name: 'ECDSA', hash: 'SHA-256' },
    key,
    new TextEncoder().encode(`${protectedHeader}.${payload}`),
  );
  return `${protectedHeader}.${payload}.${Buffer.from(signature).toString('base64url')}`;
}

describe('HostCapabilities: jose facade', function () {
  const ISSUER = 'https://partner.example/';
  const AUDIENCE = 'urn:cte:test';
  let es: { publicKey: CryptoKey; privateKey: CryptoKey; jwk: JWK };
  let rs: { publicKey: CryptoKey; privateKey: CryptoKey; jwk: JWK; pem: string };
  let attacker: { publicKey: CryptoKey; privateKey: CryptoKey; jwk: JWK };
  let jwksServer: CountingServer;
  let attackerServer: CountingServer;
  let host: HostCapabilities;
  const controllers: AbortController[] = [];

  const scope = (overrides: Partial<CapabilityScope> = {}): CapabilityScope => {
    const controller = new AbortController();
    controllers.push(controller);
    return {
      actionId: 'act_jwt',
      allowedHosts: [jwksServer.host, attackerServer.host],
      allowedPrivateNetworks: ['127.0.0.1/32'],
      deadline: Date.now() + 5000,
      signal: controller.signal,
      ...overrides,
    };
  };
  const remote = (path = '/jwks'): KeyDescriptor => ({
    kind: 'remote-jwks',
    url: `${jwksServer.origin}${path}`,
  });
  const sign = (
    claims: Record<string, unknown>,
    key: CryptoKey | Uint8Array,
    header: Record<string, unknown>,
  ): Promise<string> =>
    new SignJWT(claims)
      .setProtectedHeader(header as { alg: string })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject('user-1')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(key);
  const verify = (
    token: string,
    key: KeyDescriptor = remote(),
    options: Record<string, unknown> = { issuer: ISSUER, audience: AUDIENCE },
    capabilities: HostCapabilities = host,
    capabilityScope: CapabilityScope = scope(),
  ) => capabilities.invoke(capabilityScope, 'jose.jwtVerify', [token, key, options]);

  before(async () => {
    const esPair = await generateKeyPair('ES256', { extractable: true });
    es = { ...esPair, jwk: { ...(await exportJWK(esPair.publicKey)), kid: 'es-1', alg: 'ES256' } };
    const rsPair = await generateKeyPair('RS256', { extractable: true });
    rs = {
      ...rsPair,
      jwk: { ...(await exportJWK(rsPair.publicKey)), kid: 'rs-1', alg: 'RS256', use: 'sig' },
      pem: await exportSPKI(rsPair.publicKey),
    };
    const attackerPair = await generateKeyPair('ES256', { extractable: true });
    attacker = { ...attackerPair, jwk: await exportJWK(attackerPair.publicKey) };
    jwksServer = await startServer((req, res) => sendJson(res, { keys: [es.jwk, rs.jwk] }));
    attackerServer = await startServer((req, res) =>
      sendJson(res, { keys: [{ ...attacker.jwk, kid: 'es-1', alg: 'ES256' }] }),
    );
  });

  beforeEach(() => {
    host = new HostCapabilities();
    jwksServer.hits = 0;
    attackerServer.hits = 0;
    jwksServer.respond = (_req, res) => sendJson(res, { keys: [es.jwk, rs.jwk] });
  });

  afterEach(() => {
    host.close();
    for (const controller of controllers.splice(0)) controller.abort();
  });

  after(async () => {
    await jwksServer.close();
    await attackerServer.close();
  });

  describe('jwtVerify', () => {
    it('verifies ES256 and RS256 tokens against a remote JWKS, fetching it once', async () => {
      const esToken = await sign({ scope: 'read' }, es.privateKey, {
        alg: 'ES256',
        kid: 'es-1',
        typ: 'JWT',
      });
      const rsToken = await sign({}, rs.privateKey, { alg: 'RS256', kid: 'rs-1' });
      const esResult = (await verify(esToken)) as {
        payload: Record<string, unknown>;
        protectedHeader: unknown;
      };
      expect(esResult.protectedHeader).to.deep.equal({ alg: 'ES256', kid: 'es-1', typ: 'JWT' });
      expect(esResult.payload).to.include({
        iss: ISSUER,
        aud: AUDIENCE,
        sub: 'user-1',
        scope: 'read',
      });
      const rsResult = (await verify(rsToken)) as { payload: Record<string, unknown> };
      expect(rsResult.payload.sub).to.equal('user-1');
      expect(jwksServer.hits).to.equal(1);
      // Plain data, so the runner can copy it into the sandbox.
      expect(JSON.parse(JSON.stringify(esResult))).to.deep.equal(esResult);
    });

    it('verifies with an SPKI key, a JWK, a local JWKS and a shared secret', async () => {
      const rsToken = await sign({}, rs.privateKey, { alg: 'RS256', kid: 'rs-1' });
      const esToken = await sign({}, es.privateKey, { alg: 'ES256', kid: 'es-1' });
      const secret = Buffer.from('a shared secret of at least 32 bytes!!');
      const hsToken = await sign({}, new Uint8Array(secret), { alg: 'HS256' });
      const keys: Array<[string, KeyDescriptor]> = [
        [rsToken, { kind: 'spki', pem: rs.pem, alg: 'RS256' }],
        [esToken, { kind: 'jwk', jwk: es.jwk }],
        [esToken, { kind: 'local-jwks', jwks: { keys: [rs.jwk, es.jwk] } }],
        [hsToken, { kind: 'secret', base64url: secret.toString('base64url') }],
      ];
      for (const [token, key] of keys) {
        const result = (await verify(token, key)) as { payload: { sub: string } };
        expect(result.payload.sub, key.kind).to.equal('user-1');
      }
      expect(jwksServer.hits).to.equal(0);
    });

    it('tells an expired token (ERR_JWT_EXPIRED) from a bad signature', async () => {
      const expired = await new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid: 'es-1' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setExpirationTime(Math.floor(Date.now() / 1000) - 120)
        .sign(es.privateKey);
      const expiredError = await rejection(verify(expired));
      expect(expiredError.toJSON()).to.deep.equal({
        name: 'JWTExpired',
        code: 'ERR_JWT_EXPIRED',
        message: '"exp" claim timestamp check failed',
        claim: 'exp',
        reason: 'check_failed',
      });

      // Signed by another key under the same kid.
      const forged = await sign({}, attacker.privateKey, { alg: 'ES256', kid: 'es-1' });
      const forgedError = await rejection(verify(forged));
      expect(forgedError.code).to.equal('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
      expect(forgedError.name).to.equal('JWSSignatureVerificationFailed');

      // A valid token with one signature byte changed.
      const valid = await sign({}, es.privateKey, { alg: 'ES256', kid: 'es-1' });
      const [h, p, s] = valid.split('.') as [string, string, string];
      const flipped = `${h}.${p}.${s.startsWith('A') ? 'B' : 'A'}${s.slice(1)}`;
      expect((await rejection(verify(flipped))).code).to.equal(
        'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
      );
    });

    it('reports which claim failed: iss, aud, typ, nbf, required claims', async () => {
      const token = await sign({}, es.privateKey, { alg: 'ES256', kid: 'es-1', typ: 'JWT' });
      const cases: Array<[Record<string, unknown>, string, string]> = [
        [{ issuer: 'https://other.example/' }, 'iss', 'check_failed'],
        [{ audience: 'urn:other' }, 'aud', 'check_failed'],
        [{ typ: 'at+jwt' }, 'typ', 'check_failed'],
        [{ subject: 'user-2' }, 'sub', 'check_failed'],
        [{ requiredClaims: ['jti'] }, 'jti', 'missing'],
      ];
      for (const [options, claim, reason] of cases) {
        const err = await rejection(verify(token, remote(), options));
        expect(err.toJSON(), claim).to.include({
          name: 'JWTClaimValidationFailed',
          code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
          claim,
          reason,
        });
      }
      const notYet = await new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid: 'es-1' })
        .setNotBefore('10m')
        .sign(es.privateKey);
      expect((await rejection(verify(notYet, remote(), {}))).toJSON()).to.include({
        code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
        claim: 'nbf',
      });
      // ...but it verifies with a currentDate after nbf, given as epoch ms.
      const later = (await verify(notYet, remote(), { currentDate: Date.now() + 11 * 60_000 })) as {
        payload: { nbf: number };
      };
      expect(later.payload.nbf).to.be.a('number');
      // And a token older than maxTokenAge is expired.
      expect(
        (
          await rejection(
            verify(token, remote(), { maxTokenAge: 60, currentDate: Date.now() + 120_000 }),
          )
        ).code,
      ).to.equal('ERR_JWT_EXPIRED');
    });

    it('never accepts alg none, whatever the options say', async () => {
      const unsecured = `${b64({ alg: 'none' })}.${b64({ sub: 'user-1', iss: ISSUER, aud: AUDIENCE })}.`;
      const err = await rejection(verify(unsecured));
      expect(err.code).to.equal('ERR_JOSE_ALG_NOT_ALLOWED');
      expect(err.name).to.equal('JOSEAlgNotAllowed');
      const upper = `${b64({ alg: 'NONE' })}.${b64({ sub: 'user-1' })}.`;
      expect((await rejection(verify(upper))).code).to.equal('ERR_JOSE_ALG_NOT_ALLOWED');
      const asked = await rejection(verify(unsecured, remote(), { algorithms: ['none'] }));
      expect(asked.toJSON()).to.deep.equal({
        name: 'TypeError',
        code: 'ERR_INVALID_ARGUMENT',
        message: 'jwtVerify: the "none" algorithm is never accepted',
      });
      expect(jwksServer.hits).to.equal(0);
    });

    it('refuses HS/RS confusion: an HS256 token signed with the RSA public key PEM', async () => {
      const confused = await sign({}, new TextEncoder().encode(rs.pem), {
        alg: 'HS256',
        kid: 'rs-1',
      });
      const spki: KeyDescriptor = { kind: 'spki', pem: rs.pem, alg: 'RS256' };
      expect((await rejection(verify(confused, spki))).code).to.equal('ERR_JOSE_ALG_NOT_ALLOWED');
      expect((await rejection(verify(confused, remote()))).code).to.equal(
        'ERR_JOSE_ALG_NOT_ALLOWED',
      );
      expect((await rejection(verify(confused, { kind: 'jwk', jwk: rs.jwk }))).code).to.equal(
        'ERR_JOSE_ALG_NOT_ALLOWED',
      );
      // Even when the action wrongly allows HS256, the RSA key is not usable as an HMAC secret.
      const allowed = { algorithms: ['HS256', 'RS256'] };
      const err = await rejection(verify(confused, spki, allowed));
      expect(err.code).to.equal('ERR_INVALID_ARGUMENT');
      const jwksErr = await rejection(verify(confused, remote(), allowed));
      expect(jwksErr.code).to.equal('ERR_JOSE_NOT_SUPPORTED');
    });

    it('refuses an unknown crit header (ERR_JOSE_NOT_SUPPORTED)', async () => {
      const header = { alg: 'ES256', kid: 'es-1', crit: ['exp-policy'], 'exp-policy': 1 };
      const protectedHeader = b64(header);
      const payload = b64({ sub: 'user-1' });
      const err = await rejection(
        verify(await signRaw(es.privateKey, protectedHeader, payload), remote(), {}),
      );
      expect(err.code).to.equal('ERR_JOSE_NOT_SUPPORTED');
      expect(err.message).to.equal('Extension Header Parameter "exp-policy" is not recognized');
    });

    it('refuses malformed tokens with ERR_JWS_INVALID / ERR_JWT_INVALID', async () => {
      const valid = await sign({}, es.privateKey, { alg: 'ES256', kid: 'es-1' });
      const [h, p, s] = valid.split('.') as [string, string, string];
      const jwsInvalid = [
        'a.b',
        `${h}.${p}.${s}.extra`,
        `${h}.${p}.${s}.x.y`,
        `%%%.${p}.${s}`,
        `${b64('not an object')}.${p}.${s}`,
        '',
      ];
      for (const token of jwsInvalid) {
        const err = await rejection(verify(token));
        expect(err.code, token).to.equal('ERR_JWS_INVALID');
      }
      expect((await rejection(verify(42 as unknown as string))).code).to.equal('ERR_JWS_INVALID');
      // A correctly signed token whose payload is not JSON.
      const protectedHeader = b64({ alg: 'ES256', kid: 'es-1' });
      const payload = Buffer.from('not json').toString('base64url');
      const err = await rejection(
        verify(await signRaw(es.privateKey, protectedHeader, payload), remote(), {}),
      );
      expect(err.code).to.equal('ERR_JWT_INVALID');
    });

    it('refuses header or payload JSON too large or nested too deeply, before anything parses it', async () => {
      const nested = (depth: number): unknown => (depth === 0 ? 1 : { a: nested(depth - 1) });
      const good = await sign({}, es.privateKey, { alg: 'ES256', kid: 'es-1' });
      const deepPayload = await sign({ claim: nested(70) }, es.privateKey, {
        alg: 'ES256',
        kid: 'es-1',
      });
      const deepHeader = await sign({}, es.privateKey, {
        alg: 'ES256',
        kid: 'es-1',
        ext: nested(70),
      });
      const hugeHeader = await sign({}, es.privateKey, {
        alg: 'ES256',
        kid: 'es-1',
        ext: 'x'.repeat(70_000),
      });
      const fine = await sign({ claim: nested(60) }, es.privateKey, { alg: 'ES256', kid: 'es-1' });
      const expectRefused = (err: CapabilityError, code: string, message: string) => {
        expect({ name: err.name, code: err.code, message: err.message }).to.deep.equal({
          name: code === 'ERR_JWS_INVALID' ? 'JWSInvalid' : 'JWTInvalid',
          code,
          message,
        });
      };
      // By jose (the key set is not fetched yet), then at once (it is).
      expectRefused(
        await rejection(verify(deepPayload)),
        'ERR_JWT_INVALID',
        "the JWT's payload is nested deeper than 64 levels",
      );
      expect(((await verify(good)) as { payload: unknown }).payload).to.include({ sub: 'user-1' });
      const atOnce = (token: string) => () =>
        host.invokeSync(scope(), 'jose.jwtVerify', [token, remote(), { issuer: ISSUER }]);
      expect(atOnce(fine)()).to.have.property('value');
      for (const [token, code, message] of [
        [deepPayload, 'ERR_JWT_INVALID', "the JWT's payload is nested deeper than 64 levels"],
        [
          deepHeader,
          'ERR_JWS_INVALID',
          "the JWT's protected header is nested deeper than 64 levels",
        ],
        [hugeHeader, 'ERR_JWS_INVALID', "the JWT's protected header is larger than 65536 bytes"],
      ] as const) {
        let thrown: unknown;
        try {
          atOnce(token)();
        } catch (err) {
          thrown = err;
        }
        expect(thrown, message).to.be.instanceOf(CapabilityError);
        expectRefused(thrown as CapabilityError, code, message);
        expectRefused(await rejection(verify(token)), code, message);
      }
    });

    it('never fetches jku, x5u or an embedded jwk', async () => {
      const headers = [
        { alg: 'ES256', kid: 'es-1', jku: `${attackerServer.origin}/jwks` },
        { alg: 'ES256', kid: 'es-1', x5u: `${attackerServer.origin}/cert.pem` },
        { alg: 'ES256', kid: 'es-1', jwk: attacker.jwk },
        { alg: 'ES256', jwk: attacker.jwk },
      ];
      for (const header of headers) {
        const token = await sign({}, attacker.privateKey, header);
        for (const key of [remote(), { kind: 'jwk', jwk: es.jwk } as KeyDescriptor]) {
          const err = await rejection(verify(token, key));
          expect(err.code).to.be.oneOf([
            'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
            'ERR_JWKS_NO_MATCHING_KEY',
          ]);
        }
      }
      expect(attackerServer.hits).to.equal(0);
      // The attacker's host is even in allowed_hosts: only the action's own URL is ever fetched.
      expect(scope().allowedHosts).to.include(attackerServer.host);
    });

    it('rejects a token whose kid is unknown with ERR_JWKS_NO_MATCHING_KEY', async () => {
      const token = await sign({}, es.privateKey, { alg: 'ES256', kid: 'missing' });
      const err = await rejection(verify(token));
      expect(err.toJSON()).to.deep.equal({
        name: 'JWKSNoMatchingKey',
        code: 'ERR_JWKS_NO_MATCHING_KEY',
        message: 'no applicable key found in the JSON Web Key Set',
      });
    });
  });

  describe('remote JWKS', () => {
    it('50 tokens with random kids cause at most one extra fetch per cooldown', async () => {
      const capabilities = new HostCapabilities({ jwksCooldownMs: 400 });
      // The JWKS cache tells its cooldown by Date, which the test moves on instead of waiting.
      const clock = FakeTimers.install({ now: Date.now(), toFake: ['Date'] });
      try {
        const good = await sign({}, es.privateKey, { alg: 'ES256', kid: 'es-1' });
        await verify(good, remote(), {}, capabilities);
        expect(jwksServer.hits).to.equal(1);
        const randomKid = () => sign({}, es.privateKey, { alg: 'ES256', kid: randomUUID() });

        // Inside the cooldown that followed the first fetch: no fetch at all.
        const concurrent = await Promise.all(Array.from({ length: 50 }, randomKid));
        const errors = await Promise.all(
          concurrent.map((token) => rejection(verify(token, remote(), {}, capabilities))),
        );
        expect(new Set(errors.map((err) => err.code))).to.deep.equal(
          new Set(['ERR_JWKS_NO_MATCHING_KEY']),
        );
        expect(jwksServer.hits).to.equal(1);

        // Once the cooldown is over: 25 concurrent and 25 sequential random kids, one fetch.
        clock.setSystemTime(clock.now + 450);
        const burst = await Promise.all(Array.from({ length: 25 }, randomKid));
        await Promise.all(
          burst.map((token) => rejection(verify(token, remote(), {}, capabilities))),
        );
        for (let i = 0; i < 25; i += 1) {
          await rejection(verify(await randomKid(), remote(), {}, capabilities));
        }
        expect(jwksServer.hits).to.equal(2);
        // The good token still verifies from the cache.
        await verify(good, remote(), {}, capabilities);
        expect(jwksServer.hits).to.equal(2);
      } finally {
        clock.uninstall();
        capabilities.close();
      }
    });

    it('cannot shorten the cooldown from the action', async () => {
      const capabilities = new HostCapabilities({ jwksCooldownMs: 60_000 });
      try {
        const key: KeyDescriptor = {
          kind: 'remote-jwks',
          url: `${jwksServer.origin}/jwks`,
          options: { cooldownDuration: 0, cacheMaxAge: 0 },
        };
        await verify(
          await sign({}, es.privateKey, { alg: 'ES256', kid: 'es-1' }),
          key,
          {},
          capabilities,
        );
        for (let i = 0; i < 10; i += 1) {
          const token = await sign({}, es.privateKey, { alg: 'ES256', kid: randomUUID() });
          await rejection(verify(token, key, {}, capabilities));
        }
        expect(jwksServer.hits).to.equal(1);
      } finally {
        capabilities.close();
      }
    });

    it('backs off after a failed fetch instead of fetching for every token', async () => {
      jwksServer.respond = (_req, res) => sendJson(res, { error: 'down' }, 500);
      const token = await sign({}, es.privateKey, { alg: 'ES256', kid: 'es-1' });
      const first = await rejection(verify(token));
      expect(first.code).to.equal('ERR_JOSE_GENERIC');
      expect(first.message).to.equal('Expected 200 OK from the JSON Web Key Set HTTP response');
      for (let i = 0; i < 20; i += 1) {
        expect((await rejection(verify(token))).code).to.equal('ERR_JWKS_UNAVAILABLE');
      }
      expect(jwksServer.hits).to.equal(1);
    });

    it('keeps one key set per action', async () => {
      const token = await sign({}, es.privateKey, { alg: 'ES256', kid: 'es-1' });
      await verify(token, remote(), {}, host, scope({ actionId: 'act_a' }));
      await verify(token, remote(), {}, host, scope({ actionId: 'act_a' }));
      await verify(token, remote(), {}, host, scope({ actionId: 'act_b' }));
      expect(jwksServer.hits).to.equal(2);
    });

    it('refuses a JWKS URL whose host is not allowed, without fetching', async () => {
      const token = await sign({}, es.privateKey, { alg: 'ES256', kid: 'es-1' });
      const err = await rejection(
        verify(token, remote(), {}, host, scope({ allowedHosts: ['idp.example.com'] })),
      );
      expect(err.code).to.equal('ERR_FETCH_HOST_NOT_ALLOWED');
      expect(err.message).to.equal(
        `remote JWKS: ${jwksServer.host} is not in the action's allowed_hosts`,
      );
      const ftp = await rejection(
        verify(token, { kind: 'remote-jwks', url: 'ftp://127.0.0.1/jwks' }),
      );
      expect(ftp.code).to.equal('ERR_FETCH_INVALID_URL');
      expect(jwksServer.hits).to.equal(0);
    });

    it('fetches an http: JWKS only from an address in allowed_private_networks', async () => {
      const token = await sign({}, es.privateKey, { alg: 'ES256', kid: 'es-1' });
      const err = await rejection(
        verify(token, remote(), {}, host, scope({ allowedPrivateNetworks: [] })),
      );
      expect(err.code).to.equal('ERR_FETCH_ADDRESS_NOT_ALLOWED');
      expect(err.message).to.match(
        /http: is only allowed to addresses in allowed_private_networks/,
      );
      expect(jwksServer.hits).to.equal(0);
    });

    it('checks the resolved address of a JWKS host (DNS rebinding)', async () => {
      const capabilities = new HostCapabilities({
        lookup: (_hostname, _options, callback) =>
          callback(null, [{ address: '10.0.0.1', family: 4 }]),
      });
      try {
        const port = jwksServer.host.split(':')[1];
        const token = await sign({}, es.privateKey, { alg: 'ES256', kid: 'es-1' });
        const key: KeyDescriptor = { kind: 'remote-jwks', url: `https://idp.test:${port}/jwks` };
        const err = await rejection(
          verify(
            token,
            key,
            {},
            capabilities,
            scope({ allowedHosts: [`idp.test:${port}`], allowedPrivateNetworks: [] }),
          ),
        );
        expect(err.code).to.equal('ERR_FETCH_ADDRESS_NOT_ALLOWED');
        expect(err.message).to.include('private address');
      } finally {
        capabilities.close();
      }
    });

    it('refuses a JWKS response over 128 kB', async () => {
      const padding = 'x'.repeat(130 * 1024);
      jwksServer.respond = (_req, res) => sendJson(res, { keys: [es.jwk], padding });
      const token = await sign({}, es.privateKey, { alg: 'ES256', kid: 'es-1' });
      const err = await rejection(verify(token));
      expect(err.code).to.equal('ERR_FETCH_TOO_LARGE');
      expect(err.message).to.equal(
        `fetch: the response from ${jwksServer.origin} is larger than 131072 bytes`,
      );
    });

    it('turns a JWKS server that never answers into ERR_JWKS_TIMEOUT', async () => {
      const capabilities = new HostCapabilities({ fetchTimeoutMs: 200 });
      jwksServer.respond = () => undefined;
      try {
        const token = await sign({}, es.privateKey, { alg: 'ES256', kid: 'es-1' });
        const started = Date.now();
        const err = await rejection(verify(token, remote(), {}, capabilities));
        expect(err.code).to.equal('ERR_JWKS_TIMEOUT');
        expect(Date.now() - started).to.be.lessThan(1500);
      } finally {
        capabilities.close();
      }
    });
  });

  describe('decodeJwt / decodeProtectedHeader / checkKey', () => {
    it('decodes without verifying, with jose errors for malformed input', async () => {
      const token = await sign({ scope: 'x' }, es.privateKey, { alg: 'ES256', kid: 'es-1' });
      const s = scope();
      expect(await host.invoke(s, 'jose.decodeJwt', [token])).to.include({
        sub: 'user-1',
        scope: 'x',
      });
      expect(await host.invoke(s, 'jose.decodeProtectedHeader', [token])).to.deep.equal({
        alg: 'ES256',
        kid: 'es-1',
      });
      expect((await rejection(host.invoke(s, 'jose.decodeJwt', ['a.b.c']))).code).to.equal(
        'ERR_JWT_INVALID',
      );
      const header = await rejection(host.invoke(s, 'jose.decodeProtectedHeader', ['a.b']));
      expect(header.toJSON()).to.deep.equal({
        name: 'TypeError',
        code: 'ERR_INVALID_ARGUMENT',
        message: 'Invalid Token or Protected Header formatting',
      });
    });

    it('accepts usable keys and rejects bad ones early with jose-like errors', async () => {
      const s = scope();
      const check = (descriptor: unknown) => host.invoke(s, 'jose.checkKey', [descriptor]);
      expect(await check({ kind: 'spki', pem: rs.pem, alg: 'RS256' })).to.deep.equal({ ok: true });
      expect(await check({ kind: 'jwk', jwk: es.jwk })).to.deep.equal({ ok: true });
      expect(await check({ kind: 'local-jwks', jwks: { keys: [es.jwk] } })).to.deep.equal({
        ok: true,
      });
      expect(await check(remote())).to.deep.equal({ ok: true });
      expect(jwksServer.hits).to.equal(0);

      const privateJwk = await exportJWK(es.privateKey);
      expect(
        (await rejection(check({ kind: 'jwk', jwk: privateJwk, alg: 'ES256' }))).message,
      ).to.equal('the JWK is a private key; verification needs the public key');
      expect((await rejection(check({ kind: 'jwk', jwk: { kty: 'EC' } }))).message).to.equal(
        '"alg" argument is required when "jwk.alg" is not present',
      );
      const badCurve = await rejection(
        check({ kind: 'jwk', jwk: { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }, alg: 'ES256' }),
      );
      expect(badCurve.code).to.equal('ERR_INVALID_ARGUMENT');
      expect(
        (await rejection(check({ kind: 'spki', pem: 'nope', alg: 'RS256' }))).message,
      ).to.equal('"spki" must be SPKI formatted string');
      expect((await rejection(check({ kind: 'local-jwks', jwks: { keys: [1] } }))).code).to.equal(
        'ERR_JWKS_INVALID',
      );
      expect((await rejection(check({ kind: 'secret', base64url: '' }))).code).to.equal(
        'ERR_INVALID_ARGUMENT',
      );
      expect((await rejection(check({ kind: 'x509' }))).code).to.equal('ERR_INVALID_ARGUMENT');
      expect((await rejection(check('a key'))).code).to.equal('ERR_INVALID_ARGUMENT');
      expect(
        (await rejection(check({ kind: 'remote-jwks', url: 'https://evil.example/jwks' }))).code,
      ).to.equal('ERR_FETCH_HOST_NOT_ALLOWED');
    });
  });
});
