/**
 * The peer scenarios, served by node-oidc-provider (v9, Koa): `peer-cc` is its built-in
 * `client_credentials` grant; `peer-exchange` is an RFC 8693 token-exchange grant registered
 * through `provider.registerGrantType`, verifying the same ES256 subject JWT as the CTE scenarios
 * and issuing a JWT access token for the same audience, built the way the built-in grants build
 * theirs. One provider serves both grants (the client may use either); `config.mode` only picks
 * which request `requestBody` produces.
 *
 * ES256 everywhere (one P-256 key generated at start), no ID token, JWT access tokens (not
 * stored: the in-memory adapter is never written to on these paths). Served standalone with
 * `http.createServer(provider.callback())`, which is what `provider.listen()` does and the
 * leanest way to run it (no Express in front, no mount-path rewriting).
 *
 * Importing this module starts nothing and does not load oidc-provider (the harness only needs
 * `path` and `requestBody`); run as the harness's child (IPC channel present) it serves.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type {
  Configuration,
  KoaContextWithOIDC,
  Provider,
  ResourceServer,
  TokenEndpointGrantContext,
} from 'oidc-provider';
import type { BenchConfig, BenchServerModule } from './child.js';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const SCOPE = 'read';
const ACCESS_TOKEN_TTL = 3600;

export const path = '/token';

export function requestBody(subjectToken: string, config: BenchConfig): string {
  const credentials = { client_id: config.client.id, client_secret: config.client.secret };
  if (config.mode === 'cc') {
    return new URLSearchParams({
      grant_type: 'client_credentials',
      ...credentials,
      resource: config.audience,
      scope: SCOPE,
    }).toString();
  }
  return new URLSearchParams({
    grant_type: TOKEN_EXCHANGE,
    subject_token: subjectToken,
    subject_token_type: JWT_TOKEN_TYPE,
    resource: config.audience,
    scope: SCOPE,
    ...credentials,
  }).toString();
}

/** The token-exchange grant's own parameters (`resource` is added by the registration below). */
interface ExchangeParams {
  subject_token?: string;
  subject_token_type?: string;
  audience?: string;
}

/**
 * oidc-provider prints these two on stderr whatever the configuration: it warns on any Node.js
 * older than 22 LTS (this project runs 20), and on its default in-memory adapter (which this
 * scenario uses on purpose: nothing is stored). Every other warning still gets through.
 */
function silenceKnownProviderWarnings(): void {
  const known = [
    'oidc-provider WARNING: Unsupported runtime',
    'oidc-provider WARNING: a quick start development-only in-memory adapter',
  ];
  const warn = console.warn.bind(console);
  console.warn = (...args: unknown[]) => {
    const first = args[0];
    if (typeof first === 'string' && known.some((text) => first.includes(text))) return;
    warn(...args);
  };
}

export async function createPeerProvider(config: BenchConfig): Promise<Provider> {
  silenceKnownProviderWarnings();
  // Loaded here, not at the top, so that importing this module for `requestBody` costs nothing.
  const { Provider, errors } = await import('oidc-provider');
  const { createLocalJWKSet, jwtVerify } = await import('jose');

  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signingJwk = {
    ...privateKey.export({ format: 'jwk' }),
    kid: 'peer-es256',
    alg: 'ES256',
    use: 'sig',
  };

  const resourceServer: ResourceServer = {
    scope: SCOPE,
    accessTokenFormat: 'jwt',
    accessTokenTTL: ACCESS_TOKEN_TTL,
    jwt: { sign: { alg: 'ES256' } },
  };
  const getResourceServerInfo = (_ctx: KoaContextWithOIDC, resource: string): ResourceServer => {
    if (resource !== config.audience) throw new errors.InvalidTarget();
    return resourceServer;
  };

  const configuration: Configuration = {
    clients: [
      {
        client_id: config.client.id,
        client_secret: config.client.secret,
        grant_types: ['client_credentials', TOKEN_EXCHANGE],
        token_endpoint_auth_method: 'client_secret_post',
        response_types: [],
        redirect_uris: [],
        id_token_signed_response_alg: 'ES256',
      },
    ],
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    jwks: { keys: [signingJwk] },
    scopes: [],
    routes: { token: path },
    ttl: { AccessToken: ACCESS_TOKEN_TTL, ClientCredentials: ACCESS_TOKEN_TTL },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => config.audience,
        getResourceServerInfo,
      },
    },
  };
  const provider = new Provider('https://peer-oidc-provider.bench.example', configuration);

  // Created once: verification against a local JWKS, no fetch.
  const subjectKeys = createLocalJWKSet({ keys: [config.subjectJwk] });

  // Mirrors lib/actions/grants/client_credentials.js: resolve the resource server, filter the
  // scopes by it, build the token model, `save()` it (for a JWT format: sign it), answer.
  async function tokenExchange(ctx: TokenEndpointGrantContext<ExchangeParams>): Promise<void> {
    const { client, params } = ctx.oidc;
    if (!params.subject_token) throw new errors.InvalidRequest('missing subject_token');
    if (params.subject_token_type !== JWT_TOKEN_TYPE) {
      throw new errors.InvalidRequest('unsupported subject_token_type');
    }
    let sub: string;
    try {
      const { payload } = await jwtVerify(params.subject_token, subjectKeys, {
        issuer: config.subjectIssuer,
        audience: config.subjectAudience,
        algorithms: ['ES256'],
      });
      if (typeof payload.sub !== 'string' || !payload.sub) throw new Error('no sub');
      sub = payload.sub;
    } catch {
      throw new errors.InvalidGrant('invalid subject_token');
    }

    const resource = params.resource ?? params.audience ?? config.audience;
    if (typeof resource !== 'string') {
      throw new errors.InvalidTarget('only a single resource indicator value is supported');
    }
    const server = new provider.ResourceServer(resource, getResourceServerInfo(ctx, resource));
    const scope =
      [...ctx.oidc.requestParamScopes].filter((value) => server.scopes.has(value)).join(' ') ||
      undefined;

    // An AccessToken (not ClientCredentials) so that `sub` is the subject's. There is no Grant
    // behind it (`grantId` only serves revoking stored, opaque tokens), so none is created.
    const token = new provider.AccessToken({
      client,
      accountId: sub,
      gty: TOKEN_EXCHANGE,
      scope,
      resourceServer: server,
    } as ConstructorParameters<typeof provider.AccessToken>[0]);
    ctx.oidc.entity('AccessToken', token);
    const accessToken = await token.save();

    ctx.body = {
      access_token: accessToken,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: token.tokenType,
      expires_in: token.expiration,
      scope: token.scope,
    };
  }

  provider.registerGrantType<ExchangeParams>(TOKEN_EXCHANGE, tokenExchange, [
    'subject_token',
    'subject_token_type',
    'scope',
    'resource',
    'audience',
  ]);
  return provider;
}

if (process.send) {
  const { readConfig, serveToParent } = await import('./child.js');
  const provider = await createPeerProvider(readConfig());
  const handle = provider.callback();
  // Koa answers its own errors: the promise its handler returns does not reject.
  await serveToParent(createServer((req, res) => void handle(req, res)));
}

export default { path, requestBody } satisfies BenchServerModule;
