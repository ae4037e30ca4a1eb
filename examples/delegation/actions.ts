/**
 * The two actions of the example, as integrators write them: plain JavaScript run in the
 * isolated-vm sandbox. Their settings (issuers, JWKS URLs) come in as `event.secrets`.
 */

/**
 * Profile `urn:acme:agent-assertion`: an agent signs in with its platform's assertion. The agent
 * becomes a user of connection `agents` (`agents|shopping-assistant`), marked `kind: ai_agent` in
 * its app_metadata; with `scope=openid` it gets an ID token, its proof of identity as an actor.
 */
export const AGENT_SIGN_IN_CODE = `
const { jwtVerify, createRemoteJWKSet } = require('jose');

exports.onExecuteCustomTokenExchange = async (event, api) => {
  const jwks = createRemoteJWKSet(new URL(event.secrets.PLATFORM_JWKS_URL));
  let payload;
  try {
    ({ payload } = await jwtVerify(event.transaction.subject_token, jwks, {
      issuer: event.secrets.PLATFORM_ISSUER,
      audience: event.client.client_id,
      typ: 'agent-assertion+jwt',
      algorithms: ['ES256'],
      maxTokenAge: '5m',
    }));
  } catch (err) {
    if (err.code === 'ERR_JWKS_TIMEOUT' || err.code === 'ERR_FETCH_FAILED') throw err; // transient
    console.log('agent assertion refused:', err.code);
    api.access.rejectInvalidSubjectToken('the agent assertion is invalid');
    return;
  }
  api.authentication.setUserByConnection(
    'agents',
    { user_id: payload.sub, name: payload.name },
    { creationBehavior: 'create_if_not_exists', updateBehavior: 'replace' },
  );
  api.user.setAppMetadata('kind', 'ai_agent');
};
`;

/**
 * Profile `urn:acme:delegation-grant`: an agent acts for a user. The subject token is the user's
 * delegation grant; the actor token is the agent's own ID token, which the router verifies before
 * this code runs (this issuer, this client, unexpired, an active user) and hands over as
 * `event.transaction.actor_token_user`. The action decides who may act for whom.
 */
export const ACT_FOR_USER_CODE = `
const { jwtVerify, createRemoteJWKSet } = require('jose');
const OIDC_SCOPES = ['openid', 'profile', 'email'];

exports.onExecuteCustomTokenExchange = async (event, api) => {
  const agent = event.transaction.actor_token_user;
  if (!agent) {
    api.access.deny('invalid_request', 'actor_token must be the agent ID token (actor_token_type urn:ietf:params:oauth:token-type:id_token)');
    return;
  }
  if (agent.app_metadata.kind !== 'ai_agent') {
    console.log('actor ' + agent.user_id + ' is not an AI agent');
    api.access.deny('unauthorized_actor', 'only AI agents may act for users');
    return;
  }
  const jwks = createRemoteJWKSet(new URL(event.secrets.CONSENT_JWKS_URL));
  let grant;
  try {
    ({ payload: grant } = await jwtVerify(event.transaction.subject_token, jwks, {
      issuer: event.secrets.CONSENT_ISSUER,
      audience: event.client.client_id,
      typ: 'delegation-grant+jwt',
      algorithms: ['ES256'],
      requiredClaims: ['sub', 'may_act', 'scope'],
    }));
  } catch (err) {
    if (err.code === 'ERR_JWKS_TIMEOUT' || err.code === 'ERR_FETCH_FAILED') throw err; // transient
    console.log('delegation grant refused:', err.code);
    api.access.rejectInvalidSubjectToken('the delegation grant is invalid');
    return;
  }
  if ((grant.may_act || {}).sub !== agent.user_id) {
    api.access.deny('unauthorized_actor', grant.sub + ' did not delegate to ' + agent.user_id);
    return;
  }
  const delegated = String(grant.scope).split(' ');
  const beyond = event.transaction.requested_scopes.filter(
    (scope) => !OIDC_SCOPES.includes(scope) && !delegated.includes(scope),
  );
  if (beyond.length > 0) {
    api.access.deny('invalid_scope', grant.sub + ' did not delegate ' + beyond.join(' '));
    return;
  }
  api.authentication.setUserById(grant.sub);
  api.authentication.setActor({ sub: agent.user_id, sub_profile: 'ai_agent' });
};
`;
