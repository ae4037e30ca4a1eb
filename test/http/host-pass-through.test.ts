import { expect } from 'chai';
import express from 'express';
import expressPackage from 'express/package.json' with { type: 'json' };
import type { Express, Request, Response } from 'express';
import request from 'supertest';
import type { CustomTokenExchangeOptions } from '../../lib/index.js';
import { API, basic, exchangeBody, form, testServer } from '../support/fixtures.js';
import { APP } from '../support/oauth-responses.js';
import { postForm } from '../support/token-requests.js';

/**
 * The same cases run on Express 5 (`npm test`'s mocha run) and on Express 4 (`npm run
 * test:express4`, which preloads test/support/express4.mjs): the express this file, the router
 * and the hosts below import is the one under test.
 */
const EXPRESS_MAJOR = Number.parseInt(expressPackage.version, 10);
const DEFAULT_EXTENDED = EXPRESS_MAJOR < 5;

/** What a host handler saw: the body, and whether it has a prototype (querystring's has none). */
interface Seen {
  body: unknown;
  nullPrototype: boolean;
}

function echo(req: Request, res: Response): void {
  const body: unknown = req.body;
  const seen: Seen = {
    body,
    nullPrototype: typeof body === 'object' && body !== null && !Object.getPrototypeOf(body),
  };
  res.status(200).json(seen);
}

/** A host whose own parsers follow the router, with the router's options. */
async function hostAfterRouter(
  extended: boolean,
  options: Partial<CustomTokenExchangeOptions> = {},
): Promise<Express> {
  const { cte } = await testServer(options);
  const app = express();
  app.use(cte);
  app.post('/oauth/token', express.urlencoded({ extended }), express.json(), echo);
  return app;
}

/** The same host without the router: what its parsers make on their own. */
function plainHost(extended: boolean): Express {
  const app = express();
  app.post('/oauth/token', express.urlencoded({ extended }), express.json(), echo);
  return app;
}

const FORMS: Array<[string, string]> = [
  ['repeated parameters', 'grant_type=password&username=a&username=b&scope=x%20y'],
  ['nested brackets', 'grant_type=password&a[b]=1&a[c][d]=2&a%5Be%5D=3'],
  ['array brackets', 'grant_type=password&list[]=1&list[]=2&list[5]=x'],
  ['a wrapped key and its plain twin', 'grant_type=password&[a]=1&a=2'],
  ['prototype names', 'grant_type=client_credentials&__proto__[x]=1&constructor=2&toString=3'],
  ['escapes', 'grant_type=client_credentials&a=%zz&b=caf%C3%A9&c=+plus+&d'],
  [
    'a token exchange with a reserved type',
    'grant_type=urn:ietf:params:oauth:grant-type:token-exchange&subject_token=t&subject_token_type=urn:ietf:params:oauth:token-type:access_token&x[y]=z',
  ],
];

describe(`requests handed to an Express ${EXPRESS_MAJOR} host`, () => {
  for (const extended of [true, false]) {
    describe(`whose express.urlencoded() has extended: ${extended}`, () => {
      for (const [name, body] of FORMS) {
        it(`carry the req.body its own parser makes of ${name}`, async () => {
          const app = await hostAfterRouter(extended, { urlencoded: { extended } });
          const res = await request(app).post('/oauth/token').type('form').send(body);
          const expected = await request(plainHost(extended))
            .post('/oauth/token')
            .type('form')
            .send(body);
          expect(res.status, JSON.stringify(res.body)).to.equal(200);
          expect(expected.status).to.equal(200);
          expect(res.body).to.deep.equal(expected.body);
        });
      }

      it('carry the req.body its own parser makes of a JSON body', async () => {
        const body = { grant_type: 'client_credentials', nested: { a: [1, 2] } };
        const app = await hostAfterRouter(extended, { urlencoded: { extended } });
        const res = await request(app).post('/oauth/token').send(body).expect(200);
        expect(res.body).to.deep.equal({ body, nullPrototype: false });
      });
    });
  }

  it(`parse forms as Express ${EXPRESS_MAJOR}'s default (extended: ${DEFAULT_EXTENDED}) without options.urlencoded`, async () => {
    const body = 'grant_type=password&a[b]=1&a=2&[c]=3';
    const res = await request(await hostAfterRouter(DEFAULT_EXTENDED))
      .post('/oauth/token')
      .type('form')
      .send(body)
      .expect(200);
    const expected = await request(plainHost(DEFAULT_EXTENDED))
      .post('/oauth/token')
      .type('form')
      .send(body);
    expect(res.body).to.deep.equal(expected.body);
  });
});

describe(`the router in an Express ${EXPRESS_MAJOR} app`, () => {
  /** A token request of the host's own grant, with no client authentication. */
  const NOT_OURS = { grant_type: 'password', username: 'a' };

  it('answers its own exchange, and its failures as JSON with a log entry', async () => {
    const server = await testServer();
    const app = express();
    app.use(server.cte);
    const ok = await postForm(app, '/oauth/token', exchangeBody());
    expect(ok.status, JSON.stringify(ok.body)).to.equal(200);
    expect(ok.body).to.include({ token_type: 'Bearer' });
    const refused = await postForm(app, '/oauth/token', exchangeBody(), basic('app', 'wrong'));
    expect(refused.status).to.equal(401);
    expect(refused.body).to.deep.equal({
      error: 'invalid_client',
      error_description: 'Client authentication failed.',
    });
    expect((await server.cte.logs.list()).map((entry) => entry.type)).to.deep.equal([
      'fecte',
      'secte',
    ]);
  });

  it('hands a token request that is not its own to a layer the host added to the router', async () => {
    const server = await testServer();
    server.cte.use((req: Request, res: Response) => {
      res.status(200).json({ layer: 'router', url: req.url });
    });
    const app = express();
    app.use(server.cte);
    app.use((_req: Request, res: Response) => {
      res.status(418).json({ layer: 'app' });
    });
    const host = await postForm(app, '/oauth/token', NOT_OURS, null).expect(200);
    expect(host.body).to.deep.equal({ layer: 'router', url: '/oauth/token' });
    const ours = await postForm(app, '/oauth/token', exchangeBody());
    expect(ours.status, JSON.stringify(ours.body)).to.equal(200);
    expect(ours.body).to.include({ token_type: 'Bearer' });
  });

  it("as one of a route's handlers, hands a request not its own to the route's next handler", async () => {
    const server = await testServer();
    const app = express();
    app.post('/oauth/token', server.cte, express.urlencoded({ extended: false }), echo);
    const host = await postForm(app, '/oauth/token', NOT_OURS, null).expect(200);
    expect((host.body as Seen).body).to.deep.equal(NOT_OURS);
    const ours = await postForm(app, '/oauth/token', exchangeBody());
    expect(ours.status, JSON.stringify(ours.body)).to.equal(200);
  });

  it('answers its token endpoint under any spelling its routes match (query, case, trailing slash)', async () => {
    const server = await testServer();
    const app = express();
    app.use('/tenant', server.cte);
    for (const path of ['/tenant/oauth/token?x=1', '/tenant/OAuth/Token', '/tenant/oauth/token/']) {
      const res = await postForm(app, path, exchangeBody());
      expect(res.status, `${path}: ${JSON.stringify(res.body)}`).to.equal(200);
      expect(res.body).to.include({ token_type: 'Bearer' });
    }
  });

  it('refreshes and revokes its refresh tokens, hands other revocations on, serves the JWKS', async () => {
    const server = await testServer();
    await server.cte.resourceServers.update(API, { allow_offline_access: true });
    const app = express();
    app.use(server.cte);
    app.post('/oauth/revoke', express.urlencoded({ extended: DEFAULT_EXTENDED }), echo);
    const issued = await postForm(app, '/oauth/token', exchangeBody({ scope: 'offline_access' }));
    const refreshToken = (issued.body as { refresh_token: string }).refresh_token;
    const refreshed = await postForm(app, '/oauth/token', {
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
    });
    expect(refreshed.status, JSON.stringify(refreshed.body)).to.equal(200);
    const next = (refreshed.body as { refresh_token: string }).refresh_token;
    await postForm(app, '/oauth/revoke', { token: next }).expect(200, '');
    const host = await postForm(app, '/oauth/revoke', { token: 'host-token' }, null).expect(200);
    expect(host.body).to.deep.equal({ body: { token: 'host-token' }, nullPrototype: false });
    await request(app).get('/.well-known/jwks.json').expect(200);
    expect((await server.cte.logs.list()).map((entry) => entry.type)).to.deep.equal([
      'srrt',
      'sertft',
      'secte',
    ]);
  });

  it("reads a body a host parser read before it, with the host's extended choice", async () => {
    const server = await testServer();
    const app = express();
    app.use(express.urlencoded({ extended: true }));
    app.use(server.cte);
    const ok = await postForm(app, '/oauth/token', exchangeBody());
    expect(ok.status, JSON.stringify(ok.body)).to.equal(200);
    // qs made an object of the bracket parameter: not a string, so not a parameter of ours.
    const refused = await request(app)
      .post('/oauth/token')
      .set('Authorization', APP)
      .type('form')
      .send(`${form(exchangeBody())}&ext[a]=1`);
    expect(refused.status).to.equal(400);
    expect(refused.body).to.deep.equal({
      error: 'invalid_request',
      error_description: 'parameter ext must be a string',
    });
  });

  for (const [name, type, body] of [
    ['a wrong content type', 'text/plain', 'grant_type=x'],
    ['an XML body', 'application/xml', '<grant_type>x</grant_type>'],
  ] as const) {
    it(`refuses ${name} with 400 invalid_request, whatever the grant`, async () => {
      const server = await testServer();
      const app = express();
      app.use(server.cte);
      app.post('/oauth/token', (_req, res) => {
        res.status(200).json({ host: true });
      });
      const res = await request(app).post('/oauth/token').set('Content-Type', type).send(body);
      expect(res.status).to.equal(400);
      expect(res.body).to.deep.equal({
        error: 'invalid_request',
        error_description:
          'the request body must be application/x-www-form-urlencoded or application/json',
      });
      expect(await server.cte.logs.list()).to.have.length(0);
    });
  }
});
