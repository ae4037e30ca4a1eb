/**
 * An action kept in its own TypeScript file (actions/verify-partner-token.ts), unit-tested with
 * testAction (actions/verify-partner-token.test.ts) and registered from the file.
 *
 *   npm run example:action-files      (PORT defaults to 3000)
 *
 * On start it prints a curl command with a partner token signed by a key made for this run.
 */
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { API, CLIENT_ID, SUBJECT_TOKEN_TYPE, createApp } from './app.js';

const PORT = Number(process.env.PORT ?? 3000);

async function main(): Promise<void> {
  const partner = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(partner.publicKey)), kid: 'partner-1', alg: 'ES256' };
  const { app, cte } = await createApp(`http://localhost:${PORT}/`, { keys: [jwk] });
  const server = app.listen(PORT, 'localhost', async () => {
    const port = (server.address() as AddressInfo).port;
    const token = await new SignJWT({ email: 'jane@partner.example' })
      .setProtectedHeader({ alg: 'ES256', kid: 'partner-1' })
      .setIssuer('https://partner.example.com/')
      .setAudience(CLIENT_ID)
      .setSubject('jane-42')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(partner.privateKey);
    console.log(`Action-files example on http://localhost:${port}

curl -s http://localhost:${port}/oauth/token \\
  -d client_id=${CLIENT_ID} \\
  -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange \\
  -d subject_token_type=${SUBJECT_TOKEN_TYPE} \\
  -d subject_token=${token} \\
  -d audience=${API}`);
  });
  const shutdown = async () => {
    server.close();
    await cte.close();
    server.closeIdleConnections();
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
