// Guest code: runs inside an action's isolate, never in Node (see guest-source.ts for how the files
// become one prelude). UTF-8 and base64 in plain JavaScript, since V8 alone has neither: the
// TextEncoder, TextDecoder, atob and btoa globals and the helpers the other guest files share.
// Pure data transformations, no host call.

function utf8Encode(input) {
  const text = String(input);
  const length = text.length;
  const out = new Uint8Array(length * 3);
  let position = 0;
  for (let i = 0; i < length; i++) {
    let code = text.charCodeAt(i);
    if (code < 0x80) {
      out[position++] = code;
      continue;
    }
    if (code >= 0xd800 && code <= 0xdfff) {
      const next = i + 1 < length ? text.charCodeAt(i + 1) : 0;
      if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else {
        code = 0xfffd;
      }
    }
    if (code < 0x800) {
      out[position++] = 0xc0 | (code >> 6);
      out[position++] = 0x80 | (code & 0x3f);
    } else if (code < 0x10000) {
      out[position++] = 0xe0 | (code >> 12);
      out[position++] = 0x80 | ((code >> 6) & 0x3f);
      out[position++] = 0x80 | (code & 0x3f);
    } else {
      out[position++] = 0xf0 | (code >> 18);
      out[position++] = 0x80 | ((code >> 12) & 0x3f);
      out[position++] = 0x80 | ((code >> 6) & 0x3f);
      out[position++] = 0x80 | (code & 0x3f);
    }
  }
  return out.slice(0, position);
}

// WHATWG UTF-8 decode: maximal subparts of invalid sequences become U+FFFD (or throw when fatal).
function utf8Decode(bytes, fatal) {
  const chunks = [];
  let units = [];
  const flush = function () {
    chunks.push(String.fromCharCode.apply(null, units));
    units = [];
  };
  const invalid = function () {
    if (fatal) throw new TypeError('The encoded data was not valid for encoding utf-8');
    units.push(0xfffd);
  };
  const length = bytes.length;
  let i = 0;
  while (i < length) {
    if (units.length >= 8192) flush();
    const lead = bytes[i];
    if (lead < 0x80) {
      units.push(lead);
      i++;
      continue;
    }
    let needed;
    let code;
    if (lead >= 0xc2 && lead <= 0xdf) {
      needed = 1;
      code = lead & 0x1f;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      needed = 2;
      code = lead & 0x0f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      needed = 3;
      code = lead & 0x07;
    } else {
      invalid();
      i++;
      continue;
    }
    let lower = 0x80;
    let upper = 0xbf;
    if (lead === 0xe0) lower = 0xa0;
    else if (lead === 0xed) upper = 0x9f;
    else if (lead === 0xf0) lower = 0x90;
    else if (lead === 0xf4) upper = 0x8f;
    let seen = 1;
    for (; seen <= needed; seen++) {
      const next = i + seen < length ? bytes[i + seen] : -1;
      if (next < (seen === 1 ? lower : 0x80) || next > (seen === 1 ? upper : 0xbf)) break;
      code = (code << 6) | (next & 0x3f);
    }
    if (seen <= needed) {
      invalid();
      i += seen;
      continue;
    }
    if (code > 0xffff) {
      code -= 0x10000;
      units.push(0xd800 + (code >> 10), 0xdc00 + (code & 0x3ff));
    } else {
      units.push(code);
    }
    i += needed + 1;
  }
  flush();
  return chunks.length === 1 ? chunks[0] : chunks.join('');
}

function toByteView(input, what) {
  if (input instanceof Uint8Array) return input;
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  if (ArrayBuffer.isView(input))
    return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  throw new TypeError(what + ' must be an ArrayBuffer or an ArrayBufferView');
}

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const BASE64_VALUES = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) {
  BASE64_VALUES[BASE64_ALPHABET.charCodeAt(i)] = i;
  BASE64_VALUES[BASE64URL_ALPHABET.charCodeAt(i)] = i;
}

function bytesToBase64(bytes, url) {
  const alphabet = url ? BASE64URL_ALPHABET : BASE64_ALPHABET;
  const parts = [];
  let chunk = '';
  const length = bytes.length;
  let i = 0;
  for (; i + 2 < length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    chunk +=
      alphabet[n >> 18] + alphabet[(n >> 12) & 63] + alphabet[(n >> 6) & 63] + alphabet[n & 63];
    if (chunk.length >= 8192) {
      parts.push(chunk);
      chunk = '';
    }
  }
  if (i < length) {
    const n = (bytes[i] << 16) | (i + 1 < length ? bytes[i + 1] << 8 : 0);
    chunk += alphabet[n >> 18] + alphabet[(n >> 12) & 63];
    if (i + 1 < length) chunk += alphabet[(n >> 6) & 63];
    else if (!url) chunk += '=';
    if (!url) chunk += '=';
  }
  parts.push(chunk);
  return parts.join('');
}

// Decodes base64 or base64url (both alphabets accepted, padding optional); null when malformed.
function base64ToBytes(text) {
  let length = text.length;
  while (length > 0 && text.charCodeAt(length - 1) === 61) length--;
  if (text.length - length > 2 || length % 4 === 1) return null;
  const out = new Uint8Array(Math.floor((length * 3) / 4));
  let position = 0;
  let buffer = 0;
  let bits = 0;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    const value = code < 128 ? BASE64_VALUES[code] : -1;
    if (value < 0) return null;
    buffer = (buffer << 6) | value;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[position++] = (buffer >> bits) & 0xff;
    }
  }
  return position === out.length ? out : out.slice(0, position);
}

function invalidCharacter(message) {
  const error = new Error(message);
  error.name = 'InvalidCharacterError';
  return error;
}

function btoa(data) {
  if (arguments.length === 0) throw new TypeError('btoa: 1 argument required');
  const text = String(data);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff)
      throw invalidCharacter('btoa: the string contains characters outside of the Latin1 range');
    bytes[i] = code;
  }
  return bytesToBase64(bytes, false);
}

function atob(data) {
  if (arguments.length === 0) throw new TypeError('atob: 1 argument required');
  const text = String(data).replace(/[\t\n\f\r ]/g, '');
  if (/[-_]/.test(text) || (text.length % 4 !== 0 && /=/.test(text))) {
    throw invalidCharacter('atob: the string to be decoded is not correctly encoded');
  }
  const bytes = base64ToBytes(text);
  if (bytes === null)
    throw invalidCharacter('atob: the string to be decoded is not correctly encoded');
  const chunks = [];
  for (let i = 0; i < bytes.length; i += 8192) {
    chunks.push(String.fromCharCode.apply(null, /** @type {any} */ (bytes.subarray(i, i + 8192))));
  }
  return chunks.join('');
}

class TextEncoder {
  get encoding() {
    return 'utf-8';
  }
  encode(input) {
    return utf8Encode(input === undefined ? '' : input);
  }
  encodeInto(source, destination) {
    if (!(destination instanceof Uint8Array))
      throw new TypeError('encodeInto: the destination must be a Uint8Array');
    const text = String(source);
    let read = 0;
    let written = 0;
    for (const character of text) {
      const bytes = utf8Encode(character);
      if (written + bytes.length > destination.length) break;
      destination.set(bytes, written);
      written += bytes.length;
      read += character.length;
    }
    return { read: read, written: written };
  }
}

class TextDecoder {
  #fatal;
  #ignoreBOM;
  constructor(label, options) {
    const name = label === undefined ? 'utf-8' : String(label).trim().toLowerCase();
    if (name !== 'utf-8' && name !== 'utf8' && name !== 'unicode-1-1-utf-8') {
      throw new RangeError(
        'TextDecoder: the "' + name + '" encoding is not supported in actions (only utf-8)',
      );
    }
    this.#fatal = Boolean(options && options.fatal);
    this.#ignoreBOM = Boolean(options && options.ignoreBOM);
  }
  get encoding() {
    return 'utf-8';
  }
  get fatal() {
    return this.#fatal;
  }
  get ignoreBOM() {
    return this.#ignoreBOM;
  }
  decode(input, options) {
    if (options && options.stream)
      throw new TypeError('TextDecoder: streaming is not supported in actions');
    if (input === undefined) return '';
    let bytes = toByteView(input, 'TextDecoder.decode: the input');
    if (
      !this.#ignoreBOM &&
      bytes.length >= 3 &&
      bytes[0] === 0xef &&
      bytes[1] === 0xbb &&
      bytes[2] === 0xbf
    ) {
      bytes = bytes.subarray(3);
    }
    return utf8Decode(bytes, this.#fatal);
  }
}
