import { expect } from 'chai';
import {
  classifyAddress,
  isAddressAllowed,
  isInNetworks,
  parseAddress,
  parseCidr,
} from '../../../lib/sandbox/capabilities/ip-policy.js';

describe('ip-policy', () => {
  describe('classifyAddress', () => {
    const cases: Array<[string, string]> = [
      ['8.8.8.8', 'public'],
      ['93.184.216.34', 'public'],
      ['0.0.0.0', 'unspecified'],
      ['0.1.2.3', 'unspecified'],
      ['127.0.0.1', 'loopback'],
      ['127.255.255.254', 'loopback'],
      ['10.0.0.1', 'private'],
      ['172.16.0.1', 'private'],
      ['172.31.255.255', 'private'],
      ['172.32.0.1', 'public'],
      ['192.168.1.1', 'private'],
      ['169.254.169.254', 'link-local'],
      ['100.64.0.1', 'shared (CGNAT)'],
      ['100.127.255.255', 'shared (CGNAT)'],
      ['100.128.0.1', 'public'],
      ['224.0.0.1', 'multicast'],
      ['239.255.255.250', 'multicast'],
      ['255.255.255.255', 'broadcast'],
      ['240.0.0.1', 'reserved'],
      ['198.18.0.1', 'reserved'],
      ['192.0.0.8', 'reserved'],
      ['192.0.2.1', 'documentation'],
      ['::', 'unspecified'],
      ['::1', 'loopback'],
      ['0:0:0:0:0:0:0:1', 'loopback'],
      ['::ffff:127.0.0.1', 'loopback'],
      ['::ffff:7f00:1', 'loopback'],
      ['::ffff:10.0.0.1', 'private'],
      ['::ffff:169.254.169.254', 'link-local'],
      ['::ffff:8.8.8.8', 'public'],
      ['::127.0.0.1', 'reserved'],
      ['64:ff9b::7f00:1', 'loopback'],
      ['64:ff9b::a9fe:a9fe', 'link-local'],
      ['64:ff9b::808:808', 'public'],
      ['64:ff9b:1::1', 'reserved'],
      ['2002:7f00:1::1', 'loopback'],
      ['2002:c0a8:101::1', 'private'],
      ['fd00::1', 'unique-local'],
      ['fc00::1', 'unique-local'],
      ['fe80::1', 'link-local'],
      ['fe80::1%eth0', 'link-local'],
      ['ff02::1', 'multicast'],
      ['2001:db8::1', 'documentation'],
      ['2001::1', 'reserved'],
      ['100::1', 'reserved'],
      ['2606:4700:4700::1111', 'public'],
      ['2a00:1450:4001:81c::200e', 'public'],
      ['not an ip', 'invalid'],
      ['127.1', 'invalid'],
      ['999.0.0.1', 'invalid'],
    ];
    for (const [address, category] of cases) {
      it(`${address} is ${category}`, () => {
        expect(classifyAddress(address)).to.equal(category);
      });
    }
  });

  describe('isAddressAllowed', () => {
    it('allows public addresses without any allowed network', () => {
      expect(isAddressAllowed('8.8.8.8', [])).to.equal(true);
      expect(isAddressAllowed('2606:4700:4700::1111', [])).to.equal(true);
    });

    it('refuses every non-public category without an allowed network', () => {
      for (const address of [
        '127.0.0.1',
        '10.0.0.1',
        '::ffff:127.0.0.1',
        '::ffff:7f00:1',
        '169.254.169.254',
        '100.64.0.1',
        'fd00::1',
        '224.0.0.1',
        '0.0.0.0',
        '::',
        '::1',
        '255.255.255.255',
      ]) {
        expect(isAddressAllowed(address, []), address).to.equal(false);
      }
    });

    it('allows a non-public address inside allowedPrivateNetworks, and only there', () => {
      expect(isAddressAllowed('127.0.0.1', ['127.0.0.1/32'])).to.equal(true);
      expect(isAddressAllowed('127.0.0.2', ['127.0.0.1/32'])).to.equal(false);
      expect(isAddressAllowed('10.1.2.3', ['10.1.0.0/16'])).to.equal(true);
      expect(isAddressAllowed('10.2.0.1', ['10.1.0.0/16'])).to.equal(false);
      expect(isAddressAllowed('fd00::1', ['fd00::/8'])).to.equal(true);
      expect(isAddressAllowed('::1', ['::1/128'])).to.equal(true);
      expect(isAddressAllowed('::1', ['127.0.0.1/32'])).to.equal(false);
    });

    it('matches IPv4-mapped IPv6 against IPv4 networks and the reverse', () => {
      expect(isAddressAllowed('::ffff:127.0.0.1', ['127.0.0.0/8'])).to.equal(true);
      expect(isAddressAllowed('127.0.0.1', ['::ffff:127.0.0.1/128'])).to.equal(true);
    });

    it('ignores invalid network entries (they allow nothing) and refuses invalid addresses', () => {
      expect(isAddressAllowed('127.0.0.1', ['localhost', '127.0.0.1/33', ''])).to.equal(false);
      expect(isAddressAllowed('', ['0.0.0.0/0'])).to.equal(false);
      expect(isAddressAllowed('example.com', ['0.0.0.0/0'])).to.equal(false);
    });

    it('isInNetworks does not treat a public address as allowed', () => {
      expect(isInNetworks('8.8.8.8', ['127.0.0.1/32'])).to.equal(false);
      expect(isInNetworks('127.0.0.1', ['127.0.0.1/32'])).to.equal(true);
    });
  });

  describe('parseCidr / parseAddress', () => {
    it('parses IPv4 and IPv6 blocks and bare addresses', () => {
      expect(parseCidr('10.1.2.3/8')).to.deep.equal({ version: 4, value: 10n << 24n, prefix: 8 });
      expect(parseCidr('127.0.0.1')).to.deep.equal({ version: 4, value: 0x7f000001n, prefix: 32 });
      expect(parseCidr('fd00::/8')).to.deep.equal({ version: 6, value: 0xfdn << 120n, prefix: 8 });
      expect(parseAddress('::ffff:1.2.3.4')).to.deep.equal({
        version: 6,
        value: (0xffffn << 32n) | 0x01020304n,
      });
    });

    it('throws a TypeError naming a bad entry', () => {
      for (const entry of ['10.0.0.0/33', '::/129', 'example.com/8', '10.0.0.0/', '10.0.0.0/-1']) {
        expect(() => parseCidr(entry), entry).to.throw(TypeError, entry);
      }
    });
  });
});
