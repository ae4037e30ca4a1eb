import { expect } from 'chai';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import type { ActionVersion } from '../../../lib/sandbox/action-runner.js';
import { HostCapabilities } from '../../../lib/sandbox/capabilities/host-capabilities.js';
import type { ExecutionGate } from '../../../lib/sandbox/execution-gate.js';
import type { CapabilityInvoker } from '../../../lib/sandbox/isolated-vm/isolated-vm-runner.js';
import {
  codeVersion,
  handlerCode,
  messagesOfSuccess,
  runOnce,
  sandboxRunner,
  testEvent,
} from '../fixtures/sandbox-helpers.js';
import { IDP_AUDIENCE, IDP_ISSUER, LocalIdp, foreignKey } from '../fixtures/local-idp.js';

/** The action an integrator writes: verify the subject token against the IdP's JWKS. */
const VERIFY_WITH_JWKS = handlerCode(`
  const { jwtVerify, createRemoteJWKSet, errors } = require('jose');
  const JWKS = createRemoteJWKSet(new URL(event.secrets.jwks_url));
  try {
    const { payload, protectedHeader } = await jwtVerify(event.transaction.subject_token, JWKS, {
      issuer: event.secrets.issuer,
      audience: event.secrets.audience,
      algorithms: ['ES256'],
    });
    console.log('verified', protectedHeader.alg, protectedHeader.kid);
    api.authentication.setUserById(payload.sub);
  } catch (err) {
    const kind =
      err instanceof errors.JWTExpired ? 'expired' :
      err instanceof errors.JWSSignatureVerificationFailed ? 'bad signature' :
      err instanceof errors.JWTClaimValidationFailed ? 'bad claim ' + err.claim :
      'other';
    console.log(kind, err.name, err.code, err instanceof errors.JOSEError, err instanceof Error);
    api.access.rejectInvalidSubjectToken(kind);
  }
`);

describe('the sandbox with the real host capabilities', function () {
  this.timeout(10_000);
  const idp = new LocalIdp();
  let capabilities: HostCapabilities;
  let runner: ExecutionGate;
  let version: ActionVersion;

  before(async () => {
    await idp.start();
    capabilities = new HostCapabilities();
    runner = sandboxRunner({ capabilities });
    version = codeVersion(VERIFY_WITH_JWKS, {
      secrets: {
        jwks_url: `${idp.origin}/.well-known/jwks.json`,
        issuer: IDP_ISSUER,
        audience: IDP_AUDIENCE,
      },
      allowed_hosts: [idp.host],
      allowed_private_networks: ['127.0.0.1/32'],
    });
  });
  after(async () => {
    await runner.close();
    capabilities.close();
    await idp.stop();
  });

  const exchange = async (token: string, target: ActionVersion = version) => {
    const event = testEvent();
    event.transaction.subject_token = token;
    return runOnce(runner, target, event);
  };

  it('verifies an ES256 subject token against the JWKS of a local server, inside the sandbox', async () => {
    const outcome = await exchange(await idp.token('legacy-user-1'));
    expect(outcome.failure).to.equal(undefined);
    expect(outcome.console).to.deep.equal([{ level: 'log', message: 'verified ES256 idp-key-1' }]);
    expect(outcome.commands).to.deep.equal([{ type: 'setUserById', user_id: 'legacy-user-1' }]);
  });

  it('tells an expired token from a bad signature with jose error classes and codes', async () => {
    const expired = await exchange(await idp.token('legacy-user-1', { expiresInSeconds: -30 }));
    expect(expired.console[0]?.message).to.equal('expired JWTExpired ERR_JWT_EXPIRED true true');
    expect(expired.commands).to.deep.equal([
      { type: 'rejectInvalidSubjectToken', reason: 'expired' },
    ]);

    const forged = await exchange(await idp.token('legacy-user-1', { key: await foreignKey() }));
    expect(forged.console[0]?.message).to.equal(
      'bad signature JWSSignatureVerificationFailed ERR_JWS_SIGNATURE_VERIFICATION_FAILED true true',
    );

    const wrongAudience = await exchange(
      await new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid: 'idp-key-1' })
        .setIssuer(IDP_ISSUER)
        .setAudience('urn:someone-else')
        .setSubject('x')
        .setExpirationTime('5m')
        .sign(await foreignKey()),
    );
    expect(wrongAudience.console[0]?.message).to.match(/^(bad signature|bad claim aud) /);
  });

  it('answers jwtVerify inside the entry once the JWKS is at hand; jose runs for the fetch and for failures', async () => {
    const counted = { invoke: 0, invokeSync: 0, answeredAtOnce: 0 };
    const counting: CapabilityInvoker = {
      invoke: (scope, name, args) => {
        if (name === 'jose.jwtVerify') counted.invoke += 1;
        return capabilities.invoke(scope, name, args);
      },
      invokeSync: (scope, name, args) => {
        counted.invokeSync += 1;
        const answer = capabilities.invokeSync(scope, name, args);
        if (answer !== undefined) counted.answeredAtOnce += 1;
        return answer;
      },
    };
    const own = sandboxRunner({ capabilities: counting });
    // Another action id: a remote set of its own, not yet fetched.
    const fresh = { ...version, action_id: `${version.action_id}_at_once` };
    try {
      for (const user of ['user-a', 'user-b', 'user-c']) {
        const event = testEvent();
        event.transaction.subject_token = await idp.token(user);
        const outcome = await runOnce(own, fresh, event);
        expect(outcome.commands).to.deep.equal([{ type: 'setUserById', user_id: user }]);
      }
      expect(counted).to.deep.equal({ invoke: 1, invokeSync: 3, answeredAtOnce: 2 });

      const event = testEvent();
      event.transaction.subject_token = await idp.token('user-d', { key: await foreignKey() });
      const forged = await runOnce(own, fresh, event);
      expect(forged.console[0]?.message).to.equal(
        'bad signature JWSSignatureVerificationFailed ERR_JWS_SIGNATURE_VERIFICATION_FAILED true true',
      );
      expect(counted).to.deep.equal({ invoke: 2, invokeSync: 4, answeredAtOnce: 2 });

      event.transaction.subject_token = await idp.token('user-e', { expiresInSeconds: -30 });
      const expired = await runOnce(own, fresh, event);
      expect(expired.console[0]?.message).to.equal('expired JWTExpired ERR_JWT_EXPIRED true true');
      // A correctly signed token with a failing claim: jose's claim error, given at once.
      expect(counted).to.deep.equal({ invoke: 2, invokeSync: 5, answeredAtOnce: 2 });
    } finally {
      await own.close();
    }
  });

  it('refuses the JWKS when the action does not allow the private address it resolves to', async () => {
    const closed = {
      ...version,
      action_id: `${version.action_id}_closed`,
      allowed_private_networks: [],
    };
    const outcome = await exchange(await idp.token('legacy-user-1'), closed);
    expect(outcome.commands).to.deep.equal([
      { type: 'rejectInvalidSubjectToken', reason: 'other' },
    ]);
    expect(outcome.console[0]?.message).to.match(/^other \w+ ERR_FETCH_\w+ false true$/);
  });

  it('fetches only allowed hosts, with JSON and form bodies', async () => {
    const outcome = await runOnce(
      runner,
      codeVersion(
        handlerCode(`
          const base = event.secrets.base;
          const info = await fetch(base + '/userinfo', { headers: { Authorization: 'Bearer good-token' } });
          console.log(info.ok, info.status, info.headers.get('X-IDP'), (await info.json()).sub);
          const denied = await fetch(base + '/userinfo');
          console.log(denied.ok, denied.status, (await denied.json()).error);
          const form = await fetch(base + '/echo', {
            method: 'POST',
            body: new URLSearchParams({ token: 'a b&c', client_id: 'é' }),
          });
          console.log(JSON.stringify(await form.json()));
          const json = await fetch(new URL('/echo', base), {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ hello: 'world' }),
          });
          console.log(JSON.stringify(await json.json()));
          try {
            await fetch('https://not-allowed.example.com/steal');
          } catch (err) {
            console.log(err.name, err.code);
          }
          try {
            await fetch(base + '/echo', { method: 'POST', body: { not: 'a string' } });
          } catch (err) {
            console.log(err.name, err.message);
          }
          api.authentication.setUserById('fetched');
        `),
        {
          secrets: { base: idp.origin },
          allowed_hosts: [idp.host],
          allowed_private_networks: ['127.0.0.1/32'],
        },
      ),
    );
    expect(messagesOfSuccess(outcome)).to.deep.equal([
      'true 200 local user-from-userinfo',
      'false 401 invalid_token',
      '{"method":"POST","contentType":"application/x-www-form-urlencoded;charset=UTF-8","body":"token=a+b%26c&client_id=%C3%A9"}',
      '{"method":"POST","contentType":"application/json","body":"{\\"hello\\":\\"world\\"}"}',
      'CapabilityError ERR_FETCH_HOST_NOT_ALLOWED',
      'TypeError fetch: init.body must be a string or a URLSearchParams (for JSON, pass JSON.stringify(value) with a content-type header)',
    ]);
    expect(outcome.commands).to.deep.equal([{ type: 'setUserById', user_id: 'fetched' }]);
  });

  it('verifies with importJWK, importSPKI, a local JWKS and an HMAC secret', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const spki = await exportSPKI(publicKey);
    const signed = await new SignJWT({ via: 'keys' })
      .setProtectedHeader({ alg: 'ES256', kid: 'idp-key-1' })
      .setSubject('key-user')
      .setExpirationTime('5m')
      .sign(privateKey);
    const hmac = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('hmac-user')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('shared-secret-of-32-bytes-length!'));
    const event = testEvent();
    event.transaction.subject_token = signed;
    const outcome = await runOnce(
      runner,
      codeVersion(
        handlerCode(`
          const jose = require('jose');
          const token = event.transaction.subject_token;
          const viaSpki = await jose.jwtVerify(token, await jose.importSPKI(event.secrets.spki, 'ES256'));
          const header = jose.decodeProtectedHeader(token);
          const claims = jose.decodeJwt(token);
          const localSet = jose.createLocalJWKSet({ keys: [JSON.parse(event.secrets.jwk)] });
          const viaLocal = await jose.jwtVerify(token, localSet, { algorithms: ['ES256'] });
          const viaImport = await jose.jwtVerify(token, await jose.importJWK(JSON.parse(event.secrets.jwk), 'ES256'));
          const viaSecret = await jose.jwtVerify(event.secrets.hmac, new TextEncoder().encode('shared-secret-of-32-bytes-length!'));
          let badKey = 'accepted';
          try { await jose.importSPKI('not a pem', 'ES256'); } catch (err) { badKey = err.name; }
          console.log(viaSpki.payload.sub, header.kid, claims.via, viaLocal.payload.sub, viaImport.protectedHeader.alg, viaSecret.payload.sub, badKey);
        `),
        {
          secrets: {
            spki,
            jwk: JSON.stringify({ ...(await exportJWK(publicKey)), kid: 'idp-key-1' }),
            hmac,
          },
        },
      ),
      event,
    );
    expect(messagesOfSuccess(outcome)).to.deep.equal([
      'key-user idp-key-1 keys key-user ES256 hmac-user TypeError',
    ]);
  });
});
