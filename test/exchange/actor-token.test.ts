import { expect } from 'chai';
import { OAuthError } from '../../lib/errors.js';
import {
  ID_TOKEN_TYPE,
  INVALID_ACTOR_TOKEN_DESCRIPTION,
  InvalidActorToken,
  MAX_ACTOR_ID_TOKEN_LENGTH,
  actorTokenUserOf,
  verifyActorIdToken,
} from '../../lib/exchange/actor-token.js';
import type { ActorIdTokenCheck } from '../../lib/exchange/actor-token.js';
import type { Client } from '../../lib/registry/clients.js';
import { parseClient } from '../../lib/registry/clients.js';
import { mintIdToken } from '../../lib/tokens/id-token.js';
import { KeySet } from '../../lib/tokens/key-set.js';
import type { SigningAlg } from '../../lib/tokens/key-set.js';
import { MemoryUserStore } from '../../lib/users/memory-user-store.js';
import type { User, UserStore } from '../../lib/users/user-store.js';

const ISSUER = 'https://tenant.example/';
const SECRET = 'hs256-client-secret-0123456789abcdef0123456789abcdef';
const NOW = 1_780_000_000;

function client(clientId: string, alg: 'RS256' | 'ES256' | 'HS256' = 'RS256'): Client {
  return parseClient(
    {
      client_id: clientId,
      client_secret: SECRET,
      name: clientId,
      jwt_configuration: { alg },
      token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
    },
    'client',
  );
}

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('exchange/actor-token: verifying an ID token presented as actor_token', () => {
  let clockMs: number;
  let keys: KeySet;
  let users: MemoryUserStore;
  let app: Client;
  let check: ActorIdTokenCheck;

  // Generating RSA keys is slow: one key set for the whole file (the rotation test makes its own).
  before(() => {
    clockMs = NOW * 1000;
    keys = new KeySet({ now: () => clockMs, gracePeriodSeconds: 3600 });
    for (const alg of ['RS256', 'ES256', 'PS256', 'EdDSA'] as const) keys.ensure(alg);
  });

  beforeEach(() => {
    clockMs = NOW * 1000;
    users = new MemoryUserStore(
      [
        {
          user_id: 'auth0|bob',
          email: 'bob@example.com',
          email_verified: true,
          name: 'Bob',
          identities: [{ connection: 'db', user_id: 'bob' }],
          app_metadata: { role: 'support' },
          created_at: '2026-01-01T00:00:00.000Z',
          updated_at: '2026-01-02T00:00:00.000Z',
        },
        { user_id: 'auth0|mallory', blocked: true },
      ],
      { now: () => clockMs },
    );
    app = client('app');
    check = { issuer: ISSUER, client: app, keys, users, now: NOW };
  });

  async function bob(): Promise<User> {
    return (await users.getById('auth0|bob'))!;
  }

  /** A genuine ID token for `clientOf`, minted as the router mints them. */
  async function idToken(clientOf: Client = app, now = NOW): Promise<string> {
    return mintIdToken({
      issuer: ISSUER,
      client: clientOf,
      user: await bob(),
      scope: ['openid'],
      keys,
      now,
      authTime: now,
    });
  }

  /** A token with any header and claims, signed by the router's current key of `alg`. */
  function signed(
    header: Record<string, unknown>,
    claims: Record<string, unknown>,
    alg: SigningAlg = 'RS256',
  ): string {
    const key = keys.signingKey(alg);
    const input = `${encode({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header })}.${encode(claims)}`;
    // The set's own keys sign at once (only a KMS signer answers through a promise).
    return `${input}.${(key.sign(Buffer.from(input)) as Buffer).toString('base64url')}`;
  }

  const claims = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    iss: ISSUER,
    sub: 'auth0|bob',
    aud: 'app',
    iat: NOW - 10,
    exp: NOW + 600,
    ...extra,
  });

  async function refusal(token: string, against: ActorIdTokenCheck = check): Promise<string> {
    try {
      await verifyActorIdToken(token, against);
    } catch (err) {
      expect(err).to.be.instanceOf(InvalidActorToken);
      return (err as Error).message;
    }
    throw new Error('expected the actor token to be refused');
  }

  it('returns the user as actor_token_user for a genuine ID token of every asymmetric alg', async () => {
    for (const alg of ['RS256', 'ES256'] as const) {
      const token = await idToken(client('app', alg));
      expect(await verifyActorIdToken(token, check)).to.deep.equal({
        user_id: 'auth0|bob',
        email: 'bob@example.com',
        email_verified: true,
        name: 'Bob',
        app_metadata: { role: 'support' },
        user_metadata: {},
        identities: [{ connection: 'db', user_id: 'bob', provider: 'db', isSocial: false }],
        created_at: '2026-01-01T00:00:00.000Z',
        updated_at: '2026-01-02T00:00:00.000Z',
      });
    }
    for (const alg of ['PS256', 'EdDSA'] as const) {
      const user = await verifyActorIdToken(signed({}, claims(), alg), check);
      expect(user.user_id).to.equal('auth0|bob');
    }
  });

  it('accepts an HS256 ID token only for a client whose ID tokens are HS256, with its secret', async () => {
    const hsApp = client('app', 'HS256');
    const token = await idToken(hsApp);
    expect((await verifyActorIdToken(token, { ...check, client: hsApp })).user_id).to.equal(
      'auth0|bob',
    );
    expect(await refusal(token)).to.equal(
      'alg HS256, but client "app" signs its ID tokens with RS256',
    );
    const other = parseClient(
      {
        client_id: 'app',
        client_secret: `${SECRET}-rotated`,
        name: 'app',
        jwt_configuration: { alg: 'HS256' },
      },
      'client',
    );
    expect(await refusal(token, { ...check, client: other })).to.equal(
      'the HS256 signature does not verify with the client secret',
    );
    const [header, payload] = token.split('.');
    expect(await refusal(`${header}.${payload}.AAAA`, { ...check, client: hsApp })).to.equal(
      'the HS256 signature does not verify with the client secret',
    );
  });

  it('keeps accepting tokens of a retired key during its grace period, then refuses them', async () => {
    const rotating = new KeySet({ now: () => clockMs, gracePeriodSeconds: 3600 });
    rotating.ensure('RS256');
    const against = { ...check, keys: rotating };
    const token = await mintIdToken({
      issuer: ISSUER,
      client: app,
      user: await bob(),
      scope: ['openid'],
      keys: rotating,
      now: NOW,
      authTime: NOW,
    });
    const retiredKid = rotating.signingKey('RS256').kid;
    await rotating.rotate('RS256');
    expect(rotating.signingKey('RS256').kid).not.to.equal(retiredKid);
    expect((await verifyActorIdToken(token, against)).user_id).to.equal('auth0|bob');
    clockMs += 3_601_000;
    expect(await refusal(token, against)).to.equal(
      `kid ${JSON.stringify(retiredKid)} is not one of the router's keys`,
    );
  });

  const cases: Array<{
    name: string;
    token: () => string | Promise<string>;
    reason: string | (() => string);
  }> = [
    {
      name: 'a token longer than the cap',
      token: () => `${'a'.repeat(MAX_ACTOR_ID_TOKEN_LENGTH)}.b.c`,
      reason: `longer than ${MAX_ACTOR_ID_TOKEN_LENGTH} characters`,
    },
    {
      name: 'two segments',
      token: () => 'a.b',
      reason: 'not a compact JWS: 2 segments instead of 3',
    },
    {
      name: 'a JWE-like five segments',
      token: () => 'a.b.c.d.e',
      reason: 'not a compact JWS: 5 segments instead of 3',
    },
    {
      name: 'a header that is not base64url',
      token: () => 'a+b.c.d',
      reason: 'the header is not base64url',
    },
    {
      name: 'a header that is not JSON',
      token: () => `${Buffer.from('nope').toString('base64url')}.${encode({})}.AA`,
      reason: 'the header is not JSON',
    },
    {
      name: 'a payload that is a JSON array',
      token: () => `${encode({ alg: 'RS256' })}.${encode([1])}.AA`,
      reason: 'the payload is not a JSON object',
    },
    {
      name: 'an empty signature',
      token: () => `${encode({ alg: 'RS256' })}.${encode({})}.`,
      reason: 'the signature is not base64url',
    },
    {
      name: 'no typ',
      token: () => signed({ typ: undefined }, claims()),
      reason: 'header typ is undefined, not "JWT" (an ID token)',
    },
    {
      name: 'typ at+jwt (an access token)',
      token: () => signed({ typ: 'at+jwt' }, claims()),
      reason: 'header typ is "at+jwt", not "JWT" (an ID token)',
    },
    {
      name: 'a crit header',
      token: () => signed({ crit: ['exp'] }, claims()),
      reason: 'header crit is not understood',
    },
    {
      name: 'alg none',
      token: () => `${encode({ alg: 'none', typ: 'JWT' })}.${encode(claims())}.AA`,
      reason: 'header alg "none" is not one the router signs ID tokens with',
    },
    {
      name: 'alg HS512',
      token: () => signed({ alg: 'HS512' }, claims()),
      reason: 'header alg "HS512" is not one the router signs ID tokens with',
    },
    {
      name: 'no kid',
      token: () => signed({ kid: undefined }, claims()),
      reason: 'header has no kid',
    },
    {
      name: "a header alg other than the key's own",
      token: () => signed({ alg: 'PS256', kid: keys.signingKey('RS256').kid }, claims()),
      reason: () =>
        `header alg PS256 does not match key ${JSON.stringify(keys.signingKey('RS256').kid)} (RS256)`,
    },
    {
      name: 'a wrong issuer',
      token: () => signed({}, claims({ iss: 'https://evil.example/' })),
      reason: `iss "https://evil.example/" is not this router's issuer`,
    },
    {
      name: 'no issuer',
      token: () => signed({}, claims({ iss: undefined })),
      reason: `iss undefined is not this router's issuer`,
    },
    {
      name: 'the audience of another client',
      token: () => signed({}, claims({ aud: 'other-app' })),
      reason: 'aud "other-app" is not the requesting client "app"',
    },
    {
      name: 'an audience array',
      token: () => signed({}, claims({ aud: ['app', 'other-app'] })),
      reason: 'aud ["app","other-app"] is not the requesting client "app"',
    },
    {
      name: 'no exp',
      token: () => signed({}, claims({ exp: undefined })),
      reason: 'exp is missing or not a number',
    },
    {
      name: 'exp as a string',
      token: () => signed({}, claims({ exp: String(NOW + 600) })),
      reason: 'exp is missing or not a number',
    },
    {
      name: 'exp equal to now',
      token: () => signed({}, claims({ exp: NOW })),
      reason: `expired at ${new Date(NOW * 1000).toISOString()}`,
    },
    {
      name: 'no iat',
      token: () => signed({}, claims({ iat: undefined })),
      reason: 'iat is missing or not a number',
    },
    {
      name: 'nbf in the future',
      token: () => signed({}, claims({ nbf: NOW + 60 })),
      reason: `not valid before ${new Date((NOW + 60) * 1000).toISOString()}`,
    },
    {
      name: 'an empty sub',
      token: () => signed({}, claims({ sub: '' })),
      reason: 'sub is missing or not a non-empty string',
    },
    {
      name: 'the ID token of an unknown user',
      token: () => signed({}, claims({ sub: 'auth0|nobody' })),
      reason: 'user "auth0|nobody" does not exist',
    },
    {
      name: 'the ID token of a blocked user',
      token: () => signed({}, claims({ sub: 'auth0|mallory' })),
      reason: 'user "auth0|mallory" is blocked',
    },
  ];
  for (const { name, token, reason } of cases) {
    it(`refuses ${name}`, async () => {
      expect(await refusal(await token())).to.equal(typeof reason === 'string' ? reason : reason());
    });
  }

  it('refuses a genuine token presented after it expired', async () => {
    const token = await idToken(app, NOW - 36_000);
    expect(await refusal(token)).to.equal(`expired at ${new Date(NOW * 1000).toISOString()}`);
  });

  it('cuts long claim values in its messages', async () => {
    const reason = await refusal(signed({}, claims({ iss: 'x'.repeat(500) })));
    expect(reason).to.equal(`iss "${'x'.repeat(99)}... is not this router's issuer`);
  });

  describe('actorTokenUserOf (what the exchange calls)', () => {
    it('verifies only the ID-token type; other actor tokens and none give undefined', async () => {
      let invalid = 0;
      const onInvalid = async (): Promise<void> => {
        invalid++;
      };
      expect(
        await actorTokenUserOf(
          check,
          { actorToken: 'whatever', actorTokenType: 'urn:acme:agent' },
          onInvalid,
        ),
      ).to.equal(undefined);
      expect(
        await actorTokenUserOf(
          check,
          { actorToken: undefined, actorTokenType: undefined },
          onInvalid,
        ),
      ).to.equal(undefined);
      const user = await actorTokenUserOf(
        check,
        { actorToken: await idToken(), actorTokenType: ID_TOKEN_TYPE },
        onInvalid,
      );
      expect(user?.user_id).to.equal('auth0|bob');
      expect(invalid).to.equal(0);
    });

    it('answers 400 invalid_request with the reason as private cause, after counting the attempt', async () => {
      const calls: string[] = [];
      let thrown: unknown;
      try {
        await actorTokenUserOf(
          { issuer: ISSUER, client: app, keys, users },
          { actorToken: 'a.b', actorTokenType: ID_TOKEN_TYPE },
          async () => {
            calls.push('counted');
          },
        );
      } catch (err) {
        thrown = err;
      }
      expect(calls).to.deep.equal(['counted']);
      expect(thrown).to.be.instanceOf(OAuthError);
      const error = thrown as OAuthError;
      expect({
        status: error.status,
        body: error.toJSON(),
        privateCause: error.privateCause,
      }).to.deep.equal({
        status: 400,
        body: { error: 'invalid_request', error_description: INVALID_ACTOR_TOKEN_DESCRIPTION },
        privateCause: 'invalid ID-token actor_token: not a compact JWS: 2 segments instead of 3',
      });
    });

    it('lets what the attempt counter throws replace the 400', async () => {
      const storeDown = new OAuthError(503, 'temporarily_unavailable', 'busy');
      let thrown: unknown;
      try {
        await actorTokenUserOf(
          check,
          { actorToken: 'a.b', actorTokenType: ID_TOKEN_TYPE },
          async () => {
            throw storeDown;
          },
        );
      } catch (err) {
        thrown = err;
      }
      expect(thrown).to.equal(storeDown);
    });

    it('does not count a failing user store as an invalid token: its error propagates', async () => {
      const failing: UserStore = {
        getById: () => Promise.reject(new Error('database down')),
        getByIdentity: () => undefined,
        create: () => {
          throw new Error('unused');
        },
        update: () => {
          throw new Error('unused');
        },
      };
      let counted = 0;
      let thrown: unknown;
      try {
        await actorTokenUserOf(
          { ...check, users: failing },
          { actorToken: await idToken(), actorTokenType: ID_TOKEN_TYPE },
          async () => {
            counted++;
          },
        );
      } catch (err) {
        thrown = err;
      }
      expect((thrown as Error).message).to.equal('database down');
      expect(counted).to.equal(0);
    });
  });

  it('refuses an HS256 signature of the right length with one bit flipped', async () => {
    const hsApp = client('app', 'HS256');
    const token = await idToken(hsApp);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const flipped = Buffer.from(signature, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    expect(
      await refusal(`${header}.${payload}.${flipped.toString('base64url')}`, {
        ...check,
        client: hsApp,
      }),
    ).to.equal('the HS256 signature does not verify with the client secret');
  });
});
