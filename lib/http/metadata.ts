import type { Request, RequestHandler, Response } from 'express';
import { ASYMMETRIC_ALGORITHMS } from '../tokens/asymmetric-algorithms.js';
import { SIGNING_ALGS } from '../tokens/jws.js';
import type { KeySet } from '../tokens/key-set.js';
import { SCOPE_CLAIMS } from '../tokens/scope-claims.js';
import { DPOP_SIGNING_ALGORITHMS } from '../tokens/dpop-proof.js';
import type { RouterUrls } from './router-urls.js';

/**
 * The router's authorization server metadata (RFC 8414 section 2), which is also its OpenID Connect
 * Discovery document: the fields of both that describe what the router serves. Endpoints it
 * does not have (an authorization endpoint, userinfo) are absent; `response_types_supported`,
 * required by both, is empty for that reason.
 */
export interface AuthorizationServerMetadata {
  issuer: string;
  token_endpoint: string;
  jwks_uri: string;
  revocation_endpoint: string;
  introspection_endpoint: string;
  scopes_supported: string[];
  response_types_supported: string[];
  grant_types_supported: string[];
  token_endpoint_auth_methods_supported: string[];
  token_endpoint_auth_signing_alg_values_supported: string[];
  revocation_endpoint_auth_methods_supported: string[];
  revocation_endpoint_auth_signing_alg_values_supported: string[];
  introspection_endpoint_auth_methods_supported: string[];
  introspection_endpoint_auth_signing_alg_values_supported: string[];
  subject_types_supported: string[];
  id_token_signing_alg_values_supported: string[];
  claims_supported: string[];
  dpop_signing_alg_values_supported: string[];
}

/** What the metadata is made of. */
export interface MetadataSource {
  issuer: string;
  urls: RouterUrls;
  keys: KeySet;
  /** The grant types the router answers (the MFA grants only with a verifier). */
  grantTypes: readonly string[];
  /** The host's grant types on the shared token endpoint, listed after the router's. */
  hostGrantTypes: readonly string[];
}

const CLIENT_AUTH_METHODS = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
  'none',
];
const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'];
const CLAIMS = ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'act', ...SCOPE_CLAIMS];

/**
 * The metadata document, built when asked (the key set may have gained an algorithm since).
 *
 * `id_token_signing_alg_values_supported` lists every algorithm the router's keys sign with,
 * plus HS256 (ID tokens signed with a client's secret): express-oauth2-jwt-bearer, given only an
 * `issuerBaseURL`, accepts an access token only with an algorithm of that list, so the access
 * tokens' algorithms belong in it too. A public client cannot introspect (`none` is absent
 * there): it has no credentials to keep its tokens' answers to itself.
 */
export function authorizationServerMetadata({
  issuer,
  urls,
  keys,
  grantTypes,
  hostGrantTypes,
}: MetadataSource): AuthorizationServerMetadata {
  const signing = new Set(keys.signingAlgs());
  const assertionAlgs = [...ASYMMETRIC_ALGORITHMS];
  const confidentialMethods = CLIENT_AUTH_METHODS.filter((method) => method !== 'none');
  return {
    issuer,
    token_endpoint: urls.token,
    jwks_uri: urls.jwks,
    revocation_endpoint: urls.revocation,
    introspection_endpoint: urls.introspection,
    scopes_supported: [...OIDC_SCOPES],
    response_types_supported: [],
    grant_types_supported: [...new Set([...grantTypes, ...hostGrantTypes])],
    token_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    token_endpoint_auth_signing_alg_values_supported: assertionAlgs,
    revocation_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    revocation_endpoint_auth_signing_alg_values_supported: assertionAlgs,
    introspection_endpoint_auth_methods_supported: confidentialMethods,
    introspection_endpoint_auth_signing_alg_values_supported: assertionAlgs,
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [
      ...SIGNING_ALGS.filter((alg) => signing.has(alg)),
      'HS256',
    ],
    claims_supported: [...CLAIMS],
    dpop_signing_alg_values_supported: [...DPOP_SIGNING_ALGORITHMS],
  };
}

/** Serves `metadata()` as JSON, cacheable for `maxAge` seconds, readable from any origin. */
export function metadataRoute(
  metadata: () => AuthorizationServerMetadata,
  maxAge: number,
): RequestHandler {
  return function serveMetadata(_req: Request, res: Response): void {
    res
      .set('Cache-Control', `public, max-age=${maxAge}`)
      .set('Access-Control-Allow-Origin', '*')
      .json(metadata());
  };
}

/** RFC 8414 section 3's well-known suffix. */
export const AUTHORIZATION_SERVER_METADATA_PATH = '/.well-known/oauth-authorization-server';
/** OpenID Connect Discovery 1.0 section 4's well-known suffix. */
export const OPENID_CONFIGURATION_PATH = '/.well-known/openid-configuration';

/**
 * Where RFC 8414 section 3.1 puts the metadata of `issuer`, from the host's root: the well-known suffix
 * inserted between the host and the issuer's path (`https://host/tenant-a/` →
 * `/.well-known/oauth-authorization-server/tenant-a`; Express matches it with and without the
 * trailing slash clients may add).
 */
export function insertedMetadataPath(issuer: string): string {
  const path = new URL(issuer).pathname.replace(/\/+$/, '');
  return `${AUTHORIZATION_SERVER_METADATA_PATH}${path}`;
}

/** Whether `issuer` has a path beyond `/`: then RFC 8414's document is outside the router. */
export function issuerHasPath(issuer: string): boolean {
  return new URL(issuer).pathname.replace(/\/+$/, '') !== '';
}
