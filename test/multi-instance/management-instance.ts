/**
 * One router instance with the Management API, in a process of its own: the test router whose
 * configuration and tenant log live in the PostgreSQL named in CTE_MANAGEMENT_INSTANCE (JSON, see
 * `ManagementInstanceConfig`), served over HTTPS on PORT with the certificate given. Prints
 * `listening on <port>` once its configuration is loaded; SIGTERM closes it.
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import type { SigningKeyInput } from '../../lib/index.js';
import { PostgresConfigStore } from '../../lib/stores/postgres/postgres-config-store.js';
import { PostgresLogSink } from '../../lib/stores/postgres/postgres-log-sink.js';
import { testServer } from '../support/fixtures.js';

/** What the test hands each instance. */
export interface ManagementInstanceConfig {
  postgresPort: number;
  keys: SigningKeyInput[];
  /** base64url of the 32-byte key that encrypts action secrets. */
  secretKey: string;
  cert: string;
  key: string;
}

/** Started as a process by the test; loaded by mocha (a directory run), it does nothing. */
if (process.env.CTE_MANAGEMENT_INSTANCE) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.CTE_MANAGEMENT_INSTANCE!) as ManagementInstanceConfig;
  const pool = new pg.Pool({
    connectionString: `postgres://postgres@127.0.0.1:${config.postgresPort}/postgres`,
    max: 5,
  });
  const store = new PostgresConfigStore({ database: pool });
  const sink = new PostgresLogSink({ database: pool, flushIntervalMs: 50 });
  const { app, cte } = await testServer({
    keys: config.keys,
    sandbox: true,
    stores: { config: store },
    configSecretKeys: [{ kid: 'k1', key: config.secretKey }],
    logSinks: [sink],
  });
  app.use('/api/v2', cte.managementApi());
  await cte.ready();
  const server = https.createServer({ cert: config.cert, key: config.key }, app);
  server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
    console.log(`listening on ${(server.address() as AddressInfo).port}`);
  });
  process.on('SIGTERM', () => {
    server.closeAllConnections();
    server.close();
    void cte
      .close()
      .then(() => store.close())
      .finally(() => pool.end().finally(() => process.exit(0)));
  });
}
