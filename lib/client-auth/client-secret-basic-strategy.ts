import { InvalidRequest, ClientAuthenticationFailed, withBasicChallenge } from '../errors.js';
import type { Request } from 'express';
import type { Client } from '../registry/clients.js';
import { ClientAuthenticationStrategy, NO_CREDENTIALS } from './client-authentication-strategy.js';
import type { ClientLookup } from './client-lookup.js';
import { quoteForLog } from './quote-for-log.js';
import { checkClientSecret } from './client-secret-check.js';
import {
  assertSingleAuthMethod,
  isBasicAuthorization,
  readBodyParam,
} from './request-credentials.js';
import { assertFunction } from './option-checks.js';

/** Options of {@link ClientSecretBasicStrategy}. */
export interface ClientSecretBasicStrategyOptions {
  /** Resolves a client id to the registered client. */
  getClient: ClientLookup;
}

/** Client id and secret carried by an `Authorization: Basic` header. */
export interface BasicCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
}

/**
 * `client_secret_basic` (RFC 6749 §2.3.1): `Authorization: Basic base64(urlencode(client_id) ":"
 * urlencode(client_secret))`, with the form-urlencoding of Appendix B.
 *
 * A malformed header is `400 invalid_request`; credentials that do not authenticate are `401
 * invalid_client` with `WWW-Authenticate: Basic realm="token", error="invalid_client"`.
 * Passport name: `client_secret_basic`.
 */
export class ClientSecretBasicStrategy extends ClientAuthenticationStrategy {
  /** Passport strategy name. */
  override name = 'client_secret_basic';
  private readonly getClient: ClientLookup;

  constructor(options: ClientSecretBasicStrategyOptions) {
    super();
    assertFunction(options.getClient, 'ClientSecretBasicStrategy: options.getClient');
    this.getClient = options.getClient;
  }

  /** A request without Basic credentials fails with the bare challenge, as passport-http does. */
  protected override noCredentialsChallenge(): string {
    return 'Basic realm="token"';
  }

  protected override async evaluate(req: Request): Promise<Client | typeof NO_CREDENTIALS> {
    const header = req.headers.authorization;
    if (header === undefined || !isBasicAuthorization(header)) return NO_CREDENTIALS;
    assertSingleAuthMethod(req);
    const { clientId, clientSecret } = parseBasicCredentials(header);

    // RFC 6749 §2.3.1 allows client_id in the body only as a hint for the same client. A different
    // one is a request that contradicts itself: 400 invalid_request ("otherwise malformed",
    // RFC 6749 §5.2), not 401, because nothing has been authenticated yet and a 401 would wrongly
    // tell the client its credentials were checked and failed. node-oidc-provider answers the same.
    const bodyClientId = readBodyParam(req, 'client_id');
    if (bodyClientId !== undefined && bodyClientId !== clientId) {
      throw new InvalidRequest('client_id in the body does not match the Authorization header.', {
        privateCause: `body client_id ${quoteForLog(bodyClientId)} differs from Basic client id ${quoteForLog(clientId)}`,
      });
    }

    const check = await checkClientSecret(
      await this.getClient(clientId),
      clientId,
      clientSecret,
      'client_secret_basic',
    );
    if (!check.ok) throw withBasicChallenge(new ClientAuthenticationFailed(check.privateCause));
    return check.client;
  }
}

/**
 * Strict base64 (RFC 4648 §4 alphabet). Padding may be omitted but, when present, must be
 * exactly right: `Buffer.from(x, 'base64')` silently skips foreign characters, so without this
 * check two different headers would decode to the same credentials.
 */
function isStrictBase64(input: string): boolean {
  const match = /^([A-Za-z0-9+/]+)(={0,2})$/.exec(input);
  if (match === null) return false;
  const data = match[1] as string;
  const padding = match[2] as string;
  const remainder = data.length % 4;
  if (padding === '') return remainder !== 1;
  return remainder !== 0 && padding.length === 4 - remainder;
}

/** Appendix B: form-urlencoding, so `+` is a space and `%XX` escapes are UTF-8 octets. */
function formUrlDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, '%20'));
}

/** Control characters have no place in a client id or secret and could forge log lines. */
function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The client id and secret of a Basic `Authorization` header (RFC 6749 §2.3.1).
 * @throws OAuthError `400 invalid_request` for a malformed header
 */
export function parseBasicCredentials(header: string): BasicCredentials {
  const match = /^basic +([^ ]+)$/i.exec(header);
  if (match === null) return failParse('Basic header has no single token68 credential');
  const token = match[1] as string;
  if (!isStrictBase64(token)) return failParse('Basic credentials are not valid base64');

  let decoded: string;
  try {
    decoded = utf8.decode(Buffer.from(token, 'base64'));
  } catch {
    return failParse('Basic credentials are not valid UTF-8');
  }
  // The id is form-urlencoded, so it never holds a raw ":"; the first one is the separator.
  const colon = decoded.indexOf(':');
  if (colon === -1) return failParse('Basic credentials have no ":" separator');

  let clientId: string;
  let clientSecret: string;
  try {
    clientId = formUrlDecode(decoded.slice(0, colon));
    clientSecret = formUrlDecode(decoded.slice(colon + 1));
  } catch {
    return failParse('Basic credentials are not properly form-urlencoded (RFC 6749 Appendix B)');
  }
  if (clientId === '') return failParse('Basic credentials have an empty client id');
  if (clientSecret === '') return failParse('Basic credentials have an empty client secret');
  if (hasControlCharacter(clientId) || hasControlCharacter(clientSecret)) {
    return failParse('Basic credentials contain control characters');
  }
  return { clientId, clientSecret };
}

/** A malformed header is a malformed request (RFC 6749 §5.2 invalid_request), as in node-oidc-provider. */
function failParse(privateCause: string): never {
  throw new InvalidRequest(
    'The Authorization header does not hold valid Basic client credentials.',
    {
      privateCause,
    },
  );
}
