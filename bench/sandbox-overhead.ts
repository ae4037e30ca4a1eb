/**
 * Issue 3's measure: the CPU an exchange costs through a sandboxed action against the same logic
 * as an in-process handler, and the throughput ratio. Each server runs in its own child process
 * pinned to core 0 (when taskset exists); autocannon drives it from this process on core 1.
 *
 *   npm run bench:sandbox [-- --seconds 10]
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { Scenario } from './cte-server.js';
import { AUDIENCE, CLIENT, SUBJECT_TOKEN_TYPE } from './cte-server.js';

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1]) || 10;
const warmupSeconds = Math.max(2, Math.round(seconds / 3));
const connections = 32;

function pinned(): boolean {
  try {
    execFileSync('taskset', ['-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function ask<T>(child: ChildProcess, message: string): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (reply) => resolve(reply as T));
    child.send(message);
  });
}

async function measure(scenario: Scenario, idpJwk: object, bodies: string[], pin: boolean) {
  const server = fileURLToPath(new URL('./cte-server.ts', import.meta.url));
  const child = fork(server, [scenario, JSON.stringify(idpJwk)], {
    execArgv: ['--no-node-snapshot', '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const { port } = await new Promise<{ port: number }>((resolve) =>
      child.once('message', (m) => resolve(m as { port: number })),
    );
    if (pin && child.pid)
      execFileSync('taskset', ['-p', '-c', '0', String(child.pid)], { stdio: 'ignore' });
    let next = 0;
    const options: autocannon.Options = {
      url: `http://127.0.0.1:${port}/oauth/token`,
      method: 'POST',
      connections,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      requests: [
        {
          setupRequest: (request) => ({ ...request, body: bodies[next++ % bodies.length] }),
        },
      ],
    };
    await autocannon({ ...options, duration: warmupSeconds });
    const before = await ask<{ cpuMicros: number }>(child, 'cpu');
    const result = await autocannon({ ...options, duration: seconds });
    const after = await ask<{ cpuMicros: number; rss: number }>(child, 'cpu');
    const requests = result.requests.total;
    return {
      scenario,
      rps: Math.round(result.requests.average),
      p50_ms: result.latency.p50,
      p99_ms: result.latency.p99,
      errors: result.errors + result.non2xx,
      cpu_ms_per_exchange: (after.cpuMicros - before.cpuMicros) / 1000 / requests,
      rss_mb: Math.round(after.rss / 1024 / 1024),
    };
  } finally {
    child.kill();
  }
}

const pin = pinned();
const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
const idpJwk = { ...(await exportJWK(publicKey)), kid: 'idp-1', alg: 'ES256' };
const bodies = await Promise.all(
  Array.from({ length: 100 }, async (_, i) => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'idp-1' })
      .setIssuer('https://idp.bench.example/')
      .setAudience('bench')
      .setSubject(`bench|user-${i}`)
      .setIssuedAt()
      .setExpirationTime('2h')
      .sign(privateKey);
    return new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: token,
      subject_token_type: SUBJECT_TOKEN_TYPE,
      audience: AUDIENCE,
      client_id: CLIENT.id,
      client_secret: CLIENT.secret,
    }).toString();
  }),
);

const inline = await measure('inline', idpJwk, bodies, pin);
const sandbox = await measure('sandbox', idpJwk, bodies, pin);
// The same pair without signature verification isolates the sandbox's fixed cost per execution.
const inlineDecode = await measure('inline-decode', idpJwk, bodies, pin);
const sandboxDecode = await measure('sandbox-decode', idpJwk, bodies, pin);
const report = {
  machine: `${process.platform} ${process.arch}, node ${process.version}, server ${pin ? 'pinned to core 0' : 'not pinned'}`,
  seconds,
  connections,
  scenarios: [inline, sandbox, inlineDecode, sandboxDecode],
  sandbox_extra_cpu_ms: +(sandbox.cpu_ms_per_exchange - inline.cpu_ms_per_exchange).toFixed(4),
  throughput_ratio: +(sandbox.rps / inline.rps).toFixed(3),
  decode_only_extra_cpu_ms: +(
    sandboxDecode.cpu_ms_per_exchange - inlineDecode.cpu_ms_per_exchange
  ).toFixed(4),
};
console.table(
  report.scenarios.map((s) => ({
    ...s,
    cpu_ms_per_exchange: +s.cpu_ms_per_exchange.toFixed(4),
  })),
);
console.log(
  `sandbox costs ${report.sandbox_extra_cpu_ms} ms CPU more per exchange (target ≤ 0.15); ` +
    `throughput ratio ${report.throughput_ratio} (target ≥ 0.85); ` +
    `without signature verification: ${report.decode_only_extra_cpu_ms} ms more`,
);
writeFileSync(
  new URL('./results/sandbox-overhead.json', import.meta.url),
  `${JSON.stringify(report, null, 2)}\n`,
);
