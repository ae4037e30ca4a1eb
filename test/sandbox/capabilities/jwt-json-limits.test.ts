import { expect } from 'chai';
import { checkJwtJson } from '../../../lib/sandbox/capabilities/jwt-json-limits.js';

/** A compact JWT whose payload is `payload` as given (no signature check happens here). */
function jwtWithPayload(payload: string): string {
  const header = Buffer.from('{"alg":"none"}').toString('base64url');
  return `${header}.${Buffer.from(payload).toString('base64url')}.`;
}

/** `{"a":{"a":...}}`, `depth` objects deep. */
function nested(depth: number): string {
  return '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1);
}

describe('checkJwtJson (nesting counted by the guest file json-nesting.js)', () => {
  it('takes a payload nested 64 levels deep', () => {
    expect(() => checkJwtJson(jwtWithPayload(nested(64)))).not.to.throw();
  });

  it('refuses a payload nested 65 levels deep, as jose names an invalid JWT', () => {
    expect(() => checkJwtJson(jwtWithPayload(nested(65))))
      .to.throw("the JWT's payload is nested deeper than 64 levels")
      .with.property('code', 'ERR_JWT_INVALID');
  });

  it('counts no bracket inside a string, escaped quotes included', () => {
    const brackets = '"\\"' + '['.repeat(200) + '"';
    expect(() => checkJwtJson(jwtWithPayload(`{"a":${brackets}}`))).not.to.throw();
  });
});
