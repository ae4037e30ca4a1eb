import crypto from 'node:crypto';
import { expect } from 'chai';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import request from 'supertest';
import { ManagementError } from '../../lib/errors.js';
import type { Signer } from '../../lib/index.js';
import { nodeCryptoSigner } from '../../examples/signers/node-crypto-signer.js';
import {
  API,
  ISSUER,
  exchangeBody,
  form,
  testServer,
  testSigningKeys,
} from '../support/fixtures.js';
import type { TestServer } from '../support/fixtures.js';
import { APP } from '../support/oauth-responses.js';

const p256 = () => crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

function exchange(server: TestServer) {
  return request(server.app)
    .post('/oauth/token')
    .set('Authorization', APP)
    .type('form')
    .send(form(exchangeBody()));
}

describe('examples/signers: a Signer holding the private key', () => {
  const servers: TestServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.cte.close()));
  });
  /** A router whose ES256 keys are `signers` (the other algs the fixtures sign with: JWKs). */
  const serve = async (signers: Signer[], jwksMaxAge = 600) => {
    const others = (await testSigningKeys()).filter((key) => key.alg !== 'ES256');
    const server = await testServer({ keys: [...signers, ...others], jwksMaxAge });
    servers.push(server);
    return server;
  };

  it('signs the access token through the signer; the token verifies against the served JWKS', async () => {
    const signer = nodeCryptoSigner(p256(), 'kms-es256');
    let calls = 0;
    const counted: Signer = { ...signer, sign: (data) => (calls++, signer.sign(data)) };
    const server = await serve([counted, nodeCryptoSigner(p256(), 'kms-es256-next')]);
    const res = await exchange(server);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(decodeProtectedHeader(res.body.access_token)).to.deep.equal({
      alg: 'ES256',
      typ: 'at+jwt',
      kid: 'kms-es256',
    });
    const jwks = await request(server.app).get('/.well-known/jwks.json').expect(200);
    const { payload } = await jwtVerify(res.body.access_token, createLocalJWKSet(jwks.body), {
      issuer: ISSUER,
      audience: API,
    });
    expect(payload.sub).to.equal('auth0|alice');
    expect(calls).to.equal(1);
    expect(jwks.body.keys.map((key: { kid: string }) => key.kid)).to.include.members([
      'kms-es256',
      'kms-es256-next',
    ]);
    for (const key of jwks.body.keys as Array<Record<string, unknown>>) {
      expect(key).not.to.have.property('d');
    }
  });

  it('fails loudly, with 500 and the reason in the log, when a signer answers DER', async () => {
    const key = p256();
    const der: Signer = {
      ...nodeCryptoSigner(key, 'der-signer'),
      sign: (data) => crypto.sign('sha256', data, key),
    };
    const server = await serve([der]);
    const res = await exchange(server);
    expect([res.status, res.body]).to.deep.equal([
      500,
      { error: 'server_error', error_description: 'The server encountered an unexpected error.' },
    ]);
    const [entry] = await server.cte.logs.list({ type: 'fecte', take: 1 });
    expect(entry!.details.cause).to.equal(
      'Error: signer "der-signer" answered a signature its publicJwk does not verify ' +
        '(ES256 wants the raw JWS form: 64 bytes r || s, not DER)',
    );
  });

  it('checks a signer given to keys.add() before publishing it, and rotates to a good one', async () => {
    const server = await serve([nodeCryptoSigner(p256(), 'kms-1')], 0);
    const key = p256();
    const der: Signer = {
      ...nodeCryptoSigner(key, 'kms-der'),
      sign: (data) => crypto.sign('sha256', data, key),
    };
    const refused = await server.cte.keys.add(der).then(
      () => expect.fail('added a signer that answers DER'),
      (error: unknown) => error as ManagementError,
    );
    expect(refused).to.be.instanceOf(ManagementError);
    expect(refused.code).to.equal('invalid_body');
    const es256 = async () =>
      (await server.cte.keys.list()).filter((info) => info.alg === 'ES256').map((info) => info.kid);
    expect(await es256()).to.deep.equal(['kms-1']);
    await server.cte.keys.add(nodeCryptoSigner(p256(), 'kms-2'));
    await server.cte.keys.rotate('ES256');
    const res = await exchange(server);
    expect(decodeProtectedHeader(res.body.access_token).kid).to.equal('kms-2');
  });

  it('refuses a signer whose public key does not fit its alg, at construction', async () => {
    const signer = nodeCryptoSigner(p256(), 'kms-1');
    const error = await testServer({ keys: [{ ...signer, alg: 'EdDSA' }] }).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(error?.message).to.equal(
      'customTokenExchange: options.keys[0].publicJwk.kty must be "OKP" for alg EdDSA',
    );
  });
});
