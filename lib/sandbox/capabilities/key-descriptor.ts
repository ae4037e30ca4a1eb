import { createHash } from 'node:crypto';
import { plainDataSize } from '../../plain-data-size.js';
import { invalidArgument } from './capability-error.js';

/** Options of a remote JWKS, as jose's `createRemoteJWKSet` takes them (ms). */
export interface RemoteJwksOptions {
  cooldownDuration?: number;
  cacheMaxAge?: number;
  timeoutDuration?: number;
}

/**
 * The plain data the guest builds for a key (jose's key objects cannot cross the sandbox):
 * `createRemoteJWKSet(url, options)`, `createLocalJWKSet(jwks)`, `importJWK(jwk, alg)`,
 * `importSPKI(pem, alg)`, and a shared HMAC secret given as bytes (base64url).
 */
export type KeyDescriptor =
  | { kind: 'remote-jwks'; url: string; options?: RemoteJwksOptions }
  | { kind: 'local-jwks'; jwks: { keys: unknown[] } }
  | { kind: 'jwk'; jwk: Record<string, unknown>; alg?: string }
  | { kind: 'spki'; pem: string; alg: string }
  | { kind: 'secret'; base64url: string };

/** Descriptors are data copied out of the sandbox; their size may not exceed 64 kB. */
export const MAX_DESCRIPTOR_BYTES = 64 * 1024;

/** Validates a descriptor's shape; throws `ERR_INVALID_ARGUMENT` saying what is wrong. */
export function parseKeyDescriptor(input: unknown): KeyDescriptor {
  if (!isRecord(input) || typeof input.kind !== 'string') {
    throw invalidArgument('the key must be a key from the jose facade (a key descriptor)');
  }
  if (plainDataSize(input, MAX_DESCRIPTOR_BYTES) > MAX_DESCRIPTOR_BYTES) {
    throw invalidArgument(`the key is larger than ${MAX_DESCRIPTOR_BYTES} bytes`);
  }
  switch (input.kind) {
    case 'remote-jwks': {
      if (typeof input.url !== 'string') throw invalidArgument('remote JWKS: url must be a string');
      const descriptor: KeyDescriptor = { kind: 'remote-jwks', url: input.url };
      if (input.options !== undefined && input.options !== null) {
        if (!isRecord(input.options))
          throw invalidArgument('remote JWKS: options must be an object');
        const options: RemoteJwksOptions = {};
        for (const name of ['cooldownDuration', 'cacheMaxAge', 'timeoutDuration'] as const) {
          const value = input.options[name];
          if (value === undefined) continue;
          if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
            throw invalidArgument(`remote JWKS: options.${name} must be a non-negative number`);
          }
          options[name] = value;
        }
        descriptor.options = options;
      }
      return descriptor;
    }
    case 'local-jwks': {
      const jwks = input.jwks;
      if (!isRecord(jwks) || !Array.isArray(jwks.keys)) {
        throw invalidArgument('local JWKS: jwks must be an object with a "keys" array');
      }
      return { kind: 'local-jwks', jwks: { ...jwks, keys: jwks.keys } };
    }
    case 'jwk': {
      if (!isRecord(input.jwk)) throw invalidArgument('JWK must be an object');
      const descriptor: KeyDescriptor = { kind: 'jwk', jwk: input.jwk };
      if (input.alg !== undefined && input.alg !== null) {
        if (typeof input.alg !== 'string') throw invalidArgument('"alg" must be a string');
        descriptor.alg = input.alg;
      }
      return descriptor;
    }
    case 'spki':
      if (typeof input.pem !== 'string') throw invalidArgument('"spki" must be a PEM string');
      if (typeof input.alg !== 'string') throw invalidArgument('"alg" must be a string');
      return { kind: 'spki', pem: input.pem, alg: input.alg };
    case 'secret':
      if (
        typeof input.base64url !== 'string' ||
        input.base64url.length === 0 ||
        !/^[A-Za-z0-9_-]+$/.test(input.base64url)
      ) {
        throw invalidArgument('a secret must be non-empty bytes (base64url in the descriptor)');
      }
      return { kind: 'secret', base64url: input.base64url };
    default:
      throw invalidArgument('unknown key kind');
  }
}

/** A SHA-256 over the canonical JSON of `value`: equal content, equal hash. */
export function contentHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('base64url');
}

/** JSON with object keys sorted, so that key order does not change the hash. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isRecord(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** A non-null, non-array object (what JSON-like data copied from the sandbox calls an object). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
