/**
 * The action, as integrators write it: plain JavaScript run in the isolated-vm sandbox. The
 * subject token is opaque, so the action asks the legacy authorization server about it (RFC 7662
 * introspection) with the host `fetch`, authenticating with Basic credentials from its secrets.
 *
 * - `active: false` (unknown, expired or revoked), or `active: true` with an `exp` already past
 *   (a stale answer): the token is invalid, `rejectInvalidSubjectToken` (`400 invalid_request`,
 *   one suspicious-IP attempt);
 * - active, but without the `orders.read` scope: `deny('invalid_scope', ...)`;
 * - the endpoint unreachable or not answering 200: the action throws, so the exchange fails with
 *   `500 server_error` and the reason goes to the log: an outage says nothing about the token;
 * - otherwise the legacy user is migrated on first use: `setUserByConnection('legacy', ...)`
 *   with `create_if_not_exists`, profile taken from the introspection answer.
 */
export const INTROSPECTION_ACTION_CODE = `
// The legacy scope a token needs to become a token for the orders API.
const REQUIRED_SCOPE = 'orders.read';

exports.onExecuteCustomTokenExchange = async (event, api) => {
  const { INTROSPECTION_URL, INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET } = event.secrets;
  // RFC 6749 §2.3.1: form-encode the id and secret, then Basic-encode them.
  const credentials = btoa(
    encodeURIComponent(INTROSPECTION_CLIENT_ID) + ':' + encodeURIComponent(INTROSPECTION_CLIENT_SECRET),
  );
  const res = await fetch(INTROSPECTION_URL, {
    method: 'POST',
    headers: {
      authorization: 'Basic ' + credentials,
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    },
    body: new URLSearchParams({ token: event.transaction.subject_token, token_type_hint: 'access_token' }),
  });
  if (res.status !== 200) throw new Error('introspection endpoint answered ' + res.status);
  const info = await res.json();

  if (info.active !== true) {
    console.log('introspection: the token is not active');
    api.access.rejectInvalidSubjectToken('the subject token is not active');
    return;
  }
  // The server said active; a stale or skewed answer must not outlive the token.
  if (typeof info.exp === 'number' && info.exp <= Date.now() / 1000) {
    console.log('introspection: active, but exp ' + info.exp + ' has passed');
    api.access.rejectInvalidSubjectToken('the subject token is not active');
    return;
  }
  if (typeof info.sub !== 'string' || info.sub === '') {
    throw new Error('introspection answered an active token without sub');
  }
  const scopes = typeof info.scope === 'string' ? info.scope.split(' ') : [];
  if (!scopes.includes(REQUIRED_SCOPE)) {
    console.log('introspection: scope "' + (info.scope || '') + '" lacks ' + REQUIRED_SCOPE);
    api.access.deny('invalid_scope', 'the subject token does not grant ' + REQUIRED_SCOPE);
    return;
  }
  api.authentication.setUserByConnection(
    'legacy',
    { user_id: info.sub, username: info.username, email: info.email, name: info.name },
    { creationBehavior: 'create_if_not_exists', updateBehavior: 'none' },
  );
};
`;
