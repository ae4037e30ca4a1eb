import { MemoryLogSink } from '../../lib/logs/memory-log-sink.js';
import { MemoryActionCacheStore } from '../../lib/sandbox/capabilities/action-cache.js';
import { MemoryClientStore } from '../../lib/registry/memory-client-store.js';
import { MemoryAttemptStore } from '../../lib/stores/memory-attempt-store.js';
import { MemoryRefreshTokenStore } from '../../lib/stores/memory-refresh-token-store.js';
import { MemoryReplayStore } from '../../lib/stores/memory-replay-store.js';
import {
  actionCacheStoreContract,
  attemptStoreContract,
  clientStoreContract,
  keyStoreContract,
  organizationStoreContract,
  permissionStoreContract,
  queryableLogSinkContract,
  refreshTokenStoreContract,
  replayStoreContract,
  userStoreContract,
} from '../../lib/testing/index.js';
import { MemoryKeyStore } from '../../lib/tokens/key-store.js';
import { MemoryUserStore } from '../../lib/users/memory-user-store.js';
import { MemoryOrganizationStore } from '../../lib/organizations/memory-organization-store.js';
import { MemoryPermissionStore } from '../../lib/permissions/memory-permission-store.js';

describe('memory stores against the exported contracts', () => {
  replayStoreContract(() => new MemoryReplayStore(), { name: 'MemoryReplayStore' });
  actionCacheStoreContract(() => new MemoryActionCacheStore(), { name: 'MemoryActionCacheStore' });
  userStoreContract(() => new MemoryUserStore(), { name: 'MemoryUserStore' });
  organizationStoreContract(() => new MemoryOrganizationStore(), {
    name: 'MemoryOrganizationStore',
  });
  permissionStoreContract(() => new MemoryPermissionStore(), { name: 'MemoryPermissionStore' });
  queryableLogSinkContract(() => new MemoryLogSink(), { name: 'MemoryLogSink' });
  refreshTokenStoreContract(() => new MemoryRefreshTokenStore(), {
    name: 'MemoryRefreshTokenStore',
  });
  attemptStoreContract((clock) => new MemoryAttemptStore({ now: () => clock.now }), {
    name: 'MemoryAttemptStore',
  });
  clientStoreContract(() => new MemoryClientStore(), { name: 'MemoryClientStore' });
  // One store for the suite: a key store holds one schedule, shared by its tests.
  const keys = new MemoryKeyStore();
  keyStoreContract(() => keys, { name: 'MemoryKeyStore' });
});
