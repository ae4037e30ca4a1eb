import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { SecretSealer } from '../../lib/stores/config-secrets.js';

const PATH = 'options.configSecretKeys';

describe('SecretSealer (AES-256-GCM key ring)', () => {
  const oldKey = { kid: 'k1', key: randomBytes(32) };
  const newKey = { kid: 'k2', key: randomBytes(32).toString('base64url') };

  it('seals with a fresh IV each time under the first key, and opens what it sealed', () => {
    const sealer = new SecretSealer([oldKey], PATH);
    const first = sealer.seal('s3cret-value');
    const second = sealer.seal('s3cret-value');
    expect(first).to.match(/^aes256gcm:k1:[\w-]+:[\w-]+:[\w-]+$/);
    expect(first).not.to.equal(second);
    expect(first).not.to.contain('s3cret');
    expect(sealer.open(first)).to.equal('s3cret-value');
    expect(sealer.open(sealer.seal(''))).to.equal('');
  });

  it('rotates: a new first key seals, the old one still opens', () => {
    const before = new SecretSealer([oldKey], PATH).seal('v');
    const rotated = new SecretSealer([newKey, oldKey], PATH);
    expect(rotated.open(before)).to.equal('v');
    expect(rotated.seal('v')).to.match(/^aes256gcm:k2:/);
    expect(() => new SecretSealer([newKey], PATH).open(before)).to.throw(
      'a secret sealed with key "k1" cannot be opened: that key is not in the ring',
    );
  });

  it('refuses a value that was altered', () => {
    const sealer = new SecretSealer([oldKey], PATH);
    const parts = sealer.seal('value').split(':');
    const data = Buffer.from(parts[4]!, 'base64url');
    data[0] = data[0]! ^ 1;
    parts[4] = data.toString('base64url');
    expect(() => sealer.open(parts.join(':'))).to.throw();
    expect(() => sealer.open('plain text')).to.throw('cannot be opened');
  });

  it('fails loudly at construction without a usable key', () => {
    const cases: Array<[unknown, string]> = [
      [[], `${PATH} must hold at least one key { kid, key } to encrypt action secrets at rest`],
      [
        [{ kid: 'k', key: randomBytes(16) }],
        `${PATH}[0].key must be 32 bytes (a Buffer or base64 text)`,
      ],
      [[{ kid: 'bad kid', key: randomBytes(32) }], `${PATH}[0].kid must be a distinct name`],
      [[oldKey, oldKey], `${PATH}[1].kid must be a distinct name`],
    ];
    for (const [keys, message] of cases) {
      expect(() => new SecretSealer(keys as never, PATH))
        .to.throw(TypeError)
        .with.property('message')
        .that.contains(message);
    }
  });
});
