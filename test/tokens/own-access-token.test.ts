import { expect } from 'chai';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { mintAccessToken } from '../../lib/tokens/access-token.js';
import { signJwt } from '../../lib/tokens/jws.js';
import { KeySet, SIGNING_ALGS } from '../../lib/tokens/key-set.js';
import { readOwnAccessToken } from '../../lib/tokens/own-access-token.js';

import {
  TOKEN_AUDIENCE as AUDIENCE,
  TOKEN_ISSUER as ISSUER,
  accessTokenParams,
} from '../support/unit-tokens.js';

describe('tokens/own-access-token', () => {
  const keys = new KeySet();
  const now = Math.floor(Date.now() / 1000);
  const base = accessTokenParams(keys, now, ['read:orders'], 600);
  const check = { issuer: ISSUER, keys, now };

  /** A token signed by the router's current `alg` key with any header and claims. */
  async function signed(
    claims: Record<string, unknown>,
    header: Record<string, unknown> = {},
    alg: 'ES256' | 'RS256' = 'ES256',
  ): Promise<string> {
    keys.ensure(alg);
    const kid = keys.signingKey(alg).kid;
    const jwk = keys.jwks().keys.find((key) => key.kid === kid)!;
    // The KeySet never hands out private keys: sign with a fresh key under the same kid instead,
    // which is what a forger would do; the tests that need a genuine signature mint instead.
    const { privateKey } = await generateKeyPair(alg);
    return new SignJWT(claims)
      .setProtectedHeader({ alg, typ: 'at+jwt', kid: jwk.kid, ...header })
      .sign(privateKey);
  }

  for (const alg of SIGNING_ALGS) {
    it(`reads back a token it minted with ${alg}: valid, with every claim`, async () => {
      const minted = await mintAccessToken({
        ...base,
        alg,
        dpopJkt: 'thumb',
        actor: { sub: 'agent' },
      });
      const read = await readOwnAccessToken(minted.token, check);
      expect(read).to.deep.equal({
        status: 'valid',
        claims: {
          iss: ISSUER,
          sub: 'partner|42',
          aud: AUDIENCE,
          iat: now,
          exp: now + 600,
          jti: minted.jti,
          client_id: 'client-1',
          scope: 'read:orders',
          act: { sub: 'agent' },
          cnf: { jkt: 'thumb' },
        },
      });
    });
  }

  it('calls foreign what is not a JWT with the router’s jti and issuer', async () => {
    const minted = await mintAccessToken(base);
    const { privateKey } = await generateKeyPair('ES256');
    const hostToken = await new SignJWT({ iss: ISSUER, jti: 'host-jti-1', sub: 'x' })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: keys.signingKey('ES256').kid })
      .sign(privateKey);
    const cases = [
      'not a token',
      `cte_rt_${'A'.repeat(43)}`,
      hostToken,
      await signed({ iss: ISSUER, jti: 'cte_at_short', sub: 'x' }),
      await signed({ iss: 'https://other.example/', jti: minted.jti, sub: 'x' }),
      `${minted.token}${'A'.repeat(64 * 1024)}`,
    ];
    for (const token of cases) {
      expect(await readOwnAccessToken(token, check), token.slice(0, 40)).to.deep.equal({
        status: 'foreign',
      });
    }
  });

  it('calls invalid a token of its shape that is forged, tampered, expired or of another type', async () => {
    const minted = await mintAccessToken(base);
    const [header, payload, signature] = minted.token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<
      string,
      unknown
    >;
    const tampered = Buffer.from(JSON.stringify({ ...claims, sub: 'admin' })).toString('base64url');
    const cases: Array<[string, string, RegExp]> = [
      ['forged under the router’s kid', await signed(claims), /SIGNATURE_VERIFICATION_FAILED/],
      ['tampered', `${header}.${tampered}.${signature}`, /SIGNATURE_VERIFICATION_FAILED/],
      ['an unknown kid', await signed(claims, { kid: 'nope' }), /JWKS_NO_MATCHING_KEY/],
      [
        'the kid of another alg',
        await signed(claims, { kid: keys.signingKey('RS256').kid }),
        /JWKS_NO_MATCHING_KEY/,
      ],
      [
        'typ JWT (an ID token of the router)',
        await signJwt({ typ: 'JWT' }, claims, keys.signingKey('ES256')),
        /CLAIM_VALIDATION_FAILED: unexpected "typ" JWT header value/,
      ],
      [
        'without client_id',
        await signJwt(
          { typ: 'at+jwt' },
          { ...claims, client_id: undefined },
          keys.signingKey('ES256'),
        ),
        /CLAIM_VALIDATION_FAILED: missing required "client_id" claim/,
      ],
    ];
    for (const [name, token, reason] of cases) {
      const read = await readOwnAccessToken(token, check);
      expect(read.status, name).to.equal('invalid');
      expect((read as { reason: string }).reason, name).to.match(reason);
    }
    const expired = await readOwnAccessToken(minted.token, { ...check, now: now + 600 });
    expect(expired).to.deep.equal({
      status: 'invalid',
      reason: 'ERR_JWT_EXPIRED: "exp" claim timestamp check failed',
    });
  });

  it('calls invalid a token signed with a key of its own but not a published one any more', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const own = new KeySet({
      keys: [{ ...(await exportJWK(privateKey)), kid: 'only', alg: 'ES256' }],
    });
    const token = (await mintAccessToken({ ...base, keys: own })).token;
    const read = await readOwnAccessToken(token, check);
    expect(read).to.deep.equal({
      status: 'invalid',
      reason: 'ERR_JWKS_NO_MATCHING_KEY: no published key of the router has this kid and alg',
    });
  });
});
