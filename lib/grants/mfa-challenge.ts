import type { MultifactorProvider } from '../sandbox/post-exchange-types.js';
import type { Actor } from '../sandbox/action-types.js';
import { InvalidRequest, MFA_WITH_ACTOR_DESCRIPTION, MfaRequired, ServerError } from '../errors.js';
import type { MfaConfig } from '../mfa/mfa-options.js';
import { sealPendingGrant } from '../mfa/pending-grant.js';
import type { PendingGrant } from '../mfa/pending-grant.js';
import type { StoredProfile } from '../profiles/profile.js';
import type { Client } from '../registry/clients.js';
import type { Issuance } from './issuance.js';

/** An exchange decided up to its tokens, whose client or post-exchange action wants MFA. */
export interface MfaChallengeInput {
  issuance: Issuance;
  actor: Actor | undefined;
  profile: Readonly<StoredProfile>;
  subjectTokenType: string;
  /** The provider asked for (see {@link mfaProvider}). */
  provider: MultifactorProvider;
}

/**
 * Whether the exchange needs a second factor (its client's `mfa_policy` is `always`, or the
 * post-exchange action called `api.multifactor.enable`), and the provider asked for.
 */
export function mfaProvider(
  client: Client,
  provider: MultifactorProvider | undefined,
): MultifactorProvider | undefined {
  return provider ?? (client.mfa_policy === 'always' ? 'any' : undefined);
}

/**
 * Ends an exchange that needs MFA with `403 mfa_required` and an `mfa_token` sealing its pending
 * grant. Refused as Auth0 does with an actor (`400`); `500` when the host configured no verifier
 * (only an action can get here then: a client's policy needs one at registration).
 */
export async function challengeForMfa(
  mfa: MfaConfig | undefined,
  { issuance, actor, profile, subjectTokenType, provider }: MfaChallengeInput,
  source: string,
): Promise<never> {
  if (actor !== undefined) {
    throw new InvalidRequest(MFA_WITH_ACTOR_DESCRIPTION, {
      privateCause: `${source} requires MFA and the profile's action set an actor`,
    });
  }
  if (mfa === undefined) {
    throw new ServerError(
      `${source} requires MFA but options.mfa is not configured: no verifier can redeem an mfa_token`,
    );
  }
  const { client, user, resourceServer, scope, claims, dpopJkt, permissions } = issuance;
  const grant: PendingGrant = {
    client_id: client.client_id,
    user_id: user.user_id,
    audience: resourceServer.identifier,
    scope: [...scope],
    ...(permissions === undefined ? {} : { permissions: [...permissions] }),
    ...(claims === undefined ? {} : { claims }),
    profile_id: profile.id,
    subject_token_type: subjectTokenType,
    ...(dpopJkt === undefined ? {} : { dpop_jkt: dpopJkt }),
    provider,
  };
  const { token, jti, exp } = await sealPendingGrant(mfa.key, grant, mfa.tokenLifetime);
  throw new MfaRequired(
    token,
    `${source} requires MFA (provider ${grant.provider}); mfa_token ${jti} expires at ${new Date(exp * 1000).toISOString()}`,
  );
}
