import {
  OAuthError,
  InvalidRequest,
  InvalidClient,
  ClientAuthenticationFailed,
  ServerError,
  toOAuthError,
  withBasicChallenge,
  CLIENT_AUTHENTICATION_FAILED,
} from '../errors.js';
import type { Request, Response } from 'express';
import { decodeJwt } from 'jose';
import type passport from 'passport';
import type { Client } from '../registry/clients.js';
import type { ReplayStore } from '../stores/replay-store.js';
import type { ClientLookup } from './client-lookup.js';
import { quoteForLog } from './quote-for-log.js';
import {
  ClientSecretBasicStrategy,
  parseBasicCredentials,
} from './client-secret-basic-strategy.js';
import { ClientSecretPostStrategy } from './client-secret-post-strategy.js';
import { assertFunction, assertSeconds, nonEmptyStrings } from './option-checks.js';
import { PrivateKeyJwtStrategy } from './private-key-jwt-strategy.js';
import { PublicClientStrategy } from './public-client-strategy.js';
import {
  assertSingleAuthMethod,
  isBasicAuthorization,
  presentedAuthMethods,
  readBodyParam,
} from './request-credentials.js';

/** Options of {@link createClientAuthenticator}. */
export interface ClientAuthenticatorOptions {
  /** Resolves a client id to the registered client, `undefined` when there is none. */
  getClient: ClientLookup;
  /**
   * Values accepted as a `private_key_jwt` assertion `aud`: the issuer and the token endpoint
   * URL. Never derive them from the `Host` header, which the client controls.
   */
  audiences: readonly string[];
  /** Remembers consumed assertion `jti` values; share it between instances serving one tenant. */
  replayStore: ReplayStore;
  /** Clock skew allowed on assertion `exp`, `nbf` and `iat`. Default 30 s. */
  clockToleranceSeconds?: number;
  /** Longest accepted `exp - now` (or `exp - iat`) of an assertion. Default 300 s. */
  maxAssertionLifetimeSeconds?: number;
  /**
   * A host's own passport instance and strategy names, run instead of ours. A strategy's
   * success value is a client object with `client_id` (or the id string), resolved through
   * `getClient`. Failing with an {@link OAuthError} as the challenge (as our exported strategies
   * do) answers with that error; any other failure is `401 invalid_client`.
   */
  passport?: { authenticator: HostAuthenticator; strategies: string[] };
}

/**
 * A host's passport `Authenticator` (`passport` itself or a `new passport.Authenticator()`); only
 * `authenticate(strategies, { session: false }, callback)` is used. Declared by that call alone,
 * not as `@types/passport`'s `Authenticator`: that package spells the type in ways that are not
 * mutually assignable (`import type { Authenticator }` vs `passport.Authenticator`, both generic
 * over `use(): this`), and a host compiling with `skipLibCheck: false` needs `@types/passport`
 * only when its own code uses passport.
 */
export interface HostAuthenticator {
  authenticate(
    strategies: string[],
    options: { session: boolean },
    callback: AuthenticateCallback,
  ): unknown;
}

/** Passport's custom callback: an error, or the strategy's user (`false` when none) and challenge. */
type AuthenticateCallback = (err: unknown, user?: unknown, challenge?: unknown) => void;

/**
 * Authenticates the client of a token request; resolves the {@link Client} or rejects with an
 * {@link OAuthError}. Runs after the body is parsed into `req.body`.
 */
export type ClientAuthenticator = (req: Request) => Promise<Client>;

/**
 * The client a request claims to be, whatever its credentials are worth: the Basic header's client
 * id, else the body's `client_id`, else a client assertion's unverified `iss`. `undefined` when the
 * request names none or cannot be read. For the log of a failed authentication only.
 */
export function claimedClientId(req: Request): string | undefined {
  try {
    if (isBasicAuthorization(req.headers.authorization)) {
      return parseBasicCredentials(req.headers.authorization!).clientId;
    }
    const bodyClientId = readBodyParam(req, 'client_id');
    if (bodyClientId !== undefined) return bodyClientId;
    const assertion = readBodyParam(req, 'client_assertion');
    const iss = assertion === undefined ? undefined : decodeJwt(assertion).iss;
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Builds the token endpoint's client authentication: `client_secret_basic`,
 * `client_secret_post`, `private_key_jwt` (RFC 7523) and `none` for public clients, each a
 * passport strategy run directly (see runOwnStrategy): the host's passport is never touched, and
 * no session or `req.login` is involved.
 *
 * Outcomes:
 * - more than one method in a request (RFC 6749 §2.3): `400 invalid_request`;
 * - no credentials and no `client_id`: `401 invalid_client`;
 * - a method other than the client's registered `token_endpoint_auth_method`, an unknown client,
 *   wrong credentials: `401 invalid_client` (with `WWW-Authenticate: Basic ...` when the request
 *   used Basic, RFC 6749 §5.2);
 * - a malformed Basic header or `client_id` contradicting it: `400 invalid_request`.
 *
 * @throws TypeError when an option is invalid, naming it.
 */
export function createClientAuthenticator(
  options: ClientAuthenticatorOptions,
): ClientAuthenticator {
  const config = parseOptions(options);
  if (config.host !== undefined) {
    const host = config.host;
    return (req) => authenticateWithHostPassport(req, host, config.getClient);
  }

  const getClient = config.getClient;
  const strategies = new Map<string, passport.Strategy>(
    [
      new ClientSecretBasicStrategy({ getClient }),
      new ClientSecretPostStrategy({ getClient }),
      new PrivateKeyJwtStrategy({
        getClient,
        audiences: config.audiences,
        replayStore: config.replayStore,
        clockToleranceSeconds: config.clockToleranceSeconds,
        maxAssertionLifetimeSeconds: config.maxAssertionLifetimeSeconds,
      }),
      new PublicClientStrategy({ getClient }),
    ].map((strategy) => [strategy.name!, strategy]),
  );

  return async (req) => {
    const usedBasic = isBasicAuthorization(req.headers.authorization);
    try {
      // The request's own shape decides the one strategy to run: trying them in turn would let
      // a failure of the method the client meant be masked by another method's answer.
      return await runOwnStrategy(strategies.get(selectMethod(req))!, req, getClient);
    } catch (err) {
      const error = toOAuthError(err);
      throw usedBasic ? withBasicChallenge(error) : error;
    }
  };
}

interface ClientAuthenticatorConfig {
  readonly getClient: ClientLookup;
  readonly audiences: readonly string[];
  readonly replayStore: ReplayStore;
  readonly clockToleranceSeconds: number;
  readonly maxAssertionLifetimeSeconds: number;
  readonly host:
    | { readonly authenticator: HostAuthenticator; readonly strategies: readonly string[] }
    | undefined;
}

function parseOptions(options: ClientAuthenticatorOptions): ClientAuthenticatorConfig {
  const path = 'createClientAuthenticator: options';
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${path} must be an object`);
  }
  const { clockToleranceSeconds = 30, maxAssertionLifetimeSeconds = 300 } = options;
  assertFunction(options.getClient, `${path}.getClient`);
  const audiences = nonEmptyStrings(options.audiences, `${path}.audiences`);
  assertFunction(options.replayStore?.consume, `${path}.replayStore.consume`);
  assertSeconds(clockToleranceSeconds, `${path}.clockToleranceSeconds`, 0);
  assertSeconds(maxAssertionLifetimeSeconds, `${path}.maxAssertionLifetimeSeconds`, 1);
  let host: ClientAuthenticatorConfig['host'];
  if (options.passport !== undefined) {
    assertFunction(
      options.passport.authenticator?.authenticate,
      `${path}.passport.authenticator.authenticate`,
    );
    host = {
      authenticator: options.passport.authenticator,
      strategies: nonEmptyStrings(options.passport.strategies, `${path}.passport.strategies`),
    };
  }
  // Bound so that a caller replacing a method on its options object later changes nothing here.
  const getClient = options.getClient.bind(options);
  return {
    getClient,
    audiences,
    replayStore: options.replayStore,
    clockToleranceSeconds,
    maxAssertionLifetimeSeconds,
    host,
  };
}

/** The strategy to run, from the credentials the request presents. */
function selectMethod(req: Request): string {
  assertSingleAuthMethod(req);
  const [method] = presentedAuthMethods(req);
  const header = req.headers.authorization;
  if (header !== undefined && !isBasicAuthorization(header)) {
    // Our token endpoint has no other Authorization scheme for clients; node-oidc-provider
    // answers the same 400.
    throw new InvalidRequest('Unsupported Authorization scheme; client credentials use Basic.', {
      privateCause: `Authorization header scheme ${quoteForLog(header.split(' ')[0] ?? '')}`,
    });
  }
  if (method !== undefined) return method;
  if (readBodyParam(req, 'client_id') !== undefined) return 'none';
  throw new InvalidClient('Client authentication is required.', {
    privateCause: 'no client credentials and no client_id in the request',
  });
}

async function authenticateWithHostPassport(
  req: Request,
  host: NonNullable<ClientAuthenticatorConfig['host']>,
  getClient: ClientLookup,
): Promise<Client> {
  const usedBasic = isBasicAuthorization(req.headers.authorization);
  try {
    // RFC 6749 §2.3 holds whatever strategies the host runs; the other checks are the host's.
    assertSingleAuthMethod(req);
    return await runStrategies(host.authenticator, [...host.strategies], req, getClient);
  } catch (err) {
    const error = toOAuthError(err);
    throw usedBasic ? withBasicChallenge(error) : error;
  }
}

/**
 * `req` properties passport's `authenticate` sets. They are put back afterwards: a host that
 * runs its own passport (sessions, `req.login`) must find its session manager on `req`, not
 * ours, should the request ever reach it.
 */
const PASSPORT_REQUEST_PROPERTIES = [
  '_sessionManager',
  'login',
  'logIn',
  'logout',
  'logOut',
  'isAuthenticated',
  'isUnauthenticated',
] as const;

function snapshotRequest(req: Request): () => void {
  const saved = PASSPORT_REQUEST_PROPERTIES.map(
    (name) => [name, Object.getOwnPropertyDescriptor(req, name)] as const,
  );
  return () => {
    for (const [name, descriptor] of saved) {
      if (descriptor === undefined) Reflect.deleteProperty(req, name);
      else Object.defineProperty(req, name, descriptor);
    }
  };
}

/**
 * Runs passport strategies with a custom callback (so passport neither calls `req.login` nor
 * writes a response) and turns the outcome into a client or an {@link OAuthError}.
 */
function runStrategies(
  authenticator: HostAuthenticator,
  strategies: string[],
  req: Request,
  getClient: ClientLookup,
): Promise<Client> {
  return new Promise<Client>((resolve) => {
    const restoreRequest = snapshotRequest(req);
    let settled = false;
    const settle = (outcome: () => Client | Promise<Client>): void => {
      if (settled) return;
      settled = true;
      restoreRequest();
      resolve(new Promise<Client>((settleWith) => settleWith(outcome())));
    };

    const callback: AuthenticateCallback = (err, user, challenge) => {
      settle(() => {
        if (err !== null && err !== undefined) throw toOAuthError(err);
        if (user) return resolveClient(user, getClient);
        throw failureFrom(challenge);
      });
    };
    // Passport only touches `res` when a strategy redirects, which has no meaning at a token
    // endpoint; this stand-in settles the request instead of letting a strategy write to it.
    const response = {
      statusCode: 200,
      setHeader: () => undefined,
      end: () =>
        settle(() => {
          throw new ServerError('a client authentication strategy attempted a redirect');
        }),
    } as unknown as Response;
    // `next` is reached through `pass()` (a strategy declining to decide) or an unknown name.
    const next = (err?: unknown): void =>
      settle(() => {
        if (err !== undefined) throw toOAuthError(err);
        throw new ClientAuthenticationFailed(
          'client authentication strategy passed without a verdict',
        );
      });

    try {
      const middleware = authenticator.authenticate(strategies, { session: false }, callback) as (
        req: Request,
        res: Response,
        next: (err?: unknown) => void,
      ) => void;
      middleware(req, response, next);
    } catch (err) {
      settle(() => {
        throw toOAuthError(err);
      });
    }
  });
}

/**
 * Runs one of our own strategies as passport's `authenticate` runs a strategy with a custom
 * callback (an `Object.create` of it given success, fail, error, pass and redirect), without the
 * rest of passport's work: nothing is added to `req` (and so nothing has to be taken off it after,
 * which turned every request object into a slow dictionary-mode one), no middleware closure per
 * request. The host's strategies still run through the host's own passport.
 */
function runOwnStrategy(
  strategy: passport.Strategy,
  req: Request,
  getClient: ClientLookup,
): Promise<Client> {
  return new Promise<Client>((resolve) => {
    let settled = false;
    const settle = (outcome: () => Client | Promise<Client>): void => {
      if (settled) return;
      settled = true;
      resolve(new Promise<Client>((settleWith) => settleWith(outcome())));
    };
    const attempt = Object.create(strategy) as passport.StrategyCreated<passport.Strategy>;
    attempt.success = (user: unknown) => settle(() => resolveClient(user, getClient));
    attempt.fail = (challenge?: unknown) =>
      settle(() => {
        throw failureFrom(typeof challenge === 'number' ? undefined : challenge);
      });
    attempt.error = (err: unknown) =>
      settle(() => {
        throw toOAuthError(err);
      });
    attempt.pass = () =>
      settle(() => {
        throw new ClientAuthenticationFailed(
          'client authentication strategy passed without a verdict',
        );
      });
    attempt.redirect = () =>
      settle(() => {
        throw new ServerError('a client authentication strategy attempted a redirect');
      });
    try {
      attempt.authenticate(req, { session: false });
    } catch (err) {
      settle(() => {
        throw toOAuthError(err);
      });
    }
  });
}

/** A strategy's success value: a client object with `client_id`, or the client id itself. */
async function resolveClient(user: unknown, getClient: ClientLookup): Promise<Client> {
  const clientId =
    typeof user === 'string'
      ? user
      : typeof user === 'object' && user !== null && 'client_id' in user
        ? (user as { client_id: unknown }).client_id
        : undefined;
  if (typeof clientId !== 'string' || clientId === '') {
    throw new ServerError('client authentication strategy succeeded without a client_id');
  }
  const client = await getClient(clientId);
  if (client === undefined) {
    throw new ClientAuthenticationFailed(
      `strategy authenticated ${quoteForLog(clientId)}, which is not a registered client`,
    );
  }
  return client;
}

/**
 * The error for a request every strategy failed. Passport hands over one challenge per strategy
 * tried (an array for a chain); the first OAuthError among them is the answer, since our
 * strategies only fail with one when the request carried their method's credentials.
 */
function failureFrom(challenge: unknown): OAuthError {
  const challenges: unknown[] = Array.isArray(challenge) ? challenge : [challenge];
  const answer = challenges.find((c): c is OAuthError => c instanceof OAuthError);
  if (answer !== undefined) return answer;
  const described = challenges
    .map((c) => (typeof c === 'string' ? quoteForLog(c) : typeof c))
    .join(', ');
  return new InvalidClient(CLIENT_AUTHENTICATION_FAILED, {
    privateCause: `no client authentication strategy succeeded (challenges: ${described})`,
  });
}
