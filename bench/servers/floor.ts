/**
 * The floor: the unavoidable work of an exchange with nothing else. Bare Express 5 with form
 * parsing, one ES256 verification of the subject JWT and one ES256 signature of an access token,
 * both with node:crypto keys imported once.
 */
import crypto from 'node:crypto';
import { createServer } from 'node:http';
import express from 'express';
import type { BenchConfig } from './child.js';
import { readConfig, serveToParent } from './child.js';

export const path = '/token';

export function requestBody(subjectToken: string, config: BenchConfig): string {
  return new URLSearchParams({
    subject_token: subjectToken,
    audience: config.audience,
    client_id: config.client.id,
  }).toString();
}

function base64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

async function start(config: BenchConfig): Promise<void> {
  const subjectKey = crypto.createPublicKey({ key: config.subjectJwk, format: 'jwk' });
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const header = base64urlJson({ alg: 'ES256', typ: 'at+jwt', kid: 'floor' });

  const app = express();
  app.post(path, express.urlencoded({ extended: false }), (req, res) => {
    const subjectToken = (req.body as Record<string, unknown>).subject_token;
    const token = typeof subjectToken === 'string' ? subjectToken : '';
    const [h, p, s] = token.split('.');
    const valid =
      h !== undefined &&
      p !== undefined &&
      s !== undefined &&
      crypto.verify(
        'sha256',
        Buffer.from(`${h}.${p}`),
        { key: subjectKey, dsaEncoding: 'ieee-p1363' },
        Buffer.from(s, 'base64url'),
      );
    const claims = valid ? (JSON.parse(Buffer.from(p, 'base64url').toString()) as Claims) : {};
    const now = Math.floor(Date.now() / 1000);
    if (
      !valid ||
      claims.iss !== config.subjectIssuer ||
      claims.aud !== config.subjectAudience ||
      typeof claims.exp !== 'number' ||
      claims.exp <= now
    ) {
      res.status(400).json({ error: 'invalid_grant' });
      return;
    }
    const payload = base64urlJson({
      iss: 'http://floor.bench/',
      sub: claims.sub,
      aud: config.audience,
      iat: now,
      exp: now + 3600,
      jti: crypto.randomUUID(),
    });
    const signature = crypto
      .sign('sha256', Buffer.from(`${header}.${payload}`), {
        key: privateKey,
        dsaEncoding: 'ieee-p1363',
      })
      .toString('base64url');
    res.set('cache-control', 'no-store').json({
      access_token: `${header}.${payload}.${signature}`,
      token_type: 'Bearer',
      expires_in: 3600,
    });
  });
  await serveToParent(createServer(app));
}

interface Claims {
  iss?: unknown;
  aud?: unknown;
  sub?: unknown;
  exp?: unknown;
}

if (process.send) await start(readConfig());
