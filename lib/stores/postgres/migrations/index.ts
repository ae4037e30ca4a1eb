import { replayKeys } from './0001-replay-keys.js';
import { users } from './0002-users.js';
import { logEntries } from './0003-log-entries.js';
import { refreshTokens } from './0004-refresh-tokens.js';
import { clients } from './0005-clients.js';
import { signingKeys } from './0006-signing-keys.js';
import { organizations } from './0007-organizations.js';
import { revokedTokens } from './0008-revoked-tokens.js';
import { configDocuments } from './0009-config-documents.js';
import { permissions } from './0010-permissions.js';
import type { Migration } from './migration.js';

/** Every migration, in version order. A new one is a new file and one more line here. */
export const MIGRATIONS: readonly Migration[] = [
  replayKeys,
  users,
  logEntries,
  refreshTokens,
  clients,
  signingKeys,
  organizations,
  revokedTokens,
  configDocuments,
  permissions,
];
