/**
 * The host's OAuth 2.0 server, written the classic way: passport authenticates the client
 * (passport-http Basic or passport-oauth2-client-password), oauth2orize runs the grant
 * (`client_credentials`, `password`, `refresh_token`) and issues the host's own opaque tokens.
 */
import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import oauth2orize from 'oauth2orize';
import type { PassportStatic } from 'passport';
import { BasicStrategy } from 'passport-http';
import { Strategy as ClientPasswordStrategy } from 'passport-oauth2-client-password';
import { verifyClientSecret } from '../../lib/index.js';
import { verifyPassword } from './host-db.js';
import type { HostClient, HostTokens, HostUsers } from './host-db.js';

/** The passport strategy names, in the order they are tried: Basic, then the form body. */
export const CLIENT_STRATEGIES = ['basic', 'oauth2-client-password'];

const ACCESS_TOKEN_LIFETIME_SECONDS = 3600;
const REFRESH_TOKEN_LIFETIME_SECONDS = 30 * 24 * 3600;

export interface HostOAuthTables {
  clients: Map<string, HostClient>;
  users: HostUsers;
  accessTokens: HostTokens;
  refreshTokens: HostTokens;
}

/**
 * Registers the host's client strategies on `passport`. Both resolve a row of the host's client
 * table: the same verify function serves the host's grants and, through the router's
 * `clientAuthentication` option, custom token exchange.
 */
export function useClientStrategies(
  passport: PassportStatic,
  clients: Map<string, HostClient>,
): void {
  const verify = (
    clientId: string,
    clientSecret: string,
    done: (err: unknown, client?: HostClient | false) => void,
  ): void => {
    const client = clients.get(clientId);
    if (client === undefined) return done(null, false);
    verifyClientSecret(clientSecret, client.client_secret_hash).then(
      (matches) => done(null, matches ? client : false),
      (err: unknown) => done(err),
    );
  };
  passport.use(new BasicStrategy({ realm: 'bookshop' }, verify));
  passport.use(new ClientPasswordStrategy(verify));
}

/** The middleware chain of the host's `POST /oauth/token`. */
export function hostTokenEndpoint(
  passport: PassportStatic,
  tables: HostOAuthTables,
): Array<RequestHandler | ErrorRequestHandler> {
  const server = oauth2orize.createServer<HostClient>();

  server.exchange(
    oauth2orize.exchange.clientCredentials<HostClient>((client, scope, done) => {
      try {
        requireGrant(client, 'client_credentials');
        const granted = grantScope(client, scope);
        const accessToken = tables.accessTokens.issue(tokenRow(client, null, granted, 'access'));
        done(null, accessToken, undefined, tokenParams(granted));
      } catch (err) {
        done(err as Error);
      }
    }),
  );

  server.exchange(
    oauth2orize.exchange.password<HostClient>((client, username, password, scope, done) => {
      void (async () => {
        requireGrant(client, 'password');
        const user = tables.users.findByEmail(username);
        const valid =
          user?.passwordHash != null && (await verifyPassword(password, user.passwordHash));
        if (!user || !valid || user.blocked) {
          throw invalidGrant('Invalid resource owner credentials.');
        }
        const granted = grantScope(client, scope);
        user.loginCount += 1;
        const accessToken = tables.accessTokens.issue(tokenRow(client, user.id, granted, 'access'));
        const refreshToken = tables.refreshTokens.issue(
          tokenRow(client, user.id, granted, 'refresh'),
        );
        done(null, accessToken, refreshToken, tokenParams(granted));
      })().catch((err: unknown) => done(err as Error));
    }),
  );

  server.exchange(
    oauth2orize.exchange.refreshToken<HostClient>((client, refreshToken, scope, done) => {
      try {
        requireGrant(client, 'refresh_token');
        const row = tables.refreshTokens.find(refreshToken);
        // One answer for every reason, so a caller learns nothing about someone else's token.
        if (!row || row.clientId !== client.client_id) throw invalidGrant('Invalid refresh token.');
        const user = row.userId === null ? undefined : tables.users.rows.get(row.userId);
        if (row.userId !== null && (!user || user.blocked)) {
          throw invalidGrant('Invalid refresh token.');
        }
        // A narrower scope narrows this access token only; the family keeps its scope (RFC 6749 §6).
        const requested = scope ?? row.scope;
        if (!requested.every((s) => row.scope.includes(s))) {
          throw new oauth2orize.TokenError('Scope exceeds the refresh token.', 'invalid_scope');
        }
        tables.refreshTokens.delete(refreshToken); // rotation: each refresh token serves once
        const accessToken = tables.accessTokens.issue(
          tokenRow(client, row.userId, requested, 'access'),
        );
        const next = tables.refreshTokens.issue({ ...row });
        done(null, accessToken, next, tokenParams(requested));
      } catch (err) {
        done(err as Error);
      }
    }),
  );

  return [
    authenticateClient(passport),
    server.token() as unknown as RequestHandler,
    rfc6749Errors,
    server.errorHandler() as unknown as ErrorRequestHandler,
  ];
}

/** Runs the client strategies with a callback so a failure is an OAuth error, not passport's text. */
function authenticateClient(passport: PassportStatic): RequestHandler {
  return (req, res, next) => {
    const callback = (err: unknown, client?: HostClient | false): void => {
      if (err) return next(err);
      if (!client) {
        if (/^basic /i.test(req.headers.authorization ?? '')) {
          res.set('WWW-Authenticate', 'Basic realm="bookshop", error="invalid_client"');
        }
        return next(new oauth2orize.TokenError('Client authentication failed.', 'invalid_client'));
      }
      (req as Request & { user?: HostClient }).user = client;
      next();
    };
    (passport.authenticate(CLIENT_STRATEGIES, { session: false }, callback) as RequestHandler)(
      req,
      res,
      next,
    );
  };
}

/**
 * oauth2orize answers `invalid_grant` with 403 and `unsupported_grant_type` with 501, and its
 * error handler prints any error's message. RFC 6749 §5.2 wants 400 (401 for `invalid_client`),
 * and an unexpected error should say nothing; errors are not to be cached either.
 */
const rfc6749Errors: ErrorRequestHandler = (err: unknown, _req, res, next) => {
  res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
  if (err instanceof oauth2orize.TokenError) {
    err.status = err.code === 'invalid_client' ? 401 : 400;
    return next(err);
  }
  console.error('token endpoint error:', err);
  next(new oauth2orize.TokenError('Internal error.', 'server_error', undefined, 500));
};

function requireGrant(client: HostClient, grantType: string): void {
  if (!client.grant_types.includes(grantType)) {
    throw new oauth2orize.TokenError(
      `This client may not use the ${grantType} grant.`,
      'unauthorized_client',
    );
  }
}

/** The scopes asked for (all the client's when none), refused if any is not the client's. */
function grantScope(client: HostClient, requested: string[] | undefined): string[] {
  const scope = requested ?? client.scope;
  if (!scope.every((s) => client.scope.includes(s))) {
    throw new oauth2orize.TokenError('The requested scope is not allowed.', 'invalid_scope');
  }
  return scope;
}

function invalidGrant(description: string): Error {
  return new oauth2orize.TokenError(description, 'invalid_grant');
}

function tokenRow(
  client: HostClient,
  userId: string | null,
  scope: string[],
  kind: 'access' | 'refresh',
) {
  const lifetime =
    kind === 'access' ? ACCESS_TOKEN_LIFETIME_SECONDS : REFRESH_TOKEN_LIFETIME_SECONDS;
  return {
    clientId: client.client_id,
    userId,
    scope,
    expiresAt: new Date(Date.now() + lifetime * 1000),
  };
}

function tokenParams(scope: string[]): Record<string, unknown> {
  return { expires_in: ACCESS_TOKEN_LIFETIME_SECONDS, scope: scope.join(' ') };
}
