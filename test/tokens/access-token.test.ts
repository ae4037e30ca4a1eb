import crypto from 'node:crypto';
import { expect } from 'chai';
import { createLocalJWKSet, jwtVerify } from 'jose';
import type { Actor } from '../../lib/actions/types.js';
import { mintAccessToken, type AccessTokenParams } from '../../lib/tokens/access-token.js';
import { KeySet, SIGNING_ALGS } from '../../lib/tokens/key-set.js';

const ISSUER = 'https://tenant.example/';
const AUDIENCE = 'https://api.example/orders';

async function verify(keys: KeySet, token: string) {
  return jwtVerify(token, createLocalJWKSet(keys.jwks()), {
    issuer: ISSUER,
    audience: AUDIENCE,
    typ: 'at+jwt',
  });
}

/** The rejection of `minting`; fails the test when it resolves. */
async function rejection(minting: Promise<unknown>): Promise<Error> {
  return minting.then(
    () => expect.fail('minted'),
    (error: unknown) => error as Error,
  );
}

describe('tokens/access-token', () => {
  const keys = new KeySet();
  const now = Math.floor(Date.now() / 1000);
  const base: AccessTokenParams = {
    issuer: ISSUER,
    audience: AUDIENCE,
    subject: 'partner|42',
    clientId: 'client-1',
    scope: ['openid', 'read:orders'],
    lifetime: 7200,
    alg: 'ES256',
    keys,
    now,
  };

  for (const alg of SIGNING_ALGS) {
    it(`mints an RFC 9068 token signed with ${alg}`, async () => {
      const minted = await mintAccessToken({ ...base, alg });
      const { protectedHeader, payload } = await verify(keys, minted.token);
      expect(protectedHeader).to.deep.equal({
        alg,
        typ: 'at+jwt',
        kid: keys.signingKey(alg).kid,
      });
      expect(payload).to.deep.equal({
        iss: ISSUER,
        sub: 'partner|42',
        aud: AUDIENCE,
        iat: now,
        exp: now + 7200,
        jti: minted.jti,
        client_id: 'client-1',
        scope: 'openid read:orders',
      });
      expect(minted.expires_in).to.equal(7200);
    });
  }

  it('uses a fresh jti of the router’s prefix and 128 random bits per token', async () => {
    const minted = await Promise.all(Array.from({ length: 50 }, () => mintAccessToken(base)));
    const jtis = new Set(minted.map((token) => token.jti));
    expect(jtis.size).to.equal(50);
    for (const jti of jtis) {
      expect(jti).to.match(/^cte_at_[A-Za-z0-9_-]{22}$/);
      expect(Buffer.from(jti.slice('cte_at_'.length), 'base64url')).to.have.length(16);
    }
  });

  it('defaults iat to the current time', async () => {
    const { now: _now, ...withoutNow } = base;
    const before = Math.floor(Date.now() / 1000);
    const { payload } = await verify(keys, (await mintAccessToken(withoutNow)).token);
    const after = Math.floor(Date.now() / 1000);
    expect(payload.iat).to.be.within(before, after);
    expect(payload.exp).to.equal((payload.iat ?? 0) + 7200);
  });

  it('omits scope when no scope was granted', async () => {
    const minted = await mintAccessToken({ ...base, scope: [] });
    const { payload } = await verify(keys, minted.token);
    expect(payload).to.deep.equal({
      iss: ISSUER,
      sub: 'partner|42',
      aud: AUDIENCE,
      iat: now,
      exp: now + 7200,
      jti: minted.jti,
      client_id: 'client-1',
    });
  });

  it('carries the actor as act, nested exactly as set', async () => {
    const actor: Actor = {
      sub: 'agent-7',
      platform: 'agents.example',
      act: { sub: 'orchestrator', depth: 2, act: { sub: 'human-operator', trusted: true } },
    };
    const minted = await mintAccessToken({ ...base, actor });
    const { payload } = await verify(keys, minted.token);
    expect(payload).to.deep.equal({
      iss: ISSUER,
      sub: 'partner|42',
      aud: AUDIENCE,
      iat: now,
      exp: now + 7200,
      jti: minted.jti,
      client_id: 'client-1',
      scope: 'openid read:orders',
      act: {
        sub: 'agent-7',
        platform: 'agents.example',
        act: { sub: 'orchestrator', depth: 2, act: { sub: 'human-operator', trusted: true } },
      },
    });
  });

  it('adds custom claims after the registered ones', async () => {
    const minted = await mintAccessToken({
      ...base,
      extraClaims: { 'https://example.com/roles': ['admin'], tier: 'gold', skipped: undefined },
    });
    const { payload } = await verify(keys, minted.token);
    expect(payload).to.deep.equal({
      iss: ISSUER,
      sub: 'partner|42',
      aud: AUDIENCE,
      iat: now,
      exp: now + 7200,
      jti: minted.jti,
      client_id: 'client-1',
      scope: 'openid read:orders',
      'https://example.com/roles': ['admin'],
      tier: 'gold',
    });
  });

  const protectedClaims = [
    'iss',
    'sub',
    'aud',
    'iat',
    'exp',
    'jti',
    'client_id',
    'scope',
    'act',
    'may_act',
    'nbf',
    'azp',
    'org_id',
    'org_name',
    'cnf',
    '__proto__',
  ];
  for (const claim of protectedClaims) {
    it(`refuses a custom claim named ${claim}`, async () => {
      // JSON.parse makes "__proto__" an own member, as a hook's JSON result would.
      const extraClaims = JSON.parse(`{"${claim}": "forged"}`) as Record<string, unknown>;
      expect((await rejection(mintAccessToken({ ...base, extraClaims }))).message).to.equal(
        `custom claims may not set the "${claim}" claim`,
      );
    });
  }

  it('refuses scope and act even when the token has none', async () => {
    const noScope = { ...base, scope: [] };
    const scope = await rejection(mintAccessToken({ ...noScope, extraClaims: { scope: 'admin' } }));
    expect(scope.message).to.equal('custom claims may not set the "scope" claim');
    const act = await rejection(
      mintAccessToken({ ...noScope, extraClaims: { act: { sub: 'x' } } }),
    );
    expect(act.message).to.equal('custom claims may not set the "act" claim');
  });

  it('refuses an alg the key set has no key for', async () => {
    const jwk = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      format: 'jwk',
    });
    const hostKeys = new KeySet({ keys: [{ ...jwk, kid: 'es-1', alg: 'ES256' }] });
    const error = await rejection(mintAccessToken({ ...base, keys: hostKeys, alg: 'PS256' }));
    expect(error).to.be.instanceOf(TypeError);
    expect(error.message).to.equal(
      'customTokenExchange: no signing key with alg PS256 was configured in options.keys',
    );
  });
});
