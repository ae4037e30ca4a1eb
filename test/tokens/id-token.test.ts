import { expect } from 'chai';
import { createLocalJWKSet, jwtVerify } from 'jose';
import type { Actor } from '../../lib/sandbox/action-types.js';
import type { Client, IdTokenSigningAlg } from '../../lib/registry/clients.js';
import { mintIdToken, type IdTokenParams } from '../../lib/tokens/id-token.js';
import { KeySet, SIGNING_ALGS } from '../../lib/tokens/key-set.js';
import type { User } from '../../lib/users/user-store.js';
import { rejectionAs } from '../support/rejections.js';
import { testClient } from '../support/test-client.js';
import { itRefusesCustomClaims } from '../support/unit-tokens.js';

const ISSUER = 'https://tenant.example/';
const SECRET = 'hs256-client-secret-0123456789abcdef0123456789abcdef0123456789ab';

function client(alg: IdTokenSigningAlg): Client {
  return testClient({
    client_id: 'client-1',
    client_secret: SECRET,
    name: 'Orders app',
    id_token_alg: alg,
  });
}

const user: User = {
  user_id: 'partner|42',
  email: 'ada@example.com',
  email_verified: true,
  username: 'ada',
  phone_number: '+15555550100',
  name: 'Ada Lovelace',
  given_name: 'Ada',
  family_name: 'Lovelace',
  nickname: 'ada',
  picture: 'https://example.com/ada.png',
  identities: [{ connection: 'partner', user_id: '42', provider: 'custom', isSocial: false }],
  app_metadata: { plan: 'pro' },
  user_metadata: { theme: 'dark' },
  created_at: '2024-01-01T00:00:00.000Z',
  updated_at: '2024-05-06T07:08:09.500Z',
};
const UPDATED_AT = Math.floor(Date.parse('2024-05-06T07:08:09.500Z') / 1000);

describe('tokens/id-token', () => {
  const keys = new KeySet();
  const now = Math.floor(Date.now() / 1000);
  const base: IdTokenParams = {
    issuer: ISSUER,
    client: client('RS256'),
    user,
    scope: ['openid'],
    keys,
    now,
    authTime: now - 60,
  };
  const registered = {
    iss: ISSUER,
    sub: 'partner|42',
    aud: 'client-1',
    iat: now,
    exp: now + 36000,
    auth_time: now - 60,
  };

  // The tokens are minted at `now`, taken when the file loads: checked at that time, not later.
  async function verify(token: string) {
    return jwtVerify(token, createLocalJWKSet(keys.jwks()), {
      issuer: ISSUER,
      audience: 'client-1',
      currentDate: new Date(now * 1000),
    });
  }

  for (const alg of SIGNING_ALGS) {
    it(`signs with the client's ${alg} key from the key set`, async () => {
      const token = await mintIdToken({ ...base, client: client(alg) });
      const { protectedHeader, payload } = await verify(token);
      expect(protectedHeader).to.deep.equal({ alg, typ: 'JWT', kid: keys.signingKey(alg).kid });
      expect(payload).to.deep.equal(registered);
    });
  }

  it('signs HS256 with the client secret, without a kid', async () => {
    const token = await mintIdToken({ ...base, client: client('HS256') });
    const { protectedHeader, payload } = await jwtVerify(token, new TextEncoder().encode(SECRET), {
      issuer: ISSUER,
      audience: 'client-1',
    });
    expect(protectedHeader).to.deep.equal({ alg: 'HS256', typ: 'JWT' });
    expect(payload).to.deep.equal(registered);
  });

  it('refuses HS256 for a client without a secret', async () => {
    for (const secret of [undefined, '']) {
      const error = await rejectionAs(
        mintIdToken({ ...base, client: { ...client('HS256'), client_secret: secret } }),
        Error,
      );
      expect(error.message).to.equal(
        'client client-1 signs ID tokens with HS256 but has no client_secret to sign with',
      );
    }
  });

  it('uses the client id_token_lifetime for exp', async () => {
    const short = { ...client('ES256'), id_token_lifetime: 300 };
    const { payload } = await verify(await mintIdToken({ ...base, client: short }));
    expect(payload).to.deep.equal({ ...registered, exp: now + 300 });
  });

  const profileClaims = {
    name: 'Ada Lovelace',
    given_name: 'Ada',
    family_name: 'Lovelace',
    nickname: 'ada',
    picture: 'https://example.com/ada.png',
    updated_at: UPDATED_AT,
  };
  const emailClaims = { email: 'ada@example.com', email_verified: true };
  const scopeCases: Array<{ scope: string[]; claims: Record<string, unknown> }> = [
    { scope: ['openid'], claims: {} },
    { scope: ['openid', 'profile'], claims: profileClaims },
    { scope: ['openid', 'email'], claims: emailClaims },
    {
      scope: ['openid', 'profile', 'email', 'offline_access'],
      claims: { ...profileClaims, ...emailClaims },
    },
  ];
  for (const { scope, claims } of scopeCases) {
    it(`releases exactly the profile claims of "${scope.join(' ')}"`, async () => {
      const { payload } = await verify(await mintIdToken({ ...base, scope }));
      expect(payload).to.deep.equal({ ...registered, ...claims });
    });
  }

  it('leaves out profile claims the user does not have', async () => {
    const sparse: User = {
      user_id: 'partner|7',
      identities: [],
      app_metadata: {},
      user_metadata: {},
      created_at: '2024-01-01T00:00:00.000Z',
      updated_at: 'not a date',
      email: 'x@example.com',
    };
    const { payload } = await verify(
      await mintIdToken({ ...base, user: sparse, scope: ['openid', 'profile', 'email'] }),
    );
    expect(payload).to.deep.equal({ ...registered, sub: 'partner|7', email: 'x@example.com' });
  });

  it('carries the actor as act, nested exactly as set', async () => {
    const actor: Actor = { sub: 'agent-7', act: { sub: 'orchestrator', run: 12 } };
    const { payload } = await verify(
      await mintIdToken({ ...base, scope: ['openid', 'email'], actor }),
    );
    expect(payload).to.deep.equal({
      ...registered,
      ...emailClaims,
      act: { sub: 'agent-7', act: { sub: 'orchestrator', run: 12 } },
    });
  });

  it('adds custom claims after its own', async () => {
    const { payload } = await verify(
      await mintIdToken({ ...base, extraClaims: { 'https://example.com/plan': 'pro' } }),
    );
    expect(payload).to.deep.equal({ ...registered, 'https://example.com/plan': 'pro' });
  });

  const refused = [
    'iss',
    'sub',
    'aud',
    'iat',
    'exp',
    'act',
    'may_act',
    'cnf',
    'nbf',
    'azp',
    'jti',
    'client_id',
    'scope',
    // Profile claims stay tied to their scopes: "email" is refused though the scope is not granted.
    'email',
    'email_verified',
    'name',
    'updated_at',
    'nonce',
  ];
  itRefusesCustomClaims(refused, (extraClaims) => mintIdToken({ ...base, extraClaims }));
});
