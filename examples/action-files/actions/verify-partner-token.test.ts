import { expect } from 'chai';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { testAction } from '../../../lib/testing/index.js';
import { loadActionCode } from '../load-action.js';

const code = loadActionCode(new URL('./verify-partner-token.ts', import.meta.url));

describe('examples/action-files: the verify-partner-token action', function () {
  // Each testAction call starts a sandbox of its own.
  this.timeout(20_000);
  let privateKey: CryptoKey;
  let secrets: Record<string, string>;

  before(async () => {
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'p1', alg: 'ES256' };
    secrets = { PARTNER_JWKS: JSON.stringify({ keys: [jwk] }) };
  });

  const partnerToken = (
    claims: Record<string, unknown> = {},
    issuer = 'https://partner.example.com/',
  ) =>
    new SignJWT({ email: 'jane@partner.example', ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: 'p1' })
      .setIssuer(issuer)
      .setAudience('test-client')
      .setSubject('jane-42')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);

  it('signs the partner’s user in through the partner connection', async () => {
    const result = await testAction(
      code,
      { transaction: { subject_token: await partnerToken() } },
      { secrets },
    );
    expect(result.error).to.equal(undefined);
    expect(result.commands).to.deep.equal([
      {
        type: 'setUserByConnection',
        connection: 'partner',
        attributes: { user_id: 'jane-42', email: 'jane@partner.example' },
        options: { creationBehavior: 'create_if_not_exists', updateBehavior: 'none' },
      },
    ]);
  });

  it('rejects a token from another issuer as an invalid subject token', async () => {
    const result = await testAction(
      code,
      { transaction: { subject_token: await partnerToken({}, 'https://evil.example/') } },
      { secrets },
    );
    expect(result.commands).to.deep.equal([
      { type: 'rejectInvalidSubjectToken', reason: 'the partner token is invalid' },
    ]);
    expect(result.console.map((line) => line.message)).to.deep.equal([
      'partner token refused: ERR_JWT_CLAIM_VALIDATION_FAILED',
    ]);
  });
});
