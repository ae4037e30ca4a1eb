import { expect } from 'chai';
import {
  ACTION_REPLAY_LIMITS,
  ActionReplay,
} from '../../../lib/sandbox/capabilities/action-replay.js';
import { MemoryReplayStore } from '../../../lib/stores/memory-replay-store.js';
import type { ReplayStore } from '../../../lib/stores/replay-store.js';
import { StoreUnavailableError } from '../../../lib/stores/store-deadline.js';
import { rejection } from '../fixtures/capability-rejection.js';

const T0 = Date.UTC(2030, 0, 1);
const NOW_S = T0 / 1000;

/** A replay store that records what it was asked and answers through `inner`. */
function recordingStore(inner: ReplayStore = new MemoryReplayStore({ now: () => T0 })) {
  const calls: Array<[string, number]> = [];
  const store: ReplayStore = {
    consume(key, expiresAtSeconds) {
      calls.push([key, expiresAtSeconds]);
      return inner.consume(key, expiresAtSeconds);
    },
  };
  return { store, calls };
}

describe('ActionReplay (api.replay.consume)', () => {
  it('answers true the first time a key is consumed and false after, keys kept per action', async () => {
    const { store, calls } = recordingStore();
    const first = new ActionReplay(store, 'act_a', () => T0);
    expect(await first.consume('jti-1', { expiresAt: NOW_S + 600 })).to.equal(true);
    expect(await first.consume('jti-1', { expiresAt: NOW_S + 600 })).to.equal(false);
    // Another execution of the same action sees the key; another action has keys of its own.
    expect(
      await new ActionReplay(store, 'act_a', () => T0).consume('jti-1', { expiresAt: NOW_S + 600 }),
    ).to.equal(false);
    expect(
      await new ActionReplay(store, 'act_b', () => T0).consume('jti-1', { expiresAt: NOW_S + 600 }),
    ).to.equal(true);
    expect(calls.map(([key]) => key)).to.deep.equal([
      'action-replay:act_a:jti-1',
      'action-replay:act_a:jti-1',
      'action-replay:act_a:jti-1',
      'action-replay:act_b:jti-1',
    ]);
    expect(first.failure).to.equal(undefined);
  });

  it('remembers a key until expiresAt, and at least five minutes whatever expiresAt says', async () => {
    const { store, calls } = recordingStore();
    const replay = new ActionReplay(store, 'act_a', () => T0);
    await replay.consume('later', { expiresAt: NOW_S + 3600 });
    await replay.consume('past', { expiresAt: NOW_S - 30 });
    await replay.consume('soon', { expiresAt: NOW_S + 10.5 });
    expect(calls.map(([, until]) => until)).to.deep.equal([
      NOW_S + 3600,
      NOW_S + ACTION_REPLAY_LIMITS.minRememberSeconds,
      NOW_S + ACTION_REPLAY_LIMITS.minRememberSeconds,
    ]);
  });

  const badCalls: Array<[string, unknown, unknown, string]> = [
    ['an empty key', '', { expiresAt: NOW_S }, 'key must be a string of 1 to 256 characters'],
    [
      'a key of 257 characters',
      'k'.repeat(257),
      { expiresAt: NOW_S },
      'key must be a string of 1 to 256 characters',
    ],
    [
      'a key that is a number',
      42,
      { expiresAt: NOW_S },
      'key must be a string of 1 to 256 characters',
    ],
    [
      'no options',
      'k',
      undefined,
      'options.expiresAt must be a number of seconds since the epoch (a JWT exp)',
    ],
    ['expiresAt a string', 'k', { expiresAt: String(NOW_S) }, 'options.expiresAt must be a number'],
    ['expiresAt NaN', 'k', { expiresAt: Number.NaN }, 'options.expiresAt must be a number'],
    [
      'expiresAt in milliseconds',
      'k',
      { expiresAt: T0 + 60_000 },
      'options.expiresAt is more than 366 days away; give it in seconds',
    ],
  ];
  for (const [name, key, options, message] of badCalls) {
    it(`rejects ${name} with a TypeError named ERR_INVALID_ARGUMENT, touching no store`, async () => {
      const { store, calls } = recordingStore();
      const error = await rejection(
        new ActionReplay(store, 'act_a', () => T0).consume(key, options),
      );
      expect(error.name).to.equal('TypeError');
      expect(error.code).to.equal('ERR_INVALID_ARGUMENT');
      expect(error.message).to.contain(`api.replay.consume: ${message}`);
      expect(calls).to.deep.equal([]);
    });
  }

  it('takes at most 10 calls per execution', async () => {
    const { store, calls } = recordingStore();
    const replay = new ActionReplay(store, 'act_a', () => T0);
    for (let i = 0; i < ACTION_REPLAY_LIMITS.maxCallsPerExecution; i++) {
      expect(await replay.consume(`k${i}`, { expiresAt: NOW_S + 60 })).to.equal(true);
    }
    const error = await rejection(replay.consume('one-more', { expiresAt: NOW_S + 60 }));
    expect(error.code).to.equal('ERR_REPLAY_LIMIT');
    expect(error.message).to.equal('api.replay.consume: at most 10 calls per execution');
    expect(calls).to.have.length(10);
  });

  it('remembers a store failure and rejects without the store’s message', async () => {
    const outage = new StoreUnavailableError('Redis: no answer within 500 ms');
    const replay = new ActionReplay({ consume: () => Promise.reject(outage) }, 'act_a', () => T0);
    const error = await rejection(replay.consume('k', { expiresAt: NOW_S + 60 }));
    expect(error.code).to.equal('ERR_REPLAY_STORE_UNAVAILABLE');
    expect(error.message).to.equal(
      'api.replay.consume: the replay store failed; the exchange fails whatever the action does next',
    );
    expect(replay.failure).to.equal(outage);
  });
});
