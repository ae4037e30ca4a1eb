import { expect } from 'chai';
import { HashCheckGate, checkClientSecret } from '../../lib/client-auth/client-secret-check.js';
import { OAuthError } from '../../lib/errors.js';
import { hashClientSecret } from '../../lib/registry/client-secret-hash.js';
import { parseClient } from '../../lib/registry/clients.js';
import type { Client } from '../../lib/registry/clients.js';

const CURRENT = 'current-secret-0123456789abcdef';
const PREVIOUS = 'previous-secret-0123456789abcdef';

async function hashed(clientId: string, ...secrets: string[]): Promise<Client> {
  return parseClient(
    {
      client_id: clientId,
      name: clientId,
      token_endpoint_auth_method: 'client_secret_basic',
      client_secret_hash: await Promise.all(
        secrets.map((secret) => hashClientSecret(secret, { logN: 10 })),
      ),
    },
    'client',
  );
}

/** A gate whose every slot is held until `release()`. */
function heldGate(): { gate: HashCheckGate; release: () => void } {
  const gate = new HashCheckGate(1, 0);
  let release!: () => void;
  void gate.run(() => new Promise<void>((resolve) => (release = resolve)));
  return { gate, release: () => release() };
}

describe('checkClientSecret', () => {
  it('accepts either of two secrets in clear during a rotation, and nothing else', async () => {
    const client = parseClient(
      { client_id: 'app', name: 'App', client_secret: [CURRENT, PREVIOUS] },
      'client',
    );
    for (const secret of [CURRENT, PREVIOUS]) {
      expect(await checkClientSecret(client, 'app', secret, 'client_secret_post')).to.deep.equal({
        ok: true,
        client,
      });
    }
    expect(
      await checkClientSecret(client, 'app', 'wrong-secret-0123456789', 'client_secret_post'),
    ).to.deep.equal({ ok: false, privateCause: 'wrong client secret (client_secret_post)' });
  });

  it('checks a hashed secret, either of two hashes, or a hash beside a secret in clear', async () => {
    const client = await hashed('hashed', CURRENT, PREVIOUS);
    for (const secret of [CURRENT, PREVIOUS]) {
      expect(
        await checkClientSecret(client, 'hashed', secret, 'client_secret_basic'),
      ).to.deep.equal({ ok: true, client });
    }
    expect(
      await checkClientSecret(client, 'hashed', `${CURRENT}!`, 'client_secret_basic'),
    ).to.deep.equal({ ok: false, privateCause: 'wrong client secret (client_secret_basic)' });
    const mixed = parseClient(
      {
        client_id: 'mixed',
        name: 'Mixed',
        client_secret: CURRENT,
        client_secret_hash: await hashClientSecret(PREVIOUS, { logN: 10 }),
      },
      'client',
    );
    for (const secret of [CURRENT, PREVIOUS]) {
      expect((await checkClientSecret(mixed, 'mixed', secret, 'client_secret_post')).ok).to.equal(
        true,
      );
    }
  });

  it('checks a hash once per secret: a secret that matched is then checked by its digest', async () => {
    const client = await hashed('hashed', CURRENT);
    expect((await checkClientSecret(client, 'hashed', CURRENT, 'client_secret_basic')).ok).to.equal(
      true,
    );
    const { gate, release } = heldGate();
    try {
      // No slot is free and nothing may wait: only a check by digest can answer.
      expect(
        (await checkClientSecret(client, 'hashed', CURRENT, 'client_secret_basic', gate)).ok,
      ).to.equal(true);
      const busy = await checkClientSecret(
        client,
        'hashed',
        'another-guess-0123456789',
        'client_secret_basic',
        gate,
      ).then(
        () => expect.fail('a hash was checked past the gate'),
        (error: unknown) => error as OAuthError,
      );
      expect(busy).to.be.instanceOf(OAuthError);
      expect([busy.status, busy.error, busy.headers]).to.deep.equal([
        503,
        'temporarily_unavailable',
        { 'Retry-After': '1' },
      ]);
      expect(busy.privateCause).to.equal('1 client secret hash checks in progress or waiting');
    } finally {
      release();
    }
  });

  it('shares one hash check among concurrent requests with one secret', async () => {
    const client = await hashed('hashed', CURRENT);
    const gate = new HashCheckGate(1, 0);
    const answers = await Promise.all(
      Array.from({ length: 5 }, () =>
        checkClientSecret(client, 'hashed', CURRENT, 'client_secret_basic', gate),
      ),
    );
    expect(answers.map((answer) => answer.ok)).to.deep.equal([true, true, true, true, true]);
  });

  it('never checks a hash for an unknown client or the wrong method', async () => {
    const client = await hashed('hashed', CURRENT);
    const { gate, release } = heldGate();
    try {
      expect(
        await checkClientSecret(undefined, 'nobody', CURRENT, 'client_secret_basic', gate),
      ).to.deep.equal({ ok: false, privateCause: 'unknown client "nobody" (client_secret_basic)' });
      expect(
        await checkClientSecret(client, 'hashed', CURRENT, 'client_secret_post', gate),
      ).to.deep.equal({
        ok: false,
        privateCause: 'client is registered for client_secret_basic, not client_secret_post',
      });
    } finally {
      release();
    }
  });
});

describe('HashCheckGate', () => {
  it('runs at most maxRunning at once, queues up to maxWaiting, and refuses beyond', async () => {
    const gate = new HashCheckGate(2, 1);
    let running = 0;
    let most = 0;
    const releases: Array<() => void> = [];
    const work = () =>
      new Promise<void>((resolve) => {
        running += 1;
        most = Math.max(most, running);
        releases.push(() => {
          running -= 1;
          resolve();
        });
      });
    const started = [gate.run(work), gate.run(work), gate.run(work)];
    await new Promise((resolve) => setImmediate(resolve));
    expect(running).to.equal(2);
    const refused = await gate.run(work).then(
      () => 'ran',
      (error: unknown) => (error as OAuthError).status,
    );
    expect(refused).to.equal(503);
    releases.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
    expect(running).to.equal(2);
    while (releases.length > 0) {
      releases.shift()!();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(started);
    expect(most).to.equal(2);
    expect(running).to.equal(0);
    // The slots came back: it runs again.
    expect(await gate.run(async () => 'again')).to.equal('again');
  });
});
