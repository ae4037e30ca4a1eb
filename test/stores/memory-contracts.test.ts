import { MemoryLogSink } from '../../lib/logs/memory-log-sink.js';
import { MemoryActionCacheStore } from '../../lib/sandbox/capabilities/action-cache.js';
import { MemoryReplayStore } from '../../lib/stores/memory-replay-store.js';
import {
  actionCacheStoreContract,
  queryableLogSinkContract,
  replayStoreContract,
  userStoreContract,
} from '../../lib/testing/index.js';
import { MemoryUserStore } from '../../lib/users/memory-user-store.js';

describe('memory stores against the exported contracts', () => {
  replayStoreContract(() => new MemoryReplayStore(), { name: 'MemoryReplayStore' });
  actionCacheStoreContract(() => new MemoryActionCacheStore(), { name: 'MemoryActionCacheStore' });
  userStoreContract(() => new MemoryUserStore(), { name: 'MemoryUserStore' });
  queryableLogSinkContract(() => new MemoryLogSink(), { name: 'MemoryLogSink' });
});
