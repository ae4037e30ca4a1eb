import { isIPv4, isIPv6 } from 'node:net';

/** An IP address as a number: 32 bits for IPv4, 128 bits for IPv6. */
export interface ParsedAddress {
  version: 4 | 6;
  value: bigint;
}

/** An address block: `value` is the network address (host bits cleared). */
export interface ParsedCidr {
  version: 4 | 6;
  value: bigint;
  prefix: number;
}

/**
 * Why an address is not public. `public` is the only category an action may reach without listing
 * the address's network in `allowed_private_networks`.
 */
export type AddressCategory =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'shared (CGNAT)'
  | 'unique-local'
  | 'multicast'
  | 'broadcast'
  | 'documentation'
  | 'reserved'
  | 'invalid';

/** Parses a textual IPv4 or IPv6 address (an IPv6 zone id is dropped); `undefined` if invalid. */
export function parseAddress(text: string): ParsedAddress | undefined {
  if (isIPv4(text)) return { version: 4, value: parseIPv4(text) };
  const unzoned = text.split('%', 1)[0] ?? '';
  if (isIPv6(text) && isIPv6(unzoned)) return { version: 6, value: parseIPv6(unzoned) };
  return undefined;
}

/**
 * Parses `address/prefix` (or a bare address, meaning /32 or /128). Throws a `TypeError` naming
 * the entry when it is not a CIDR, so configuration can be validated with it.
 */
export function parseCidr(entry: string): ParsedCidr {
  const slash = entry.indexOf('/');
  const address = parseAddress(slash === -1 ? entry : entry.slice(0, slash));
  const bits = address?.version === 4 ? 32 : 128;
  const prefixText = slash === -1 ? String(bits) : entry.slice(slash + 1);
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!address || !(prefix >= 0 && prefix <= bits) || entry.includes('%')) {
    throw new TypeError(`"${entry}" is not an IPv4 or IPv6 CIDR (e.g. 10.1.0.0/16, fd00::/8)`);
  }
  return { version: address.version, value: address.value & mask(address.version, prefix), prefix };
}

/** True when `address` lies inside `cidr` (same IP version only). */
export function cidrContains(cidr: ParsedCidr, address: ParsedAddress): boolean {
  return (
    cidr.version === address.version &&
    (address.value & mask(cidr.version, cidr.prefix)) === cidr.value
  );
}

/**
 * Classifies an address. IPv4-mapped (`::ffff:0:0/96`), NAT64 (`64:ff9b::/96`) and 6to4
 * (`2002::/16`) addresses take the category of the IPv4 address they carry. Every IPv6 address
 * outside global unicast (`2000::/3`) is non-public, and so are the IETF and documentation blocks
 * inside it (`2001::/23` with Teredo, `2001:db8::/32`, `3fff::/20`).
 */
export function classifyAddress(address: string | ParsedAddress): AddressCategory {
  const parsed = typeof address === 'string' ? parseAddress(address) : address;
  if (!parsed) return 'invalid';
  if (parsed.version === 4) return classify(IPV4_RANGES, parsed);
  const embedded = embeddedIPv4(parsed);
  if (embedded) return classify(IPV4_RANGES, embedded);
  return classify(IPV6_RANGES, parsed);
}

/**
 * The policy applied to every address a capability connects to: public addresses are allowed;
 * non-public ones (loopback, RFC 1918, link-local, CGNAT, unique-local, multicast, unspecified,
 * reserved, and their IPv4-mapped / NAT64 / 6to4 forms) only when inside one of
 * `allowedPrivateNetworks` (CIDRs; invalid entries are ignored, so they allow nothing). An
 * invalid address is never allowed.
 */
export function isAddressAllowed(
  address: string,
  allowedPrivateNetworks: readonly string[],
): boolean {
  const parsed = parseAddress(address);
  if (!parsed) return false;
  return isInNetworks(parsed, allowedPrivateNetworks) || classifyAddress(parsed) === 'public';
}

/**
 * True when `address` (or the IPv4 address an IPv4-mapped / NAT64 / 6to4 address carries, or the
 * IPv4-mapped form of an IPv4 address) is inside one of `networks`.
 */
export function isInNetworks(
  address: string | ParsedAddress,
  networks: readonly string[],
): boolean {
  const parsed = typeof address === 'string' ? parseAddress(address) : address;
  if (!parsed) return false;
  const forms = [parsed];
  if (parsed.version === 4) forms.push({ version: 6, value: IPV4_MAPPED_PREFIX | parsed.value });
  const embedded = parsed.version === 6 ? embeddedIPv4(parsed) : undefined;
  if (embedded) forms.push(embedded);
  for (const entry of networks) {
    let cidr: ParsedCidr;
    try {
      cidr = parseCidr(entry);
    } catch {
      continue;
    }
    if (forms.some((form) => cidrContains(cidr, form))) return true;
  }
  return false;
}

interface Range {
  cidr: ParsedCidr;
  category: Exclude<AddressCategory, 'invalid'>;
}

function classify(ranges: readonly Range[], address: ParsedAddress): AddressCategory {
  for (const range of ranges) if (cidrContains(range.cidr, address)) return range.category;
  return address.version === 4 ? 'public' : 'reserved';
}

const IPV4_MAPPED_PREFIX = 0xffffn << 32n;

/** IPv4 special-purpose blocks (IANA registry), most specific first where they overlap. */
const IPV4_RANGES: readonly Range[] = [
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'shared (CGNAT)'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'reserved'],
  ['192.0.2.0/24', 'documentation'],
  ['192.88.99.0/24', 'reserved'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'reserved'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['255.255.255.255/32', 'broadcast'],
  ['240.0.0.0/4', 'reserved'],
].map(([cidr, category]) => ({ cidr: parseCidr(cidr as string), category }) as Range);

/**
 * IPv6 blocks checked after the embedded-IPv4 forms; an address matching none is `reserved`
 * unless it is global unicast (the last entry).
 */
const IPV6_RANGES: readonly Range[] = [
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['fc00::/7', 'unique-local'],
  ['fe80::/10', 'link-local'],
  ['ff00::/8', 'multicast'],
  ['2001::/23', 'reserved'],
  ['2001:db8::/32', 'documentation'],
  ['3fff::/20', 'documentation'],
  ['2000::/3', 'public'],
].map(([cidr, category]) => ({ cidr: parseCidr(cidr as string), category }) as Range);

const EMBEDDING_PREFIXES: ReadonlyArray<{ cidr: ParsedCidr; shift: bigint }> = [
  { cidr: parseCidr('::ffff:0:0/96'), shift: 0n },
  { cidr: parseCidr('64:ff9b::/96'), shift: 0n },
  { cidr: parseCidr('2002::/16'), shift: 80n },
];

function embeddedIPv4(address: ParsedAddress): ParsedAddress | undefined {
  for (const { cidr, shift } of EMBEDDING_PREFIXES) {
    if (cidrContains(cidr, address)) {
      return { version: 4, value: (address.value >> shift) & 0xffffffffn };
    }
  }
  return undefined;
}

function mask(version: 4 | 6, prefix: number): bigint {
  const bits = version === 4 ? 32n : 128n;
  const all = (1n << bits) - 1n;
  return (all >> BigInt(prefix)) ^ all;
}

function parseIPv4(text: string): bigint {
  return text.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

/** `text` is already known to be valid IPv6 (node:net says so). */
function parseIPv6(text: string): bigint {
  let groups = text;
  const lastColon = groups.lastIndexOf(':');
  const tail = groups.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = Number(parseIPv4(tail));
    groups = `${groups.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const [head = '', rest] = groups.split('::');
  const headParts = head === '' ? [] : head.split(':');
  const restParts = rest === undefined || rest === '' ? [] : rest.split(':');
  const zeros = 8 - headParts.length - restParts.length;
  const all = [
    ...headParts,
    ...Array<string>(rest === undefined ? 0 : zeros).fill('0'),
    ...restParts,
  ];
  return all.reduce((acc, part) => (acc << 16n) | BigInt(parseInt(part, 16)), 0n);
}
