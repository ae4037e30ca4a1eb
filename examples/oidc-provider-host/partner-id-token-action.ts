/**
 * The profile's action, as integrators write it: plain JavaScript run in the isolated-vm sandbox.
 * It verifies the partner's ES256 ID token against the partner's JWKS and signs the user in
 * through the `partner-idp` connection, creating them in the shared user store the first time.
 */
export const PARTNER_ID_TOKEN_ACTION = `
const { jwtVerify, createRemoteJWKSet } = require('jose');

exports.onExecuteCustomTokenExchange = async (event, api) => {
  const jwks = createRemoteJWKSet(new URL(event.secrets.PARTNER_JWKS_URL));
  let payload;
  try {
    ({ payload } = await jwtVerify(event.transaction.subject_token, jwks, {
      issuer: event.secrets.PARTNER_ISSUER,
      audience: event.client.client_id,
      algorithms: ['ES256'],
      maxTokenAge: '10m',
    }));
  } catch (err) {
    if (err.code === 'ERR_JWKS_TIMEOUT' || err.code === 'ERR_FETCH_FAILED') throw err; // transient
    console.log('partner ID token refused:', err.code);
    api.access.rejectInvalidSubjectToken('the partner ID token is invalid');
    return;
  }
  api.authentication.setUserByConnection(
    'partner-idp',
    { user_id: payload.sub, email: payload.email, email_verified: payload.email_verified === true, name: payload.name },
    { creationBehavior: 'create_if_not_exists', updateBehavior: 'replace' },
  );
};
`;
