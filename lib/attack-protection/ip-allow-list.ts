import { cidrContains, parseAddress, parseCidr } from '../sandbox/capabilities/ip-policy.js';
import type { ParsedCidr } from '../sandbox/capabilities/ip-policy.js';
import { normalizeIp } from './client-ip.js';

/** IPs and networks that suspicious IP throttling never blocks (an office, a partner's egress). */
export class IpAllowList {
  readonly #networks: readonly ParsedCidr[];

  /**
   * @param entries IPv4 or IPv6 addresses and CIDRs (`203.0.113.7`, `198.51.100.0/24`,
   * `2001:db8::/32`), validated by the options.
   * @throws TypeError naming the entry when one is neither.
   */
  constructor(entries: readonly string[]) {
    this.#networks = entries.map((entry) => parseCidr(entry));
  }

  /** Whether `ip` (an IPv4-mapped IPv6 address counting as its IPv4 address) is listed. */
  has(ip: string): boolean {
    if (this.#networks.length === 0) return false;
    const address = parseAddress(normalizeIp(ip));
    return address !== undefined && this.#networks.some((cidr) => cidrContains(cidr, address));
  }
}
