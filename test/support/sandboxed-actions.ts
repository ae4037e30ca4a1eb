import { createServer } from 'node:http';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CustomTokenExchangeRouter } from '../../lib/index.js';
import type { ActionLimits } from '../../lib/sandbox/action-runner.js';
import { LocalIdp } from '../sandbox/fixtures/local-idp.js';

/** What {@link deployCodeProfile} creates. */
export interface CodeProfile {
  actionId: string;
  profileId: string;
  subjectTokenType: string;
}

/**
 * Creates a sandboxed code action (allowed to reach 127.0.0.1 only through its `allowed_hosts`),
 * deploys it and binds a profile of `subjectTokenType` to it.
 */
export async function deployCodeProfile(
  cte: CustomTokenExchangeRouter,
  definition: {
    name: string;
    code: string;
    subjectTokenType: string;
    secrets?: Record<string, string>;
    allowed_hosts?: string[];
    limits?: Partial<ActionLimits>;
    /** Fixed ids of the action and profile, as instances sharing stores register them. */
    ids?: { action: string; profile: string };
  },
): Promise<CodeProfile> {
  const action = await cte.actions.create({
    ...(definition.ids ? { id: definition.ids.action } : {}),
    name: definition.name,
    code: definition.code,
    ...(definition.secrets ? { secrets: definition.secrets } : {}),
    allowed_hosts: definition.allowed_hosts ?? [],
    allowed_private_networks: ['127.0.0.1/32'],
    ...(definition.limits ? { limits: definition.limits } : {}),
  });
  await cte.actions.deploy(action.id);
  const profile = await cte.profiles.create({
    ...(definition.ids ? { id: definition.ids.profile } : {}),
    name: `${definition.name} profile`.slice(0, 50),
    subject_token_type: definition.subjectTokenType,
    action_id: action.id,
    type: 'custom_authentication',
  });
  return {
    actionId: action.id,
    profileId: profile.id,
    subjectTokenType: definition.subjectTokenType,
  };
}

/** An action module whose handler body is `body` (the body starts on line 2 of the code). */
export function actionCode(body: string): string {
  return `exports.onExecuteCustomTokenExchange = async (event, api) => {\n${body}\n};`;
}

/**
 * A local HTTP server on 127.0.0.1 that a test controls: `/hold/...` requests are answered only
 * when the test calls {@link HoldServer.release}, `/never` is never answered (until `stop`), and
 * any other path answers `200 {"ok":true,"path":...}` at once.
 */
export class HoldServer {
  /** Paths of every request received, in arrival order. */
  readonly requests: string[] = [];
  readonly #held: Array<{ path: string; res: ServerResponse }> = [];
  readonly #waiters: Array<{ count: number; resolve: () => void }> = [];
  #server: Server | undefined;

  get origin(): string {
    return `http://${this.host}`;
  }

  /** `127.0.0.1:<port>`, the `allowed_hosts` entry. */
  get host(): string {
    const address = this.#server?.address() as AddressInfo;
    return `127.0.0.1:${address.port}`;
  }

  async start(): Promise<void> {
    this.#server = createServer((req, res) => {
      const path = req.url ?? '/';
      req.resume();
      req.on('end', () => {
        this.requests.push(path);
        for (const waiter of [...this.#waiters]) {
          if (this.requests.length >= waiter.count) {
            this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
            waiter.resolve();
          }
        }
        if (path.startsWith('/hold/')) this.#held.push({ path, res });
        else if (path !== '/never') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ ok: true, path }));
        }
      });
    });
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve));
  }

  /** Resolves once `count` requests in total have arrived (fails the test after `timeoutMs`). */
  waitForRequests(count: number, timeoutMs = 5_000): Promise<void> {
    if (this.requests.length >= count) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`HoldServer: ${count} requests expected, got ${this.requests.length}`)),
        timeoutMs,
      );
      this.#waiters.push({
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  /** Answers every held request (or those of one path) with `200 {"released":<path>}`. */
  release(path?: string): number {
    let released = 0;
    for (const held of [...this.#held]) {
      if (path !== undefined && held.path !== path) continue;
      this.#held.splice(this.#held.indexOf(held), 1);
      held.res.writeHead(200, { 'content-type': 'application/json' });
      held.res.end(JSON.stringify({ released: held.path }));
      released++;
    }
    return released;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#server?.closeAllConnections();
      this.#server?.close(() => resolve());
    });
  }
}

/** The local servers sandboxed actions reach in these tests. */
export interface SandboxPeers {
  /** An identity provider with a JWKS and a token endpoint. */
  idp: LocalIdp;
  /** A server that holds requests until released. */
  hold: HoldServer;
}

/**
 * Registers the mocha hooks that start a {@link SandboxPeers} before a describe block and stop it
 * after; the returned object's fields are set from the first test on.
 */
export function sandboxPeers(): SandboxPeers {
  const peers: Partial<SandboxPeers> = {};
  before(async () => {
    peers.idp = new LocalIdp();
    await peers.idp.start();
    peers.hold = new HoldServer();
    await peers.hold.start();
  });
  after(async () => {
    await peers.idp?.stop();
    await peers.hold?.stop();
  });
  return peers as SandboxPeers;
}
