import cors from 'cors';
import type { CorsOptions } from 'cors';
import type { Request, RequestHandler, Response } from 'express';
import type { Client } from '../registry/clients.js';

/** What a browser may read of the router's answers besides the simple headers. */
const EXPOSED_HEADERS = ['DPoP-Nonce', 'WWW-Authenticate', 'Retry-After'];
/** How long a browser may keep a preflight's answer, in seconds. */
const PREFLIGHT_MAX_AGE = 600;

/** CORS (with the `cors` package) for the router's endpoints that clients call. */
export interface ClientCors {
  /**
   * Answers a preflight (`OPTIONS`) for an origin some client allows. A preflight names no
   * client, so nothing narrower can be decided; any other origin's preflight goes on to the host
   * with `next()`, and gets no header from the router.
   */
  preflight: RequestHandler;
  /**
   * Sets the headers of an actual request the router answers, when the client it names (see
   * `claimedClientId`) allows the request's origin; nothing otherwise, so the browser keeps the
   * answer from the page. Settles at once when the client is known without a read (always,
   * for clients given as an array), else once it was read.
   */
  apply(req: Request, res: Response): Promise<void> | undefined;
}

/**
 * Per-client CORS from Auth0's client fields `allowed_origins` and `web_origins`: exact origins,
 * or `scheme://*.domain[:port]` for any subdomain of the domain.
 *
 * With `anyOriginPreflight` (clients read from a `ClientStore`, which cannot be listed) a
 * preflight is answered for any origin: it lets the browser send the request, and the answer
 * still carries CORS headers only for an origin the request's client allows, so a page of any
 * other origin cannot read it.
 */
export function clientCors(
  clients: {
    list(): Client[];
    get(clientId: string): Client | undefined | Promise<Client | undefined>;
  },
  claimedClientId: (req: Request) => string | undefined,
  { anyOriginPreflight = false }: { anyOriginPreflight?: boolean } = {},
): ClientCors {
  const preflight = cors((req, callback) => {
    const origin = req.headers.origin;
    const allowed =
      origin !== undefined &&
      (anyOriginPreflight || clients.list().some((client) => allows(client, origin)));
    const options: CorsOptions = {
      origin: allowed ? origin : false,
      methods: ['POST'],
      maxAge: PREFLIGHT_MAX_AGE,
    };
    callback(null, options);
  });

  const actual = cors((req, callback) => {
    const origin = req.headers.origin;
    const clientId = origin === undefined ? undefined : claimedClientId(req as Request);
    const answer = (client: Client | undefined) => {
      const allowed = origin !== undefined && client !== undefined && allows(client, origin);
      callback(null, { origin: allowed ? origin : false, exposedHeaders: EXPOSED_HEADERS });
    };
    let client: Client | undefined | Promise<Client | undefined>;
    try {
      client = clientId === undefined ? undefined : clients.get(clientId);
    } catch {
      // A client that cannot be read now allows no origin; the request answers for itself.
      client = undefined;
    }
    if (client instanceof Promise) client.then(answer, () => answer(undefined));
    else answer(client);
  });

  return {
    preflight,
    apply(req, res) {
      if (req.headers.origin === undefined) return undefined;
      // `cors` goes on to `next` once the delegate answered: at once for a client held in memory.
      return new Promise<void>((resolve) => actual(req, res, () => resolve()));
    },
  };
}

/** Whether one of the client's origins is `origin`. */
function allows(client: Client, origin: string): boolean {
  const wanted = origin.toLowerCase();
  return (
    client.allowed_origins.some((allowed) => matches(allowed, wanted)) ||
    client.web_origins.some((allowed) => matches(allowed, wanted))
  );
}

function matches(allowed: string, origin: string): boolean {
  if (allowed === origin) return true;
  const star = allowed.indexOf('://*.');
  if (star === -1) return false;
  // https://*.example.com[:port]: same scheme and port, a host ending in .example.com.
  const scheme = allowed.slice(0, star + 3);
  const rest = allowed.slice(star + 4); // ".example.com[:port]"
  if (!origin.startsWith(scheme)) return false;
  const host = origin.slice(scheme.length);
  return (
    host.endsWith(rest) && host.length > rest.length && !host.slice(0, -rest.length).includes(':')
  );
}
