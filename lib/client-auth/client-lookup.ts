import type { Client } from '../registry/clients.js';

/**
 * Looks a client up by id; `undefined` when there is none. It may answer at once (clients held
 * in memory) or through a promise (a registry in a database, behind a cache).
 */
export type ClientLookup = (clientId: string) => Client | undefined | Promise<Client | undefined>;
