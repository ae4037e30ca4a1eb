import { AsyncResource } from 'node:async_hooks';
import type { Socket } from 'node:net';
import type { Readable, Transform } from 'node:stream';
import zlib from 'node:zlib';
import express from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { InvalidRequest } from '../errors.js';

/** A generous cap so a host's large assertions still reach it (spec §1). */
export const MAX_BODY_BYTES = 1024 * 1024;
const MAX_PARAMETERS = 1000;

const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';

type Charset = 'utf-8' | 'iso-8859-1';
type Done = (err?: unknown) => void;
type Parse = (text: string, charset: Charset) => unknown;

/**
 * Parses the token endpoint's body exactly as Express's `express.urlencoded({ extended: false })`
 * followed by `express.json({ strict: true })` (body-parser 2) would, so a request handed on to
 * the host carries the same `req.body`, and the host's own parsers skip the body already read.
 * Our own reader rather than theirs: type-is, raw-body, iconv-lite, qs and the second pass cost
 * about a tenth of an exchange. Only JSON in a UTF charset other than UTF-8, which needs
 * iconv-lite, is still read by `express.json()`. A body that cannot be parsed at all is
 * `400 invalid_request` whatever the grant.
 */
export function tokenEndpointBodyParser(): RequestHandler {
  const otherUtfJson = express.json({ limit: MAX_BODY_BYTES, strict: true });
  return function parseTokenRequestBody(req: Request, res: Response, next: NextFunction): void {
    parseBody(req, res, otherUtfJson, (err) => {
      if (err) return next(bodyError(err));
      if (!isPlainBody(req.body)) {
        return next(
          new InvalidRequest(
            'the request body must be application/x-www-form-urlencoded or application/json',
          ),
        );
      }
      next();
    });
  };
}

function isPlainBody(body: unknown): body is Record<string, unknown> {
  return typeof body === 'object' && body !== null && !Array.isArray(body);
}

/** A body error (with body-parser's `type`) as `400 invalid_request`, the cause kept for the log. */
export function bodyError(err: unknown): Error {
  const type = (err as { type?: string }).type;
  const described: Record<string, string> = {
    'entity.too.large': 'the request body is too large',
    'parameters.too.many': 'the request has too many parameters',
    'entity.parse.failed': 'the request body is not valid JSON',
    'charset.unsupported': 'the request body charset is not supported',
    'encoding.unsupported': 'the request body encoding is not supported',
    'request.aborted': 'the request body was aborted',
  };
  return new InvalidRequest(described[type ?? ''] ?? 'the request body could not be read', {
    privateCause: err instanceof Error ? err.message : String(err),
  });
}

/**
 * body-parser's `read()` for both of its parsers at once, in its order: a request already read
 * (by a host parser mounted before us, or whose socket is gone) is left alone, `req.body` exists
 * from then on, a request without a body or of another type is not read, and the charset is
 * checked before the content encoding.
 */
function parseBody(req: Request, res: Response, otherUtfJson: RequestHandler, done: Done): void {
  if (isFinished(req)) return done();
  if (!('body' in (req as object))) req.body = undefined;
  if (!hasBody(req)) return done();
  const header = req.headers['content-type'];
  if (!header) return done();
  const semicolon = header.indexOf(';');
  const type = header === FORM ? FORM : mediaType(header, semicolon);
  if (type !== FORM && type !== JSON_TYPE) return done();
  const charset =
    (semicolon === -1 ? undefined : charsetParameter(header, semicolon))?.toLowerCase() || 'utf-8';
  if (type === FORM) {
    if (charset !== 'utf-8' && charset !== 'iso-8859-1') return done(unsupportedCharset(charset));
    return readBody(req, charset, parseForm, done);
  }
  // RFC 7159 §8.1, as body-parser reads it.
  if (!charset.startsWith('utf-')) return done(unsupportedCharset(charset));
  if (charset !== 'utf-8') {
    otherUtfJson(req, res, done);
    return;
  }
  readBody(req, charset, parseJson, done);
}

/** on-finished's test, which body-parser uses to skip a request whose body is already read. */
function isFinished(req: Request): boolean {
  const socket = req.socket as Socket | null;
  return (
    Boolean((req as { upgrade?: unknown }).upgrade) ||
    !socket ||
    !socket.readable ||
    (req.complete && !req.readable)
  );
}

/** type-is's `hasBody`: any `Transfer-Encoding`, or a `Content-Length` that is a number. */
function hasBody(req: Request): boolean {
  return (
    req.headers['transfer-encoding'] !== undefined ||
    !Number.isNaN(Number(req.headers['content-length']))
  );
}

/**
 * The media type as content-type 2 parses it for type-is: up to the first `;`, spaces and tabs
 * trimmed, lower-cased (only an exact match of one of our two types is read).
 */
function mediaType(header: string, semicolon: number): string {
  const start = skipSpace(header, 0);
  return header
    .slice(start, trimSpace(header, start, semicolon === -1 ? header.length : semicolon))
    .toLowerCase();
}

/**
 * The first `charset` parameter as content-type 2 parses it: names case-insensitive, spaces and
 * tabs around names and unquoted values trimmed, a quoted value with backslash escapes (and
 * dropped when its quote is never closed), a parameter without `=` skipped.
 */
function charsetParameter(header: string, index: number): string | undefined {
  const length = header.length;
  parameter: while (index < length) {
    index = skipSpace(header, index + 1);
    const nameStart = index;
    while (index < length && header[index] !== '=') {
      if (header[index] === ';') continue parameter;
      index++;
    }
    if (index === length) break;
    const isCharset =
      header.slice(nameStart, trimSpace(header, nameStart, index)).toLowerCase() === 'charset';
    index = skipSpace(header, index + 1);
    if (header[index] === '"') {
      let value = '';
      index++;
      while (index < length) {
        const char = header[index++]!;
        if (char === '"') {
          if (isCharset) return value;
          index = skipParameter(header, index);
          continue parameter;
        }
        value += char === '\\' && index < length ? header[index++] : char;
      }
      break;
    }
    const valueStart = index;
    index = skipParameter(header, index);
    if (isCharset) return header.slice(valueStart, trimSpace(header, valueStart, index));
  }
  return undefined;
}

function skipSpace(header: string, index: number): number {
  while (index < header.length && isSpace(header.charCodeAt(index))) index++;
  return index;
}

function trimSpace(header: string, start: number, end: number): number {
  while (end > start && isSpace(header.charCodeAt(end - 1))) end--;
  return end;
}

function skipParameter(header: string, index: number): number {
  while (index < header.length && header[index] !== ';') index++;
  return index;
}

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/**
 * raw-body as body-parser drives it: `Content-Encoding` inflated (the limit then counts inflated
 * bytes), the declared length checked for an identity body, the rest of the request read off
 * before a reading error is reported, and `done` called in the caller's async context.
 */
function readBody(req: Request, charset: Charset, parse: Parse, callback: Done): void {
  const encoding = req.headers['content-encoding']?.toLowerCase() || 'identity';
  let inflate: Transform | undefined;
  let length: number | null = null;
  if (encoding === 'identity') {
    const declared = req.headers['content-length'];
    if (declared !== undefined && !Number.isNaN(Number(declared))) length = parseInt(declared, 10);
  } else {
    inflate = decompressor(encoding);
    if (!inflate) {
      return callback(
        httpError(415, `unsupported content encoding "${encoding}"`, 'encoding.unsupported'),
      );
    }
    req.pipe(inflate);
  }
  const context = new AsyncResource('tokenEndpointBodyParser');
  const done = (err?: unknown) => context.runInAsyncScope(callback, null, err);

  collect(inflate ?? req, length, (err, body) => {
    if (inflate) {
      req.unpipe(inflate);
      inflate.on('error', ignore);
      inflate.destroy();
    }
    if (err) return dump(req, () => done(err));
    if (inflate) req.resume();
    try {
      req.body = parse(decode(body!, charset), charset);
    } catch (parseError) {
      return done(
        (parseError as { type?: string }).type
          ? parseError
          : Object.assign(parseError as Error, { status: 400, type: 'entity.parse.failed' }),
      );
    }
    done();
  });
}

const { createZstdDecompress } = zlib as unknown as { createZstdDecompress?: () => Transform };

/** The encodings body-parser inflates: zstd only where this Node has it. */
function decompressor(encoding: string): Transform | undefined {
  switch (encoding) {
    case 'deflate':
      return zlib.createInflate();
    case 'gzip':
      return zlib.createGunzip();
    case 'br':
      return zlib.createBrotliDecompress();
    case 'zstd':
      return createZstdDecompress?.();
    default:
      return undefined;
  }
}

/**
 * raw-body's checks and limit. A small body usually comes in one chunk, which is handed on as is
 * rather than copied.
 */
function collect(
  stream: Readable,
  length: number | null,
  done: (err: unknown, body?: Buffer) => void,
): void {
  if (length !== null && length > MAX_BODY_BYTES) return done(tooLarge());
  if (stream.readableEncoding !== null) {
    return done(httpError(500, 'stream encoding should not be set', 'stream.encoding.set'));
  }
  if (!stream.readable) {
    return done(httpError(500, 'stream is not readable', 'stream.not.readable'));
  }

  let received = 0;
  let first: Buffer | undefined;
  let chunks: Buffer[] | undefined;
  const onData = (chunk: Buffer) => {
    received += chunk.length;
    if (received > MAX_BODY_BYTES) return finish(tooLarge());
    if (first === undefined) first = chunk;
    else (chunks ??= [first]).push(chunk);
  };
  const onEnd = (err?: unknown) => {
    if (err) return finish(err);
    if (length !== null && received !== length) {
      return finish(
        httpError(400, 'request size did not match content length', 'request.size.invalid'),
      );
    }
    finish(undefined, chunks ? Buffer.concat(chunks, received) : (first ?? EMPTY));
  };
  const onAborted = () => finish(httpError(400, 'request aborted', 'request.aborted'));
  const finish = (err: unknown, body?: Buffer) => {
    stream.off('aborted', onAborted);
    stream.off('data', onData);
    stream.off('end', onEnd);
    stream.off('error', onEnd);
    done(err, body);
  };
  stream.on('aborted', onAborted);
  stream.on('data', onData);
  stream.on('end', onEnd);
  stream.on('error', onEnd);
}

const EMPTY = Buffer.alloc(0);

function ignore(): void {}

/** body-parser's `dump`: waits until the rest of the request is read off (or its socket gone). */
function dump(req: Request, callback: () => void): void {
  if (isFinished(req)) return callback();
  const finished = () => {
    req.off('end', finished);
    req.off('close', finished);
    callback();
  };
  req.on('end', finished);
  req.on('close', finished);
  req.resume();
}

/** The text iconv-lite gives raw-body: a UTF-8 byte order mark dropped, latin1 byte for byte. */
function decode(body: Buffer, charset: Charset): string {
  if (charset === 'iso-8859-1') return body.toString('latin1');
  const text = body.toString();
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * `qs.parse()` as body-parser calls it for `extended: false` (depth 0, prototype keys allowed,
 * array limit never reached), without qs's general machinery. What that comes to: `%5B`/`%5D`
 * become brackets first; pairs split on `&`, then at a `]=` or else the first `=`; key and value
 * decoded (see {@link decodeComponent}); a repeated key collects its values in order. Then, keys
 * taken in the order of an object's own keys (integer-like first): one pair of wrapping brackets
 * goes (`[a]` is `a`), `[]` spreads its values over `0`, `1`, ..., an empty key and `__proto__`
 * are dropped, and a key met again under another spelling gets the values appended, but not an
 * empty string (qs's merge skips it). Without any `]`, keys are taken as they are, in one pass.
 */
function parseForm(text: string, charset: Charset): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  if (text.length === 0) return result;
  const source = text.includes('%5') ? text.replace(/%5B/gi, '[').replace(/%5D/gi, ']') : text;
  const parts = source.split('&', MAX_PARAMETERS + 1);
  if (parts.length > MAX_PARAMETERS) {
    throw httpError(413, 'too many parameters', 'parameters.too.many');
  }
  const escaped = source.includes('%') || source.includes('+');
  const bracketed = source.includes(']');

  const values: Record<string, string | string[]> = bracketed ? Object.create(null) : result;
  for (const part of parts) {
    const bracketEquals = bracketed ? part.indexOf(']=') : -1;
    const at = bracketEquals === -1 ? part.indexOf('=') : bracketEquals + 1;
    let key = at === -1 ? part : part.slice(0, at);
    let value = at === -1 ? '' : part.slice(at + 1);
    if (escaped) {
      key = decodeComponent(key, charset);
      value = decodeComponent(value, charset);
    }
    if (bracketed || (key !== '' && key !== '__proto__')) collectValue(values, key, value);
  }
  if (!bracketed) return result;

  for (const key of Object.keys(values)) {
    const value = values[key]!;
    if (key === '[]') {
      const spread = typeof value === 'string' ? [value] : value;
      spread.forEach((item, index) => addValue(result, String(index), item));
      continue;
    }
    const name = key.startsWith('[') && key.endsWith(']') ? key.slice(1, -1) : key;
    if (name !== '' && name !== '__proto__') addValue(result, name, value);
  }
  return result;
}

/** qs's first pass: the values of a repeated key, in order. */
function collectValue(values: Record<string, unknown>, key: string, value: string): void {
  const previous = values[key];
  // Only an inherited name (`toString`, ...) is worth the own-property check.
  if (previous === undefined || !Object.hasOwn(values, key)) values[key] = value;
  else if (typeof previous === 'string') values[key] = [previous, value];
  else (previous as string[]).push(value);
}

/**
 * qs's decoder: `+` is a space; in UTF-8 a malformed escape leaves the whole string undecoded;
 * in ISO-8859-1 each `%XX` is that byte.
 */
function decodeComponent(encoded: string, charset: Charset): string {
  const spaced = encoded.includes('+') ? encoded.replaceAll('+', ' ') : encoded;
  if (!spaced.includes('%')) return spaced;
  if (charset === 'iso-8859-1') {
    return spaced.replace(/%[0-9a-f]{2}/gi, (escape) =>
      String.fromCharCode(parseInt(escape.slice(1), 16)),
    );
  }
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

function addValue(result: Record<string, unknown>, name: string, value: string | string[]): void {
  if (!Object.hasOwn(result, name)) {
    result[name] = value;
    return;
  }
  if (value === '') return;
  const existing = result[name] as string | string[];
  result[name] = (typeof existing === 'string' ? [existing] : existing).concat(value);
}

/**
 * body-parser's strict JSON: an empty body is `{}`; a body that does not start (after JSON
 * whitespace) with an object or array is refused with the message JSON.parse gives there.
 */
function parseJson(text: string): unknown {
  if (text.length === 0) return {};
  if (text[0] !== '{' && text[0] !== '[') {
    const first = firstNonWhitespace(text);
    if (first !== '{' && first !== '[') throw strictViolation(text, first);
  }
  return JSON.parse(text);
}

function firstNonWhitespace(text: string): string | undefined {
  let index = 0;
  while (index < text.length && ' \t\n\r'.includes(text[index]!)) index++;
  return text[index];
}

/**
 * body-parser's message for a strict violation: JSON.parse's own error for the text with
 * everything from the offending character on masked, then unmasked.
 */
function strictViolation(text: string, first: string | undefined): SyntaxError {
  const index = first === undefined ? -1 : text.indexOf(first);
  const masked = index === -1 ? '' : text.slice(0, index) + '#'.repeat(text.length - index);
  let message = 'strict violation';
  try {
    JSON.parse(masked);
  } catch (err) {
    message = (err as SyntaxError).message;
  }
  return new SyntaxError(
    message.replace(/#+/g, (mask) => text.substring(index, index + mask.length)),
  );
}

function unsupportedCharset(charset: string): Error {
  return httpError(415, `unsupported charset "${charset.toUpperCase()}"`, 'charset.unsupported');
}

function tooLarge(): Error {
  return httpError(413, 'request entity too large', 'entity.too.large');
}

/** An error as body-parser's http-errors make it, for {@link bodyError}. */
function httpError(status: number, message: string, type: string): Error {
  return Object.assign(new Error(message), { status, type });
}
