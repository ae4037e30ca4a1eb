import express from 'express';
import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import type { AttackProtection } from '../attack-protection/attack-protection.js';
import { claimedClientId, createClientAuthenticator } from '../client-auth/client-authenticator.js';
import type { ClientAuthenticator } from '../client-auth/client-authenticator.js';
import type { Grant } from '../grants/grant.js';
import type { TenantLog } from '../logs/tenant-log.js';
import type { Telemetry } from '../observability/telemetry.js';
import type { Config } from '../options.js';
import type { RefreshTokenService } from '../refresh-tokens/refresh-token-service.js';
import type { ClientLookup } from '../client-auth/client-lookup.js';
import type { ClientRegistry } from '../registry/clients.js';
import type { ResourceServerRegistry } from '../registry/resource-servers.js';
import { introspectionClient } from '../registry/resource-servers.js';
import type { ReplayStore } from '../stores/replay-store.js';
import type { RevokedTokenStore } from '../stores/revoked-token-store.js';
import { DpopNonces } from '../tokens/dpop-nonce.js';
import type { KeySet } from '../tokens/key-set.js';
import { clientCors } from './cors.js';
import { dpopCheck } from './dpop.js';
import { introspectionEndpoint } from './introspection-endpoint.js';
import { jwksRoute } from './jwks-route.js';
import {
  AUTHORIZATION_SERVER_METADATA_PATH,
  OPENID_CONFIGURATION_PATH,
  authorizationServerMetadata,
  issuerHasPath,
  metadataRoute,
} from './metadata.js';
import type { AuthorizationServerMetadata } from './metadata.js';
import { bodyReader } from './read-body.js';
import { revocationEndpoint } from './revocation-endpoint.js';
import { routerUrls } from './router-urls.js';
import type { ShutdownGate } from './shutdown-gate.js';
import { tokenEndpoint } from './token-endpoint.js';
import type { ConfigurationReadiness } from './token-endpoint.js';

/** Everything the router's routes run on, built once by `customTokenExchange()`. */
export interface RouterParts {
  config: Config;
  keys: KeySet;
  clients: ClientRegistry;
  resourceServers: ResourceServerRegistry;
  grants: readonly Grant[];
  refreshTokens: RefreshTokenService;
  revokedTokens: RevokedTokenStore;
  replayStore: ReplayStore;
  protection: AttackProtection;
  log: TenantLog;
  telemetry: Telemetry;
  /** Counts the requests of ours in flight for `close()`, and refuses new ones once it began. */
  shutdown: ShutdownGate;
  /** Token requests wait for the shared configuration's first load. */
  configuration: ConfigurationReadiness;
}

/** The routes, and the metadata for a host that serves it elsewhere. */
export interface RouterWithMetadata {
  router: Router;
  metadata: () => AuthorizationServerMetadata;
  metadataHandler: RequestHandler;
}

/**
 * The router's routes, under its mount: `POST /oauth/token`, `/oauth/revoke` and
 * `/oauth/introspect` (each with its CORS preflight), `GET /.well-known/jwks.json`, and, unless
 * `metadata.serve` is `false`, the discovery documents that belong under the mount.
 */
export function createRouter(parts: RouterParts): RouterWithMetadata {
  const { config, keys, clients, resourceServers, refreshTokens, revokedTokens, log } = parts;
  const { telemetry, shutdown } = parts;
  const urls = routerUrls(config);
  const readBody = bodyReader(config.urlencodedExtended);

  /**
   * Client authentication accepting `private_key_jwt` assertions for `endpoint` too, if asked,
   * in its span.
   */
  const authenticator = (endpoint: string, getClient: ClientLookup): ClientAuthenticator =>
    telemetry.clientAuthentication(
      createClientAuthenticator({
        getClient,
        audiences: [
          ...new Set([
            config.issuer,
            config.tokenEndpoint,
            ...(config.acceptEndpointUrlAudience ? [endpoint] : []),
          ]),
        ],
        replayStore: parts.replayStore,
        ...(config.clientAuthentication
          ? {
              passport: {
                authenticator: config.clientAuthentication.passport,
                strategies: config.clientAuthentication.strategies,
              },
            }
          : {}),
      }),
    );
  const getClient: ClientLookup = (clientId) => clients.find(clientId);
  const getCaller: ClientLookup = (clientId) => {
    const server = resourceServers.byIntrospectionClientId(clientId);
    return server === undefined ? clients.find(clientId) : introspectionClient(server);
  };

  const cors = clientCors(
    { list: () => clients.defined(), get: (clientId) => clients.find(clientId) },
    (req: Request) => claimedClientId(req),
    { anyOriginPreflight: config.clientStore !== undefined },
  );
  const metadata = () =>
    authorizationServerMetadata({
      issuer: config.issuer,
      urls,
      keys,
      grantTypes: parts.grants.map((grant) => grant.type),
      hostGrantTypes: config.metadata.hostGrantTypes,
    });
  const metadataHandler = metadataRoute(metadata, config.jwksMaxAge);

  const router = express.Router();
  // Until a key store's schedule is read (moments after start), requests wait for it; if it
  // cannot be read they go on, and whatever needs a key answers 503.
  router.use((_req, _res, next) => {
    const pending = keys.whenReady();
    if (pending === undefined) next();
    else
      pending.then(
        () => next(),
        () => next(),
      );
  });
  for (const path of ['/oauth/token', '/oauth/revoke', '/oauth/introspect']) {
    router.options(path, cors.preflight);
  }
  const answerTokenRequest = tokenEndpoint({
    grants: parts.grants,
    readBody,
    authenticateClient: authenticator(urls.token, getClient),
    clients,
    protection: parts.protection,
    log,
    telemetry,
    maxInFlight: config.maxExchangesInFlight,
    configuration: parts.configuration,
    dpop: dpopCheck({
      url: urls.token,
      maxAge: config.dpop.proofMaxAge,
      nonces:
        config.dpop.nonces === undefined
          ? undefined
          : new DpopNonces(config.dpop.nonces.secret, config.dpop.nonces.lifetime),
      replayStore: parts.replayStore,
    }),
    cors: cors.apply,
    shutdown,
  });
  router.post(TOKEN_PATH, answerTokenRequest);
  router.post(
    '/oauth/revoke',
    revocationEndpoint({
      issuer: config.issuer,
      keys,
      readBody,
      authenticateClient: authenticator(urls.revocation, getClient),
      refreshTokens,
      revokedTokens,
      protection: parts.protection,
      log,
      telemetry,
      cors: cors.apply,
      shutdown,
    }),
  );
  router.post(
    '/oauth/introspect',
    introspectionEndpoint({
      issuer: config.issuer,
      keys,
      readBody,
      authenticateCaller: authenticator(urls.introspection, getCaller),
      resourceServers,
      refreshTokens,
      revokedTokens,
      telemetry,
      cors: cors.apply,
      shutdown,
    }),
  );
  router.get('/.well-known/jwks.json', jwksRoute(keys, config.jwksMaxAge));
  if (config.metadata.serve) {
    router.get(OPENID_CONFIGURATION_PATH, metadataHandler);
    // RFC 8414 puts an issuer with a path's document outside the mount: the host serves it.
    if (!issuerHasPath(config.issuer)) {
      router.get(AUTHORIZATION_SERVER_METADATA_PATH, metadataHandler);
    }
  }
  takeTokenRequestsDirectly(router, answerTokenRequest, keys);
  return { router, metadata, metadataHandler };
}

const TOKEN_PATH = '/oauth/token';

/**
 * Hands `POST /oauth/token` (that exact path, without a query) straight to its handler, once the
 * keys are ready: the same handler the router's own matching would reach, without walking the
 * layers before it, which costs more than anything else the router does for a token request. Any
 * other request, and every request once a host added layers of its own to the router, goes
 * through the router as usual. A request that is not ours leaves as it would leave the router: to
 * the next handler after it (`next('route')` inside a router does not skip its parent's route).
 */
function takeTokenRequestsDirectly(router: Router, handler: RequestHandler, keys: KeySet): void {
  // Express's routers call their own `handle` (the typings leave it out).
  const dispatcher = router as Router & { handle: RequestHandler };
  const ownLayers = router.stack.length;
  const routerHandle = dispatcher.handle.bind(router);
  dispatcher.handle = (req: Request, res: Response, next: NextFunction): void => {
    if (
      req.method !== 'POST' ||
      req.url !== TOKEN_PATH ||
      router.stack.length !== ownLayers ||
      keys.whenReady() !== undefined
    ) {
      routerHandle(req, res, next);
      return;
    }
    void handler(req, res, (err?: unknown) => {
      next(err === 'route' ? undefined : err);
    });
  };
}
