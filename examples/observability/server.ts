/**
 * Observability: the router's OpenTelemetry metrics scraped by Prometheus from `/metrics`, its
 * spans (here kept in memory and shown at `/debug/spans`), and a readiness route on
 * `cte.health()`.
 *
 *   npm run example:observability      (PORT defaults to 3008)
 *
 * On start it prints curl commands: an exchange that succeeds, one the action rejects, and the
 * routes to look at afterwards.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { exportJWK, generateKeyPair } from 'jose';
import { MemoryUserStore, customTokenExchange } from '../../lib/index.js';
import { startTelemetry } from './telemetry.js';

const PORT = Number(process.env.PORT ?? 3008);
const ORIGIN = `http://127.0.0.1:${PORT}`;
const SUBJECT_TOKEN_TYPE = 'urn:acme:demo-token';
const API = 'https://api.acme.example/orders';
const CLIENT_ID = 'orders-app';
const CLIENT_SECRET = 'orders-app-secret-change-me';

/** Accepts `demo:<user id>` for a known user: a stand-in for a real token check. */
const ACTION_CODE = `exports.onExecuteCustomTokenExchange = async (event, api) => {
  const [scheme, userId] = event.transaction.subject_token.split(':');
  if (scheme !== 'demo' || !userId) {
    api.access.rejectInvalidSubjectToken('not a demo token');
    return;
  }
  api.authentication.setUserById(userId);
};`;

async function main(): Promise<void> {
  // First the SDK, then the router: the router takes the global meter provider as it is now.
  const telemetry = startTelemetry();

  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const cte = customTokenExchange({
    issuer: `${ORIGIN}/`,
    keys: [{ ...(await exportJWK(privateKey)), kid: 'router-es256-1', alg: 'ES256' }],
    users: new MemoryUserStore([{ user_id: 'user-1', email: 'jane@acme.example', name: 'Jane' }]),
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        name: 'Orders app',
        token_endpoint_auth_method: 'client_secret_basic',
        jwt_configuration: { alg: 'ES256' },
        token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
      },
    ],
    resourceServers: [{ identifier: API, name: 'Orders API', signing_alg: 'ES256' }],
    defaultAudience: API,
    // Per-client series and the end user's id on spans are off by default; this demo has one
    // client and no personal data.
    observability: { clientIdInMetrics: true, enduserId: true },
  });
  const action = await cte.actions.create({ name: 'demo-token', code: ACTION_CODE });
  await cte.actions.deploy(action.id);
  await cte.profiles.create({
    name: 'Demo tokens',
    subject_token_type: SUBJECT_TOKEN_TYPE,
    action_id: action.id,
    type: 'custom_authentication',
  });

  const app = express();
  app.use(cte);
  app.get('/metrics', (req, res) => telemetry.prometheus.getMetricsRequestHandler(req, res));
  // Readiness: 503 when a store is down or the sandbox could not be loaded.
  app.get('/ready', async (_req, res) => {
    const health = await cte.health();
    res.status(health.status === 'fail' ? 503 : 200).json(health);
  });
  app.get('/debug/spans', (_req, res) => {
    res.json(telemetry.recentSpans());
  });

  const server = app.listen(PORT, '127.0.0.1', (err?: Error) => {
    if (err) {
      console.error(err);
      process.exit(1);
    }
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const exchange = (token: string) => `curl -s ${origin}/oauth/token \\
  -u ${CLIENT_ID}:${CLIENT_SECRET} \\
  -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange \\
  -d subject_token_type=${SUBJECT_TOKEN_TYPE} \\
  -d subject_token=${token}`;
    console.log(`Observability example on ${origin}

An exchange that succeeds:

${exchange('demo:user-1')}

One the action rejects (invalid_request; ten of them block the IP):

${exchange('forged')}

Metrics: curl -s ${origin}/metrics   Readiness: curl -s ${origin}/ready   Spans: ${origin}/debug/spans`);
  });
  const stop = () => {
    server.close();
    void cte.close().then(() => telemetry.shutdown());
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
