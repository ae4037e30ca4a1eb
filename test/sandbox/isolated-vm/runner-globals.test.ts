import { expect } from 'chai';
import type { ExecutionGate } from '../../../lib/sandbox/execution-gate.js';
import { PendingCapabilities, evaluate, sandboxRunner } from '../fixtures/sandbox-helpers.js';

/**
 * The built-ins V8 lacks, as the sandbox provides them. Each case runs the same expression in the
 * sandbox and in Node, whose globals are the reference.
 */
const SAME_AS_NODE: Array<[string, string]> = [
  [
    'URL components',
    `(() => { const u = new URL('../b/c?x=1&y=%C3%A9#frag', 'https://user:pw@Example.COM:8443/a/z');
      return [u.href, u.origin, u.protocol, u.username, u.password, u.host, u.hostname, u.port, u.pathname, u.search, u.hash, String(u), JSON.stringify({ u })]; })()`,
  ],
  [
    'URL setters and searchParams',
    `(() => { const u = new URL('https://idp.example.com/authorize?');
      u.searchParams.set('client_id', 'a b');
      u.searchParams.append('scope', 'openid profile');
      const before = u.href;
      u.pathname = '/other path';
      u.hash = 'h';
      u.search = '?q=1';
      const params = u.searchParams;
      params.delete('q');
      u.port = '8080';
      return [before, u.href, params.size, u.searchParams.toString(), URL.canParse('nope'), URL.canParse('/x', 'https://a.example')]; })()`,
  ],
  [
    'URLs parsed from the same input stay independent (parsing answers are shared)',
    `(() => { const a = new URL('https://idp.example.com/jwks?x=1'); const b = new URL('https://idp.example.com/jwks?x=1');
      a.pathname = '/changed'; a.searchParams.set('x', '2'); b.hash = 'h';
      const many = []; for (let i = 0; i < 200; i++) many.push(new URL('/p' + (i % 70), 'https://a.example').pathname);
      const again = new URL('https://idp.example.com/jwks?x=1');
      let failures = 0; for (let i = 0; i < 3; i++) { try { new URL('no url'); } catch (e) { failures++; } }
      return [a.href, b.href, again.href, many.slice(-3), failures, URL.canParse('no url'), URL.canParse('https://idp.example.com/jwks?x=1')]; })()`,
  ],
  [
    'URL parse errors',
    `(() => { try { new URL('not a url'); return 'parsed'; } catch (e) { return e.name; } })()`,
  ],
  [
    'URLSearchParams',
    `(() => { const p = new URLSearchParams('?a=1&b=x+y&a=2&c=%E2%82%AC&d&=e&f=%zz');
      p.sort();
      const fromObject = new URLSearchParams({ q: 'é & ü', n: 5 });
      const fromPairs = new URLSearchParams([['k', "!'()~*-._"]]);
      return [p.get('a'), p.getAll('a'), p.get('b'), p.get('c'), p.has('d'), p.get(''), p.get('f'), p.toString(),
        fromObject.toString(), fromPairs.toString(), [...p.keys()], p.has('a', '2'), p.get('missing')]; })()`,
  ],
  [
    'TextEncoder and TextDecoder',
    `(() => { const text = 'aé€😀\\ud800z';
      const bytes = new TextEncoder().encode(text);
      const invalid = new Uint8Array([0x61, 0xff, 0xe2, 0x82, 0x62, 0xf0, 0x9f, 0x98, 0x80, 0xed, 0xa0, 0x80]);
      let fatal = 'accepted';
      try { new TextDecoder('utf-8', { fatal: true }).decode(invalid); } catch (e) { fatal = e.name; }
      return [Array.from(bytes), new TextDecoder().decode(bytes), new TextDecoder().decode(invalid), fatal,
        new TextDecoder().decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])), new TextDecoder().decode(bytes.buffer),
        new TextEncoder().encodeInto('a€b', new Uint8Array(4))]; })()`,
  ],
  [
    'atob and btoa',
    `(() => { const attempt = (fn) => { try { return fn(); } catch (e) { return e.name; } };
      return [btoa(''), btoa('f'), btoa('fo'), btoa('foo'), btoa('\\xff\\xfe'), atob('Zm9v'), atob(' Zm 9v\\n'), atob('Zg'),
        atob('Zg=='), attempt(() => atob('Zg=')), attempt(() => atob('Z')), attempt(() => atob('Zm9v_')), attempt(() => btoa('€'))]; })()`,
  ],
  [
    'Headers',
    `(() => { const h = new Headers({ 'Content-Type': 'text/plain', 'X-A': ' 1 ' });
      h.append('x-a', '2');
      h.set('X-B', 'b');
      h.delete('content-type');
      let refused = 'accepted';
      try { h.set('bad name', 'x'); } catch (e) { refused = e.name; }
      return [h.get('X-A'), h.has('content-type'), [...h], refused, h.get('missing')]; })()`,
  ],
];

describe('the sandbox: action globals', () => {
  let runner: ExecutionGate;
  before(() => {
    runner = sandboxRunner({ capabilities: new PendingCapabilities() });
  });
  after(() => runner.close());

  for (const [name, expression] of SAME_AS_NODE) {
    it(`${name} behave as in Node`, async () => {
      // The same expression evaluated by Node itself, to compare with the sandbox's answer.
      // eslint-disable-next-line @typescript-eslint/no-implied-eval
      const inNode = JSON.parse(JSON.stringify(new Function(`return ${expression};`)()));
      expect(await evaluate(runner, `return ${expression};`)).to.deep.equal(inNode);
    });
  }

  it('refuses URL inputs too long to be real before copying them to the host', async () => {
    const result = await evaluate(
      runner,
      `const long = 'https://a.example/' + 'x'.repeat(70000);
      let refused = 'parsed';
      try { new URL(long); } catch (e) { refused = e.name + ': ' + e.message; }
      return [refused, URL.canParse(long)];`,
    );
    expect(result).to.deep.equal(['TypeError: Invalid URL: longer than 65536 characters', false]);
  });

  it('gives host randomness and a constant-time comparison through crypto', async () => {
    const [uuid, otherUuid, bytes, filled, tooMany, floats, comparisons] = (await evaluate(
      runner,
      `
      const attempt = (fn) => { try { return fn(); } catch (e) { return e.name; } };
      const bytes = crypto.getRandomValues(new Uint8Array(32));
      const words = crypto.getRandomValues(new Uint32Array(4));
      return [
        crypto.randomUUID(), crypto.randomUUID(), Array.from(bytes), words.some((word) => word !== 0),
        attempt(() => crypto.getRandomValues(new Uint8Array(65537))),
        attempt(() => crypto.getRandomValues(new Float64Array(2))),
        [crypto.timingSafeEqual('secret', 'secret'), crypto.timingSafeEqual('secret', 'secreT'),
          crypto.timingSafeEqual('secret', 'secret-longer'), crypto.timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])),
          crypto.timingSafeEqual('', ''), attempt(() => crypto.timingSafeEqual(1, 2))],
      ];
      `,
    )) as [string, string, number[], boolean, string, string, unknown[]];
    expect(uuid).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(otherUuid).not.to.equal(uuid);
    expect(bytes).to.have.length(32);
    expect(new Set(bytes).size).to.be.above(8);
    expect(filled).to.equal(true);
    expect(tooMany).to.equal('QuotaExceededError');
    expect(floats).to.equal('TypeError');
    expect(comparisons).to.deep.equal([true, false, false, true, true, 'TypeError']);
  });

  it('builds Response objects and runs queueMicrotask callbacks', async () => {
    const result = await evaluate(
      runner,
      `
      const order = [];
      queueMicrotask(() => order.push('microtask'));
      order.push('sync');
      await null;
      const response = new Response('{"a":1}', { status: 201, headers: { 'content-type': 'application/json' } });
      const copy = response.clone();
      const body = await response.json();
      let reread = 'allowed';
      try { await response.text(); } catch (e) { reread = e.name; }
      return [order, response.ok, response.status, response.headers.get('content-type'), body, response.bodyUsed, reread, await copy.text()];
      `,
    );
    expect(result).to.deep.equal([
      ['sync', 'microtask'],
      true,
      201,
      'application/json',
      { a: 1 },
      true,
      'TypeError',
      '{"a":1}',
    ]);
  });

  it('decodes JWTs in the guest as jose does, with jose errors', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'ES256', kid: 'k1' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ sub: 'ü-user', n: 1 })).toString('base64url');
    const result = await evaluate(
      runner,
      `
      const { decodeJwt, decodeProtectedHeader, errors, base64url } = require('jose');
      const attempt = (fn) => { try { return fn(); } catch (e) { return [e.name, e.code ?? null, e instanceof errors.JOSEError, e.message]; } };
      return [
        decodeJwt('${header}.${payload}.sig'),
        decodeProtectedHeader('${header}.${payload}.sig'),
        attempt(() => decodeJwt('only.two')),
        attempt(() => decodeJwt('a.!!!.c')),
        attempt(() => decodeProtectedHeader('!!!.b.c')),
        new TextDecoder().decode(base64url.decode(base64url.encode('round trip'))),
        Object.isFrozen(require('jose')), require('jose') === require('jose'),
      ];
      `,
    );
    expect(result).to.deep.equal([
      { sub: 'ü-user', n: 1 },
      { alg: 'ES256', kid: 'k1' },
      ['JWTInvalid', 'ERR_JWT_INVALID', true, 'Invalid JWT'],
      ['JWTInvalid', 'ERR_JWT_INVALID', true, 'Failed to base64url decode the payload'],
      ['TypeError', null, false, 'Invalid Token or Protected Header formatting'],
      'round trip',
      true,
      true,
    ]);
  });

  it('refuses JWT JSON too large or nested too deeply before parsing it', async () => {
    const b64 = (text: string) => Buffer.from(text).toString('base64url');
    const header = b64(JSON.stringify({ alg: 'ES256' }));
    // The payload of the reported attack: 700,000 brackets, a token of about 930 kB.
    const huge = `${header}.${b64('['.repeat(700_000))}.sig`;
    const deep = `${header}.${b64('{"a":'.repeat(65) + '1' + '}'.repeat(65))}.sig`;
    const deepHeader = `${b64('['.repeat(100) + ']'.repeat(100))}.${b64('{}')}.sig`;
    const nested = `${header}.${b64('{"a":'.repeat(64) + '1' + '}'.repeat(64))}.sig`;
    const result = await evaluate(
      runner,
      `
      const { decodeJwt, decodeProtectedHeader } = require('jose');
      const attempt = (fn) => { try { return fn(); } catch (e) { return [e.name, e.code ?? null, e.message]; } };
      const started = Date.now();
      const answers = [
        attempt(() => decodeJwt(event.transaction.subject_token)),
        attempt(() => decodeJwt('${deep}')),
        attempt(() => decodeProtectedHeader('${deepHeader}')),
        typeof decodeJwt('${nested}').a,
      ];
      return [...answers, Date.now() - started < 50];
      `,
      {},
      huge,
    );
    expect(result).to.deep.equal([
      ['JWTInvalid', 'ERR_JWT_INVALID', 'the payload is larger than 65536 bytes'],
      ['JWTInvalid', 'ERR_JWT_INVALID', 'the payload is nested deeper than 64 levels'],
      [
        'TypeError',
        null,
        'Invalid Token or Protected Header formatting: the protected header is nested deeper than 64 levels',
      ],
      'object',
      true,
    ]);
  });
});
