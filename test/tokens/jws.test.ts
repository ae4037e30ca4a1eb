import crypto from 'node:crypto';
import { expect } from 'chai';
import { compactVerify, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import {
  createJwsSigner,
  signHs256Jwt,
  signJwt,
  verifyJwsSignature,
} from '../../lib/tokens/jws.js';
import { SIGNING_ALGS, type SigningAlg, type SigningKey } from '../../lib/tokens/key-set.js';

function generate(alg: SigningAlg): crypto.KeyPairKeyObjectResult {
  switch (alg) {
    case 'RS256':
    case 'PS256':
      return crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    case 'ES256':
      return crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    case 'EdDSA':
      return crypto.generateKeyPairSync('ed25519');
  }
}

/** Raw signature sizes JWS fixes per alg: ES256 must be r||s (64 bytes), not DER. */
const SIGNATURE_BYTES: Record<SigningAlg, number> = {
  RS256: 256,
  PS256: 256,
  ES256: 64,
  EdDSA: 64,
};

describe('tokens/jws', () => {
  const pairs = Object.fromEntries(SIGNING_ALGS.map((alg) => [alg, generate(alg)])) as Record<
    SigningAlg,
    crypto.KeyPairKeyObjectResult
  >;
  const payload = { iss: 'https://issuer.example/', sub: 'user-1', n: 1, nested: { a: [1, 'b'] } };

  for (const alg of SIGNING_ALGS) {
    describe(alg, () => {
      const { privateKey, publicKey } = pairs[alg];
      const key: SigningKey = { kid: `kid-${alg}`, alg, sign: createJwsSigner(alg, privateKey) };

      it('signs a compact JWS that jose verifies, with the exact header and payload', async () => {
        const token = await signJwt({ typ: 'at+jwt' }, payload, key);
        const result = await compactVerify(token, publicKey);
        expect(result.protectedHeader).to.deep.equal({ alg, typ: 'at+jwt', kid: `kid-${alg}` });
        expect(JSON.parse(Buffer.from(result.payload).toString('utf8'))).to.deep.equal(payload);
        const signature = Buffer.from(token.split('.')[2] ?? '', 'base64url');
        expect(signature).to.have.length(SIGNATURE_BYTES[alg]);
      });

      it('checks signatures jose made, and refuses a tampered one', async () => {
        const token = await new SignJWT(payload).setProtectedHeader({ alg }).sign(privateKey);
        const [header, body, signature] = token.split('.') as [string, string, string];
        const input = Buffer.from(`${header}.${body}`);
        const raw = Buffer.from(signature, 'base64url');
        expect(verifyJwsSignature(alg, publicKey, input, raw)).to.equal(true);
        const tampered = Buffer.from(
          `${header}.${Buffer.from('{"sub":"x"}').toString('base64url')}`,
        );
        expect(verifyJwsSignature(alg, publicKey, tampered, raw)).to.equal(false);
      });
    });
  }

  it('never lets the header name another alg or kid than the key', async () => {
    const key: SigningKey = {
      kid: 'real',
      alg: 'ES256',
      sign: createJwsSigner('ES256', pairs.ES256.privateKey),
    };
    const header = { typ: 'JWT', alg: 'none', kid: 'forged' };
    expect(decodeProtectedHeader(await signJwt(header, {}, key))).to.deep.equal({
      alg: 'ES256',
      typ: 'JWT',
      kid: 'real',
    });
  });

  describe('HS256', () => {
    const secret = 'a client secret of reasonable length, 64 characters long........';

    it('signs with the secret as UTF-8 bytes, without a kid', async () => {
      const token = signHs256Jwt({ typ: 'JWT' }, payload, secret);
      const result = await jwtVerify(token, new TextEncoder().encode(secret));
      expect(result.protectedHeader).to.deep.equal({ alg: 'HS256', typ: 'JWT' });
      expect(result.payload).to.deep.equal(payload);
    });

    it('does not verify with another secret', async () => {
      const token = signHs256Jwt({ typ: 'JWT' }, payload, secret);
      let failure: unknown;
      try {
        await jwtVerify(token, new TextEncoder().encode(`${secret}!`));
      } catch (err) {
        failure = err;
      }
      expect((failure as { code?: string } | undefined)?.code).to.equal(
        'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
      );
    });

    it('refuses an empty secret', () => {
      expect(() => signHs256Jwt({ typ: 'JWT' }, payload, '')).to.throw(
        Error,
        'HS256 signing needs a non-empty secret',
      );
    });
  });
});
