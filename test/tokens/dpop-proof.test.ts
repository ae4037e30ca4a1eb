import { expect } from 'chai';
import { SignJWT, UnsecuredJWT, exportJWK, generateKeyPair } from 'jose';
import { InvalidDpopProof, UseDpopNonce } from '../../lib/errors.js';
import { DpopNonces } from '../../lib/tokens/dpop-nonce.js';
import { verifyDpopProof } from '../../lib/tokens/dpop-proof.js';
import type { DpopProofCheck } from '../../lib/tokens/dpop-proof.js';
import { TOKEN_URL, dpopKey, dpopProof } from '../support/dpop.js';
import type { DpopKey } from '../support/dpop.js';

/** The clock of each test: the proofs below are made with the current time too. */
let NOW = Math.floor(Date.now() / 1000);
let CHECK: DpopProofCheck = { method: 'POST', url: TOKEN_URL, maxAge: 60, now: NOW };

async function refusal(proof: string, check: DpopProofCheck = CHECK): Promise<unknown> {
  try {
    await verifyDpopProof(proof, check);
  } catch (err) {
    return err;
  }
  throw new Error('the proof was accepted');
}

async function expectInvalid(proof: string, description: string | RegExp, check = CHECK) {
  const error = await refusal(proof, check);
  expect(error).to.be.instanceOf(InvalidDpopProof);
  expect((error as InvalidDpopProof).status).to.equal(400);
  expect((error as InvalidDpopProof).error).to.equal('invalid_dpop_proof');
  if (typeof description === 'string') {
    expect((error as InvalidDpopProof).description).to.equal(description);
  } else {
    expect((error as InvalidDpopProof).description).to.match(description);
  }
}

describe('tokens/dpop-proof: verifyDpopProof (RFC 9449 §4.3)', () => {
  beforeEach(() => {
    NOW = Math.floor(Date.now() / 1000);
    CHECK = { method: 'POST', url: TOKEN_URL, maxAge: 60, now: NOW };
  });
  let key: DpopKey;
  before(async () => {
    key = await dpopKey();
  });

  for (const alg of ['ES256', 'RS256', 'EdDSA'] as const) {
    it(`accepts a proof signed with ${alg}: the key's thumbprint, the jti, how long to remember it`, async () => {
      const own = await dpopKey(alg);
      const proof = await dpopProof(own, { claims: { jti: 'proof-1', iat: NOW - 10 } });
      expect(await verifyDpopProof(proof, CHECK)).to.deep.equal({
        jkt: own.jkt,
        jti: 'proof-1',
        acceptableUntil: NOW - 10 + 60 + 30,
      });
    });
  }

  it('compares htu without query or fragment, scheme and host case-insensitively, default port dropped', async () => {
    for (const htu of [
      `${TOKEN_URL}?x=1`,
      `${TOKEN_URL}#frag`,
      'HTTPS://Auth.Example.COM/oauth/token',
      'https://auth.example.com:443/oauth/token',
    ]) {
      const proof = await dpopProof(key, { claims: { htu } });
      expect((await verifyDpopProof(proof, CHECK)).jkt, htu).to.equal(key.jkt);
    }
  });

  it('refuses every malformed proof with 400 invalid_dpop_proof', async () => {
    const other = await dpopKey();
    const { privateKey: rsaPrivate } = await generateKeyPair('RS256', { extractable: true });
    type Case = [string, string | Promise<string>, string | RegExp];
    const cases: Case[] = [
      ['not a JWT', 'not-a-jwt', /^invalid DPoP proof: ERR_JWS_INVALID: /],
      ['an empty value', '', /^invalid DPoP proof: ERR_JWS_INVALID: /],
      ['typ JWT', dpopProof(key, { header: { typ: 'JWT' } }), /unexpected "typ" JWT header value/],
      [
        'no typ',
        dpopProof(key, { header: { typ: undefined } }),
        /unexpected "typ" JWT header value/,
      ],
      [
        'alg none',
        new UnsecuredJWT({ jti: 'x', htm: 'POST', htu: TOKEN_URL, iat: NOW }).encode(),
        /^invalid DPoP proof: ERR_JOSE_ALG_NOT_ALLOWED: /,
      ],
      [
        'alg HS256',
        new SignJWT({ jti: 'x', htm: 'POST', htu: TOKEN_URL, iat: NOW })
          .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt' })
          .sign(new Uint8Array(32)),
        /^invalid DPoP proof: ERR_JOSE_ALG_NOT_ALLOWED: /,
      ],
      [
        'no jwk header',
        dpopProof(key, { header: { jwk: undefined } }),
        /"jwk" .* must be a JSON object/,
      ],
      [
        'a private key in jwk',
        (async () =>
          dpopProof(
            {
              ...key,
              privateKey: rsaPrivate,
              alg: 'RS256',
              publicJwk: await exportJWK(rsaPrivate),
            },
            {},
          ))(),
        /must be a public key/,
      ],
      [
        'a signature by another key than its jwk',
        dpopProof({ ...other, publicJwk: key.publicJwk }),
        /^invalid DPoP proof: ERR_JWS_SIGNATURE_VERIFICATION_FAILED: /,
      ],
      ['no jti', dpopProof(key, { omit: ['jti'] }), /missing required "jti" claim/],
      ['no htm', dpopProof(key, { omit: ['htm'] }), /missing required "htm" claim/],
      ['no htu', dpopProof(key, { omit: ['htu'] }), /missing required "htu" claim/],
      ['no iat', dpopProof(key, { omit: ['iat'] }), /missing required "iat" claim/],
      [
        'an empty jti',
        dpopProof(key, { claims: { jti: '' } }),
        'the DPoP proof jti must be a string of 1 to 256 characters',
      ],
      [
        'a jti of 257 characters',
        dpopProof(key, { claims: { jti: 'j'.repeat(257) } }),
        'the DPoP proof jti must be a string of 1 to 256 characters',
      ],
      ['htm GET', dpopProof(key, { claims: { htm: 'GET' } }), 'the DPoP proof htm must be POST'],
      ...[
        ['of another path', 'https://auth.example.com/oauth/revoke'],
        ['over http', 'http://auth.example.com/oauth/token'],
        ['of another host', 'https://127.0.0.1/oauth/token'],
        ['that is not a URL', '/oauth/token'],
      ].map(([what, htu]): Case => [
        `htu ${what}`,
        dpopProof(key, { claims: { htu } }),
        `the DPoP proof htu must be ${TOKEN_URL}`,
      ]),
      [
        'an iat too old',
        dpopProof(key, { claims: { iat: NOW - 91 } }),
        /"iat" claim timestamp check failed \(too far in the past\)/,
      ],
      [
        'an iat in the future',
        dpopProof(key, { claims: { iat: NOW + 31 } }),
        /"iat" claim timestamp check failed \(it should be in the past\)/,
      ],
      [
        'a proof over 8 kB',
        dpopProof(key, { claims: { pad: 'p'.repeat(9000) } }),
        'the DPoP proof is longer than 8192 characters',
      ],
    ];
    for (const [title, proof, description] of cases) {
      await expectInvalid(await proof, description).catch((err: Error) => {
        err.message = `${title}: ${err.message}`;
        throw err;
      });
    }
  });

  describe('server nonces', () => {
    const nonces = new DpopNonces('n'.repeat(32), 60);
    const withNonces = () => ({ ...CHECK, nonces });

    it('accepts the nonce of the current and of the previous window', async () => {
      for (const nonce of [nonces.current(NOW), nonces.current(NOW - 60)]) {
        const proof = await dpopProof(key, { claims: { nonce } });
        expect((await verifyDpopProof(proof, withNonces())).jkt).to.equal(key.jkt);
      }
    });

    it('answers a missing or stale nonce with 400 use_dpop_nonce and the current nonce', async () => {
      for (const [claims, cause] of [
        [{}, 'the DPoP proof has no nonce'],
        [{ nonce: nonces.current(NOW - 120) }, 'the DPoP proof nonce is not current'],
        [
          { nonce: new DpopNonces('m'.repeat(32), 60).current(NOW) },
          'the DPoP proof nonce is not current',
        ],
      ] as const) {
        const error = await refusal(await dpopProof(key, { claims }), withNonces());
        expect(error).to.be.instanceOf(UseDpopNonce);
        expect(error).to.include({
          status: 400,
          error: 'use_dpop_nonce',
          description: 'Authorization server requires nonce in DPoP proof',
          privateCause: cause,
        });
        expect((error as UseDpopNonce).headers).to.deep.equal({
          'DPoP-Nonce': nonces.current(NOW),
        });
      }
    });

    it('are the same on every instance given the same secret, and change with the window', () => {
      const twin = new DpopNonces('n'.repeat(32), 60);
      expect(twin.current(NOW)).to.equal(nonces.current(NOW));
      expect(nonces.current(NOW)).to.match(/^[A-Za-z0-9_-]{43}$/);
      const start = Math.floor(NOW / 60) * 60;
      expect(nonces.current(start)).to.equal(nonces.current(start + 59));
      expect(nonces.current(start + 60)).not.to.equal(nonces.current(start));
      expect(nonces.accepts(nonces.current(start), start + 119)).to.equal(true);
      expect(nonces.accepts(nonces.current(start), start + 120)).to.equal(false);
    });
  });
});
