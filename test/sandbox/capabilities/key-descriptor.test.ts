import { expect } from 'chai';
import { BoundedLru } from '../../../lib/sandbox/capabilities/bounded-lru.js';
import { CapabilityError } from '../../../lib/sandbox/capabilities/capability-error.js';
import {
  MAX_DESCRIPTOR_BYTES,
  canonicalJson,
  contentHash,
  parseKeyDescriptor,
} from '../../../lib/sandbox/capabilities/key-descriptor.js';

describe('key descriptors', () => {
  it('hashes equal content equally, whatever the key order', () => {
    const a = { kind: 'jwk', jwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }, alg: 'ES256' };
    const b = { alg: 'ES256', jwk: { y: 'y', x: 'x', crv: 'P-256', kty: 'EC' }, kind: 'jwk' };
    expect(canonicalJson(a)).to.equal(canonicalJson(b));
    expect(contentHash(a)).to.equal(contentHash(b));
    expect(contentHash({ ...a, alg: 'ES384' })).to.not.equal(contentHash(a));
    expect(canonicalJson({ k: [1, 'a', null, { z: 1, a: 2 }] })).to.equal(
      '{"k":[1,"a",null,{"a":2,"z":1}]}',
    );
  });

  it('keeps only the fields of each kind', () => {
    expect(
      parseKeyDescriptor({
        kind: 'remote-jwks',
        url: 'https://idp.example/jwks',
        options: { cooldownDuration: 60000, headers: { a: 'b' } },
        extra: 1,
      }),
    ).to.deep.equal({
      kind: 'remote-jwks',
      url: 'https://idp.example/jwks',
      options: { cooldownDuration: 60000 },
    });
    expect(parseKeyDescriptor({ kind: 'spki', pem: 'p', alg: 'RS256', d: 'x' })).to.deep.equal({
      kind: 'spki',
      pem: 'p',
      alg: 'RS256',
    });
  });

  it('refuses malformed descriptors with ERR_INVALID_ARGUMENT', () => {
    const bad: unknown[] = [
      null,
      'key',
      [],
      { kind: 'remote-jwks' },
      { kind: 'remote-jwks', url: 'https://x/', options: { cooldownDuration: -1 } },
      { kind: 'remote-jwks', url: 'https://x/', options: { timeoutDuration: Number.NaN } },
      { kind: 'local-jwks', jwks: [] },
      { kind: 'jwk', jwk: 'x' },
      { kind: 'jwk', jwk: {}, alg: 5 },
      { kind: 'spki', pem: 'p' },
      { kind: 'secret', base64url: 'not base64url!' },
      { kind: 'secret', base64url: '' },
      { kind: 'pkcs8', pem: 'p' },
      { kind: 'local-jwks', jwks: { keys: ['x'.repeat(MAX_DESCRIPTOR_BYTES)] } },
    ];
    for (const descriptor of bad) {
      let caught: unknown;
      try {
        parseKeyDescriptor(descriptor);
      } catch (err) {
        caught = err;
      }
      expect(caught, JSON.stringify(descriptor)?.slice(0, 80)).to.be.instanceOf(CapabilityError);
      expect((caught as CapabilityError).code).to.equal('ERR_INVALID_ARGUMENT');
    }
  });
});

describe('BoundedLru', () => {
  it('evicts the least recently used entry beyond its size', () => {
    const lru = new BoundedLru<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.get('a')).to.equal(1); // a is now the most recent
    lru.set('c', 3);
    expect(lru.get('b')).to.equal(undefined);
    expect(lru.get('a')).to.equal(1);
    expect(lru.get('c')).to.equal(3);
    expect(lru.size).to.equal(2);
    lru.delete('a');
    lru.clear();
    expect(lru.size).to.equal(0);
    expect(() => new BoundedLru(0)).to.throw(TypeError);
  });
});
