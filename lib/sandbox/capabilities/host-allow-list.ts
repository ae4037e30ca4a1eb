import { isIP } from 'node:net';

/** One parsed `allowed_hosts` entry. */
export interface HostPattern {
  /** `*.example.com`: any subdomain of `hostname`, never `hostname` itself. */
  wildcard: boolean;
  /** Lower-case, punycode, no trailing dot; IPv6 literals in brackets (`[::1]`). */
  hostname: string;
  /** The port the entry names; absent: only the scheme's default port matches. */
  port?: number;
}

/**
 * Parses an `allowed_hosts` entry: `idp.example.com`, `idp.example.com:8443`, `*.example.com`,
 * `127.0.0.1:8080`, `[::1]:8080`. Throws a `TypeError` naming the entry when it is anything else
 * (a scheme, a path, credentials, a wildcard that is not a leading `*.` label, a wildcard over an
 * IP address).
 */
export function parseHostPattern(entry: string): HostPattern {
  const invalid = (): TypeError =>
    new TypeError(
      `"${entry}" is not a host pattern (expected host, host:port or *.domain, no scheme or path)`,
    );
  if (typeof entry !== 'string' || entry.length === 0 || entry.length > 260) throw invalid();
  if (/[\s/\\?#@]/.test(entry)) throw invalid();
  const wildcard = entry.startsWith('*.');
  const rest = wildcard ? entry.slice(2) : entry;
  const match = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(rest);
  if (!match || match[1] === undefined || match[1].includes('*')) throw invalid();
  let hostname: string;
  try {
    hostname = normalizeHostname(new URL(`http://${match[1]}/`).hostname);
  } catch {
    throw invalid();
  }
  if (hostname === '' || (wildcard && isIP(unbracket(hostname)) !== 0)) throw invalid();
  const pattern: HostPattern = { wildcard, hostname };
  if (match[2] !== undefined) {
    const port = Number(match[2]);
    if (port < 1 || port > 65535) throw invalid();
    pattern.port = port;
  }
  return pattern;
}

/**
 * True when `url`'s host and port match one of `allowedHosts`: an exact host, or `*.suffix` for
 * strict subdomains of `suffix`; an entry with a port matches only that port, one without only
 * the scheme's default port (80 for `http:`, 443 for `https:`). Only `http:` and `https:` URLs
 * can match; invalid entries are ignored (they allow nothing).
 */
export function hostMatches(url: URL | string, allowedHosts: readonly string[]): boolean {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return false;
  }
  const defaultPort = DEFAULT_PORTS[parsed.protocol];
  if (defaultPort === undefined) return false;
  const hostname = normalizeHostname(parsed.hostname);
  const port = parsed.port === '' ? defaultPort : Number(parsed.port);
  const isIpLiteral = isIP(unbracket(hostname)) !== 0;
  return allowedHosts.some((entry) => {
    let pattern: HostPattern;
    try {
      pattern = parseHostPattern(entry);
    } catch {
      return false;
    }
    if ((pattern.port ?? defaultPort) !== port) return false;
    if (!pattern.wildcard) return hostname === pattern.hostname;
    return !isIpLiteral && hostname.endsWith(`.${pattern.hostname}`);
  });
}

/** Default port per scheme; also the list of schemes a capability may use. */
export const DEFAULT_PORTS: Readonly<Record<string, number>> = Object.freeze({
  'http:': 80,
  'https:': 443,
});

/** `[::1]` → `::1`; other hostnames unchanged. */
export function unbracket(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

function normalizeHostname(hostname: string): string {
  const lower = hostname.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}
