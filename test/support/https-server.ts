import { generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import https from 'node:https';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A throwaway HTTPS server on 127.0.0.1 with a self-signed certificate made for this process
 * (no package and no `openssl` binary: the X.509 DER is assembled below and signed with
 * node:crypto), and a `fetch` that trusts that certificate only, through its own `https.Agent`:
 * TLS verification stays on everywhere else (no NODE_TLS_REJECT_UNAUTHORIZED, no global agent).
 */

// --- A minimal DER encoder, enough for one self-signed certificate. ---

function der(tag: number, content: Buffer): Buffer {
  const length = content.length;
  let header: number[];
  if (length < 0x80) {
    header = [tag, length];
  } else {
    const bytes: number[] = [];
    for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
    header = [tag, 0x80 | bytes.length, ...bytes];
  }
  return Buffer.concat([Buffer.from(header), content]);
}
const sequence = (...items: Buffer[]) => der(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => der(0x31, Buffer.concat(items));
const explicit = (n: number, content: Buffer) => der(0xa0 + n, content);
const octetString = (content: Buffer) => der(0x04, content);
const bitString = (content: Buffer) => der(0x03, Buffer.concat([Buffer.from([0]), content]));
const utf8String = (value: string) => der(0x0c, Buffer.from(value, 'utf8'));
const TRUE = der(0x01, Buffer.from([0xff]));

function integer(bytes: Buffer): Buffer {
  // DER integers are two's complement: a leading 1 bit needs a 0 byte to stay positive.
  return der(0x02, bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

function oid(dotted: string): Buffer {
  const [first, second, ...rest] = dotted.split('.').map(Number);
  const bytes = [first! * 40 + second!];
  for (const arc of rest) {
    const groups: number[] = [];
    for (let n = arc; ; n = Math.floor(n / 128)) {
      groups.unshift((n % 128) | (groups.length ? 0x80 : 0));
      if (n < 128) break;
    }
    bytes.push(...groups);
  }
  return der(0x06, Buffer.from(bytes));
}

function utcTime(date: Date): Buffer {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(2, 19).replace(/[-T:]/g, '');
  return der(0x17, Buffer.from(`${digits}Z`, 'ascii'));
}

const ECDSA_WITH_SHA256 = sequence(oid('1.2.840.10045.4.3.2'));

export interface SelfSignedCertificate {
  /** PEM certificate: serve it, and trust it as the only CA of the test client. */
  cert: string;
  /** PEM PKCS#8 private key of the certificate. */
  key: string;
}

/**
 * A self-signed ECDSA P-256 certificate for `CN=localhost` with subjectAltName
 * `DNS:localhost, IP:127.0.0.1`, valid from an hour ago for one day.
 */
export function selfSignedCertificate(): SelfSignedCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const name = sequence(set(sequence(oid('2.5.4.3'), utf8String('localhost'))));
  const serial = randomBytes(16);
  const now = Date.now();
  const subjectAltName = sequence(
    der(0x82, Buffer.from('localhost', 'ascii')), // [2] dNSName
    der(0x87, Buffer.from([127, 0, 0, 1])), // [7] iPAddress
  );
  const extensions = sequence(
    // basicConstraints CA:TRUE (critical): the certificate is its own trust anchor.
    sequence(oid('2.5.29.19'), TRUE, octetString(sequence(TRUE))),
    sequence(oid('2.5.29.17'), octetString(subjectAltName)),
  );
  const tbs = sequence(
    explicit(0, integer(Buffer.from([2]))), // v3
    integer(serial),
    ECDSA_WITH_SHA256,
    name,
    sequence(utcTime(new Date(now - 3_600_000)), utcTime(new Date(now + 86_400_000))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, extensions),
  );
  const signature = sign('sha256', tbs, privateKey); // DER ECDSA-Sig-Value
  const certificate = sequence(tbs, ECDSA_WITH_SHA256, bitString(signature));
  const base64 = certificate.toString('base64').replace(/.{64}/g, '$&\n');
  const cert = `-----BEGIN CERTIFICATE-----\n${base64.replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
  // Fail here, with a clear message, rather than in a TLS handshake.
  const parsed = new X509Certificate(cert);
  if (!parsed.checkHost('localhost') || !parsed.checkIP('127.0.0.1')) {
    throw new Error('selfSignedCertificate: the generated certificate does not name localhost');
  }
  return { cert, key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

// --- A fetch that trusts one CA. ---

export type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** A request as the client sent it (recorded before it leaves). */
export interface SentRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * A fetch-compatible function over `https.request` that trusts only `ca`, and connects to
 * `connectTo` whatever the URL's host (as `curl --resolve` does) while still checking the
 * certificate against the URL's host name. Each request is pushed to `sent` first.
 */
export function trustingFetch(ca: string, connectTo: string, sent: SentRequest[] = []): Fetch {
  const agent = new https.Agent({ ca, keepAlive: false });
  return async (input, init) => {
    const request = new Request(input, init);
    const body = Buffer.from(await request.arrayBuffer());
    const url = new URL(request.url);
    const headers = Object.fromEntries(request.headers);
    sent.push({ method: request.method, url: request.url, headers, body: body.toString('utf8') });
    return new Promise<Response>((resolve, reject) => {
      const outgoing = https.request(
        {
          host: connectTo,
          servername: url.hostname,
          port: url.port || 443,
          path: `${url.pathname}${url.search}`,
          method: request.method,
          headers: {
            ...headers,
            host: url.host,
            ...(body.length ? { 'content-length': String(body.length) } : {}),
          },
          agent,
          signal: request.signal,
        },
        (res) => {
          collect(res).then(resolve, reject);
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body.length ? body : undefined);
    });
  };
}

async function collect(res: IncomingMessage): Promise<Response> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) {
      headers.append(name, v);
    }
  }
  const status = res.statusCode ?? 502;
  const noBody = status === 204 || status === 304;
  return new Response(noBody ? null : new Uint8Array(Buffer.concat(chunks)), {
    status,
    statusText: res.statusMessage ?? '',
    headers,
  });
}

// --- The server. ---

export interface TestHttpsServer {
  port: number;
  /** `https://localhost:<port>`: the certificate names localhost. */
  origin: string;
  /** The PEM certificate the server presents (also the only CA `fetch` trusts). */
  ca: string;
  /** Trusts `ca` only, connects to 127.0.0.1. */
  fetch: Fetch;
  /** Every request `fetch` sent, oldest first. */
  sent: SentRequest[];
  /** Serves requests with `handler` from now on (before it: 503). */
  use(handler: RequestListener): void;
  close(): Promise<void>;
}

/** Starts an HTTPS server on 127.0.0.1 on a free port, with a fresh self-signed certificate. */
export async function startHttpsServer(): Promise<TestHttpsServer> {
  const { cert, key } = selfSignedCertificate();
  let handler: RequestListener = (_req: IncomingMessage, res: ServerResponse) => {
    res.statusCode = 503;
    res.end();
  };
  const server = https.createServer({ cert, key }, (req, res) => handler(req, res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const sent: SentRequest[] = [];
  return {
    port,
    origin: `https://localhost:${port}`,
    ca: cert,
    fetch: trustingFetch(cert, '127.0.0.1', sent),
    sent,
    use(next) {
      handler = next;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((err) => (err ? reject(err) : resolve())),
      );
    },
  };
}
