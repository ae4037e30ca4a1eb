import express from 'express';
import type { Express, NextFunction, Request, Response } from 'express';
import { exportJWK, generateKeyPair } from 'jose';
import type { JWK } from 'jose';
import { customTokenExchange } from '../../lib/index.js';
import type {
  CustomTokenExchangeHandler,
  CustomTokenExchangeOptions,
  CustomTokenExchangeRouter,
  Profile,
} from '../../lib/index.js';
import { MemoryUserStore } from '../../lib/index.js';
import { KeySet } from '../../lib/tokens/key-set.js';
import type { SigningKeyInput } from '../../lib/tokens/key-set.js';

export const ISSUER = 'https://auth.example.com/';
export const API = 'https://api.example.com/';
export const RS_API = 'https://rs256.example.com/';
export const CONSENT_API = 'https://consent.example.com/';
export const SUBJECT_TYPE = 'urn:acme:legacy-token';
export const SECRET = 'app-secret-0123456789abcdef';
export const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
/** Alice's profile as the test server's user store holds it (and an action sees it). */
export const ALICE_PROFILE = {
  user_id: 'auth0|alice',
  email: 'alice@example.com',
  email_verified: true,
  name: 'Alice Liddell',
  given_name: 'Alice',
  family_name: 'Liddell',
  nickname: 'alice',
  picture: 'https://example.com/alice.png',
};
/** The OIDC claims the profile and email scopes release in an ID token, in the spec's order. */
export const PROFILE_EMAIL_CLAIMS = [
  'name',
  'given_name',
  'family_name',
  'nickname',
  'picture',
  'updated_at',
  'email',
  'email_verified',
];

/** Signing keys made once per process: generating RSA keys per test would be slow. */
let signingKeys: Promise<SigningKeyInput[]> | undefined;
export function testSigningKeys(): Promise<SigningKeyInput[]> {
  signingKeys ??= (async () => {
    const keys: SigningKeyInput[] = [];
    for (const [alg, kid] of [
      ['RS256', 'rs-1'],
      ['ES256', 'es-1'],
      ['PS256', 'ps-1'],
      ['EdDSA', 'ed-1'],
    ] as const) {
      const { privateKey } = await generateKeyPair(alg, {
        extractable: true,
        ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
      });
      keys.push({ ...(await exportJWK(privateKey)), kid, alg });
    }
    return keys;
  })();
  return signingKeys;
}

/**
 * The test router's signing keys as a key set of the test's own: the router's `keys` handle
 * never signs, so a test that forges a token with the router's keys builds them from the same
 * JWKs.
 */
export async function routerKeys(): Promise<KeySet> {
  return new KeySet({ keys: await testSigningKeys() });
}

/** The client assertion key pair of the `jwt-app` client. */
type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let assertionKeys: Promise<{ privateKey: PrivateKey; jwk: JWK }> | undefined;
export function clientAssertionKeys(): Promise<{ privateKey: PrivateKey; jwk: JWK }> {
  assertionKeys ??= (async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    return {
      privateKey,
      jwk: { ...(await exportJWK(publicKey)), kid: 'client-key', alg: 'ES256' },
    };
  })();
  return assertionKeys;
}

/**
 * The test action: the subject token is a tiny command language so each test says what the
 * action does: `user:<id>`, `conn:<connection>:<id>`, `reject`, `deny:<code>`, `throw`, ...
 */
export const commandAction: CustomTokenExchangeHandler = async (event, api) => {
  const [verb, ...rest] = event.transaction.subject_token.split(':');
  const arg = rest.join(':');
  switch (verb) {
    case 'user':
      api.authentication.setUserById(arg);
      break;
    case 'actor':
      api.authentication.setUserById('auth0|alice');
      api.authentication.setActor(JSON.parse(Buffer.from(arg, 'base64url').toString()));
      break;
    case 'conn': {
      const [connection, id] = arg.split(':');
      api.authentication.setUserByConnection(
        connection!,
        { user_id: id!, email: `${id}@partner.example`, email_verified: true, name: id! },
        { creationBehavior: 'create_if_not_exists', updateBehavior: 'none' },
      );
      break;
    }
    case 'reject':
      api.access.rejectInvalidSubjectToken('the subject token is invalid');
      break;
    case 'deny': {
      const [code, ...reason] = arg.split(':');
      api.access.deny(code!, reason.join(':') || 'denied');
      break;
    }
    case 'throw':
      throw new Error(`boom ${event.transaction.subject_token}`);
    case 'echo':
      api.authentication.setUserById('auth0|alice');
      api.user.setAppMetadata('last_event', {
        body: event.request.body,
        requested_scopes: event.transaction.requested_scopes,
        requested_token_type: event.transaction.requested_token_type,
        resource_server: event.resource_server,
        client: event.client,
        tenant: event.tenant,
        actor_token_type: event.transaction.actor_token_type ?? null,
      });
      break;
    case 'none':
      break;
    case 'twice':
      api.authentication.setUserById('auth0|alice');
      try {
        api.authentication.setUserById('auth0|alice');
      } catch {
        // the second call is refused; the exchange must still fail closed
      }
      break;
    default:
      api.access.rejectInvalidSubjectToken('unknown test token');
  }
};

export interface TestServer {
  app: Express;
  cte: CustomTokenExchangeRouter;
  users: MemoryUserStore;
  /** Requests the host's own handler after the router received, with the body it parsed. */
  hostRequests: Array<{ body: unknown; headers: Record<string, unknown> }>;
}

/** The router mounted in a host app whose own token endpoint follows it. */
export async function testServer(
  overrides: Partial<CustomTokenExchangeOptions> = {},
  {
    mount = '',
    withoutDefaultAudience = false,
    ids,
    clientJwk,
  }: {
    mount?: string;
    withoutDefaultAudience?: boolean;
    /** Ids of the test action and profile (default random), as instances booting alike give. */
    ids?: { action: string; profile: string };
    /** The `jwt-app` client's public key, when another process signs its assertions. */
    clientJwk?: JWK;
  } = {},
): Promise<TestServer> {
  const users = new MemoryUserStore([
    {
      ...ALICE_PROFILE,
      updated_at: '2026-01-02T03:04:05.000Z',
      identities: [{ connection: 'Username-Password-Authentication', user_id: 'alice' }],
    },
    { user_id: 'auth0|blocked', email: 'mallory@example.com', blocked: true },
  ]);
  const jwk = clientJwk ?? (await clientAssertionKeys()).jwk;
  const cte = customTokenExchange({
    issuer: ISSUER,
    keys: await testSigningKeys(),
    sandbox: false,
    users,
    ...(withoutDefaultAudience ? {} : { defaultAudience: API }),
    clients: [
      {
        client_id: 'app',
        client_secret: SECRET,
        name: 'First-party app',
        token_endpoint_auth_method: 'client_secret_basic',
        token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
        client_metadata: { team: 'checkout' },
      },
      {
        client_id: 'post-app',
        client_secret: SECRET,
        name: 'Post app',
        token_endpoint_auth_method: 'client_secret_post',
        token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
      },
      {
        client_id: 'jwt-app',
        name: 'JWT app',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [jwk] },
        token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
      },
      {
        client_id: 'spa',
        name: 'SPA',
        token_endpoint_auth_method: 'none',
        token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
      },
      {
        client_id: 'hs-app',
        client_secret: SECRET,
        name: 'HS256 app',
        token_endpoint_auth_method: 'client_secret_post',
        jwt_configuration: { alg: 'HS256' },
        token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
      },
      {
        client_id: 'third-party',
        client_secret: SECRET,
        name: 'Third party',
        is_first_party: false,
        token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
      },
      {
        client_id: 'legacy',
        client_secret: SECRET,
        name: 'Legacy',
        oidc_conformant: false,
        token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
      },
      { client_id: 'no-cte', client_secret: SECRET, name: 'No CTE' },
    ],
    resourceServers: [
      {
        identifier: API,
        name: 'Orders API',
        scopes: [{ value: 'read:orders' }, { value: 'write:orders' }],
        signing_alg: 'ES256',
        token_lifetime: 3600,
      },
      { identifier: RS_API, scopes: [{ value: 'read:stuff' }] },
      {
        identifier: CONSENT_API,
        scopes: [{ value: 'read:consent' }],
        skip_consent_for_verifiable_first_party_clients: false,
      },
    ],
    ...overrides,
  });
  const action = await cte.actions.create({
    ...(ids ? { id: ids.action } : {}),
    name: 'command-action',
    handler: commandAction,
  });
  await cte.actions.deploy(action.id);
  await cte.profiles.create({
    ...(ids ? { id: ids.profile } : {}),
    name: 'Legacy tokens',
    subject_token_type: SUBJECT_TYPE,
    action_id: action.id,
    type: 'custom_authentication',
  });

  const hostRequests: TestServer['hostRequests'] = [];
  const app = express();
  if (mount) app.use(mount, cte);
  else app.use(cte);
  // The host's own token endpoint after the router, with Express 5's default parsers (extended
  // named: Express 4 warns when it is not).
  app.post(
    `${mount}/oauth/token`,
    express.urlencoded({ extended: false }),
    express.json(),
    (req: Request, res: Response) => {
      hostRequests.push({ body: req.body, headers: req.headers });
      res.status(200).json({ host: true, body: req.body });
    },
  );
  app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).json({ host_error: err.message });
  });
  return { app, cte, users, hostRequests };
}

/** The profile serving `subjectTokenType`, found through the public handle. */
export async function profileFor(
  cte: CustomTokenExchangeRouter,
  subjectTokenType: string = SUBJECT_TYPE,
): Promise<Profile> {
  const profiles = await cte.profiles.list();
  const profile = profiles.find((candidate) => candidate.subject_token_type === subjectTokenType);
  if (profile === undefined) throw new Error(`no profile serves ${subjectTokenType}`);
  return profile;
}

/** `Authorization: Basic` for a client id and secret, RFC 6749 Appendix B encoded. */
export function basic(clientId: string, secret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}`;
}

/** A token exchange form body with the defaults of the test profile. */
export function exchangeBody(
  extra: Record<string, string | string[]> = {},
): Record<string, string | string[]> {
  return {
    grant_type: GRANT,
    subject_token: 'user:auth0|alice',
    subject_token_type: SUBJECT_TYPE,
    ...extra,
  };
}

/** Form-encodes a body, repeating array values as repeated parameters. */
export function form(body: Record<string, string | string[]>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(body)) {
    for (const v of Array.isArray(value) ? value : [value]) params.append(name, v);
  }
  return params.toString();
}
