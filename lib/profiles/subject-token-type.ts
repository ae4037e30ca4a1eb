/**
 * Rules for a profile's `subject_token_type` (Auth0's): an absolute URI starting with `https://`
 * or `urn:`, 8–100 characters, outside the namespaces Auth0 and Okta keep for themselves and the
 * IETF's token types (which the host server's own grants serve).
 */

/**
 * Namespaces no profile may claim, lower-case. Matched as plain prefixes, case-insensitively, so
 * `https://auth0.com.example.org` and `urn:ietfx:…` are reserved too: that is the literal reading
 * of Auth0's rule, and it keeps look-alike hosts out at the cost of a few harmless values.
 */
export const RESERVED_SUBJECT_TOKEN_TYPE_PREFIXES: readonly string[] = Object.freeze([
  'http://auth0.com',
  'https://auth0.com',
  'http://okta.com',
  'https://okta.com',
  'urn:ietf',
  'urn:auth0',
  'urn:okta',
]);

/** Shortest `subject_token_type`, in characters. */
export const MIN_SUBJECT_TOKEN_TYPE_LENGTH = 8;
/** Longest `subject_token_type`, in characters. */
export const MAX_SUBJECT_TOKEN_TYPE_LENGTH = 100;

// RFC 8141: `urn:` NID `:` NSS, the NID 2–32 letters, digits and inner hyphens.
const URN = /^urn:[a-z0-9][a-z0-9-]{0,30}[a-z0-9]:[^\s]+$/i;

/**
 * `true` when `type` falls in a reserved namespace (any case). The router hands such requests to
 * the host server, and profiles cannot claim them.
 */
export function isReservedSubjectTokenType(type: string): boolean {
  const lower = type.toLowerCase();
  return RESERVED_SUBJECT_TOKEN_TYPE_PREFIXES.some((prefix) => lower.startsWith(prefix));
}

/** The reserved prefix `type` falls under (lower-case), or `undefined`. */
export function reservedPrefixOf(type: string): string | undefined {
  const lower = type.toLowerCase();
  return RESERVED_SUBJECT_TOKEN_TYPE_PREFIXES.find((prefix) => lower.startsWith(prefix));
}

/**
 * Why `type` is not a `subject_token_type` URI, as the end of a sentence starting with
 * `subject_token_type` (`must be a URN ...`), or `undefined` for an absolute `https://` URI with
 * a host or an RFC 8141 URN, schemes in any case. Length and reserved namespaces are separate
 * checks.
 */
export function subjectTokenTypeUriProblem(type: string): string | undefined {
  if (hasUnsafeCharacter(type)) return 'must not contain whitespace or control characters';
  if (/^urn:/i.test(type)) {
    return URN.test(type)
      ? undefined
      : 'must be a URN urn:<namespace>:<name>, its namespace 2 to 32 letters, digits or inner hyphens (RFC 8141)';
  }
  if (!/^https:\/\//i.test(type)) return 'must be an absolute URI starting with https:// or urn:';
  try {
    if (new URL(type).hostname !== '') return undefined;
  } catch {
    // Reported below, as a URL without a host is.
  }
  return 'must be a valid https:// URL with a host';
}

// Whitespace and control characters: `new URL()` would quietly strip or encode them, and a
// request could never send the exact value back.
function hasUnsafeCharacter(type: string): boolean {
  for (let i = 0; i < type.length; i++) {
    const code = type.charCodeAt(i);
    if (code <= 0x20 || code === 0x7f) return true;
  }
  return /\s/.test(type);
}
