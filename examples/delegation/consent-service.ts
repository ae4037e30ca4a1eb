/**
 * The simulated consent service: where a user, signed in to the shop, approves that an agent acts
 * for them. What it hands out is a *delegation grant*: a short-lived ES256 JWT naming the user
 * (`sub`), the agent allowed to act for them (`may_act`, RFC 8693 §4.4), the scopes delegated and
 * the router client that will exchange it (`aud`). The agent presents it as `subject_token`.
 *
 * `POST /consent/grants` stands in for the consent screen: the simulation takes the user's choice
 * from the form instead of a signed-in session.
 */
import crypto from 'node:crypto';
import express from 'express';
import type { Request, Response, Router } from 'express';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';

export const GRANT_LIFETIME_SECONDS = 600;

/** The explicit `typ` of a delegation grant (RFC 8725 §3.11), checked by the action. */
export const GRANT_TYP = 'delegation-grant+jwt';

const KID = 'consent-1';

export interface DelegationChoice {
  /** The user delegating (`auth0|alice`). */
  user_id: string;
  /** The router user id of the agent they delegate to (`agents|shopping-assistant`). */
  agent: string;
  /** Space-separated scopes delegated. */
  scope: string;
}

export interface ConsentService {
  /** Mount at `/consent`: `GET /.well-known/jwks.json`, `POST /grants`. */
  router: Router;
  mintGrant(choice: DelegationChoice): Promise<string>;
}

/**
 * @param issuer - the service's `iss` (`http://localhost:PORT/consent/`)
 * @param audience - the router client of the agents, the only one that may exchange a grant
 * @param users - the user ids that exist, so a grant never names a user who cannot sign in
 */
export async function createConsentService(
  issuer: string,
  audience: string,
  users: ReadonlySet<string>,
): Promise<ConsentService> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: KID, alg: 'ES256', use: 'sig' };

  const mintGrant = ({ user_id, agent, scope }: DelegationChoice): Promise<string> =>
    new SignJWT({ may_act: { sub: agent }, scope })
      .setProtectedHeader({ alg: 'ES256', kid: KID, typ: GRANT_TYP })
      .setIssuer(issuer)
      .setSubject(user_id)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime(`${GRANT_LIFETIME_SECONDS}s`)
      .setJti(crypto.randomUUID())
      .sign(privateKey);

  const router = express.Router();
  router.get('/.well-known/jwks.json', (_req, res) => {
    res.json({ keys: [jwk] });
  });
  router.post('/grants', express.urlencoded(), async (req: Request, res: Response) => {
    res.set('Cache-Control', 'no-store');
    const body = (req.body ?? {}) as Record<string, unknown>;
    const { user_id, agent, scope } = body;
    if (typeof user_id !== 'string' || !users.has(user_id)) {
      res.status(400).json({ error: 'invalid_request', error_description: 'unknown user_id' });
      return;
    }
    if (typeof agent !== 'string' || agent.length === 0 || typeof scope !== 'string') {
      res
        .status(400)
        .json({ error: 'invalid_request', error_description: 'agent and scope are required' });
      return;
    }
    res.json({
      delegation_grant: await mintGrant({ user_id, agent, scope }),
      expires_in: GRANT_LIFETIME_SECONDS,
    });
  });
  return { router, mintGrant };
}
