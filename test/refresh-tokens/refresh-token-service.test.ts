import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { OAuthError } from '../../lib/errors.js';
import { MemoryRefreshTokenStore } from '../../lib/index.js';
import type {
  RefreshTokenFamily,
  RefreshTokenFamilyUpdate,
  RefreshTokenRecord,
  RefreshTokenStore,
} from '../../lib/index.js';
import { RefreshTokenService } from '../../lib/refresh-tokens/refresh-token-service.js';
import { parseClient } from '../../lib/registry/clients.js';
import type { Client, ClientDefinition } from '../../lib/registry/clients.js';
import { rejectionAs } from '../support/rejections.js';

const T0 = Date.UTC(2026, 0, 1);
const API = 'https://api.example.com/';
const SCOPE = ['openid', 'read:orders', 'offline_access'];

function client(refresh_token: ClientDefinition['refresh_token'] = {}, client_id = 'app'): Client {
  return parseClient(
    { client_id, client_secret: 'app-secret-0123456789abcdef', name: client_id, refresh_token },
    'client',
  );
}

/** A store that records what it was given, over the memory store. */
class RecordingStore implements RefreshTokenStore {
  readonly created: Array<{ family: RefreshTokenFamily; token: RefreshTokenRecord }> = [];
  readonly successors: RefreshTokenRecord[] = [];
  constructor(readonly inner: RefreshTokenStore) {}
  find(hash: string, familyId: string) {
    return this.inner.find(hash, familyId);
  }
  create(family: RefreshTokenFamily, token: RefreshTokenRecord) {
    this.created.push({ family, token });
    return this.inner.create(family, token);
  }
  async compareAndSet(
    id: string,
    revision: number,
    update: RefreshTokenFamilyUpdate,
    successor?: RefreshTokenRecord,
  ) {
    const written = await this.inner.compareAndSet(id, revision, update, successor);
    if (written && successor) this.successors.push(successor);
    return written;
  }
  revokeFamily(id: string, at: number) {
    return this.inner.revokeFamily(id, at);
  }
  listFamilies(userId: string) {
    return this.inner.listFamilies(userId);
  }
}

const hash = (token: string) => createHash('sha256').update(token).digest('base64url');

const refusal = (promise: Promise<unknown>) => rejectionAs(promise, OAuthError);

describe('RefreshTokenService', () => {
  let now: number;
  let store: RecordingStore;
  let service: RefreshTokenService;
  beforeEach(() => {
    now = T0;
    // The store's own clock stands still: what ends a family here is the service's decision
    // (the store forgetting ended families has its own tests).
    store = new RecordingStore(new MemoryRefreshTokenStore({ now: () => T0 }));
    service = new RefreshTokenService({ store, now: () => now });
  });

  const issue = (c: Client = client(), userId = 'auth0|alice') =>
    service.issue({ client: c, userId, audience: API, scope: SCOPE, authTime: T0 / 1000 - 5 });

  /** inspect + redeem, as the token endpoint does. */
  async function refresh(token: string, clientId = 'app') {
    return service.redeem(await service.inspect(token, clientId));
  }

  async function expectInvalidGrant(promise: Promise<unknown>, cause: string | RegExp) {
    const error = await refusal(promise);
    expect(error.toJSON()).to.deep.equal({
      error: 'invalid_grant',
      error_description: 'Unknown or invalid refresh token.',
    });
    expect(error.status).to.equal(400);
    if (typeof cause === 'string') expect(error.privateCause).to.equal(cause);
    else expect(error.privateCause).to.match(cause);
  }

  describe('issue', () => {
    it('issues an opaque 256-bit token naming its family, and stores only its SHA-256, bound to client, user, API and scope', async () => {
      const { token, familyId } = await issue();
      expect(token).to.match(/^cte_rt_[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
      const [named, secret] = token.slice('cte_rt_'.length).split('.') as [string, string];
      expect(familyId).to.equal(`rtf_${named}`);
      expect(Buffer.from(named, 'base64url')).to.have.length(16);
      expect(Buffer.from(secret, 'base64url')).to.have.length(32);
      const [{ family, token: record }] = store.created as [(typeof store.created)[0]];
      expect(record).to.deep.equal({
        token_hash: createHash('sha256').update(token).digest('base64url'),
        family_id: familyId,
        generation: 0,
        created_at: T0,
      });
      expect(family).to.deep.equal({
        family_id: familyId,
        client_id: 'app',
        user_id: 'auth0|alice',
        audience: API,
        scope: SCOPE,
        auth_time: T0 / 1000 - 5,
        rotating: true,
        leeway: 0,
        created_at: T0,
        expires_at: T0 + 2592000 * 1000,
        idle_lifetime: 1296000,
        last_used_at: T0,
        generation: 0,
        rotated_at: null,
        revoked_at: null,
        revision: 0,
      });
      expect(JSON.stringify(store.created)).not.to.include(token.slice(7, 30));
    });

    it('draws a new token and family every time', async () => {
      const a = await issue();
      const b = await issue();
      expect(a.token).not.to.equal(b.token);
      expect(a.familyId).not.to.equal(b.familyId);
    });

    it('takes the client’s settings at issuance: infinite lifetimes are null', async () => {
      await issue(
        client({
          rotation_type: 'non-rotating',
          infinite_token_lifetime: true,
          infinite_idle_token_lifetime: true,
        }),
      );
      expect(store.created[0]!.family).to.include({
        rotating: false,
        expires_at: null,
        idle_lifetime: null,
      });
    });
  });

  describe('live families per user and client', () => {
    const limited = (max: number) =>
      new RefreshTokenService({ store, maxFamiliesPerUserAndClient: max, now: () => now });
    const issueWith = (svc: RefreshTokenService, c: Client = client(), userId = 'auth0|alice') =>
      svc.issue({ client: c, userId, audience: API, scope: SCOPE, authTime: now / 1000 });

    it('revokes the user’s oldest families with the client beyond the limit, and says so', async () => {
      const svc = limited(2);
      const first = await issueWith(svc);
      now += 1000;
      const second = await issueWith(svc);
      now += 1000;
      const other = await issueWith(svc, client({}, 'spa'));
      const bob = await issueWith(svc, client(), 'auth0|bob');
      expect([first, second, other, bob].map((issued) => issued.cleanup)).to.deep.equal([
        undefined,
        undefined,
        undefined,
        undefined,
      ]);
      now += 1000;
      const third = await issueWith(svc);
      expect(third.cleanup).to.deep.equal({
        live: 3,
        revoked: [(await store.find(hash(first.token), first.familyId))!.family].map((family) => ({
          ...family,
          revoked_at: null,
          revision: 0,
        })),
      });
      await expectInvalidGrant(
        service.inspect(first.token, 'app'),
        `refresh token family ${first.familyId} was revoked`,
      );
      for (const [issued, clientId] of [
        [second, 'app'],
        [third, 'app'],
        [other, 'spa'],
        [bob, 'app'],
      ] as const) {
        expect((await service.inspect(issued.token, clientId)).family.revoked_at).to.equal(null);
      }
    });

    it('does not count revoked or ended families, and keeps 200 by default', async () => {
      const svc = limited(1);
      const revoked = await issueWith(svc);
      await service.revoke(revoked.token);
      const ended = await issueWith(svc, client({ token_lifetime: 60, idle_token_lifetime: 60 }));
      now += 60_000;
      expect((await issueWith(svc)).cleanup).to.equal(undefined);

      const issued = [];
      for (let i = 0; i < 201; i++) {
        now += 1;
        issued.push(await issueWith(service, client(), 'auth0|carol'));
      }
      expect(issued.slice(0, 200).every((i) => i.cleanup === undefined)).to.equal(true);
      expect(issued[200]!.cleanup).to.include({ live: 201 });
      expect(issued[200]!.cleanup!.revoked.map((f) => f.family_id)).to.deep.equal([
        issued[0]!.familyId,
      ]);
      expect(ended.cleanup).to.equal(undefined);
    });

    it('revokes the oldest first among families issued within one millisecond (store order)', async () => {
      const svc = limited(2);
      const issued = [];
      for (let i = 0; i < 4; i++) issued.push(await issueWith(svc));
      expect(issued[2]!.cleanup!.revoked.map((f) => f.family_id)).to.deep.equal([
        issued[0]!.familyId,
      ]);
      expect(issued[3]!.cleanup!.revoked.map((f) => f.family_id)).to.deep.equal([
        issued[1]!.familyId,
      ]);
    });

    it('leaves exactly the newest families live after concurrent issuances', async () => {
      const svc = limited(2);
      const earlier = await issueWith(svc);
      now += 1;
      const concurrent = await Promise.all(Array.from({ length: 6 }, () => issueWith(svc)));
      const live = (await service.listForUser('auth0|alice')).filter((f) => f.active);
      const order = (await store.listFamilies('auth0|alice')).map((f) => f.family_id);
      expect(live.map((f) => f.family_id)).to.deep.equal(order.slice(-2));
      expect(order.slice(-2).every((id) => concurrent.some((i) => i.familyId === id))).to.equal(
        true,
      );
      expect(live.some((f) => f.family_id === earlier.familyId)).to.equal(false);
    });
  });

  describe('rotation (the default)', () => {
    it('retires the token presented and issues the next one; the scope never changes', async () => {
      const first = await issue();
      now += 1000;
      const second = await refresh(first.token);
      expect(second.refreshToken).to.match(/^cte_rt_/);
      expect(second.refreshToken).not.to.equal(first.token);
      expect(second.family).to.include({ generation: 1, rotated_at: now, last_used_at: now });
      expect(second.family.scope).to.deep.equal(SCOPE);
      now += 1000;
      const third = await refresh(second.refreshToken!);
      expect(third.family.generation).to.equal(2);
      expect(third.family.family_id).to.equal(first.familyId);
    });

    it('revokes the whole family when a rotated token is presented again (RFC 9700 §4.14.2)', async () => {
      const first = await issue();
      const second = await refresh(first.token);
      await expectInvalidGrant(
        service.inspect(first.token, 'app'),
        `reuse of a rotated refresh token (generation 0, current 1, outside the leeway): refresh token family ${first.familyId} of user "auth0|alice" revoked`,
      );
      // The legitimate holder's current token is gone too.
      await expectInvalidGrant(
        service.inspect(second.refreshToken!, 'app'),
        `refresh token family ${first.familyId} was revoked`,
      );
    });

    it('treats any older generation as reuse, whatever the leeway', async () => {
      const c = client({ leeway: 60 });
      const g0 = await issue(c);
      const g1 = await refresh(g0.token);
      await refresh(g1.refreshToken!);
      await expectInvalidGrant(
        service.inspect(g0.token, 'app'),
        /^reuse of a rotated refresh token \(generation 0, current 2\)/,
      );
    });
  });

  describe('leeway', () => {
    it('lets the token just retired be redeemed again within the leeway, for a sibling token', async () => {
      const g0 = await issue(client({ leeway: 30 }));
      const g1 = await refresh(g0.token);
      now += 30_000;
      const retry = await refresh(g0.token);
      expect(retry.refreshToken).to.match(/^cte_rt_/);
      expect(retry.refreshToken).not.to.equal(g1.refreshToken);
      // Both tokens of the current generation work; the family did not advance.
      expect(retry.family.generation).to.equal(1);
      const fromSibling = await refresh(retry.refreshToken!);
      expect(fromSibling.family.generation).to.equal(2);
    });

    it('counts a redemption after the leeway as reuse', async () => {
      const g0 = await issue(client({ leeway: 30 }));
      await refresh(g0.token);
      now += 30_001;
      await expectInvalidGrant(service.inspect(g0.token, 'app'), /outside the leeway/);
    });

    it('has no window at all with leeway 0', async () => {
      const g0 = await issue();
      await refresh(g0.token);
      await expectInvalidGrant(service.inspect(g0.token, 'app'), /outside the leeway/);
    });
  });

  describe('concurrent redemptions of one token', () => {
    it('with leeway 0: exactly one succeeds; the other is reuse and revokes the family', async () => {
      const { token, familyId } = await issue();
      const [a, b] = await Promise.all([
        service.inspect(token, 'app'),
        service.inspect(token, 'app'),
      ]);
      const results = await Promise.allSettled([service.redeem(a), service.redeem(b)]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).to.have.length(1);
      expect(lost).to.have.length(1);
      expect((lost[0]!.reason as OAuthError).error).to.equal('invalid_grant');
      expect((lost[0]!.reason as OAuthError).privateCause).to.match(/^reuse of a rotated/);
      expect((await service.listForUser('auth0|alice'))[0]).to.include({
        family_id: familyId,
        active: false,
      });
      expect(store.successors).to.have.length(1);
    });

    it('with a leeway: both succeed, each with its own successor', async () => {
      const { token } = await issue(client({ leeway: 5 }));
      const inspected = await Promise.all([
        service.inspect(token, 'app'),
        service.inspect(token, 'app'),
      ]);
      const [a, b] = await Promise.all(inspected.map((i) => service.redeem(i)));
      expect(a!.refreshToken).not.to.equal(b!.refreshToken);
      await refresh(a!.refreshToken!);
    });
  });

  describe('lifetimes (the injected clock)', () => {
    it('ends a family at its absolute lifetime however often it is used', async () => {
      const c = client({ token_lifetime: 3600, idle_token_lifetime: 1800 });
      const { token, familyId } = await issue(c);
      let current = token;
      for (let i = 0; i < 3; i += 1) {
        now += 1000 * 1000;
        current = (await refresh(current)).refreshToken!;
      }
      now = T0 + 3600 * 1000 - 1;
      const last = (await refresh(current)).refreshToken!;
      now = T0 + 3600 * 1000;
      await expectInvalidGrant(
        service.inspect(last, 'app'),
        `refresh token family ${familyId} reached its absolute lifetime (token_lifetime)`,
      );
    });

    it('ends a family that was not used within its idle lifetime, counted from the last use', async () => {
      const c = client({ token_lifetime: 86400, idle_token_lifetime: 600 });
      const { token, familyId } = await issue(c);
      now += 599_000;
      const next = (await refresh(token)).refreshToken!;
      now += 600_000;
      await expectInvalidGrant(
        service.inspect(next, 'app'),
        `refresh token family ${familyId} was idle past its idle_token_lifetime`,
      );
    });

    it('never ends a family with infinite lifetimes', async () => {
      const c = client({ infinite_token_lifetime: true, infinite_idle_token_lifetime: true });
      const { token } = await issue(c);
      now += 10 * 365 * 86400 * 1000;
      expect((await refresh(token)).refreshToken).to.match(/^cte_rt_/);
    });
  });

  describe('non-rotating families', () => {
    it('keep one token, usable again and again, whose idle lifetime slides with each use', async () => {
      const c = client({ rotation_type: 'non-rotating', idle_token_lifetime: 600 });
      const { token } = await issue(c);
      for (let i = 0; i < 3; i += 1) {
        now += 500_000;
        const redemption = await refresh(token);
        expect(redemption.refreshToken).to.equal(undefined);
        expect(redemption.family).to.include({ generation: 0, last_used_at: now });
      }
      expect(store.successors).to.deep.equal([]);
    });

    it('answer concurrent redemptions all successfully', async () => {
      const { token } = await issue(client({ rotation_type: 'non-rotating' }));
      const inspected = await Promise.all([1, 2, 3].map(() => service.inspect(token, 'app')));
      const results = await Promise.all(inspected.map((i) => service.redeem(i)));
      expect(results).to.have.length(3);
    });
  });

  describe('binding and revocation', () => {
    it('refuses a token to another client without revoking it', async () => {
      const { token } = await issue();
      await expectInvalidGrant(
        service.inspect(token, 'spa'),
        'the refresh token was issued to client "app"',
      );
      expect((await refresh(token)).refreshToken).to.match(/^cte_rt_/);
    });

    it('refuses unknown and malformed tokens', async () => {
      for (const token of ['cte_rt_' + 'A'.repeat(22) + '.' + 'A'.repeat(43), 'not-ours', '']) {
        await expectInvalidGrant(
          service.inspect(token, 'app'),
          'the refresh token is not known (ended or forgotten)',
        );
      }
      expect(await service.knows('cte_rt_' + 'A'.repeat(22) + '.' + 'A'.repeat(43))).to.equal(
        false,
      );
    });

    it('revoke(token) ends the token’s family, even a retired token within the leeway', async () => {
      const g0 = await issue(client({ leeway: 60 }));
      const g1 = await refresh(g0.token);
      expect(await service.revoke(g1.refreshToken!)).to.equal(true);
      expect(await service.revoke(g1.refreshToken!)).to.equal(false);
      await expectInvalidGrant(service.inspect(g0.token, 'app'), /was revoked$/);
      expect(await service.revoke('cte_rt_' + 'B'.repeat(22) + '.' + 'B'.repeat(43))).to.equal(
        false,
      );
    });

    it('revokeForUser ends every family of a user, or those of one client', async () => {
      const app = await issue();
      const spa = await issue(client({}, 'spa'));
      const bob = await issue(client(), 'auth0|bob');
      expect(await service.revokeForUser('auth0|alice', { client_id: 'spa' })).to.equal(1);
      await expectInvalidGrant(service.inspect(spa.token, 'spa'), /was revoked$/);
      await service.inspect(app.token, 'app');
      expect(await service.revokeForUser('auth0|alice')).to.equal(1);
      await expectInvalidGrant(service.inspect(app.token, 'app'), /was revoked$/);
      expect(await service.revokeForUser('auth0|alice')).to.equal(0);
      await service.inspect(bob.token, 'app');
    });

    it('revokeForClient only revokes the client’s own token (RFC 7009)', async () => {
      const { token, familyId } = await issue();
      expect(await service.revokeForClient(token, 'spa')).to.equal(undefined);
      const revoked = await service.revokeForClient(token, 'app');
      expect(revoked!.family_id).to.equal(familyId);
      expect(await service.revokeForClient(token, 'app')).to.equal(undefined);
    });

    it('listForUser shows families with ISO dates and never a token', async () => {
      const { token, familyId } = await issue(
        client({ token_lifetime: 7200, idle_token_lifetime: 600 }),
      );
      now += 60_000;
      await service.revokeFamily(familyId);
      const list = await service.listForUser('auth0|alice');
      expect(list).to.deep.equal([
        {
          family_id: familyId,
          client_id: 'app',
          user_id: 'auth0|alice',
          audience: API,
          scope: SCOPE,
          rotating: true,
          created_at: new Date(T0).toISOString(),
          last_used_at: new Date(T0).toISOString(),
          expires_at: new Date(T0 + 7_200_000).toISOString(),
          idle_expires_at: new Date(T0 + 600_000).toISOString(),
          revoked_at: new Date(T0 + 60_000).toISOString(),
          active: false,
        },
      ]);
      expect(JSON.stringify(list)).not.to.include(token.slice(7));
      let error: unknown;
      await service.revokeFamily('').catch((err: unknown) => (error = err));
      expect(error).to.be.instanceOf(TypeError);
    });
  });

  it('answers 503 when the family keeps changing under a redemption', async () => {
    const { token } = await issue(client({ rotation_type: 'non-rotating' }));
    const inspected = await service.inspect(token, 'app');
    const busy = new RefreshTokenService({
      store: {
        find: (hash, familyId) => store.find(hash, familyId),
        create: (f, t) => store.create(f, t),
        compareAndSet: async () => false,
        revokeFamily: (id, at) => store.revokeFamily(id, at),
        listFamilies: (id) => store.listFamilies(id),
      },
      now: () => now,
    });
    const error = await refusal(busy.redeem(inspected));
    expect(error.status).to.equal(503);
    expect(error.error).to.equal('temporarily_unavailable');
    expect(error.headers).to.deep.equal({ 'Retry-After': '1' });
  });
});
