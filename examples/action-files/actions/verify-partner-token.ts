/**
 * The action, as its own TypeScript module: typed with the package's exported types, checked by
 * `tsc` and ESLint like the rest of the project, unit-tested with `testAction` (see
 * verify-partner-token.test.ts) and registered as the JavaScript that load-action.ts makes of it.
 *
 * It runs in the isolated-vm sandbox, so it may import only what the sandbox's `require` offers
 * (`jose`, as a sandboxed subset) and import types from anywhere: `import type` disappears when
 * the file is compiled. It verifies the partner's ES256 ID token against the partner's public
 * keys, kept in the action's secrets, and signs the user in through the `partner` connection.
 */
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import type { CustomTokenExchangeHandler } from '../../../lib/index.js';

/** The partner's issuer; the token's audience must be the client that exchanges it. */
const PARTNER_ISSUER = 'https://partner.example.com/';

export const onExecuteCustomTokenExchange: CustomTokenExchangeHandler = async (event, api) => {
  const keys = createLocalJWKSet(JSON.parse(event.secrets.PARTNER_JWKS ?? '') as JSONWebKeySet);
  let payload;
  try {
    ({ payload } = await jwtVerify(event.transaction.subject_token, keys, {
      issuer: PARTNER_ISSUER,
      audience: event.client.client_id,
      algorithms: ['ES256'],
      maxTokenAge: '10m',
    }));
  } catch (err) {
    console.log('partner token refused:', (err as { code?: string }).code);
    api.access.rejectInvalidSubjectToken('the partner token is invalid');
    return;
  }
  if (typeof payload.sub !== 'string') {
    api.access.rejectInvalidSubjectToken('the partner token has no subject');
    return;
  }
  api.authentication.setUserByConnection(
    'partner',
    { user_id: payload.sub, ...(typeof payload.email === 'string' && { email: payload.email }) },
    { creationBehavior: 'create_if_not_exists', updateBehavior: 'none' },
  );
};
