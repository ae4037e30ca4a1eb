/**
 * The names of the router's spans, metrics and attributes: what dashboards and alerts are built
 * on, so they change only with a major version. Attributes of the OpenTelemetry semantic
 * conventions come from `@opentelemetry/semantic-conventions`; these are the router's own.
 */

/** Span names. */
export const SPAN = Object.freeze({
  tokenRequest: 'cte.token',
  revocationRequest: 'cte.revocation',
  introspectionRequest: 'cte.introspection',
  clientAuthentication: 'cte.client_authentication',
  throttle: 'cte.throttle',
  action: 'cte.action',
  postExchangeAction: 'cte.post_exchange_action',
  fetch: 'cte.fetch',
  jwksFetch: 'cte.jwks_fetch',
  sign: 'cte.sign',
  /** The host's `mfa.verify`, called by the `mfa-otp` and `mfa-oob` grants. */
  mfaVerify: 'cte.mfa_verify',
  /** Followed by `.{store}.{method}`: `cte.store.refreshTokens.find`. */
  storePrefix: 'cte.store',
});

/** Metric names (Prometheus: dots become underscores, counters get `_total`). */
export const METRIC = Object.freeze({
  exchanges: 'cte.exchanges',
  refreshes: 'cte.refreshes',
  suspiciousIpBlocks: 'cte.suspicious_ip.blocks',
  suspiciousIpRefusals: 'cte.suspicious_ip.refusals',
  rateLimitRefusals: 'cte.rate_limit.refusals',
  storeErrors: 'cte.store.errors',
  requestDuration: 'cte.request.duration',
  actionDuration: 'cte.action.duration',
  isolates: 'cte.sandbox.isolates',
  executions: 'cte.action.executions',
  suspensions: 'cte.action.suspensions',
});

/** The router's own attributes. */
export const ATTR = Object.freeze({
  /** `token`, `revocation` or `introspection`. */
  endpoint: 'cte.endpoint',
  grantType: 'cte.grant_type',
  clientId: 'cte.client_id',
  /** The profile's name. */
  profile: 'cte.profile',
  profileId: 'cte.profile_id',
  /** `success`, or the OAuth `error` code of the answer. */
  result: 'cte.result',
  actionId: 'cte.action.id',
  /** `custom-token-exchange` or `post-exchange`. */
  actionTrigger: 'cte.action.trigger',
  /** `sandbox` or `in-process`. */
  actionRunner: 'cte.action.runner',
  /** The store's name in `options.stores`: `refreshTokens`, `replay`, ... */
  store: 'cte.store',
  storeOperation: 'cte.store.operation',
  /** `action` (suspended for everyone) or `caller` (for one caller). */
  suspensionScope: 'cte.suspension.scope',
  tenant: 'cte.tenant',
  signingAlg: 'cte.signing_alg',
  clientAuthMethod: 'cte.client_auth_method',
});

/**
 * `enduser.id` of the semantic conventions, still incubating there: the package asks libraries
 * to copy incubating names rather than import them.
 */
export const ENDUSER_ID = 'enduser.id';

/** `cte.result` of a request or execution that succeeded. */
export const SUCCESS = 'success';

/** RFC 8693's `grant_type`: its requests are counted as exchanges. */
export const TOKEN_EXCHANGE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:token-exchange';
/** RFC 6749's `grant_type` of refreshes. */
export const REFRESH_TOKEN_GRANT_TYPE = 'refresh_token';
