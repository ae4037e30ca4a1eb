/** What the cluster example's launcher and instances agree on. */
export const PORT = Number(process.env.PORT ?? 3000);
export const ISSUER = `http://localhost:${PORT}/`;
export const IDP_ISSUER = 'https://partner-idp.example/';
export const SUBJECT_TOKEN_TYPE = 'urn:acme:partner-id-token';
export const API = 'https://api.acme.example/orders';
export const CLIENT_ID = 'cluster-app';
export const CLIENT_SECRET = 'cluster-app-secret-change-me';
