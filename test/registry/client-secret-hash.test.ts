import crypto from 'node:crypto';
import { expect } from 'chai';
import {
  hashClientSecret,
  parseClientSecretHash,
  verifyClientSecret,
} from '../../lib/registry/client-secret-hash.js';

const SECRET = 'client-secret-0123456789abcdef';

async function rejection(run: () => Promise<unknown>): Promise<Error> {
  return run().then(
    () => expect.fail('resolved'),
    (error: unknown) => error as Error,
  );
}

describe('client secret hashes (scrypt, PHC string format)', () => {
  it('hashes with a fresh salt each time, and verifies the secret and only the secret', async () => {
    const first = await hashClientSecret(SECRET, { logN: 10 });
    const second = await hashClientSecret(SECRET, { logN: 10 });
    expect(first).to.match(/^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(second).not.to.equal(first);
    expect(await verifyClientSecret(SECRET, first)).to.equal(true);
    expect(await verifyClientSecret(SECRET, second)).to.equal(true);
    expect(await verifyClientSecret(`${SECRET}x`, first)).to.equal(false);
    expect(await verifyClientSecret('', first)).to.equal(false);
  });

  it('defaults to N = 2^14, r = 8, p = 1', async () => {
    expect(await hashClientSecret(SECRET)).to.match(/^\$scrypt\$ln=14,r=8,p=1\$/);
  });

  it('verifies a hash made elsewhere in the documented format', async () => {
    const salt = Buffer.from('a fixed salt 16b');
    const key = crypto.scryptSync(SECRET, salt, 32, { N: 2 ** 11, r: 4, p: 2 });
    const unpadded = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');
    const hash = `$scrypt$ln=11,r=4,p=2$${unpadded(salt)}$${unpadded(key)}`;
    expect(await verifyClientSecret(SECRET, hash)).to.equal(true);
    expect(await verifyClientSecret('another secret', hash)).to.equal(false);
  });

  /** A well-formed hash of these parameters, of a 16-byte salt (unless `salt`) and a 32-byte key. */
  const scrypt = (params: string, salt = 'c2FsdHNhbHRzYWx0c2FsdA') =>
    `$scrypt$${params}$${salt}$${'A'.repeat(43)}`;
  const refusals: Array<[string, string, string]> = [
    [
      'another scheme',
      '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaA',
      'must be a scrypt hash',
    ],
    ['a missing parameter', scrypt('ln=10,r=8'), 'must be a scrypt hash'],
    ['padding', scrypt('ln=10,r=8,p=1', 'c2FsdHNhbHRzYWx0c2FsdA=='), 'must be a scrypt hash'],
    ['ln 0', scrypt('ln=0,r=8,p=1'), 'ln (log2 N) must be an integer from 1 to 20'],
    ['ln 21', scrypt('ln=21,r=1,p=1'), 'ln (log2 N) must be an integer from 1 to 20'],
    ['r 33', scrypt('ln=10,r=33,p=1'), 'r must be an integer from 1 to 32'],
    ['p 17', scrypt('ln=10,r=8,p=17'), 'p must be an integer from 1 to 16'],
    [
      'more than 256 MiB of memory',
      scrypt('ln=20,r=8,p=1'),
      'needs 128 × N × r = 1073741824 bytes, more than 268435456',
    ],
    [
      'base64 that does not round-trip',
      scrypt('ln=10,r=8,p=1', 'c2FsdHNhbHRzYWx0c2FsdB'),
      'holds malformed base64',
    ],
  ];
  for (const [title, hash, message] of refusals) {
    it(`refuses ${title}, naming the path`, async () => {
      expect(() => parseClientSecretHash(hash, 'clients[0].client_secret_hash')).to.throw(
        TypeError,
        `customTokenExchange: clients[0].client_secret_hash ${message}`,
      );
      expect((await rejection(() => verifyClientSecret(SECRET, hash))).message).to.include(message);
    });
  }

  it('refuses an empty secret and costs out of range when hashing', async () => {
    expect((await rejection(() => hashClientSecret(''))).message).to.equal(
      'hashClientSecret: secret must be a non-empty string',
    );
    expect((await rejection(() => hashClientSecret(SECRET, { logN: 25 }))).message).to.equal(
      'hashClientSecret: ln (log2 N) must be an integer from 1 to 20',
    );
    expect((await rejection(() => hashClientSecret(SECRET, { r: 0 }))).message).to.equal(
      'hashClientSecret: r must be an integer from 1 to 32',
    );
  });
});
