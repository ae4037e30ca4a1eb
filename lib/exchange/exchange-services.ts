import type { Request } from 'express';
import type { TenantLog } from '../logs/tenant-log.js';
import type { Config } from '../options.js';
import type { ActionRegistry } from '../profiles/action-registry.js';
import type { PostExchangeHook } from '../profiles/post-exchange-hook.js';
import type { ProfileRegistry } from '../profiles/profile-registry.js';
import type { Client, ClientRegistry } from '../registry/clients.js';
import type { ResourceServerRegistry } from '../registry/resource-servers.js';
import type { ActionRunner } from '../sandbox/action-runner.js';
import type { KeySet } from '../tokens/key-set.js';
import type { UserStore } from '../users/user-store.js';
import type { ClientGrantIndex } from './client-grants.js';

/** Everything the token endpoint's steps use, built once by `customTokenExchange()`. */
export interface ExchangeServices {
  config: Config;
  clients: ClientRegistry;
  resourceServers: ResourceServerRegistry;
  clientGrants: ClientGrantIndex;
  profiles: ProfileRegistry;
  actions: ActionRegistry;
  /** The optional post-exchange action (custom claims), run after the profile's action. */
  postExchange: PostExchangeHook;
  runner: ActionRunner;
  users: UserStore;
  keys: KeySet;
  log: TenantLog;
  authenticateClient(req: Request): Promise<Client>;
}
