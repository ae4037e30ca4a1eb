/**
 * The simulated AI agent platform: it hosts the agents, vouches for them with short-lived signed
 * assertions, and publishes the keys to verify those assertions. An agent signs in to the router
 * with such an assertion (profile `urn:acme:agent-assertion`) and gets its ID token, which it then
 * presents as `actor_token` when it acts for a user.
 */
import crypto from 'node:crypto';
import express from 'express';
import type { Request, Response, Router } from 'express';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';

/** The agents the platform runs, with the secret each one authenticates to the platform with. */
export const AGENTS: Readonly<Record<string, { name: string; secret: string }>> = {
  'shopping-assistant': { name: 'Shopping Assistant', secret: 'shopping-assistant-secret' },
  'travel-planner': { name: 'Travel Planner', secret: 'travel-planner-secret' },
};

/** Assertions are meant to be exchanged at once. */
export const ASSERTION_LIFETIME_SECONDS = 300;

const KID = 'agent-platform-1';

export interface AgentPlatform {
  /** Mount at `/agent-platform`: `GET /.well-known/jwks.json`, `POST /assertions`. */
  router: Router;
  /** A fresh assertion for `agentId`. */
  mintAssertion(agentId: string): Promise<string>;
}

/**
 * @param issuer - the platform's `iss` (`http://localhost:PORT/agent-platform/`)
 * @param audience - the router client every assertion is for
 */
export async function createAgentPlatform(
  issuer: string,
  audience: string,
): Promise<AgentPlatform> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: KID, alg: 'ES256', use: 'sig' };

  const mintAssertion = async (agentId: string): Promise<string> => {
    const agent = AGENTS[agentId];
    if (agent === undefined) throw new Error(`unknown agent ${agentId}`);
    return new SignJWT({ name: agent.name })
      .setProtectedHeader({ alg: 'ES256', kid: KID, typ: 'agent-assertion+jwt' })
      .setIssuer(issuer)
      .setSubject(agentId)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime(`${ASSERTION_LIFETIME_SECONDS}s`)
      .setJti(crypto.randomUUID())
      .sign(privateKey);
  };

  const router = express.Router();
  router.get('/.well-known/jwks.json', (_req, res) => {
    res.json({ keys: [jwk] });
  });
  // An agent asks for an assertion with its platform credentials (Basic agent_id:secret).
  router.post('/assertions', async (req: Request, res: Response) => {
    res.set('Cache-Control', 'no-store');
    const [agentId, secret] = basicCredentials(req);
    const agent = agentId === undefined ? undefined : AGENTS[agentId];
    if (agent === undefined || !sameSecret(secret ?? '', agent.secret)) {
      res.set('WWW-Authenticate', 'Basic realm="agent-platform"');
      res.status(401).json({ error: 'invalid_client' });
      return;
    }
    res.json({
      assertion: await mintAssertion(agentId!),
      expires_in: ASSERTION_LIFETIME_SECONDS,
    });
  });
  return { router, mintAssertion };
}

function basicCredentials(req: Request): [string?, string?] {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(req.get('authorization') ?? '');
  if (!match) return [];
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? [] : [decoded.slice(0, colon), decoded.slice(colon + 1)];
}

function sameSecret(given: string, expected: string): boolean {
  const a = crypto.createHash('sha256').update(given).digest();
  const b = crypto.createHash('sha256').update(expected).digest();
  return crypto.timingSafeEqual(a, b);
}
