import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { EncryptJWT } from 'jose';
import { parseMfaOptions } from '../../lib/mfa/mfa-options.js';
import { MfaTokenError, openPendingGrant, sealPendingGrant } from '../../lib/mfa/pending-grant.js';
import type { PendingGrant } from '../../lib/mfa/pending-grant.js';
import { rejectionAs } from '../support/rejections.js';

const GRANT: PendingGrant = {
  client_id: 'app',
  user_id: 'auth0|alice',
  audience: 'https://api.example.com/',
  scope: ['openid', 'read:orders', 'offline_access'],
  permissions: ['read:orders'],
  claims: { accessToken: { tier: { level: 2 } }, idToken: { plan: 'gold' } },
  profile_id: 'tep_0001',
  subject_token_type: 'urn:acme:legacy-token',
  dpop_jkt: 'thumbprint',
  provider: 'guardian',
};
const NOW = Date.UTC(2026, 0, 2, 3, 4, 5);
const key = (): Uint8Array => new Uint8Array(randomBytes(32));

const failure = (promise: Promise<unknown>) => rejectionAs(promise, MfaTokenError);

describe('mfa_token: the pending grant sealed in a JWE', () => {
  it('opens to the same grant, jti and exp until its exp, and not one second after', async () => {
    const k = key();
    const sealed = await sealPendingGrant(k, GRANT, 300, NOW);
    expect(sealed.token.split('.')).to.have.length(5);
    expect(sealed.exp).to.equal(Math.floor(NOW / 1000) + 300);
    // The grant travels encrypted: nothing of it is readable in the token.
    expect(sealed.token).not.to.include(Buffer.from('auth0|alice').toString('base64url'));
    const opened = await openPendingGrant(k, sealed.token, NOW + 299_000);
    expect(opened).to.deep.equal({ grant: GRANT, jti: sealed.jti, exp: sealed.exp });
    const expired = await failure(openPendingGrant(k, sealed.token, NOW + 300_000));
    expect(expired.reason).to.equal('expired');
  });

  it('gives every token its own jti', async () => {
    const k = key();
    const [a, b] = await Promise.all([
      sealPendingGrant(k, GRANT, 300, NOW),
      sealPendingGrant(k, GRANT, 300, NOW),
    ]);
    expect(a.jti).to.match(/^[A-Za-z0-9_-]{22}$/);
    expect(a.jti).not.to.equal(b.jti);
  });

  it('refuses as malformed: another key, any altered part, garbage, a JWE that is no pending grant', async () => {
    const k = key();
    const { token } = await sealPendingGrant(k, GRANT, 300, NOW);
    expect((await failure(openPendingGrant(key(), token, NOW))).reason).to.equal('malformed');
    const parts = token.split('.');
    for (const index of [0, 2, 3, 4]) {
      const altered = [...parts];
      const part = altered[index]!;
      altered[index] = `${part.slice(0, -2)}${part.endsWith('AA') ? 'BB' : 'AA'}`;
      const error = await failure(openPendingGrant(k, altered.join('.'), NOW));
      expect(error.reason, `part ${index}`).to.equal('malformed');
    }
    expect((await failure(openPendingGrant(k, 'not-a-token', NOW))).reason).to.equal('malformed');
    const notAGrant = await new EncryptJWT({ grant: { client_id: 'app' } })
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', typ: 'mfa-token' })
      .setJti('x')
      .setExpirationTime(Math.floor(NOW / 1000) + 60)
      .encrypt(k);
    const shape = await failure(openPendingGrant(k, notAGrant, NOW));
    expect(shape).to.include({
      reason: 'malformed',
      message: 'the mfa_token does not carry a pending grant',
    });
    const otherType = await new EncryptJWT({ grant: GRANT })
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .setJti('x')
      .setExpirationTime(Math.floor(NOW / 1000) + 60)
      .encrypt(k);
    expect((await failure(openPendingGrant(k, otherType, NOW))).reason).to.equal('malformed');
  });
});

const ISSUER = 'https://auth.example.com/';

describe('options.mfa', () => {
  const verify = (): boolean => true;

  it('applies the defaults and derives the same key from the same secret', () => {
    const secret = 'a-shared-secret-of-at-least-32-bytes!';
    const a = parseMfaOptions({ verify, secret }, 'options.mfa', ISSUER)!;
    const b = parseMfaOptions({ verify, secret: Buffer.from(secret) }, 'options.mfa', ISSUER)!;
    expect(a).to.include({
      timeoutMs: 5000,
      tokenLifetime: 300,
      maxAttempts: 5,
      sharedSecret: true,
    });
    expect(a.key).to.have.length(32);
    expect(Buffer.from(a.key).equals(Buffer.from(b.key))).to.equal(true);
    const random = parseMfaOptions({ verify }, 'options.mfa', ISSUER)!;
    expect(random.sharedSecret).to.equal(false);
    expect(Buffer.from(random.key).equals(Buffer.from(a.key))).to.equal(false);
    const otherTenant = parseMfaOptions(
      { verify, secret },
      'options.mfa',
      'https://other.example/',
    )!;
    expect(Buffer.from(otherTenant.key).equals(Buffer.from(a.key))).to.equal(false);
    expect(parseMfaOptions(undefined, 'options.mfa', ISSUER)).to.equal(undefined);
  });

  it('names the option path of every mistake', () => {
    const cases: Array<[unknown, string]> = [
      [{}, 'options.mfa.verify must be a function'],
      [{ verify, secret: 'short' }, 'options.mfa.secret must be at least 32 bytes'],
      [{ verify, secret: 42 }, 'options.mfa.secret must be a string or a Uint8Array'],
      [{ verify, timeoutMs: 0 }, 'options.mfa.timeoutMs must be an integer from 1 to 60000'],
      [
        { verify, tokenLifetime: 10 },
        'options.mfa.tokenLifetime must be an integer from 30 to 3600',
      ],
      [{ verify, maxAttempts: 21 }, 'options.mfa.maxAttempts must be an integer from 1 to 20'],
      [{ verify, ttl: 1 }, 'options.mfa'],
    ];
    for (const [input, message] of cases) {
      expect(() => parseMfaOptions(input, 'options.mfa', ISSUER), message).to.throw(
        TypeError,
        message,
      );
    }
  });
});
