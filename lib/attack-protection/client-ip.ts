import { isIP } from 'node:net';
import type { Request } from 'express';
import { ipKeyGenerator } from 'express-rate-limit';
import { InvalidRequest } from '../errors.js';
import type { Client } from '../registry/clients.js';

/**
 * Whether `text` is one IPv4 or IPv6 address as a client may name it. An IPv6 zone id
 * (`fe80::1%eth0`, which `net.isIP` accepts) is refused: a zone names an interface of the host
 * that wrote the address, means nothing to this server, and would let one client appear as any
 * number of distinct addresses.
 */
export function isIpAddress(text: string): boolean {
  return isIP(text) !== 0 && !text.includes('%');
}

/**
 * The textual IP as the router reports and counts it: an IPv4-mapped IPv6 address (how a
 * dual-stack socket reports IPv4 peers, `::ffff:203.0.113.7`) becomes the IPv4 address it
 * carries; anything else is returned as is; no IP at all (a destroyed socket) is `''`.
 */
export function normalizeIp(ip: string | undefined): string {
  if (!ip) return '';
  return isIP(ip) === 6 ? ipKeyGenerator(ip, false) : ip;
}

/**
 * The key an IP is counted under: the IPv4 address itself, or the IPv6 network of `ipv6Subnet`
 * bits it belongs to (`2001:db8:1:2::/64`), since one host commonly holds a whole /64. The same
 * function express-rate-limit keys its limiters with.
 */
export function ipCountingKey(ip: string, ipv6Subnet: number): string {
  if (ip === '') return 'unknown';
  return ipKeyGenerator(ip, ipv6Subnet);
}

/**
 * The end user's IP for one token request. It is `req.ip`, which Express derives from the socket
 * and, only as far as the `trust proxy` setting allows, from `X-Forwarded-For`. A client marked
 * `is_token_endpoint_ip_header_trusted` (a server-side caller exchanging tokens on behalf of its
 * users) may name the user's IP in `headerName` instead, like Auth0's `auth0-forwarded-for`; for
 * every other client that header is ignored, since anyone can send it.
 *
 * @throws OAuthError `invalid_request` when a trusted client sends a header that is not exactly
 * one IP address (see {@link isIpAddress}): counting its users under the server's own IP would let one of them block all.
 */
export function resolveClientIp(req: Request, client: Client, headerName: string): string {
  const socketIp = normalizeIp(req.ip);
  if (!client.is_token_endpoint_ip_header_trusted) return socketIp;
  const forwarded = req.get(headerName)?.trim();
  if (forwarded === undefined || forwarded === '') return socketIp;
  if (!isIpAddress(forwarded)) {
    throw new InvalidRequest(`the ${headerName} header must be one IP address`);
  }
  return normalizeIp(forwarded);
}
