import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { expect } from 'chai';
import type { NextFunction, Request, Response } from 'express';
import { auth } from 'express-oauth2-jwt-bearer';
import * as oauth from 'oauth4webapi';
import { API, SECRET, SUBJECT_TYPE } from '../support/fixtures.js';
import { startInteropServer } from './interop-server.js';
import type { InteropServer } from './interop-server.js';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

/** Connects every `localhost` request to 127.0.0.1, where the test server listens. */
const toLoopback = ((
  _host: string,
  options: { all?: boolean },
  callback: (...args: unknown[]) => void,
) => {
  if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
}) as unknown as LookupFunction;

/**
 * express-oauth2-jwt-bearer, Auth0's resource-server middleware, protects a route with nothing
 * but the router's issuer: it finds the JWKS through discovery and checks the access tokens the
 * router issues, DPoP-bound ones included.
 */
describe('interop: express-oauth2-jwt-bearer protecting an API through discovery', function () {
  this.timeout(20_000);
  let server: InteropServer;
  let as: oauth.AuthorizationServer;
  before(async () => {
    server = await startInteropServer();
    const agent = new https.Agent({ ca: server.https.ca, lookup: toLoopback });
    server.app.get(
      '/api/orders',
      auth({ issuerBaseURL: server.issuer, audience: API, agent }),
      (req: Request, res: Response) => {
        res.json({ sub: req.auth!.payload.sub, scope: req.auth!.payload.scope });
      },
    );
    server.app.use(
      (
        err: { status?: number; headers?: Record<string, string> },
        _req: Request,
        res: Response,
        _next: NextFunction,
      ) => {
        res
          .status(err.status ?? 500)
          .set(err.headers ?? {})
          .json({ status: err.status });
      },
    );
    const issuer = new URL(server.issuer);
    as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { [oauth.customFetch]: server.clientFetch }),
    );
  });
  after(async () => {
    await server.close();
  });

  async function accessToken(
    client: oauth.Client,
    clientAuth: oauth.ClientAuth,
    extra: Record<string, string> = {},
    DPoP?: oauth.DPoPHandle,
  ): Promise<string> {
    const response = await oauth.genericTokenEndpointRequest(
      as,
      client,
      clientAuth,
      TOKEN_EXCHANGE,
      {
        subject_token: 'user:auth0|alice',
        subject_token_type: SUBJECT_TYPE,
        scope: 'read:orders',
        ...extra,
      },
      { [oauth.customFetch]: server.clientFetch, ...(DPoP ? { DPoP } : {}) },
    );
    return (await oauth.processGenericTokenEndpointResponse(as, client, response)).access_token;
  }

  function callApi(token: string, scheme = 'Bearer') {
    return server.https.fetch(`${server.https.origin}/api/orders`, {
      headers: { authorization: `${scheme} ${token}` },
    });
  }

  it('accepts the router’s access token for its audience, and refuses others', async () => {
    const app = { client_id: 'app' };
    const token = await accessToken(app, oauth.ClientSecretBasic(SECRET));
    const ok = await callApi(token);
    expect(ok.status).to.equal(200);
    expect(await ok.json()).to.deep.equal({ sub: 'auth0|alice', scope: 'read:orders' });

    const otherApi = await accessToken(app, oauth.ClientSecretBasic(SECRET), {
      audience: 'https://rs256.example.com/',
      scope: 'read:stuff',
    });
    const wrongAudience = await callApi(otherApi);
    expect(wrongAudience.status).to.equal(401);
    const [header, payload] = token.split('.');
    const forged = await callApi(`${header}.${payload}.${'A'.repeat(86)}`);
    expect(forged.status).to.equal(401);
  });

  it('keeps accepting a revoked access token: a JWT checked locally never asks (RFC 7009’s limit)', async () => {
    const app = { client_id: 'app' };
    const clientAuth = oauth.ClientSecretBasic(SECRET);
    const token = await accessToken(app, clientAuth);
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(as, app, clientAuth, token, {
        [oauth.customFetch]: server.clientFetch,
      }),
    );
    expect((await callApi(token)).status).to.equal(200);
    const introspected = await oauth.processIntrospectionResponse(
      as,
      app,
      await oauth.introspectionRequest(as, app, clientAuth, token, {
        [oauth.customFetch]: server.clientFetch,
      }),
    );
    expect(introspected.active).to.equal(false);
  });

  it('accepts a DPoP-bound token with a proof of its key, and not as a Bearer token', async () => {
    const spa: oauth.Client = { client_id: 'spa' };
    const DPoP = oauth.DPoP(spa, await oauth.generateKeyPair('ES256'));
    const token = await accessToken(spa, oauth.None(), {}, DPoP);
    const ok = await oauth.protectedResourceRequest(
      token,
      'GET',
      new URL(`${server.https.origin}/api/orders`),
      new Headers(),
      null,
      { [oauth.customFetch]: server.clientFetch, DPoP },
    );
    expect(ok.status).to.equal(200);
    expect(await ok.json()).to.deep.equal({ sub: 'auth0|alice', scope: 'read:orders' });
    expect((await callApi(token)).status).to.equal(401);
  });
});
