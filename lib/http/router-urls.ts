/** The absolute URLs of the router's endpoints, as clients see them. */
export interface RouterUrls {
  token: string;
  revocation: string;
  introspection: string;
  jwks: string;
}

/**
 * Every endpoint's URL: the token endpoint as configured, the others its siblings under the
 * router's URL. Never derived from a request's `Host` header, which the client controls.
 */
export function routerUrls({
  tokenEndpoint,
  routerUrl,
}: {
  tokenEndpoint: string;
  routerUrl: string;
}): RouterUrls {
  return {
    token: tokenEndpoint,
    revocation: `${routerUrl}/oauth/revoke`,
    introspection: `${routerUrl}/oauth/introspect`,
    jwks: `${routerUrl}/.well-known/jwks.json`,
  };
}
