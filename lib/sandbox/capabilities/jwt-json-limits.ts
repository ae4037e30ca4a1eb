import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compileFunction } from 'node:vm';
import { CapabilityError } from './capability-error.js';

/** Bytes of JSON a JWT's protected header or payload may decode to. */
export const MAX_JWT_JSON_BYTES = 64 * 1024;
/** Nesting a JWT's protected header or payload may have. */
export const MAX_JWT_JSON_DEPTH = 64;

/** Base64url characters of a segment that decodes to at most {@link MAX_JWT_JSON_BYTES}. */
const MAX_SEGMENT_LENGTH = Math.ceil((MAX_JWT_JSON_BYTES * 4) / 3) + 4;

let nestingCheck: ((text: string, limit: number) => boolean) | undefined;

/**
 * The guest's `jsonNestingExceeds` (guest/json-nesting.js: true when brackets outside JSON
 * strings in a text nest deeper than a limit), so that the host refuses the same texts as the
 * guest with one definition. The file is a script declaring the function; it runs here once, on
 * first use, as the body of a function that returns it (the file ships next to this module, see
 * `npm run build`).
 */
function nestingExceeds(text: string, limit: number): boolean {
  if (nestingCheck === undefined) {
    const source = new URL('../guest/json-nesting.js', import.meta.url);
    const load = compileFunction(
      `${readFileSync(source, 'utf8')}\nreturn jsonNestingExceeds;`,
      [],
      { filename: fileURLToPath(source) },
    ) as () => (text: string, limit: number) => boolean;
    nestingCheck = load();
  }
  return nestingCheck(text, limit);
}

/**
 * Refuses a compact JWT whose protected header or payload is JSON larger or more deeply nested than
 * real tokens ever are, before jose (or anything) parses it: JSON.parse of a text nested tens of
 * thousands of levels deep holds the event loop for tens of milliseconds, and nothing can stop it.
 * @throws CapabilityError `ERR_JWS_INVALID` (header) or `ERR_JWT_INVALID` (payload), named as jose's
 */
export function checkJwtJson(token: string): void {
  const headerEnd = token.indexOf('.');
  if (headerEnd === -1) return;
  checkSegment(token.slice(0, headerEnd), 'protected header', 'JWSInvalid', 'ERR_JWS_INVALID');
  const payloadEnd = token.indexOf('.', headerEnd + 1);
  const payload = token.slice(headerEnd + 1, payloadEnd === -1 ? undefined : payloadEnd);
  checkSegment(payload, 'payload', 'JWTInvalid', 'ERR_JWT_INVALID');
}

function checkSegment(segment: string, what: string, name: string, code: string): void {
  if (segment.length > MAX_SEGMENT_LENGTH) {
    throw new CapabilityError(
      code,
      `the JWT's ${what} is larger than ${MAX_JWT_JSON_BYTES} bytes`,
      {
        name,
      },
    );
  }
  // Fewer characters than the depth limit cannot nest beyond it.
  if ((segment.length * 3) >> 2 <= MAX_JWT_JSON_DEPTH) return;
  // Latin-1 keeps every byte one character: UTF-8 sequences never contain ASCII brackets or quotes.
  if (nestingExceeds(Buffer.from(segment, 'base64url').toString('latin1'), MAX_JWT_JSON_DEPTH)) {
    throw new CapabilityError(
      code,
      `the JWT's ${what} is nested deeper than ${MAX_JWT_JSON_DEPTH} levels`,
      { name },
    );
  }
}
