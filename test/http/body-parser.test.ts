import { AsyncLocalStorage } from 'node:async_hooks';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { expect } from 'chai';
import express from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { InvalidRequest, OAuthError } from '../../lib/errors.js';
import { MAX_BODY_BYTES, bodyError, tokenEndpointBodyParser } from '../../lib/http/body-parser.js';

/**
 * The parser as it was, on Express's own parsers (body-parser 2): what the lean one must match,
 * request for request (errors through the same bodyError table).
 */
function referenceBodyParser(): RequestHandler {
  const urlencoded = express.urlencoded({
    extended: false,
    limit: MAX_BODY_BYTES,
    parameterLimit: 1000,
  });
  const json = express.json({ limit: MAX_BODY_BYTES, strict: true });
  return (req, res, next) => {
    urlencoded(req, res, (formError?: unknown) => {
      if (formError) return next(bodyError(formError));
      json(req, res, (jsonError?: unknown) => {
        if (jsonError) return next(bodyError(jsonError));
        const body: unknown = req.body;
        if (typeof body !== 'object' || body === null || Array.isArray(body)) {
          return next(
            new InvalidRequest(
              'the request body must be application/x-www-form-urlencoded or application/json',
            ),
          );
        }
        next();
      });
    });
  };
}

/** What a parser left for the next handler: everything a host could observe. */
interface Outcome {
  hasBodyProperty: boolean;
  body: unknown;
  prototype: string;
  json: string | undefined;
  error?: { status: number; error: string; description: string; privateCause?: string };
  /** Whether the request had been read to its end (body-parser reads off a body it refuses). */
  ended: boolean;
}

function prototypeName(value: unknown): string {
  if (typeof value !== 'object' || value === null) return typeof value;
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype === Object.prototype) return 'Object.prototype';
  if (prototype === Array.prototype) return 'Array.prototype';
  return prototype === null ? 'null' : 'other';
}

function outcomeOf(req: Request, err?: unknown): Outcome {
  const body: unknown = req.body;
  const outcome: Outcome = {
    hasBodyProperty: 'body' in req,
    body,
    prototype: prototypeName(body),
    json: JSON.stringify(body),
    ended: req.readableEnded,
  };
  if (err instanceof OAuthError) {
    const { status, error, description, privateCause } = err;
    outcome.error = { status, error, description, ...(privateCause ? { privateCause } : {}) };
  } else if (err) {
    outcome.error = { status: 0, error: 'not an OAuthError', description: String(err) };
  }
  return outcome;
}

/** A server around one parser, with room for a host's middleware before it. */
class ParserServer {
  readonly server: http.Server;
  before: RequestHandler[] = [];
  private waiting: ((outcome: Outcome) => void) | undefined;

  constructor(parser: RequestHandler) {
    const app = express();
    app.use((req, res, next) => runAll(this.before, req, res, next));
    app.use(parser, (req, res) => {
      this.record(outcomeOf(req));
      res.status(204).end();
    });
    app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
      this.record(outcomeOf(req, err));
      res.status(299).end();
    });
    this.server = app.listen(0, '127.0.0.1');
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** The outcome of the next request to reach the end of the parser. */
  nextOutcome(): Promise<Outcome> {
    return new Promise((resolve) => (this.waiting = resolve));
  }

  private record(outcome: Outcome): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.(outcome);
  }
}

function runAll(handlers: RequestHandler[], req: Request, res: Response, next: NextFunction) {
  const [first, ...rest] = handlers;
  if (!first) return next();
  void first(req, res, (err?: unknown) => (err ? next(err) : runAll(rest, req, res, next)));
}

interface Case {
  name: string;
  method?: string;
  headers?: Record<string, string>;
  /** The body, whole or in chunks (a pause between them); `Content-Length` unless chunked. */
  body?: Buffer | string | Array<Buffer | string>;
  /** Send the body and then drop the connection, short of the declared length. */
  abortAfter?: boolean;
  before?: RequestHandler[];
  /** When given, the body both parsers must leave. */
  expected?: unknown;
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const JSON_HEADERS = { 'content-type': 'application/json' };

async function send(port: number, testCase: Case): Promise<void> {
  const chunks = (
    testCase.body === undefined
      ? []
      : Array.isArray(testCase.body)
        ? testCase.body
        : [testCase.body]
  ).map((chunk) => (typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
  const headers = { ...testCase.headers };
  if (chunks.length > 0 && !('content-length' in headers || 'transfer-encoding' in headers)) {
    headers['content-length'] = String(chunks.reduce((total, chunk) => total + chunk.length, 0));
  }
  const req = http.request({ host: '127.0.0.1', port, method: testCase.method ?? 'POST', headers });
  const response = testCase.abortAfter ? undefined : once(req, 'response');
  req.on('error', () => {});
  req.flushHeaders();
  for (const [index, chunk] of chunks.entries()) {
    if (index > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    req.write(chunk);
  }
  if (testCase.abortAfter) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    req.destroy();
    return;
  }
  req.end();
  const [res] = (await response) as [http.IncomingMessage];
  res.resume();
  await once(res, 'end');
}

const gzip = (text: string | Buffer) => zlib.gzipSync(text);
const form1000 = Array.from({ length: 1000 }, (_, i) => `p${i}=${i}`).join('&');
const typicalExchange = new URLSearchParams({
  grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
  subject_token: 'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.'.repeat(8),
  subject_token_type: 'urn:acme:legacy-token',
  audience: 'https://api.example.com/',
  scope: 'openid profile email offline_access read:things',
  client_id: 'app',
  client_secret: 'app-secret-0123456789abcdef',
}).toString();
const bigValue = 'a'.repeat(MAX_BODY_BYTES - 2);

const formCases: Case[] = [
  { name: 'a simple form', body: 'a=1&b=2', expected: { a: '1', b: '2' } },
  { name: 'a typical token exchange', body: typicalExchange },
  { name: 'repeated keys', body: 'a=1&b=2&a=3&a=4', expected: { a: ['1', '3', '4'], b: '2' } },
  { name: '+ as a space', body: 'a=b+c&d+e=f+%2B', expected: { a: 'b c', 'd e': 'f +' } },
  { name: '%20', body: 'a=b%20c&%61=%41', expected: { a: ['b c', 'A'] } },
  {
    name: 'a malformed escape',
    body: 'a=%zz&b=%41%zz&c=%41',
    expected: { a: '%zz', b: '%41%zz', c: 'A' },
  },
  { name: 'a truncated UTF-8 escape', body: 'a=%E0%A4%A&b=%E0%A4%A4' },
  { name: 'an escape of an invalid UTF-8 byte', body: 'a=caf%C3%A9&b=%FF+x' },
  { name: 'brackets escaped in a malformed value', body: 'a=%zz%5B%5d' },
  { name: 'keys without values', body: 'a&b=&c', expected: { a: '', b: '', c: '' } },
  { name: 'empty pairs', body: 'a=1&&b=2&', expected: { a: '1', b: '2' } },
  { name: 'empty keys', body: '=x&=&&=y', expected: {} },
  { name: 'a lone &', body: '&' },
  { name: '__proto__', body: '__proto__=x&a=1', expected: { a: '1' } },
  { name: 'an escaped __proto__', body: '%5F_proto__=x&[__proto__]=y&__proto__[a]=z' },
  { name: 'constructor', body: 'constructor=x' },
  { name: 'hasOwnProperty and toString', body: 'hasOwnProperty=x&toString=y&valueOf=z' },
  { name: 'a[b]=c', body: 'a[b]=c&a%5Bd%5D=e', expected: { 'a[b]': 'c', 'a[d]': 'e' } },
  { name: 'a[]', body: 'a[]=1&a[]=2', expected: { 'a[]': ['1', '2'] } },
  { name: 'wrapping brackets', body: '[a]=1&a=2&[b]=3', expected: { a: ['1', '2'], b: '3' } },
  { name: 'an empty value merged under another spelling', body: '[a]=1&a=&[b]=&b=2&c=&c=' },
  { name: '[] keys', body: '[]=x&[]=y&0=z&[]=&1=w' },
  { name: 'integer-like keys', body: 'b=1&2=x&1=y&[0]=z&0=v&[10]=u' },
  { name: ']= before =', body: 'x=a]=b&c]=d=e' },
  { name: 'odd brackets', body: '[[]]=1&[=2&]=3&[a=4&a]=5&[]]=6' },
  { name: 'semicolons', body: 'a=1;b=2' },
  { name: 'raw UTF-8', body: Buffer.from('a=café&ü=✓') },
  {
    name: 'a byte order mark',
    body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('a=1')]),
  },
  {
    name: 'invalid UTF-8 bytes',
    body: Buffer.from([0x61, 0x3d, 0xff, 0xc3, 0x26, 0x62, 0x3d, 0xe2, 0x82]),
  },
  {
    name: 'a character split across chunks',
    body: [
      Buffer.from([0x61, 0x3d, 0xe2]),
      Buffer.from([0x9c]),
      Buffer.from([0x93, 0x26, 0x62, 0x3d, 0x31]),
    ],
    expected: { a: '✓', b: '1' },
  },
  {
    name: 'a byte order mark split across chunks',
    body: [Buffer.from([0xef]), Buffer.from([0xbb, 0xbf, 0x61])],
  },
  { name: 'many chunks', body: typicalExchange.match(/.{1,50}/g)! },
  { name: '1000 parameters', body: form1000 },
  { name: '1001 parameters', body: `${form1000}&x=1` },
  { name: '1000 parameters and a trailing &', body: `${form1000}&` },
  { name: 'an empty body', headers: { ...FORM, 'content-length': '0' }, expected: {} },
  { name: 'exactly the limit', body: `a=${bigValue}` },
  { name: 'one byte over the limit', body: `a=${bigValue}x` },
  {
    name: 'one byte over the limit, chunked',
    headers: { ...FORM, 'transfer-encoding': 'chunked' },
    body: [`a=${'a'.repeat(MAX_BODY_BYTES / 2)}`, 'a'.repeat(MAX_BODY_BYTES / 2)],
  },
].map((testCase) => ({ ...testCase, headers: testCase.headers ?? FORM }));

const contentTypeCases: Case[] = [
  ['charset=utf-8', 'application/x-www-form-urlencoded; charset=utf-8'],
  ['charset=UTF-8', 'application/x-www-form-urlencoded;charset=UTF-8'],
  ['a quoted charset', 'application/x-www-form-urlencoded; charset="utf-8"'],
  ['spaces around the charset', 'application/x-www-form-urlencoded ;  Charset = "UTF-8" '],
  ['an empty charset', 'application/x-www-form-urlencoded; charset='],
  ['an empty quoted charset', 'application/x-www-form-urlencoded; charset=""'],
  ['an unterminated quoted charset', 'application/x-www-form-urlencoded; charset="latin1'],
  ['an escaped quoted charset', 'application/x-www-form-urlencoded; charset="ut\\f-8"'],
  ['the first of two charsets', 'application/x-www-form-urlencoded; charset=utf-8; charset=latin1'],
  [
    'a charset after other parameters',
    'application/x-www-form-urlencoded; a="x;y"; b; charset=latin1',
  ],
  ['charset=latin1', 'application/x-www-form-urlencoded; charset=latin1'],
  ['charset=utf8', 'application/x-www-form-urlencoded; charset=utf8'],
  ['charset=utf-16', 'application/x-www-form-urlencoded; charset=utf-16'],
  ['charset=us-ascii', 'application/x-www-form-urlencoded; charset=us-ascii'],
  ['an upper-case type', 'Application/X-WWW-Form-Urlencoded'],
  ['a type in spaces and tabs', ' \tapplication/x-www-form-urlencoded \t;charset=utf-8'],
  ['a trailing ;', 'application/x-www-form-urlencoded;'],
  ['two types', 'application/x-www-form-urlencoded, text/plain'],
  ['a type with a suffix', 'application/x-www-form-urlencoded+json'],
  ['text/plain', 'text/plain'],
  ['a wildcard', '*/*'],
  ['an empty content type', ''],
  ['application/json on a form', 'application/json'],
].map(([name, type]) => ({
  name: name!,
  headers: { 'content-type': type! },
  body: 'a=1&b=%E9+%C3%A9',
}));

const latin1Cases: Case[] = [
  {
    name: 'charset=iso-8859-1 with escapes and raw bytes',
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=ISO-8859-1' },
    body: Buffer.concat([
      Buffer.from('a=%E9+%C3%A9&b=%zz%41&c='),
      Buffer.from([0xe9, 0xef, 0xbb, 0xbf]),
    ]),
    expected: { a: 'é Ã©', b: '%zzA', c: 'éï»¿' },
  },
];

const encodingCases: Case[] = [
  { name: 'gzip', headers: { ...FORM, 'content-encoding': 'gzip' }, body: gzip(typicalExchange) },
  { name: 'GZIP', headers: { ...FORM, 'content-encoding': 'GZIP' }, body: gzip('a=1') },
  {
    name: 'deflate',
    headers: { ...FORM, 'content-encoding': 'deflate' },
    body: zlib.deflateSync('a=1&b=2'),
  },
  {
    name: 'br',
    headers: { ...FORM, 'content-encoding': 'br' },
    body: zlib.brotliCompressSync('a=1&b=2'),
  },
  { name: 'identity', headers: { ...FORM, 'content-encoding': 'Identity' }, body: 'a=1' },
  { name: 'an empty encoding', headers: { ...FORM, 'content-encoding': '' }, body: 'a=1' },
  {
    name: 'an unknown encoding',
    headers: { ...FORM, 'content-encoding': 'compress' },
    body: 'a=1',
  },
  { name: 'zstd', headers: { ...FORM, 'content-encoding': 'zstd' }, body: 'a=1' },
  {
    name: 'two encodings',
    headers: { ...FORM, 'content-encoding': 'gzip, identity' },
    body: gzip('a=1'),
  },
  { name: 'a corrupt gzip body', headers: { ...FORM, 'content-encoding': 'gzip' }, body: 'a=1' },
  {
    name: 'a truncated gzip body',
    headers: { ...FORM, 'content-encoding': 'gzip' },
    body: gzip('a=1&b=2').subarray(0, 12),
  },
  {
    name: 'a gzip body at the limit once inflated',
    headers: { ...FORM, 'content-encoding': 'gzip' },
    body: gzip(`a=${bigValue}`),
  },
  {
    name: 'a gzip body over the limit once inflated',
    headers: { ...FORM, 'content-encoding': 'gzip' },
    body: gzip(`a=${bigValue}x`),
  },
  {
    name: 'a gzip body in chunks',
    headers: { ...FORM, 'content-encoding': 'gzip' },
    body: [...gzip(typicalExchange)].reduce<Buffer[]>((chunks, byte, index) => {
      if (index % 40 === 0) chunks.push(Buffer.alloc(0));
      chunks[chunks.length - 1] = Buffer.concat([chunks[chunks.length - 1]!, Buffer.from([byte])]);
      return chunks;
    }, []),
  },
  {
    name: 'gzipped JSON',
    headers: { ...JSON_HEADERS, 'content-encoding': 'gzip' },
    body: gzip('{"a":1}'),
  },
  {
    name: 'an unknown encoding with an unsupported charset',
    headers: {
      'content-type': 'application/x-www-form-urlencoded; charset=latin1',
      'content-encoding': 'compress',
    },
    body: 'a=1',
  },
];

const jsonCases: Case[] = [
  { name: 'a JSON object', body: '{"a":1,"b":[true,null,"x"],"c":{"d":"e"}}' },
  { name: 'a JSON array', body: '[1,2]' },
  { name: 'a JSON string', body: '"grant_type"' },
  { name: 'JSON true', body: 'true' },
  { name: 'JSON null', body: 'null' },
  { name: 'a JSON number', body: ' 1' },
  { name: 'a long JSON string', body: `"${'x'.repeat(100)}"` },
  { name: 'JSON after whitespace', body: ' \t\r\n{"a":1}' },
  { name: 'JSON after other whitespace', body: '\u00a0{"a":1}' },
  { name: 'a whitespace-only JSON body', body: ' \n ' },
  { name: 'an empty JSON body', headers: { ...JSON_HEADERS, 'content-length': '0' }, expected: {} },
  { name: 'truncated JSON', body: '{"a":' },
  { name: 'JSON with trailing text', body: '{"a":1} x' },
  { name: 'truex', body: 'truex' },
  {
    name: 'a JSON __proto__ key',
    body: '{"__proto__":{"x":1},"a":1}',
    expected: JSON.parse('{"__proto__":{"x":1},"a":1}'),
  },
  { name: 'JSON with a byte order mark', body: '\ufeff{"a":1}' },
  {
    name: 'JSON; charset=UTF-8',
    headers: { 'content-type': 'application/json; charset=UTF-8' },
    body: '{"a":1}',
  },
  {
    name: 'JSON; charset=utf-16le',
    headers: { 'content-type': 'application/json; charset=utf-16le' },
    body: Buffer.from('{"a":"é"}', 'utf16le'),
  },
  {
    name: 'JSON; charset=utf-16 with a byte order mark',
    headers: { 'content-type': 'application/json; charset=utf-16' },
    body: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{"a":1}', 'utf16le')]),
  },
  {
    name: 'JSON; charset=utf-16, too large',
    headers: { 'content-type': 'application/json; charset=utf-16le' },
    body: Buffer.from(`{"a":"${bigValue}"}`, 'utf16le'),
  },
  {
    name: 'JSON; charset=utf-foo',
    headers: { 'content-type': 'application/json; charset=utf-foo' },
    body: '{}',
  },
  {
    name: 'JSON; charset=utf8',
    headers: { 'content-type': 'application/json; charset=utf8' },
    body: '{}',
  },
  {
    name: 'JSON; charset=latin1',
    headers: { 'content-type': 'application/json; charset=latin1' },
    body: '{}',
  },
  {
    name: 'application/merge-patch+json',
    headers: { 'content-type': 'application/merge-patch+json' },
    body: '{}',
  },
  { name: 'Application/JSON', headers: { 'content-type': 'Application/JSON' }, body: '{"a":1}' },
  { name: 'JSON over the limit', body: `{"a":"${bigValue}"}` },
].map((testCase) => ({ ...testCase, headers: testCase.headers ?? JSON_HEADERS }));

const requestCases: Case[] = [
  { name: 'no body (GET)', method: 'GET', headers: FORM },
  { name: 'no content type', headers: {}, body: 'a=1' },
  {
    name: 'a form body aborted by the client',
    headers: { ...FORM, 'content-length': '100' },
    body: 'a=1',
    abortAfter: true,
  },
  {
    name: 'a body a host parser read before us',
    body: 'a[b]=1',
    headers: FORM,
    before: [express.urlencoded({ extended: true })],
    expected: { a: { b: '1' } },
  },
  {
    name: 'a body a host set without reading it',
    body: 'a=1',
    headers: FORM,
    before: [(req, _res, next) => ((req.body = { host: true }), next())],
    expected: { a: '1' },
  },
  {
    name: 'a host body on a request we do not read',
    body: 'a=1',
    headers: { 'content-type': 'text/plain' },
    before: [(req, _res, next) => ((req.body = { host: true }), next())],
  },
  {
    name: 'a request stream whose encoding a host set',
    body: 'a=1',
    headers: FORM,
    before: [(req, _res, next) => (req.setEncoding('utf8'), next())],
  },
];

describe('tokenEndpointBodyParser: req.body exactly as express.urlencoded() + express.json()', () => {
  let reference: ParserServer;
  let lean: ParserServer;
  before(async () => {
    reference = new ParserServer(referenceBodyParser());
    lean = new ParserServer(tokenEndpointBodyParser());
    await Promise.all([once(reference.server, 'listening'), once(lean.server, 'listening')]);
  });
  after(() => {
    reference.server.close();
    lean.server.close();
  });

  async function outcome(server: ParserServer, testCase: Case): Promise<Outcome> {
    server.before = testCase.before ?? [];
    const outcome = server.nextOutcome();
    await send(server.port, testCase);
    return outcome;
  }

  const groups: Array<[string, Case[]]> = [
    ['forms', formCases],
    ['content types', contentTypeCases],
    ['ISO-8859-1', latin1Cases],
    ['content encodings', encodingCases],
    ['JSON', jsonCases],
    ['requests', requestCases],
  ];
  for (const [group, cases] of groups) {
    describe(group, () => {
      for (const testCase of cases) {
        it(`leaves the same outcome for ${testCase.name}`, async () => {
          const expected = await outcome(reference, testCase);
          const actual = await outcome(lean, testCase);
          expect(actual).to.deep.equal(expected);
          if ('expected' in testCase) expect(actual.body).to.deep.equal(testCase.expected);
        });
      }
    });
  }

  it('keeps a host’s async context across the read, as body-parser does', async () => {
    const storage = new AsyncLocalStorage<string>();
    const contextAfter = async (parser: RequestHandler) => {
      const app = express();
      let seen: string | undefined;
      app.use((_req, _res, next) => storage.run('host context', next));
      app.use(parser, (_req, res) => {
        seen = storage.getStore();
        res.end();
      });
      const server = app.listen(0, '127.0.0.1');
      await once(server, 'listening');
      try {
        await send((server.address() as AddressInfo).port, {
          name: 'form',
          headers: FORM,
          body: 'a=1',
        });
        return seen;
      } finally {
        server.close();
      }
    };
    expect(await contextAfter(tokenEndpointBodyParser())).to.equal('host context');
    expect(await contextAfter(referenceBodyParser())).to.equal('host context');
  });
});

describe('tokenEndpointBodyParser: a host’s parsers mounted after ours', () => {
  for (const [name, headers, body] of [
    ['form', FORM, 'a=1&a=2&b[c]=3'],
    ['JSON', JSON_HEADERS, '{"a":{"b":1}}'],
  ] as const) {
    it(`leave our ${name} req.body alone`, async () => {
      const app = express();
      let ours: unknown;
      let host: unknown;
      app.use(tokenEndpointBodyParser(), (req, _res, next) => {
        ours = req.body;
        next();
      });
      app.use(express.urlencoded({ extended: true }), express.json(), (req, res) => {
        host = req.body;
        res.end();
      });
      const server = app.listen(0, '127.0.0.1');
      await once(server, 'listening');
      try {
        await send((server.address() as AddressInfo).port, { name, headers, body });
      } finally {
        server.close();
      }
      expect(host).to.equal(ours);
      expect(host).to.deep.equal(
        name === 'form' ? { a: ['1', '2'], 'b[c]': '3' } : { a: { b: 1 } },
      );
    });
  }
});
