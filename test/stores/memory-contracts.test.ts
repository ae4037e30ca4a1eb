import { MemoryLogSink } from '../../lib/logs/memory-log-sink.js';
import { MemoryActionCacheStore } from '../../lib/sandbox/capabilities/action-cache.js';
import { MemoryAttemptStore } from '../../lib/stores/memory-attempt-store.js';
import { MemoryRefreshTokenStore } from '../../lib/stores/memory-refresh-token-store.js';
import { MemoryReplayStore } from '../../lib/stores/memory-replay-store.js';
import {
  actionCacheStoreContract,
  attemptStoreContract,
  queryableLogSinkContract,
  refreshTokenStoreContract,
  replayStoreContract,
  userStoreContract,
} from '../../lib/testing/index.js';
import { MemoryUserStore } from '../../lib/users/memory-user-store.js';

describe('memory stores against the exported contracts', () => {
  replayStoreContract(() => new MemoryReplayStore(), { name: 'MemoryReplayStore' });
  actionCacheStoreContract(() => new MemoryActionCacheStore(), { name: 'MemoryActionCacheStore' });
  userStoreContract(() => new MemoryUserStore(), { name: 'MemoryUserStore' });
  queryableLogSinkContract(() => new MemoryLogSink(), { name: 'MemoryLogSink' });
  refreshTokenStoreContract(() => new MemoryRefreshTokenStore(), {
    name: 'MemoryRefreshTokenStore',
  });
  attemptStoreContract((clock) => new MemoryAttemptStore({ now: () => clock.now }), {
    name: 'MemoryAttemptStore',
  });
});
