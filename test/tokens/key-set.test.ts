import crypto from 'node:crypto';
import { expect } from 'chai';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { ManagementError } from '../../lib/errors.js';
import { signJwt, verifyJwsSignature } from '../../lib/tokens/jws.js';
import {
  KeySet,
  parseSigningKeys,
  SIGNING_ALGS,
  type KeyInfo,
  type SigningAlg,
  type SigningKeyInput,
} from '../../lib/tokens/key-set.js';

type Jwk = crypto.JsonWebKey;

function keyPair(alg: SigningAlg | 'P-384' | 'Ed448' | 'RSA-1024'): crypto.KeyObject {
  switch (alg) {
    case 'RS256':
    case 'PS256':
      return crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    case 'RSA-1024':
      return crypto.generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    case 'ES256':
      return crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    case 'P-384':
      return crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    case 'EdDSA':
      return crypto.generateKeyPairSync('ed25519').privateKey;
    case 'Ed448':
      return crypto.generateKeyPairSync('ed448').privateKey;
  }
}

function privateJwk(alg: SigningAlg, kid: string): SigningKeyInput {
  return { ...keyPair(alg).export({ format: 'jwk' }), kid, alg } as SigningKeyInput;
}

/** The JWK the set must publish for `jwk`: its public members plus kid, alg and use, nothing else. */
function expectedPublicJwk(jwk: SigningKeyInput): Jwk {
  const exported = crypto
    .createPublicKey(crypto.createPrivateKey({ key: jwk as Jwk, format: 'jwk' }))
    .export({ format: 'jwk' });
  return { ...exported, kid: jwk.kid, alg: jwk.alg, use: 'sig' };
}

function signedKid(keys: KeySet, alg: SigningAlg): string {
  return keys.signingKey(alg).kid;
}

async function verifiesAgainstJwks(keys: KeySet, token: string): Promise<boolean> {
  try {
    await jwtVerify(token, createLocalJWKSet(keys.jwks()));
    return true;
  } catch {
    return false;
  }
}

function token(keys: KeySet, alg: SigningAlg): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return signJwt({ typ: 'JWT' }, { sub: 'u', iat: now, exp: now + 60 }, keys.signingKey(alg));
}

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

async function rejection(operation: Promise<unknown>): Promise<ManagementError> {
  return operation.then(
    () => expect.fail('it resolved'),
    (error: unknown) => error as ManagementError,
  );
}

/** `list()` without the times: kid, alg and status. */
async function statuses(keys: KeySet): Promise<Array<Pick<KeyInfo, 'kid' | 'alg' | 'status'>>> {
  return (await keys.list()).map(({ kid, alg, status }) => ({ kid, alg, status }));
}

describe('tokens/key-set', () => {
  const hostKeys: Record<SigningAlg, SigningKeyInput> = {
    RS256: privateJwk('RS256', 'rs-1'),
    PS256: privateJwk('PS256', 'ps-1'),
    ES256: privateJwk('ES256', 'es-1'),
    EdDSA: privateJwk('EdDSA', 'ed-1'),
  };

  describe('parseSigningKeys', () => {
    const es = hostKeys.ES256;
    const rsa1024 = {
      ...keyPair('RSA-1024').export({ format: 'jwk' }),
      kid: 'small',
      alg: 'RS256',
    };
    const foreignD = keyPair('ES256').export({ format: 'jwk' }).d;
    const { p: _p, ...rsaWithoutP } = hostKeys.RS256;
    const { d: _d, ...esPublic } = es;

    const refusals: Array<{
      name: string;
      input: unknown;
      path?: string;
      message: string | RegExp;
    }> = [
      {
        name: 'neither an array nor a JWKS',
        input: 'key.pem',
        message: 'options.keys must be an array of private JWKs or a JWKS ({ keys: [...] })',
      },
      {
        name: 'a JWKS whose keys is not an array',
        input: { keys: es },
        message: 'options.keys must be an array of private JWKs or a JWKS ({ keys: [...] })',
      },
      { name: 'an empty array', input: [], message: 'options.keys must contain at least one key' },
      {
        name: 'an empty JWKS',
        input: { keys: [] },
        message: 'options.keys.keys must contain at least one key',
      },
      {
        name: 'a key that is not an object',
        input: [null],
        message: 'options.keys[0] must be a private JWK object or a Signer',
      },
      {
        name: 'a missing kid',
        input: [{ ...es, kid: undefined }],
        message: 'options.keys[0].kid must be a non-empty string',
      },
      {
        name: 'an empty kid',
        input: [{ ...es, kid: '' }],
        message: 'options.keys[0].kid must be a non-empty string',
      },
      {
        name: 'a missing alg',
        input: [{ ...es, alg: undefined }],
        message: 'options.keys[0].alg must be one of RS256, PS256, ES256, EdDSA',
      },
      {
        name: 'a symmetric alg',
        input: [es, { ...es, kid: 'h', alg: 'HS256' }],
        message: 'options.keys[1].alg must be one of RS256, PS256, ES256, EdDSA',
      },
      {
        name: 'an alg inside a JWKS',
        input: { keys: [{ ...es, alg: 'ES384' }] },
        message: 'options.keys.keys[0].alg must be one of RS256, PS256, ES256, EdDSA',
      },
      {
        name: 'an EC key for RS256',
        input: [{ ...es, alg: 'RS256' }],
        message: 'options.keys[0].kty must be "RSA" for alg RS256',
      },
      {
        name: 'an RSA key for ES256',
        input: [{ ...hostKeys.RS256, alg: 'ES256' }],
        message: 'options.keys[0].kty must be "EC" for alg ES256',
      },
      {
        name: 'an EC key for EdDSA',
        input: [{ ...es, alg: 'EdDSA' }],
        message: 'options.keys[0].kty must be "OKP" for alg EdDSA',
      },
      {
        name: 'a P-384 key for ES256',
        input: [{ ...keyPair('P-384').export({ format: 'jwk' }), kid: 'p384', alg: 'ES256' }],
        message: 'options.keys[0].crv must be "P-256" for alg ES256',
      },
      {
        name: 'an Ed448 key for EdDSA',
        input: [{ ...keyPair('Ed448').export({ format: 'jwk' }), kid: 'ed448', alg: 'EdDSA' }],
        message: 'options.keys[0].crv must be "Ed25519" for alg EdDSA',
      },
      {
        name: 'a public-only key',
        input: [esPublic],
        message: 'options.keys[0] is a public key: signing needs a private JWK (with "d")',
      },
      {
        name: 'an encryption key',
        input: [{ ...es, use: 'enc' }],
        message: 'options.keys[0].use must be "sig" when present',
      },
      {
        name: 'an RSA key under 2048 bits',
        input: [rsa1024],
        message: 'options.keys[0] is a 1024-bit RSA key: at least 2048 bits are required',
      },
      {
        name: 'an RSA key without its CRT members',
        input: [rsaWithoutP],
        // The parenthesis carries node:crypto's own reason, worded by the Node version.
        message: /^customTokenExchange: options\.keys\[0\] is not a valid private JWK \(.+\)$/,
      },
      {
        name: 'private and public members of different keys',
        input: [{ ...es, d: foreignD }],
        message: 'options.keys[0] has private and public members of different keys',
      },
      {
        name: 'a duplicate kid',
        input: [es, { ...hostKeys.EdDSA, kid: 'es-1' }],
        message: 'options.keys[1].kid "es-1" is already used by options.keys[0]',
      },
      {
        name: 'a bad alg under a caller-given path',
        input: { keys: [{ ...es, alg: 'none' }] },
        path: 'signing.jwks',
        message: 'signing.jwks.keys[0].alg must be one of RS256, PS256, ES256, EdDSA',
      },
    ];

    for (const { name, input, path, message } of refusals) {
      it(`refuses ${name}`, () => {
        const err = catchError(() =>
          path === undefined ? parseSigningKeys(input) : parseSigningKeys(input, path),
        );
        expect(err).to.be.instanceOf(TypeError);
        const text = (err as TypeError).message;
        if (typeof message === 'string') expect(text).to.equal(`customTokenExchange: ${message}`);
        else expect(text).to.match(message);
      });
    }

    it('returns frozen copies of an array or a JWKS, leaving the input untouched', () => {
      const input = [hostKeys.ES256, hostKeys.EdDSA];
      const before = structuredClone(input);
      const fromArray = parseSigningKeys(input);
      const fromJwks = parseSigningKeys({ keys: input });
      expect(fromArray).to.deep.equal(before);
      expect(fromJwks).to.deep.equal(before);
      expect(input).to.deep.equal(before);
      expect(fromArray[0]).to.not.equal(input[0]);
      expect(Object.isFrozen(fromArray[0])).to.equal(true);
    });

    it('yields keys a KeySet accepts', async () => {
      const keys = new KeySet({ keys: parseSigningKeys({ keys: [hostKeys.ES256] }) });
      expect(await statuses(keys)).to.deep.equal([
        { kid: 'es-1', alg: 'ES256', status: 'current' },
      ]);
    });
  });

  describe('host keys', () => {
    it('signs every alg with a token jose verifies against the published JWKS', async () => {
      const keys = new KeySet({ keys: Object.values(hostKeys) });
      for (const alg of SIGNING_ALGS) {
        const signed = await token(keys, alg);
        const { protectedHeader } = await jwtVerify(signed, createLocalJWKSet(keys.jwks()));
        expect(protectedHeader).to.deep.equal({ alg, typ: 'JWT', kid: hostKeys[alg].kid });
      }
    });

    it('publishes only public members, kid, alg and use', () => {
      // Extra private-looking and X.509 members must not leak through either.
      const noisy = Object.values(hostKeys).map((jwk) => ({ ...jwk, k: 'secret', x5c: ['MII'] }));
      const keys = new KeySet({ keys: noisy });
      expect(keys.jwks()).to.deep.equal({
        keys: Object.values(hostKeys).map(expectedPublicJwk),
      });
      for (const jwk of keys.jwks().keys) {
        for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'x5c']) {
          expect(jwk).to.not.have.property(member);
        }
      }
    });

    it('makes the first key of an alg current and later ones next', async () => {
      const at = Date.UTC(2030, 0, 1);
      const second = privateJwk('ES256', 'es-2');
      const keys = new KeySet({ keys: [hostKeys.ES256, hostKeys.EdDSA, second], now: () => at });
      const since = new Date(at).toISOString();
      expect(await keys.list()).to.deep.equal([
        { kid: 'es-1', alg: 'ES256', status: 'current', published_at: since, signs_from: since },
        { kid: 'ed-1', alg: 'EdDSA', status: 'current', published_at: since, signs_from: since },
        { kid: 'es-2', alg: 'ES256', status: 'next', published_at: since },
      ]);
      expect(signedKid(keys, 'ES256')).to.equal('es-1');
      expect(keys.jwks().keys.map((jwk) => jwk.kid)).to.deep.equal(['es-1', 'ed-1', 'es-2']);
    });

    it('refuses an alg without a configured key in ensure() and signingKey()', () => {
      const keys = new KeySet({ keys: [hostKeys.ES256] });
      const message =
        'customTokenExchange: no signing key with alg PS256 was configured in options.keys';
      expect(() => keys.ensure('PS256')).to.throw(TypeError, message);
      expect(() => keys.signingKey('PS256')).to.throw(TypeError, message);
      expect(() => keys.ensure('ES256')).to.not.throw();
    });

    it('refuses an alg that is not a signing alg', () => {
      const keys = new KeySet();
      expect(() => keys.ensure('HS256' as SigningAlg)).to.throw(
        TypeError,
        'customTokenExchange: cannot sign with alg "HS256": must be one of RS256, PS256, ES256, EdDSA',
      );
    });

    it('validates keys that did not come through parseSigningKeys', () => {
      expect(
        () =>
          new KeySet({ keys: [{ ...hostKeys.ES256, alg: 'HS256' } as unknown as SigningKeyInput] }),
      ).to.throw(
        TypeError,
        'customTokenExchange: options.keys[0].alg must be one of RS256, PS256, ES256, EdDSA',
      );
    });

    it('refuses a kid repeated across two parseSigningKeys() results', () => {
      const keys = [
        ...parseSigningKeys([hostKeys.ES256]),
        ...parseSigningKeys([{ ...hostKeys.EdDSA, kid: 'es-1' }]),
      ];
      expect(() => new KeySet({ keys })).to.throw(
        TypeError,
        'customTokenExchange: options.keys: kid "es-1" is repeated',
      );
    });

    it('hands out the public key of a published kid for node:crypto verification', async () => {
      const keys = new KeySet({ keys: Object.values(hostKeys) });
      for (const alg of SIGNING_ALGS) {
        const [header, payload, signature] = (await token(keys, alg)).split('.') as [
          string,
          string,
          string,
        ];
        const key = keys.verificationKey(hostKeys[alg].kid);
        expect(key?.alg).to.equal(alg);
        expect(key?.publicKey.type).to.equal('public');
        const valid = verifyJwsSignature(
          alg,
          key?.publicKey as crypto.KeyObject,
          Buffer.from(`${header}.${payload}`),
          Buffer.from(signature, 'base64url'),
        );
        expect(valid).to.equal(true);
      }
      expect(keys.verificationKey('unknown')).to.equal(undefined);
    });

    it('refuses a negative grace period or publishing lead', () => {
      expect(() => new KeySet({ gracePeriodSeconds: -1 })).to.throw(
        TypeError,
        'customTokenExchange: gracePeriodSeconds must be a non-negative number of seconds',
      );
      expect(() => new KeySet({ publishAheadSeconds: Number.NaN })).to.throw(
        TypeError,
        'customTokenExchange: publishAheadSeconds must be a non-negative number of seconds',
      );
    });

    it('caches the JWKS document until the set changes', async () => {
      const keys = new KeySet({ keys: [hostKeys.ES256, privateJwk('ES256', 'es-2')] });
      const first = keys.jwks();
      expect(keys.jwks()).to.equal(first);
      expect(Object.isFrozen(first) && Object.isFrozen(first.keys)).to.equal(true);
      await keys.add(privateJwk('ES256', 'es-3'));
      const second = keys.jwks();
      expect(second).to.not.equal(first);
      expect(second.keys.map((jwk) => jwk.kid)).to.deep.equal(['es-1', 'es-2', 'es-3']);
      await keys.rotate('ES256');
      expect(keys.jwks()).to.not.equal(second);
    });
  });

  describe('rotation with host keys', () => {
    const grace = 3600;

    function rotatingSet(clock: { ms: number }, publishAheadSeconds = 0): KeySet {
      return new KeySet({
        keys: [hostKeys.ES256, privateJwk('ES256', 'es-2'), hostKeys.EdDSA],
        gracePeriodSeconds: grace,
        publishAheadSeconds,
        now: () => clock.ms,
      });
    }

    it('publishes the next key before it signs, then keeps the old one for the grace period', async () => {
      const clock = { ms: Date.UTC(2030, 0, 1) };
      const keys = rotatingSet(clock);
      const oldToken = await token(keys, 'ES256');
      expect(keys.jwks().keys.map((jwk) => jwk.kid)).to.deep.equal(['es-1', 'ed-1', 'es-2']);
      expect(signedKid(keys, 'ES256')).to.equal('es-1');

      const now = new Date(clock.ms).toISOString();
      expect(await keys.rotate('ES256')).to.deep.equal([
        { alg: 'ES256', current: 'es-2', signs_from: now, retired: 'es-1' },
      ]);
      const newToken = await token(keys, 'ES256');
      const { protectedHeader } = await jwtVerify(newToken, createLocalJWKSet(keys.jwks()));
      expect(protectedHeader.kid).to.equal('es-2');
      expect(keys.jwks().keys.map((jwk) => jwk.kid)).to.deep.equal(['es-2', 'ed-1', 'es-1']);
      expect(await keys.list()).to.deep.equal([
        { kid: 'es-2', alg: 'ES256', status: 'current', published_at: now, signs_from: now },
        { kid: 'ed-1', alg: 'EdDSA', status: 'current', published_at: now, signs_from: now },
        {
          kid: 'es-1',
          alg: 'ES256',
          status: 'retired',
          published_at: now,
          signs_from: now,
          retired_at: now,
          expires_at: new Date(clock.ms + grace * 1000).toISOString(),
        },
      ]);
      expect(await verifiesAgainstJwks(keys, oldToken)).to.equal(true);

      clock.ms += grace * 1000 - 1;
      expect(keys.jwks().keys.map((jwk) => jwk.kid)).to.deep.equal(['es-2', 'ed-1', 'es-1']);
      expect(keys.verificationKey('es-1')?.alg).to.equal('ES256');
      expect(await verifiesAgainstJwks(keys, oldToken)).to.equal(true);

      clock.ms += 1;
      expect(keys.jwks().keys.map((jwk) => jwk.kid)).to.deep.equal(['es-2', 'ed-1']);
      expect(keys.verificationKey('es-1')).to.equal(undefined);
      expect((await keys.list()).map((key) => key.kid)).to.deep.equal(['es-2', 'ed-1']);
      expect(await verifiesAgainstJwks(keys, oldToken)).to.equal(false);
      expect(await verifiesAgainstJwks(keys, newToken)).to.equal(true);
    });

    it('signs with the next key no sooner than the JWKS max-age after it was published', async () => {
      const clock = { ms: Date.UTC(2030, 0, 1) };
      const keys = rotatingSet(clock, 600);
      clock.ms += 100_000;
      const takesOver = new Date(Date.UTC(2030, 0, 1) + 600_000).toISOString();
      expect(await keys.rotate('ES256')).to.deep.equal([
        { alg: 'ES256', current: 'es-2', signs_from: takesOver, retired: 'es-1' },
      ]);
      expect(signedKid(keys, 'ES256')).to.equal('es-1');
      expect(await statuses(keys)).to.deep.include({ kid: 'es-2', alg: 'ES256', status: 'next' });
      clock.ms = Date.parse(takesOver) - 1;
      expect(signedKid(keys, 'ES256')).to.equal('es-1');
      clock.ms += 1;
      expect(signedKid(keys, 'ES256')).to.equal('es-2');
      expect(keys.jwks().keys.map((jwk) => jwk.kid)).to.deep.equal(['es-2', 'ed-1', 'es-1']);
      // A key published long enough ago signs at once.
      clock.ms += 3_600_000;
      await keys.add(privateJwk('ES256', 'es-3'));
      clock.ms += 600_000;
      const [rotation] = await keys.rotate('ES256');
      expect(rotation!.signs_from).to.equal(new Date(clock.ms).toISOString());
      expect(signedKid(keys, 'ES256')).to.equal('es-3');
    });

    it('keeps a retired key published for the longest token lifetime when it exceeds the grace period', async () => {
      const clock = { ms: Date.UTC(2030, 0, 1) };
      const keys = rotatingSet(clock);
      keys.coverLifetime(7200);
      keys.coverLifetime(600);
      await keys.rotate('ES256');
      const retired = (await keys.list()).find((key) => key.kid === 'es-1')!;
      expect(retired.expires_at).to.equal(new Date(clock.ms + 7_200_000).toISOString());
    });

    it('refuses to rotate without a next key, with a conflict, changing nothing', async () => {
      const clock = { ms: Date.UTC(2030, 0, 1) };
      const keys = rotatingSet(clock);
      const before = await keys.list();
      // ES256 has a next key but EdDSA does not: the whole rotate() must be refused.
      const err = await rejection(keys.rotate());
      expect(err).to.be.instanceOf(ManagementError);
      expect({ code: err.code, status: err.status, message: err.message }).to.deep.equal({
        code: 'conflict',
        status: 409,
        message:
          'no next key with alg EdDSA to rotate to: keys.add() one first (it is published at ' +
          'once and starts signing at the following rotate())',
      });
      expect(await keys.list()).to.deep.equal(before);
      expect(signedKid(keys, 'ES256')).to.equal('es-1');
    });

    it('refuses an unknown alg and an alg without keys', async () => {
      const keys = rotatingSet({ ms: 0 });
      const unknown = await rejection(keys.rotate('HS256' as SigningAlg));
      expect([unknown.code, unknown.message]).to.deep.equal([
        'invalid_body',
        'alg must be one of RS256, PS256, ES256, EdDSA',
      ]);
      const missing = await rejection(keys.rotate('PS256'));
      expect([missing.code, missing.message]).to.deep.equal([
        'not_found',
        'no signing key with alg PS256 to rotate',
      ]);
    });

    it('adds a key as next: published at once, signing after rotate()', async () => {
      const at = Date.UTC(2030, 0, 1);
      const keys = new KeySet({ keys: [hostKeys.EdDSA], now: () => at });
      const added = privateJwk('EdDSA', 'ed-2');
      const since = new Date(at).toISOString();
      expect(await keys.add(added)).to.deep.equal({
        kid: 'ed-2',
        alg: 'EdDSA',
        status: 'next',
        published_at: since,
      });
      expect(keys.jwks()).to.deep.equal({
        keys: [expectedPublicJwk(hostKeys.EdDSA), expectedPublicJwk(added)],
      });
      expect(signedKid(keys, 'EdDSA')).to.equal('ed-1');
      expect(await keys.rotate()).to.deep.equal([
        { alg: 'EdDSA', current: 'ed-2', signs_from: since, retired: 'ed-1' },
      ]);
      const { protectedHeader } = await jwtVerify(
        await token(keys, 'EdDSA'),
        createLocalJWKSet(keys.jwks()),
      );
      expect(protectedHeader.kid).to.equal('ed-2');
    });

    it('refuses an invalid or duplicate key in add()', async () => {
      const keys = new KeySet({ keys: [hostKeys.EdDSA] });
      const invalid = await rejection(keys.add({ ...hostKeys.ES256, alg: 'RS256' }));
      expect([invalid.code, invalid.message]).to.deep.equal([
        'invalid_body',
        'key.kty must be "RSA" for alg RS256',
      ]);
      const duplicate = await rejection(keys.add({ ...hostKeys.ES256, kid: 'ed-1' }));
      expect([duplicate.code, duplicate.message]).to.deep.equal([
        'conflict',
        'a key with kid "ed-1" is already in the set',
      ]);
      expect(await statuses(keys)).to.deep.equal([
        { kid: 'ed-1', alg: 'EdDSA', status: 'current' },
      ]);
    });
  });

  describe('development mode', () => {
    it('generates a current and a next key when an alg is first ensured', async () => {
      const keys = new KeySet();
      expect(keys.development).to.equal(true);
      expect(keys.jwks()).to.deep.equal({ keys: [] });
      keys.ensure('ES256');
      const listed = await keys.list();
      expect(listed.map(({ alg, status }) => ({ alg, status }))).to.deep.equal([
        { alg: 'ES256', status: 'current' },
        { alg: 'ES256', status: 'next' },
      ]);
      expect(signedKid(keys, 'ES256')).to.equal(listed[0]?.kid);
      keys.ensure('ES256');
      expect(await keys.list()).to.deep.equal(listed);
    });

    it('names generated keys by their RFC 7638 thumbprint', () => {
      const keys = new KeySet();
      keys.ensure('EdDSA');
      for (const jwk of keys.jwks().keys) {
        const thumbprint = crypto
          .createHash('sha256')
          .update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x }))
          .digest('base64url');
        expect(jwk.kid).to.equal(thumbprint);
      }
    });

    it('signs every alg, generating keys on first use', async () => {
      const keys = new KeySet();
      for (const alg of SIGNING_ALGS) {
        const { protectedHeader } = await jwtVerify(
          await token(keys, alg),
          createLocalJWKSet(keys.jwks()),
        );
        expect(protectedHeader).to.deep.equal({ alg, typ: 'JWT', kid: signedKid(keys, alg) });
      }
      expect(keys.jwks().keys).to.have.length(8);
    });

    it('rotates to the published next key and publishes a fresh next', async () => {
      const clock = { ms: Date.UTC(2030, 0, 1) };
      const keys = new KeySet({ gracePeriodSeconds: 60, now: () => clock.ms });
      keys.ensure('ES256');
      const [current, next] = (await keys.list()).map((key) => key.kid);
      const oldToken = await token(keys, 'ES256');

      const [rotation] = await keys.rotate();
      expect(rotation?.current).to.equal(next);
      expect(rotation?.retired).to.equal(current);
      const fresh = rotation?.next;
      expect(fresh).to.be.a('string').and.not.equal(current).and.not.equal(next);
      expect(await statuses(keys)).to.deep.equal([
        { kid: next, alg: 'ES256', status: 'current' },
        { kid: fresh, alg: 'ES256', status: 'next' },
        { kid: current, alg: 'ES256', status: 'retired' },
      ]);
      expect(signedKid(keys, 'ES256')).to.equal(next);
      expect(await verifiesAgainstJwks(keys, oldToken)).to.equal(true);

      clock.ms += 60_000;
      expect(keys.jwks().keys.map((jwk) => jwk.kid)).to.deep.equal([next, fresh]);
      expect(await verifiesAgainstJwks(keys, oldToken)).to.equal(false);
    });
  });
});
