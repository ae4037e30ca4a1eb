import { expect } from 'chai';
import {
  hostMatches,
  parseHostPattern,
} from '../../../lib/sandbox/capabilities/host-allow-list.js';

describe('host-allow-list', () => {
  describe('hostMatches', () => {
    const cases: Array<[string, string[], boolean]> = [
      ['https://idp.example.com/jwks', ['idp.example.com'], true],
      ['https://IDP.Example.COM./jwks', ['idp.example.com'], true],
      ['https://idp.example.com:443/', ['idp.example.com'], true],
      ['http://idp.example.com/', ['idp.example.com'], true],
      ['https://idp.example.com:8443/', ['idp.example.com'], false],
      ['https://idp.example.com:8443/', ['idp.example.com:8443'], true],
      ['https://idp.example.com/', ['idp.example.com:8443'], false],
      ['https://idp.example.com:9443/', ['idp.example.com:8443'], false],
      ['https://other.example.com/', ['idp.example.com'], false],
      ['https://idp.example.com.evil.net/', ['idp.example.com'], false],
      ['https://evilidp.example.com/', ['idp.example.com'], false],
      ['https://a.example.com/', ['*.example.com'], true],
      ['https://a.b.example.com/', ['*.example.com'], true],
      ['https://example.com/', ['*.example.com'], false],
      ['https://badexample.com/', ['*.example.com'], false],
      ['https://a.example.com:8443/', ['*.example.com'], false],
      ['https://a.example.com:8443/', ['*.example.com:8443'], true],
      ['http://127.0.0.1:8080/', ['127.0.0.1:8080'], true],
      ['http://127.0.0.1:8081/', ['127.0.0.1:8080'], false],
      ['http://2130706433:8080/', ['127.0.0.1:8080'], true],
      ['http://[::1]:8080/', ['[::1]:8080'], true],
      ['http://[0:0::1]:8080/', ['[::1]:8080'], true],
      ['http://127.0.0.1/', ['*.0.0.1'], false],
      ['https://xn--bcher-kva.example/', ['bücher.example'], true],
      ['ftp://idp.example.com/', ['idp.example.com'], false],
      ['file:///etc/passwd', ['idp.example.com'], false],
      ['not a url', ['idp.example.com'], false],
      ['https://idp.example.com/', [], false],
      ['https://idp.example.com/', ['https://idp.example.com', 'idp.example.com/x'], false],
    ];
    for (const [url, allowed, expected] of cases) {
      it(`${url} against ${JSON.stringify(allowed)}: ${expected}`, () => {
        expect(hostMatches(url, allowed)).to.equal(expected);
      });
    }
  });

  describe('parseHostPattern', () => {
    it('parses hosts, ports, wildcards and IPv6 literals', () => {
      expect(parseHostPattern('IdP.Example.com')).to.deep.equal({
        wildcard: false,
        hostname: 'idp.example.com',
      });
      expect(parseHostPattern('*.example.com:8443')).to.deep.equal({
        wildcard: true,
        hostname: 'example.com',
        port: 8443,
      });
      expect(parseHostPattern('[::1]:80')).to.deep.equal({
        wildcard: false,
        hostname: '[::1]',
        port: 80,
      });
    });

    it('throws a TypeError naming entries that are not host patterns', () => {
      for (const entry of [
        '',
        'https://idp.example.com',
        'idp.example.com/path',
        'user@idp.example.com',
        'idp.*.com',
        '*example.com',
        '*.127.0.0.1',
        'idp.example.com:0',
        'idp.example.com:70000',
        'idp example.com',
      ]) {
        expect(() => parseHostPattern(entry), entry).to.throw(TypeError);
      }
    });
  });
});
