import type { Request } from 'express';
import type { TokenEndpointAuthMethod } from '../registry/clients.js';
import { InvalidRequest } from '../errors.js';

/** The assertion type RFC 7523 section 2.2 fixes for JWT client authentication. */
export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** A client authentication method that carries credentials (every method but `none`). */
export type CredentialAuthMethod = Exclude<TokenEndpointAuthMethod, 'none'>;

/**
 * Reads one body parameter as a string. Missing and empty values are `undefined` (RFC 6749 section 3.2:
 * a parameter sent without a value is treated as omitted). Only own properties count, so
 * `__proto__` or `constructor` never resolve to something inherited. A value that is not a single
 * string (a repeated parameter, a JSON object) is a malformed request: the router refuses
 * duplicates before us, but the strategies may also run on a host's own passport instance.
 */
export function readBodyParam(req: Request, name: string): string | undefined {
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null || !Object.hasOwn(body, name)) return undefined;
  const value: unknown = (body as Record<string, unknown>)[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') {
    throw new InvalidRequest(`${name} must be a single string.`, {
      privateCause: `body parameter ${name} is a ${Array.isArray(value) ? 'array' : typeof value}`,
    });
  }
  return value;
}

/** Whether the body has a non-empty value for `name`, whatever its type. */
function hasBodyParam(req: Request, name: string): boolean {
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null || !Object.hasOwn(body, name)) return false;
  const value: unknown = (body as Record<string, unknown>)[name];
  return value !== undefined && value !== '';
}

/**
 * The credential-carrying methods a request presents, in a fixed order. Any `Authorization`
 * header counts (whatever its scheme): a client that sends one and a body secret is using two
 * mechanisms, which RFC 6749 section 2.3 forbids. `client_assertion_type` alone counts as an assertion
 * attempt so that it is refused as such rather than ignored.
 */
export function presentedAuthMethods(req: Request): CredentialAuthMethod[] {
  const methods: CredentialAuthMethod[] = [];
  if (req.headers.authorization !== undefined) methods.push('client_secret_basic');
  if (hasBodyParam(req, 'client_secret')) methods.push('client_secret_post');
  if (hasBodyParam(req, 'client_assertion') || hasBodyParam(req, 'client_assertion_type')) {
    methods.push('private_key_jwt');
  }
  return methods;
}

/**
 * Refuses a request that presents more than one credential-carrying method (RFC 6749 section 2.3: "The
 * client MUST NOT use more than one authentication method in each request"). Each strategy runs
 * it too, so the rule also holds when a host chains our strategies on its own instance.
 */
export function assertSingleAuthMethod(req: Request): void {
  const methods = presentedAuthMethods(req);
  if (methods.length > 1) {
    throw new InvalidRequest('Client authentication must use only one method.', {
      privateCause: `request presents several client authentication methods: ${methods.join(', ')}`,
    });
  }
}

/** Whether the `Authorization` header uses the Basic scheme (scheme names are case-insensitive). */
export function isBasicAuthorization(header: string | undefined): boolean {
  return header !== undefined && /^basic(?: |$)/i.test(header);
}
