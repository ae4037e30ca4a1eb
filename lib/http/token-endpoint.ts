import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AttackProtection } from '../attack-protection/attack-protection.js';
import { normalizeIp } from '../attack-protection/client-ip.js';
import { claimedClientId } from '../client-auth/client-authenticator.js';
import type { ClientAuthenticator } from '../client-auth/client-authenticator.js';
import { TemporarilyUnavailable, toOAuthError } from '../errors.js';
import type { Grant } from '../grants/grant.js';
import { failureEntry } from '../grants/request-log.js';
import type { RequestTrail } from '../grants/request-log.js';
import { readTokenRequest } from '../grants/token-request.js';
import type { TenantLog } from '../logs/tenant-log.js';
import type { RequestObservation } from '../observability/request-observation.js';
import type { Telemetry } from '../observability/telemetry.js';
import type { ClientRegistry } from '../registry/clients.js';
import type { DpopCheck } from './dpop.js';
import type { BodyReader } from './read-body.js';
import type { ShutdownGate } from './shutdown-gate.js';
import { settlesWithin } from '../logs/settles-within.js';
import { sendOAuthError, sendTokenResponse } from './token-response.js';

/** What the token endpoint runs on; built once by `customTokenExchange()`. */
export interface TokenEndpointOptions {
  /** The grants the router answers, in the order a repeated `grant_type` tries them. */
  grants: readonly Grant[];
  readBody: BodyReader;
  authenticateClient: ClientAuthenticator;
  clients: Pick<ClientRegistry, 'find'>;
  protection: Pick<AttackProtection, 'clientIp'>;
  log: TenantLog;
  /** Each request of ours gets a span and its metrics. */
  telemetry: Telemetry;
  /** Requests of ours answered at once; beyond it `503 temporarily_unavailable`. */
  maxInFlight: number;
  dpop: DpopCheck;
  /** Sets the CORS headers of a request of ours, for its client's origins. */
  cors: (req: Request, res: Response) => Promise<void> | undefined;
  /** Counts requests of ours for a graceful `close()`, and refuses them once it began. */
  shutdown: ShutdownGate;
  /** The shared configuration (profiles and actions the Management API made), read once yet? */
  configuration: ConfigurationReadiness;
}

/** Whether the router's shared configuration is loaded, and its first load (`cte.ready()`). */
export interface ConfigurationReadiness {
  loaded(): boolean;
  firstLoad: Promise<unknown>;
}

/** How long a token request waits for the first load of the configuration before a 503. */
export const CONFIGURATION_WAIT_MS = 5000;

/** When a request refused for overload may try again, in seconds. */
const OVERLOAD_RETRY_AFTER_SECONDS = 1;
/** When a request refused before the configuration is loaded may try again (a resync's period). */
const CONFIGURATION_RETRY_AFTER_SECONDS = 1;

/**
 * `POST /oauth/token`, one handler for every grant. The body is read (a body that cannot be read
 * is refused whatever the grant); then the request's `grant_type` picks the grant module, which
 * says whether the request is ours: anything else goes to the host with `next('route')`
 * untouched (no assertion consumed, `req.body` as the host's own parsers would set it, no CORS
 * header). For a request that is ours, in order: the CORS headers for its client's origins, the
 * refusal once `close()` began, the cap on requests in flight, the strict reading of its
 * parameters, the DPoP proof's verification, client authentication, the DPoP proof's one use (and
 * a proof required of the client), the end user's IP (a trusted client may forward it), and the
 * grant's handler. Every answer is JSON with `no-store`, and every request of ours, answered or
 * refused, writes one tenant-log entry of the grant's type.
 */
export function tokenEndpoint(options: TokenEndpointOptions): RequestHandler {
  const { grants, readBody, authenticateClient, clients, protection, log, maxInFlight } = options;
  const { dpop, cors, telemetry, shutdown, configuration } = options;
  const byType = new Map(grants.map((grant) => [grant.type, grant]));
  let inFlight = 0;

  async function dispatch(req: Request, res: Response, next: NextFunction): Promise<void> {
    const type = (req.body as Record<string, unknown>).grant_type;
    if (typeof type === 'string') {
      const grant = byType.get(type);
      if (grant !== undefined && (await serve(grant, req, res, next))) return;
    } else if (Array.isArray(type)) {
      // A repeated grant_type: the first grant that claims the request refuses the repetition.
      for (const grant of grants) {
        if (type.includes(grant.type) && (await serve(grant, req, res, next))) return;
      }
    }
    next('route');
  }

  /** Answers `req` with `grant` and resolves `true`, or resolves `false` when it is the host's. */
  async function serve(
    grant: Grant,
    req: Request,
    res: Response,
    next: NextFunction,
  ): Promise<boolean> {
    let trail: RequestTrail | undefined;
    let observation: RequestObservation | undefined;
    let answered: (() => void) | undefined;
    try {
      // Whether a request is ours depends on the profiles: none is decided before they are read.
      if (!configuration.loaded()) await configurationLoaded();
      const ours = grant.isOurs(req.body as Record<string, unknown>);
      if (ours !== true && (ours === false || !(await ours))) return false;
      observation = telemetry.request('token', req, grant.type);
      trail = { ip: normalizeIp(req.ip) };
      await cors(req, res);
      answered = shutdown.enter();
      if (inFlight >= maxInFlight) {
        throw new TemporarilyUnavailable(
          OVERLOAD_RETRY_AFTER_SECONDS,
          `${inFlight} token requests in flight, the most maxExchangesInFlight allows`,
        );
      }
      inFlight++;
      try {
        const request = trail;
        await observation.run(() => answer(grant, req, res, request));
      } finally {
        inFlight--;
      }
      observation.end(res.statusCode, trail);
    } catch (err) {
      // A store failure while deciding is ours too: the request named one of our tokens.
      trail ??= { ip: normalizeIp(req.ip) };
      observation ??= telemetry.request('token', req, grant.type);
      if (res.headersSent) {
        observation.end(res.statusCode, trail, err);
        next(err);
        return true;
      }
      const error = toOAuthError(err);
      log.write(failureEntry(req, grant.failureLogType, trail, error));
      sendOAuthError(res, error);
      observation.end(res.statusCode, trail, error);
    } finally {
      // Once the answer and its log entry are written: close() waits for both.
      answered?.();
    }
    return true;
  }

  /**
   * Waits for the first load of the configuration (at most {@link CONFIGURATION_WAIT_MS}); once
   * it failed or took too long, the request is refused until a later sync reads it all.
   */
  async function configurationLoaded(): Promise<void> {
    await settlesWithin(configuration.firstLoad, CONFIGURATION_WAIT_MS);
    if (!configuration.loaded()) {
      throw new TemporarilyUnavailable(
        CONFIGURATION_RETRY_AFTER_SECONDS,
        'the shared configuration (stores.config) is not loaded yet: see cte.ready()',
      );
    }
  }

  async function answer(grant: Grant, req: Request, res: Response, trail: RequestTrail) {
    const params = readTokenRequest(req.body as Record<string, unknown>);
    const subjectTokenType = params.params.subject_token_type;
    if (subjectTokenType !== undefined) trail.subjectTokenType = subjectTokenType;
    const proof = await dpop.read(req, res);
    const client = await authenticate(req, trail);
    trail.client = client;
    await dpop.accept(client, proof);
    const ip = protection.clientIp(req, client);
    trail.ip = ip;
    const response = await grant.handle({ req, res, params, client, ip, trail, dpop: proof });
    sendTokenResponse(res, 200, response);
  }

  async function authenticate(req: Request, trail: RequestTrail) {
    try {
      return await authenticateClient(req);
    } catch (err) {
      const claimed = claimedClientId(req);
      // For the log only: a client that cannot be read now leaves the entry without it.
      const client =
        claimed === undefined
          ? undefined
          : await Promise.resolve()
              .then(() => clients.find(claimed))
              .catch(() => undefined);
      if (client !== undefined) trail.claimedClient = client;
      throw err;
    }
  }

  return function answerTokenRequest(req: Request, res: Response, next: NextFunction): void {
    readBody(req, res, (error) => {
      // Not known to be ours yet, so not logged: the host may own this endpoint's other grants.
      if (error) return sendOAuthError(res, error);
      // Express 4 does not forward a rejected promise; dispatch answers its own errors anyway.
      dispatch(req, res, next).catch(next);
    });
  };
}
