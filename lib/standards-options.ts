import {
  checkArray,
  checkKnownKeys,
  checkObject,
  checkOptionalBoolean,
  checkOptionalInteger,
  checkString,
} from './definition-checks.js';

/**
 * Options of the standard surface around the token endpoint: discovery documents, client
 * assertion audiences at the revocation and introspection endpoints, and DPoP. Part of
 * `CustomTokenExchangeOptions`.
 */
export interface StandardsOptions {
  /**
   * Authorization server metadata (RFC 8414) and OpenID Connect Discovery. The router serves
   * `{mount}/.well-known/openid-configuration` and, for an issuer without a path,
   * `{mount}/.well-known/oauth-authorization-server`; for an issuer with a path, RFC 8414 puts
   * the document at the host's root (`cte.authorizationServerMetadata` is its path and handler).
   */
  metadata?: {
    /**
     * `false`: serve no metadata route (a host with its own discovery document merges
     * `cte.metadata()` into it). Default `true`.
     */
    serve?: boolean;
    /**
     * Grant types the host answers on the shared token endpoint (`client_credentials`,
     * `authorization_code`, ...), listed in `grant_types_supported` after the router's own.
     */
    hostGrantTypes?: string[];
  };
  /** `private_key_jwt` assertions at the revocation and introspection endpoints. */
  clientAssertions?: {
    /**
     * Also accept, as the `aud` of an assertion sent to the revocation or introspection
     * endpoint, that endpoint's own URL. Default `false`: the issuer and the token endpoint URL
     * are accepted everywhere, as at the token endpoint. The current revision of RFC 7523
     * (draft-ietf-oauth-rfc7523bis, after the audience-injection findings) asks for the issuer
     * alone: an audience naming one endpoint is what a malicious server could get a client to
     * sign for itself. Turn it on only for clients that cannot be changed.
     */
    acceptEndpointUrlAudience?: boolean;
  };
  /** DPoP (RFC 9449) proofs at the token endpoint. */
  dpop?: {
    /**
     * Seconds a proof's `iat` may lie in the past (30 seconds more for clock skew, and 30 into
     * the future). Default 60.
     */
    proofMaxAge?: number;
    /**
     * Server nonces (RFC 9449 section 8): every proof must carry a nonce the router issued, or is
     * answered `400 use_dpop_nonce` with a fresh one in `DPoP-Nonce`. A nonce is an HMAC of the
     * current time window under `secret`, so every instance given the same secret issues and
     * accepts the same nonces, with nothing stored.
     */
    nonces?: {
      /** At least 32 characters, the same on every instance. */
      secret: string;
      /**
       * Seconds a nonce is handed out for; it is accepted for one more such window after.
       * Default 60.
       */
      lifetime?: number;
    };
  };
}

/** {@link StandardsOptions} validated, with defaults. */
export interface StandardsConfig {
  metadata: { serve: boolean; hostGrantTypes: readonly string[] };
  acceptEndpointUrlAudience: boolean;
  dpop: {
    proofMaxAge: number;
    nonces: { secret: string; lifetime: number } | undefined;
  };
}

/** The option names {@link parseStandardsOptions} reads. */
export const STANDARDS_OPTION_KEYS = ['metadata', 'clientAssertions', 'dpop'] as const;

/** Validates the standards options of `options`; a mistake throws a TypeError naming its path. */
export function parseStandardsOptions(options: Record<string, unknown>): StandardsConfig {
  const metadata =
    options.metadata === undefined ? {} : checkObject(options.metadata, 'options.metadata');
  checkKnownKeys(metadata, ['serve', 'hostGrantTypes'], 'options.metadata');
  const hostGrantTypes = (
    metadata.hostGrantTypes === undefined
      ? []
      : checkArray(metadata.hostGrantTypes, 'options.metadata.hostGrantTypes')
  ).map((type, i) => checkString(type, `options.metadata.hostGrantTypes[${i}]`, { max: 256 }));

  const assertions =
    options.clientAssertions === undefined
      ? {}
      : checkObject(options.clientAssertions, 'options.clientAssertions');
  checkKnownKeys(assertions, ['acceptEndpointUrlAudience'], 'options.clientAssertions');

  const dpop = options.dpop === undefined ? {} : checkObject(options.dpop, 'options.dpop');
  checkKnownKeys(dpop, ['proofMaxAge', 'nonces'], 'options.dpop');
  let nonces: StandardsConfig['dpop']['nonces'];
  if (dpop.nonces !== undefined) {
    const given = checkObject(dpop.nonces, 'options.dpop.nonces');
    checkKnownKeys(given, ['secret', 'lifetime'], 'options.dpop.nonces');
    nonces = {
      secret: checkString(given.secret, 'options.dpop.nonces.secret', { min: 32, max: 1024 }),
      lifetime: checkOptionalInteger(given.lifetime, 'options.dpop.nonces.lifetime', 60, {
        min: 5,
        max: 3600,
      }),
    };
  }

  return {
    metadata: {
      serve: checkOptionalBoolean(metadata.serve, 'options.metadata.serve', true),
      hostGrantTypes: [...new Set(hostGrantTypes)],
    },
    acceptEndpointUrlAudience: checkOptionalBoolean(
      assertions.acceptEndpointUrlAudience,
      'options.clientAssertions.acceptEndpointUrlAudience',
      false,
    ),
    dpop: {
      proofMaxAge: checkOptionalInteger(dpop.proofMaxAge, 'options.dpop.proofMaxAge', 60, {
        min: 1,
        max: 3600,
      }),
      nonces,
    },
  };
}
