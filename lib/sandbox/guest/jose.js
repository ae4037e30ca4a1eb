// Guest code (see encoding.js): what `require('jose')` returns, built once per context. Keys
// cannot cross the sandbox, so the facade's key functions return handles the guest maps (in a
// private WeakMap) to plain key descriptors; jwtVerify sends the token, the descriptor and the
// options to the host's `jose.jwtVerify` capability, which runs the real jose. decodeJwt and
// decodeProtectedHeader are pure and run in the guest (they are synchronous in jose), refusing
// JSON too large or too deeply nested before parsing it. Errors coming back from the host become
// instances of the classes in `errors`, named and coded as jose's, so
// `err instanceof errors.JWTExpired` and `err.code === 'ERR_JWT_EXPIRED'` both work.

class JOSEError extends Error {
  static code = 'ERR_JOSE_GENERIC';
  code = 'ERR_JOSE_GENERIC';
  constructor(message, options) {
    super(message, options);
    this.name = this.constructor.name;
  }
}

// The claim details both claim errors carry. Not exported: as in jose, JWTExpired is not a
// JWTClaimValidationFailed, so neither may extend the other.
class ClaimError extends JOSEError {
  claim;
  reason;
  payload;
  constructor(message, payload, claim, reason) {
    const details = {
      claim: claim === undefined ? 'unspecified' : claim,
      reason: reason === undefined ? 'unspecified' : reason,
      payload: payload,
    };
    super(message, { cause: details });
    this.claim = details.claim;
    this.reason = details.reason;
    this.payload = payload;
  }
}

/**
 * A jose error class: named `name` (so `err.name` and `constructor.name` are jose's), with jose's
 * `code` on the class and on each instance, and jose's message when none is given.
 * @param {typeof JOSEError} Base
 * @param {string} name
 * @param {string} errorCode
 * @param {string | undefined} defaultMessage
 */
function joseErrorClass(Base, name, errorCode, defaultMessage) {
  const named = {
    [name]: class extends Base {
      static code = errorCode;
      code = errorCode;
      /** @param {any[]} rest */
      constructor(message, ...rest) {
        super(message === undefined ? defaultMessage : message, ...rest);
      }
    },
  };
  return named[name];
}

/** @type {Record<string, typeof JOSEError>} */
const joseErrors = { JOSEError: JOSEError };
/** @type {Array<[string, string, string?, boolean?]>} [name, code, default message, claim error] */
const JOSE_ERROR_TABLE = [
  ['JWTClaimValidationFailed', 'ERR_JWT_CLAIM_VALIDATION_FAILED', undefined, true],
  ['JWTExpired', 'ERR_JWT_EXPIRED', undefined, true],
  ['JOSEAlgNotAllowed', 'ERR_JOSE_ALG_NOT_ALLOWED'],
  ['JOSENotSupported', 'ERR_JOSE_NOT_SUPPORTED'],
  ['JWEDecryptionFailed', 'ERR_JWE_DECRYPTION_FAILED', 'decryption operation failed'],
  ['JWEInvalid', 'ERR_JWE_INVALID'],
  ['JWSInvalid', 'ERR_JWS_INVALID'],
  ['JWTInvalid', 'ERR_JWT_INVALID'],
  ['JWKInvalid', 'ERR_JWK_INVALID'],
  ['JWKSInvalid', 'ERR_JWKS_INVALID'],
  [
    'JWKSNoMatchingKey',
    'ERR_JWKS_NO_MATCHING_KEY',
    'no applicable key found in the JSON Web Key Set',
  ],
  [
    'JWKSMultipleMatchingKeys',
    'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
    'multiple matching keys found in the JSON Web Key Set',
  ],
  ['JWKSTimeout', 'ERR_JWKS_TIMEOUT', 'request timed out'],
  [
    'JWSSignatureVerificationFailed',
    'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    'signature verification failed',
  ],
];
for (let i = 0; i < JOSE_ERROR_TABLE.length; i++) {
  const [name, errorCode, defaultMessage, claimError] = JOSE_ERROR_TABLE[i];
  joseErrors[name] = joseErrorClass(
    claimError ? ClaimError : JOSEError,
    name,
    errorCode,
    defaultMessage,
  );
}

const STANDARD_ERRORS = {
  Error: Error,
  TypeError: TypeError,
  RangeError: RangeError,
  SyntaxError: SyntaxError,
};

// A host error's plain data ({ name, code, message, claim?, reason? }) as a guest error.
function toGuestError(data) {
  const info = data !== null && typeof data === 'object' ? data : { message: String(data) };
  const name = typeof info.name === 'string' ? info.name : 'Error';
  const message = typeof info.message === 'string' ? info.message : 'host call failed';
  let error;
  if (Object.hasOwn(joseErrors, name)) {
    const JoseClass = /** @type {any} */ (joseErrors[name]);
    error =
      name === 'JWTClaimValidationFailed' || name === 'JWTExpired'
        ? new JoseClass(message, undefined, info.claim, info.reason)
        : new JoseClass(message);
  } else if (Object.hasOwn(STANDARD_ERRORS, name)) {
    error = new STANDARD_ERRORS[name](message);
  } else {
    error = new Error(message);
    error.name = name;
  }
  if (typeof info.code === 'string') error.code = info.code;
  if (typeof info.claim === 'string') error.claim = info.claim;
  if (typeof info.reason === 'string') error.reason = info.reason;
  return error;
}

const keyDescriptors = new WeakMap();

class ImportedKey {
  #type;
  #algorithm;
  constructor(type, algorithm) {
    this.#type = type;
    this.#algorithm = algorithm;
  }
  get type() {
    return this.#type;
  }
  get algorithm() {
    return { name: this.#algorithm };
  }
  get extractable() {
    return false;
  }
  get usages() {
    return this.#type === 'private' ? ['sign'] : ['verify'];
  }
  get [Symbol.toStringTag]() {
    return 'CryptoKey';
  }
}

function isPlainRecord(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function keySetUsageError() {
  return Promise.reject(
    new TypeError('in actions, a JSON Web Key Set is used by passing it to jwtVerify'),
  );
}

function createRemoteJWKSet(url, options) {
  let href;
  if (url instanceof URL) href = url.href;
  else if (typeof url === 'string' && URL.canParse(url)) href = new URL(url).href;
  else throw new TypeError('createRemoteJWKSet: url must be a URL (or an absolute URL string)');
  const descriptor = { kind: 'remote-jwks', url: href };
  if (options !== undefined && options !== null) {
    if (typeof options !== 'object')
      throw new TypeError('createRemoteJWKSet: options must be an object');
    const picked = {};
    const names = ['cooldownDuration', 'cacheMaxAge', 'timeoutDuration'];
    for (let i = 0; i < names.length; i++)
      if (options[names[i]] !== undefined) picked[names[i]] = options[names[i]];
    descriptor.options = picked;
  }
  const keySet = function remoteJWKSet() {
    return keySetUsageError();
  };
  keyDescriptors.set(keySet, descriptor);
  return Object.freeze(keySet);
}

function createLocalJWKSet(jwks) {
  if (!isPlainRecord(jwks) || !Array.isArray(jwks.keys))
    throw new joseErrors.JWKSInvalid('JSON Web Key Set malformed');
  const keySet = function localJWKSet() {
    return keySetUsageError();
  };
  keyDescriptors.set(keySet, { kind: 'local-jwks', jwks: { keys: jwks.keys } });
  return Object.freeze(keySet);
}

function importedKey(descriptor, type, algorithm) {
  return invoke('jose.checkKey', [descriptor]).then(function () {
    const key = new ImportedKey(type, algorithm);
    keyDescriptors.set(key, descriptor);
    return Object.freeze(key);
  });
}

function importJWK(jwk, alg) {
  try {
    if (!isPlainRecord(jwk)) throw new TypeError('JWK must be an object');
    const algorithm = alg === undefined ? jwk.alg : alg;
    if (jwk.kty === 'oct') {
      if (typeof jwk.k !== 'string') throw new TypeError('missing "k" (Key Value) Parameter value');
      const bytes = base64ToBytes(jwk.k);
      if (bytes === null) throw new TypeError('invalid "k" (Key Value) Parameter value');
      return Promise.resolve(bytes);
    }
    const descriptor = { kind: 'jwk', jwk: jwk };
    if (typeof algorithm === 'string') descriptor.alg = algorithm;
    return importedKey(descriptor, jwk.d === undefined ? 'public' : 'private', algorithm);
  } catch (error) {
    return Promise.reject(error);
  }
}

function importSPKI(spki, alg) {
  if (typeof spki !== 'string' || spki.indexOf('-----BEGIN PUBLIC KEY-----') !== 0) {
    return Promise.reject(new TypeError('"spki" must be SPKI formatted string'));
  }
  if (typeof alg !== 'string')
    return Promise.reject(new TypeError('"alg" argument is required when "key" is not a JWK'));
  return importedKey({ kind: 'spki', pem: spki, alg: alg }, 'public', alg);
}

function keyDescriptorOf(key) {
  if ((typeof key === 'object' && key !== null) || typeof key === 'function') {
    const known = keyDescriptors.get(key);
    if (known !== undefined) return known;
  }
  if (key instanceof ArrayBuffer || ArrayBuffer.isView(key)) {
    return { kind: 'secret', base64url: bytesToBase64(toByteView(key, 'key'), true) };
  }
  if (isPlainRecord(key) && typeof key.kty === 'string') return { kind: 'jwk', jwk: key };
  return undefined;
}

const KEY_HELP =
  'a key from createRemoteJWKSet, createLocalJWKSet, importJWK or importSPKI, a JWK object, a Uint8Array secret, or a function returning one of these';

function verifyOptions(options) {
  if (options === undefined || options === null) return undefined;
  if (typeof options !== 'object') throw new TypeError('jwtVerify: options must be an object');
  const picked = {};
  const names = [
    'algorithms',
    'issuer',
    'audience',
    'typ',
    'subject',
    'clockTolerance',
    'maxTokenAge',
    'requiredClaims',
  ];
  for (let i = 0; i < names.length; i++)
    if (options[names[i]] !== undefined) picked[names[i]] = options[names[i]];
  const currentDate = options.currentDate;
  if (currentDate !== undefined)
    picked.currentDate = currentDate instanceof Date ? currentDate.getTime() : currentDate;
  return picked;
}

async function jwtVerify(jwt, key, options) {
  let token = jwt;
  if (token instanceof Uint8Array) token = utf8Decode(token, false);
  if (typeof token !== 'string')
    throw new joseErrors.JWSInvalid('Compact JWS must be a string or Uint8Array');
  let descriptor = keyDescriptorOf(key);
  if (descriptor === undefined && typeof key === 'function') {
    // jose calls a key function with the protected header; so do we, before going to the host.
    let header;
    try {
      header = decodeProtectedHeader(token);
    } catch (error) {
      throw new joseErrors.JWSInvalid('Invalid Token or Protected Header formatting');
    }
    const parts = compactSegments(token);
    descriptor = keyDescriptorOf(await key(header, { payload: parts[1], signature: parts[2] }));
  }
  if (descriptor === undefined) throw new TypeError('jwtVerify: the key must be ' + KEY_HELP);
  const result = await invoke('jose.jwtVerify', [token, descriptor, verifyOptions(options)]);
  return { payload: result.payload, protectedHeader: result.protectedHeader };
}

// Header and payload JSON of a JWT is refused beyond these before it is decoded or parsed: real
// tokens are a few kB and a few levels deep, and a huge or deeply nested one only costs CPU.
const MAX_JWT_JSON_CHARS = 64 * 1024;
const MAX_JWT_JSON_DEPTH = 64;

// The dot-separated segments of a compact serialization, without splitting a huge string into
// pieces: at most six are looked for (five is a JWE, more is nothing jose decodes).
function compactSegments(token) {
  const segments = [];
  let start = 0;
  while (segments.length < 6) {
    const dot = token.indexOf('.', start);
    if (dot === -1) {
      segments.push(token.slice(start));
      break;
    }
    segments.push(token.slice(start, dot));
    start = dot + 1;
  }
  return segments;
}

// The JSON text of one base64url segment, or a reason it is refused.
function jwtJsonText(segment, what) {
  if (segment.length > Math.ceil((MAX_JWT_JSON_CHARS * 4) / 3) + 4) {
    return {
      refused: 'the ' + what + ' is larger than ' + MAX_JWT_JSON_CHARS + ' bytes',
      overLimit: true,
    };
  }
  const bytes = base64ToBytes(segment);
  if (bytes === null)
    return { refused: 'Failed to base64url decode the ' + what, overLimit: false };
  const text = utf8Decode(bytes, false);
  if (jsonNestingExceeds(text, MAX_JWT_JSON_DEPTH)) {
    return {
      refused: 'the ' + what + ' is nested deeper than ' + MAX_JWT_JSON_DEPTH + ' levels',
      overLimit: true,
    };
  }
  return { text: text, refused: undefined, overLimit: false };
}

function decodeJwt(jwt) {
  if (typeof jwt !== 'string')
    throw new joseErrors.JWTInvalid(
      'JWTs must use Compact JWS serialization, JWT must be a string',
    );
  const parts = compactSegments(jwt);
  if (parts.length === 5)
    throw new joseErrors.JWTInvalid('Only JWTs using Compact JWS serialization can be decoded');
  if (parts.length !== 3) throw new joseErrors.JWTInvalid('Invalid JWT');
  if (!parts[1]) throw new joseErrors.JWTInvalid('JWTs must contain a payload');
  const json = jwtJsonText(parts[1], 'payload');
  if (json.refused !== undefined) throw new joseErrors.JWTInvalid(json.refused);
  let claims;
  try {
    claims = JSON.parse(json.text);
  } catch (error) {
    throw new joseErrors.JWTInvalid('Failed to parse the decoded payload as JSON');
  }
  if (!isPlainRecord(claims)) throw new joseErrors.JWTInvalid('Invalid JWT Claims Set');
  return claims;
}

function decodeProtectedHeader(token) {
  let segment;
  if (typeof token === 'string') segment = compactSegments(token)[0];
  else if (isPlainRecord(token)) segment = token.protected;
  else throw new TypeError('Token must be a string or an object');
  const invalid = 'Invalid Token or Protected Header formatting';
  if (typeof segment !== 'string' || segment === '') throw new TypeError(invalid);
  const json = jwtJsonText(segment, 'protected header');
  if (json.refused !== undefined) {
    throw new TypeError(json.overLimit ? invalid + ': ' + json.refused : invalid);
  }
  let header;
  try {
    header = JSON.parse(json.text);
  } catch (error) {
    throw new TypeError(invalid);
  }
  if (!isPlainRecord(header)) throw new TypeError(invalid);
  return header;
}

const joseBase64url = {
  encode(input) {
    return bytesToBase64(
      typeof input === 'string' ? utf8Encode(input) : toByteView(input, 'input'),
      true,
    );
  },
  decode(input) {
    const bytes = base64ToBytes(
      typeof input === 'string' ? input : utf8Decode(toByteView(input, 'input'), false),
    );
    if (bytes === null) throw new TypeError('The input to be decoded is not correctly encoded.');
    return bytes;
  },
};
const joseFacade = {
  jwtVerify: jwtVerify,
  createRemoteJWKSet: createRemoteJWKSet,
  createLocalJWKSet: createLocalJWKSet,
  importJWK: importJWK,
  importSPKI: importSPKI,
  decodeJwt: decodeJwt,
  decodeProtectedHeader: decodeProtectedHeader,
  base64url: joseBase64url,
  errors: joseErrors,
};
