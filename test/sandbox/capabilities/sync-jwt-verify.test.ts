import crypto from 'node:crypto';
import { expect } from 'chai';
import {
  SignJWT,
  createLocalJWKSet,
  errors as joseErrors,
  exportJWK,
  generateKeyPair,
  jwtVerify,
} from 'jose';
import type { CryptoKey, JWK, JWTVerifyOptions } from 'jose';
import { SyncKeySet, verifyJwtSync } from '../../../lib/sandbox/capabilities/sync-jwt-verify.js';

const ISSUER = 'https://idp.example.com/';
const AUDIENCE = 'app';

interface KeyPair {
  alg: string;
  privateKey: CryptoKey | crypto.KeyObject;
  jwk: JWK;
}

async function keyPair(alg: string, kid: string, options: object = {}): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...options });
  return { alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg } };
}

function claimsOf(claims: Record<string, unknown>): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { sub: 'user-1', iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 300, ...claims };
}

function sign(
  key: KeyPair,
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(claimsOf(claims))
    .setProtectedHeader({ alg: key.alg, kid: key.jwk.kid!, ...header })
    .sign(key.privateKey);
}

/** A compact JWS signed with node:crypto, for headers and keys jose refuses to sign with. */
function signRaw(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  privateKey: crypto.KeyObject | CryptoKey,
  options: { hash: string; dsaEncoding?: 'ieee-p1363' },
): string {
  const key =
    privateKey instanceof crypto.KeyObject ? privateKey : crypto.KeyObject.from(privateKey);
  const input = [header, claimsOf(claims)]
    .map((part) => Buffer.from(JSON.stringify(part)).toString('base64url'))
    .join('.');
  const signature = crypto.sign(options.hash, Buffer.from(input), {
    key,
    ...(options.dsaEncoding ? { dsaEncoding: options.dsaEncoding } : {}),
  });
  return `${input}.${signature.toString('base64url')}`;
}

/** jose's own verdict on the same token, keys and options: the result, or the error. */
async function joseVerdict(token: string, keys: JWK[], options: JWTVerifyOptions) {
  try {
    const { payload, protectedHeader } = await jwtVerify(
      token,
      createLocalJWKSet({ keys }),
      options,
    );
    return { ok: true as const, value: { payload, protectedHeader } };
  } catch (err) {
    return { ok: false as const, error: err as Error };
  }
}

function syncVerdict(token: string, keys: JWK[], options: JWTVerifyOptions) {
  try {
    const value = verifyJwtSync(token, new SyncKeySet(keys), options);
    return value === undefined ? undefined : { ok: true as const, value };
  } catch (err) {
    return { ok: false as const, error: err as Error };
  }
}

const OPTIONS: JWTVerifyOptions = {
  algorithms: ['ES256', 'ES384', 'ES512', 'RS256', 'PS256', 'EdDSA', 'Ed25519'],
  issuer: ISSUER,
  audience: AUDIENCE,
};

describe('verifyJwtSync: jwtVerify answered with node:crypto, or left to jose', () => {
  let es256: KeyPair;
  let es256Other: KeyPair;
  let es384: KeyPair;
  let es512: KeyPair;
  let rs256: KeyPair;
  let ps256: KeyPair;
  let eddsa: KeyPair;

  before(async () => {
    [es256, es256Other, es384, es512, rs256, ps256, eddsa] = await Promise.all([
      keyPair('ES256', 'es256'),
      keyPair('ES256', 'es256-other'),
      keyPair('ES384', 'es384'),
      keyPair('ES512', 'es512'),
      keyPair('RS256', 'rs256'),
      keyPair('PS256', 'ps256'),
      keyPair('EdDSA', 'eddsa'),
    ]);
  });

  const allKeys = (): JWK[] =>
    [es256, es256Other, es384, es512, rs256, ps256, eddsa].map((k) => k.jwk);

  it('accepts what jose accepts, with the same payload and header, for every supported alg', async () => {
    for (const key of [es256, es384, es512, rs256, ps256, eddsa]) {
      const token = await sign(key, { email: 'a@example.com' }, { typ: 'JWT' });
      const sync = syncVerdict(token, allKeys(), OPTIONS);
      const jose = await joseVerdict(token, allKeys(), OPTIONS);
      expect(jose.ok, key.alg).to.equal(true);
      expect(sync, key.alg).to.deep.equal(jose);
    }
  });

  it('checks the header typ against options.typ exactly as jose does, with or without one', async () => {
    for (const typ of [undefined, 'JWT', 'at+jwt', 'application/at+jwt']) {
      const token = await sign(es256, {}, typ === undefined ? {} : { typ });
      for (const options of [OPTIONS, { ...OPTIONS, typ: 'JWT' }, { ...OPTIONS, typ: 'at+jwt' }]) {
        const label = `header typ ${typ}, options.typ ${options.typ}`;
        const sync = syncVerdict(token, allKeys(), options);
        const jose = await joseVerdict(token, allKeys(), options);
        expect(sync, label).to.not.equal(undefined);
        expect(sync!.ok, label).to.equal(jose.ok);
        if (jose.ok) expect(sync, label).to.deep.equal(jose);
        else expect((sync!.error as Error).message, label).to.equal((jose.error as Error).message);
      }
    }
  });

  it('accepts a key whose key_ops is exactly ["verify"], as jose does', async () => {
    const keys = [{ ...es256.jwk, key_ops: ['verify'] }];
    const token = await sign(es256);
    const sync = syncVerdict(token, keys, OPTIONS);
    expect(sync?.ok).to.equal(true);
    expect(sync).to.deep.equal(await joseVerdict(token, keys, OPTIONS));
  });

  it('accepts a token without kid when exactly one key fits, as jose does', async () => {
    const token = await new SignJWT(claimsOf({}))
      .setProtectedHeader({ alg: 'ES384' })
      .sign(es384.privateKey);
    const sync = syncVerdict(token, allKeys(), OPTIONS);
    expect(sync).to.deep.equal(await joseVerdict(token, allKeys(), OPTIONS));
    expect(sync?.ok).to.equal(true);
  });

  it('throws jose’s own claim errors for a correctly signed token, exactly as jwtVerify does', async () => {
    const cases: Array<[Record<string, unknown>, JWTVerifyOptions]> = [
      [{ exp: Math.floor(Date.now() / 1000) - 60 }, OPTIONS],
      [{ iss: 'https://evil.example/' }, OPTIONS],
      [{}, { ...OPTIONS, audience: 'another-app' }],
      [{}, { ...OPTIONS, typ: 'at+jwt' }],
      [{}, { ...OPTIONS, requiredClaims: ['email'] }],
      [{ nbf: Math.floor(Date.now() / 1000) + 3600 }, OPTIONS],
      [{ iat: Math.floor(Date.now() / 1000) - 3600 }, { ...OPTIONS, maxTokenAge: '10m' }],
      [{}, { ...OPTIONS, subject: 'someone-else' }],
    ];
    for (const [claims, options] of cases) {
      const token = await sign(es256, claims);
      const jose = await joseVerdict(token, allKeys(), options);
      const sync = syncVerdict(token, allKeys(), options);
      expect(jose.ok).to.equal(false);
      expect(sync?.ok, JSON.stringify(claims)).to.equal(false);
      const a = sync!.error as joseErrors.JWTClaimValidationFailed;
      const b = jose.error as joseErrors.JWTClaimValidationFailed;
      expect(a.constructor, JSON.stringify(claims)).to.equal(b.constructor);
      expect({ code: a.code, message: a.message, claim: a.claim, reason: a.reason }).to.deep.equal({
        code: b.code,
        message: b.message,
        claim: b.claim,
        reason: b.reason,
      });
    }
  });

  describe('leaves the answer to jose (undefined) whenever it is not a plain success', () => {
    const leftToJose = async (
      token: string,
      keys: JWK[] = allKeys(),
      options: JWTVerifyOptions = OPTIONS,
    ) => {
      expect(syncVerdict(token, keys, options)).to.equal(undefined);
      return joseVerdict(token, keys, options);
    };

    it('a bad signature (jose: JWSSignatureVerificationFailed)', async () => {
      const token = await sign(es256);
      const [h, p] = token.split('.');
      const forged = `${h}.${p}.${(await sign(es256Other)).split('.')[2]}`;
      const jose = await leftToJose(forged);
      expect(jose.error).to.be.instanceOf(joseErrors.JWSSignatureVerificationFailed);
    });

    it('a payload changed after signing', async () => {
      const [h, , s] = (await sign(es256)).split('.');
      const p = Buffer.from(JSON.stringify({ sub: 'admin', iss: ISSUER, aud: AUDIENCE })).toString(
        'base64url',
      );
      expect((await leftToJose(`${h}.${p}.${s}`)).ok).to.equal(false);
    });

    it('no key with that kid, or a key of another type or curve for the alg', async () => {
      expect((await leftToJose(await sign(es256, {}, { kid: 'unknown' }))).ok).to.equal(false);
      // An ES256 token whose kid names the ES384 key: jose finds no usable key either.
      expect((await leftToJose(await sign(es256, {}, { kid: 'es384' }))).ok).to.equal(false);
    });

    it('several candidate keys (jose tries them in turn)', async () => {
      await leftToJose(await sign(es256), [es256.jwk, { ...es256.jwk }]);
    });

    it('an alg the options do not allow, and "none"', async () => {
      const jose = await leftToJose(await sign(es256), allKeys(), {
        ...OPTIONS,
        algorithms: ['RS256'],
      });
      expect(jose.error).to.be.instanceOf(joseErrors.JOSEAlgNotAllowed);
      const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${(await sign(es256)).split('.')[1]}.`;
      expect((await leftToJose(none, allKeys(), { ...OPTIONS, algorithms: ['none'] })).ok).to.equal(
        false,
      );
    });

    it('a header with crit or b64', async () => {
      const es = { hash: 'sha256', dsaEncoding: 'ieee-p1363' as const };
      for (const extra of [{ crit: ['b64'], b64: true }, { b64: true }, { crit: ['exp'] }]) {
        const header = { alg: 'ES256', kid: 'es256', ...extra };
        await leftToJose(signRaw(header, {}, es256.privateKey, es));
      }
    });

    it('a key set member that is a private key (jose: members must be public keys)', async () => {
      const { privateKey } = await generateKeyPair('ES256', { extractable: true });
      const privateJwk = { ...(await exportJWK(privateKey)), kid: 'private', alg: 'ES256' };
      const token = await new SignJWT({ sub: 'x' })
        .setProtectedHeader({ alg: 'ES256', kid: 'private' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .sign(privateKey);
      expect((await leftToJose(token, [privateJwk])).ok).to.equal(false);
    });

    it('an RSA key shorter than 2048 bits', async () => {
      const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 });
      const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'weak', alg: 'RS256' } as JWK;
      const token = signRaw({ alg: 'RS256', kid: 'weak' }, {}, privateKey, { hash: 'sha256' });
      const jose = await leftToJose(token, [jwk]);
      expect(jose.error?.message).to.equal(
        'RS256 requires key modulusLength to be 2048 bits or larger',
      );
    });

    it('segments that are not plain base64url (padding, whitespace, four or five parts)', async () => {
      const token = await sign(es256);
      const [h, p, s] = token.split('.') as [string, string, string];
      for (const variant of [`${h}=.${p}.${s}`, `${h}.${p} .${s}`, `${token}.x`, `${h}.${p}`]) {
        await leftToJose(variant);
      }
    });

    it('a header that is not a JSON object', async () => {
      const [, p, s] = (await sign(es256)).split('.');
      const header = Buffer.from('["ES256"]').toString('base64url');
      expect((await leftToJose(`${header}.${p}.${s}`)).ok).to.equal(false);
    });

    it('key_ops without verify, use enc, or an alg that differs from the header’s', async () => {
      const token = await sign(es256);
      for (const change of [
        { key_ops: ['sign'] },
        { key_ops: ['sign', 'verify'] },
        { key_ops: ['verify', 'verify'] },
        { use: 'enc' },
        { alg: 'ES384' },
      ]) {
        expect((await leftToJose(token, [{ ...es256.jwk, ...change }])).ok).to.equal(false);
      }
    });
  });

  it('imports each key once and reuses it across verifications', async () => {
    const keys = new SyncKeySet([es256.jwk]);
    const spy = crypto.createPublicKey;
    let imports = 0;
    const counting = ((...args: Parameters<typeof spy>) => {
      imports += 1;
      return spy(...args);
    }) as typeof spy;
    (crypto as { createPublicKey: typeof spy }).createPublicKey = counting;
    try {
      for (let i = 0; i < 3; i += 1) {
        expect(verifyJwtSync(await sign(es256), keys, OPTIONS)).to.not.equal(undefined);
      }
    } finally {
      (crypto as { createPublicKey: typeof spy }).createPublicKey = spy;
    }
    expect(imports).to.equal(1);
  });
});
