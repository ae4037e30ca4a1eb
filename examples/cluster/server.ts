/**
 * Two router instances sharing Redis behind a tiny round-robin proxy, as a load balancer would
 * run them:
 *
 *   npm run example:cluster        (PORT defaults to 3000; REDIS_URL to use a running Redis)
 *
 * Starts redis-server (when installed; without persistence, in a temporary directory), two
 * instance processes (instance.ts) on free ports, and the proxy on PORT; shows a refresh served
 * by one instance and the reuse of the same refresh token refused by the other, then prints the
 * curl commands to do it yourself. Ctrl-C stops everything it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest, createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { API, CLIENT_ID, CLIENT_SECRET, IDP_ISSUER, PORT, SUBJECT_TOKEN_TYPE } from './config.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const children: ChildProcess[] = [];
let scratch: string | undefined;

/** Stops every process this launcher started, and removes Redis's directory. */
function stopAll(): void {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  if (scratch) rmSync(scratch, { recursive: true, force: true });
}
process.once('exit', stopAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => process.exit(0));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function findOnPath(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    if (existsSync(join(dir, binary))) return join(dir, binary);
  }
  return undefined;
}

/** Starts `command` and resolves once its output matches `ready` (rejects if it exits first). */
function startProcess(
  command: string,
  args: string[],
  ready: RegExp,
  env: Record<string, string> = {},
): Promise<string> {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} not ready:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve(output);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited (${code}):\n${output}`));
    });
  });
}

/** The Redis to use: REDIS_URL, or a redis-server started here. */
async function redisUrl(): Promise<string> {
  if (process.env.REDIS_URL) return process.env.REDIS_URL;
  const binary = process.env.REDIS_SERVER ?? findOnPath('redis-server');
  if (binary === undefined || !existsSync(binary)) {
    console.error(
      'redis-server is not installed. Install Redis (Debian or Ubuntu: apt-get install ' +
        'redis-server; macOS: brew install redis), or set REDIS_URL to a running Redis.',
    );
    process.exit(1);
  }
  const port = await freePort();
  scratch = mkdtempSync(join(tmpdir(), 'cte-cluster-'));
  await startProcess(
    binary,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      scratch,
    ],
    /Ready to accept connections/,
  ).catch((error: unknown) => {
    throw new Error(`redis-server did not start: ${String(error)}`);
  });
  return `redis://127.0.0.1:${port}`;
}

/** A proxy on PORT sending each request to the next instance in turn. */
function roundRobin(ports: number[]): Promise<void> {
  let next = 0;
  const proxy = createHttpServer((req, res) => {
    const port = ports[next++ % ports.length]!;
    const upstream = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, 'x-forwarded-for': req.socket.remoteAddress ?? '' },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.once('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  return new Promise((resolve, reject) => {
    proxy.once('error', reject);
    proxy.listen(PORT, '127.0.0.1', () => resolve());
  });
}

async function post(form: Record<string, string>) {
  const res = await fetch(`http://127.0.0.1:${PORT}/oauth/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams(form).toString(),
  });
  return {
    status: res.status,
    servedBy: res.headers.get('x-served-by'),
    body: (await res.json()) as Record<string, string>,
  };
}

async function main(): Promise<void> {
  const url = await redisUrl();
  const signing = await generateKeyPair('ES256', { extractable: true });
  const idp = await generateKeyPair('ES256', { extractable: true });
  const env = {
    REDIS_URL: url,
    SIGNING_JWK: JSON.stringify(await exportJWK(signing.privateKey)),
    IDP_JWK: JSON.stringify(await exportJWK(idp.publicKey)),
    PORT: String(PORT),
  };
  const node = [process.execPath, '--no-node-snapshot', '--import', 'tsx'];
  const ports = await Promise.all(
    ['A', 'B'].map(async (name) => {
      const output = await startProcess(
        node[0]!,
        [...node.slice(1), 'examples/cluster/instance.ts'],
        /listening on (\d+)/,
        { ...env, NAME: name, INSTANCE_PORT: String(await freePort()) },
      );
      return Number(/listening on (\d+)/.exec(output)![1]);
    }),
  );
  await roundRobin(ports);

  const subjectToken = await new SignJWT({})
    .setProtectedHeader({ alg: 'ES256' })
    .setIssuer(IDP_ISSUER)
    .setAudience(CLIENT_ID)
    .setSubject('jane-42')
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(idp.privateKey);
  const exchange = {
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    subject_token_type: SUBJECT_TOKEN_TYPE,
    subject_token: subjectToken,
    audience: API,
    scope: 'openid offline_access read:orders',
  };

  // The walkthrough, once: the proxy alternates, so each step reaches the other instance.
  const issued = await post(exchange);
  const refreshed = await post({
    grant_type: 'refresh_token',
    refresh_token: issued.body.refresh_token!,
  });
  const reused = await post({
    grant_type: 'refresh_token',
    refresh_token: issued.body.refresh_token!,
  });
  console.log(`Redis: ${url}; instances A and B on ports ${ports.join(' and ')}; round-robin proxy on http://localhost:${PORT}

exchange   served by ${issued.servedBy}: ${issued.status}, refresh token issued
refresh    served by ${refreshed.servedBy}: ${refreshed.status}, a new refresh token
reuse      served by ${reused.servedBy}: ${reused.status} ${reused.body.error ?? ''}: the old token was rotated on another instance, and its reuse revoked the family everywhere

Do it yourself (the proxy alternates between A and B; see X-Served-By):

TOKENS=$(curl -s http://localhost:${PORT}/oauth/token -u ${CLIENT_ID}:${CLIENT_SECRET} \\
  -d grant_type=${exchange.grant_type} \\
  -d subject_token_type=${SUBJECT_TOKEN_TYPE} \\
  -d subject_token=${subjectToken} \\
  -d audience=${API} \\
  -d 'scope=${exchange.scope}')
RT=$(echo "$TOKENS" | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).refresh_token')
curl -si http://localhost:${PORT}/oauth/token -u ${CLIENT_ID}:${CLIENT_SECRET} -d grant_type=refresh_token -d refresh_token=$RT
curl -si http://localhost:${PORT}/oauth/token -u ${CLIENT_ID}:${CLIENT_SECRET} -d grant_type=refresh_token -d refresh_token=$RT

The subject token is valid for 10 minutes. Ready; Ctrl-C stops Redis and both instances.`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
