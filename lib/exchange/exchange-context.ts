import type { Request } from 'express';
import type { Actor } from '../action-api/types.js';
import { normalizeIp } from '../attack-protection/client-ip.js';
import type { SuspiciousIpAttempt } from '../attack-protection/suspicious-ip-throttle.js';
import type { TokenRequest } from '../http/token-request.js';
import type { Profile } from '../profiles/profile-registry.js';
import type { Client } from '../registry/clients.js';
import type { ResourceServer } from '../registry/resource-servers.js';
import type { User } from '../users/user-store.js';

/** What one of our token requests has established so far; read by later steps and the log. */
export interface ExchangeContext {
  request?: TokenRequest;
  client?: Client;
  /**
   * When client authentication failed: the registered client the request claimed to be (a Basic
   * id, a body `client_id`, an assertion's `iss`), so the failure's log entry names it. Never set
   * for an id no client has.
   */
  claimedClient?: Client;
  profile?: Profile;
  resourceServer?: ResourceServer;
  requestedScopes: string[];
  /**
   * The end user's IP, the one place `event.request.ip`, the log's `ip` and attack protection
   * read it from: `req.ip` (per Express `trust proxy`, IPv4-mapped IPv6 as IPv4) until the client
   * is known, then the IP a trusted client forwarded, if any.
   */
  ip: string;
  requestedTokenType?: string;
  /**
   * The attempt of the IP held while the exchange may still end in an invalid token: spent by
   * one, settled (given back) once the action decided otherwise or the exchange failed before.
   */
  suspiciousIpAttempt?: SuspiciousIpAttempt;
  user?: User;
  connection?: string;
  actor?: Actor;
  /** Redacted console lines of the action. */
  console?: string[];
  /** Removes the exchange's tokens and secrets from text bound for the log. */
  redact?: (text: string) => string;
}

const contexts = new WeakMap<Request, ExchangeContext>();

/** Marks `req` as ours and starts its context. */
export function startExchange(req: Request): ExchangeContext {
  const context: ExchangeContext = { requestedScopes: [], ip: normalizeIp(req.ip) };
  contexts.set(req, context);
  return context;
}

/** The context of a request that is ours, or `undefined` for requests handed to the host. */
export function exchangeContext(req: Request): ExchangeContext | undefined {
  return contexts.get(req);
}

/**
 * Drops `req`'s context once its answer is written and logged. The request object itself can
 * outlive its exchange in young-generation collections (Node's socket and parser wrappers keep it
 * reachable until a full collection), and a context kept with it (the request's parameters, the
 * user, the action's console) would be copied by every scavenge and promoted for nothing.
 */
export function endExchange(req: Request): void {
  contexts.delete(req);
}

/** The context of a request the pipeline already marked as ours. */
export function requireExchange(req: Request): ExchangeContext {
  const context = contexts.get(req);
  if (!context) throw new Error('token endpoint step ran before the request was classified');
  return context;
}
