import crypto from 'node:crypto';
import { expect } from 'chai';
import { createLocalJWKSet, jwtVerify } from 'jose';
import type { Actor } from '../../lib/sandbox/action-types.js';
import { mintAccessToken } from '../../lib/tokens/access-token.js';
import { KeySet, SIGNING_ALGS } from '../../lib/tokens/key-set.js';
import { rejectionAs } from '../support/rejections.js';
import {
  TOKEN_AUDIENCE as AUDIENCE,
  TOKEN_ISSUER as ISSUER,
  accessTokenParams,
  itRefusesCustomClaims,
} from '../support/unit-tokens.js';

async function verify(keys: KeySet, token: string) {
  return jwtVerify(token, createLocalJWKSet(keys.jwks()), {
    issuer: ISSUER,
    audience: AUDIENCE,
    typ: 'at+jwt',
  });
}

describe('tokens/access-token', () => {
  const keys = new KeySet();
  const now = Math.floor(Date.now() / 1000);
  const base = accessTokenParams(keys, now, ['openid', 'read:orders'], 7200);
  /** The registered claims every token of `base` carries, whatever else it adds. */
  const registered = (minted: { jti: string }) => ({
    iss: ISSUER,
    sub: 'partner|42',
    aud: AUDIENCE,
    iat: now,
    exp: now + 7200,
    jti: minted.jti,
    client_id: 'client-1',
  });

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
        ...registered(minted),
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
    expect(payload).to.deep.equal(registered(minted));
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
      ...registered(minted),
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
      ...registered(minted),
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
  itRefusesCustomClaims(protectedClaims, (extraClaims) =>
    mintAccessToken({ ...base, extraClaims }),
  );

  it('refuses scope and act even when the token has none', async () => {
    const noScope = { ...base, scope: [] };
    const scope = await rejectionAs(
      mintAccessToken({ ...noScope, extraClaims: { scope: 'admin' } }),
      Error,
    );
    expect(scope.message).to.equal('custom claims may not set the "scope" claim');
    const act = await rejectionAs(
      mintAccessToken({ ...noScope, extraClaims: { act: { sub: 'x' } } }),
      Error,
    );
    expect(act.message).to.equal('custom claims may not set the "act" claim');
  });

  it('refuses an alg the key set has no key for', async () => {
    const jwk = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      format: 'jwk',
    });
    const hostKeys = new KeySet({ keys: [{ ...jwk, kid: 'es-1', alg: 'ES256' }] });
    const error = await rejectionAs(
      mintAccessToken({ ...base, keys: hostKeys, alg: 'PS256' }),
      TypeError,
    );
    expect(error.message).to.equal(
      'customTokenExchange: no signing key with alg PS256 was configured in options.keys',
    );
  });
});
