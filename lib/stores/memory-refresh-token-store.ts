import type {
  RefreshTokenFamily,
  RefreshTokenFamilyUpdate,
  RefreshTokenRecord,
  RefreshTokenStore,
  StoredRefreshToken,
} from './refresh-token-store.js';
import { familyEndsAt } from './refresh-token-store.js';

/** Options of {@link MemoryRefreshTokenStore}. */
export interface MemoryRefreshTokenStoreOptions {
  /**
   * Most families kept at once; default 100 000. To make room for a new family the store
   * forgets, in this order: families that ended; revoked families, the earliest revoked first
   * (their tokens are then unknown, so a refresh with one goes to the host instead of being
   * refused here); the new family's user's own oldest live family (`evicted` counts these).
   * It never forgets another user's live family: when the store is full of those,
   * {@link MemoryRefreshTokenStore.create} rejects, and the exchange fails with `server_error`.
   */
  maxFamilies?: number;
  /**
   * Most tokens kept per family; default 100. Rotated tokens are kept to recognise their reuse;
   * past this many, the oldest are forgotten (a reuse of one of those is no longer recognised, and
   * goes to the host as an unknown token). The newest token is never forgotten.
   */
  maxTokensPerFamily?: number;
  /** Clock in milliseconds since the epoch; default `Date.now`. Tests pass a fake one. */
  now?: () => number;
}

interface FamilyEntry {
  family: RefreshTokenFamily;
  /** Hashes of the family's tokens, oldest first. */
  tokens: string[];
}

/** Ended families are looked for at most this often (and whenever the store is full). */
const SWEEP_INTERVAL_MS = 60_000;

/**
 * An in-process {@link RefreshTokenStore}: bounded (families and tokens per family), expiring (a
 * family is dropped once it ended, see `familyEndsAt`; revoked families are kept until then, or
 * until room is needed, so their tokens are still refused by the router rather than handed to the
 * host). Correct for a single process only.
 *
 * Everything runs synchronously inside each call, so compare-and-set is atomic in the process.
 * Nothing runs from a timer (nothing keeps the process alive): ended families are swept during
 * calls, at most once a minute, in one pass over the families.
 */
export class MemoryRefreshTokenStore implements RefreshTokenStore {
  readonly #maxFamilies: number;
  readonly #maxTokensPerFamily: number;
  readonly #now: () => number;
  readonly #families = new Map<string, FamilyEntry>();
  readonly #tokens = new Map<string, RefreshTokenRecord>();
  /** Each user's families, in creation order. */
  readonly #familiesByUser = new Map<string, Set<string>>();
  /** Revoked families, in the order they were revoked. */
  readonly #revoked = new Set<string>();
  #lastSweep = -Infinity;
  #evicted = 0;

  constructor(options: MemoryRefreshTokenStoreOptions = {}) {
    const { maxFamilies = 100_000, maxTokensPerFamily = 100, now = Date.now } = options;
    if (!Number.isSafeInteger(maxFamilies) || maxFamilies < 1) {
      throw new TypeError(
        'MemoryRefreshTokenStore: options.maxFamilies must be a positive integer',
      );
    }
    if (!Number.isSafeInteger(maxTokensPerFamily) || maxTokensPerFamily < 2) {
      throw new TypeError(
        'MemoryRefreshTokenStore: options.maxTokensPerFamily must be an integer of at least 2',
      );
    }
    if (typeof now !== 'function') {
      throw new TypeError('MemoryRefreshTokenStore: options.now must be a function');
    }
    this.#maxFamilies = maxFamilies;
    this.#maxTokensPerFamily = maxTokensPerFamily;
    this.#now = now;
  }

  /** Families held (ended ones are dropped by the next sweep). */
  get size(): number {
    return this.#families.size;
  }

  /** Live families forgotten to make room (always their own user's) since the store was created. */
  get evicted(): number {
    return this.#evicted;
  }

  /** Always resolves: memory is always reachable. */
  ping(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * {@inheritDoc RefreshTokenStore.find}
   * Tokens are indexed by hash alone here: the family id is not needed.
   */
  find(tokenHash: string, _familyId?: string): Promise<StoredRefreshToken | undefined> {
    this.#sweepIfDue();
    const token = this.#tokens.get(tokenHash);
    const entry = token && this.#families.get(token.family_id);
    if (!token || !entry) return Promise.resolve(undefined);
    return Promise.resolve({ token: { ...token }, family: copy(entry.family) });
  }

  /** {@inheritDoc RefreshTokenStore.create} */
  create(family: RefreshTokenFamily, token: RefreshTokenRecord): Promise<void> {
    try {
      this.#createNow(family, token);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  /** {@inheritDoc RefreshTokenStore.compareAndSet} */
  compareAndSet(
    familyId: string,
    expectedRevision: number,
    update: RefreshTokenFamilyUpdate,
    successor?: RefreshTokenRecord,
  ): Promise<boolean> {
    const entry = this.#families.get(familyId);
    if (!entry || entry.family.revision !== expectedRevision || entry.family.revoked_at !== null) {
      return Promise.resolve(false);
    }
    entry.family = {
      ...entry.family,
      ...update,
      revision: entry.family.revision + 1,
    };
    if (successor) {
      this.#tokens.set(successor.token_hash, { ...successor });
      entry.tokens.push(successor.token_hash);
      while (entry.tokens.length > this.#maxTokensPerFamily) {
        this.#tokens.delete(entry.tokens.shift()!);
      }
    }
    return Promise.resolve(true);
  }

  /** {@inheritDoc RefreshTokenStore.revokeFamily} */
  revokeFamily(familyId: string, revokedAt: number): Promise<boolean> {
    const entry = this.#families.get(familyId);
    if (!entry || entry.family.revoked_at !== null) return Promise.resolve(false);
    entry.family = { ...entry.family, revoked_at: revokedAt, revision: entry.family.revision + 1 };
    this.#revoked.add(familyId);
    return Promise.resolve(true);
  }

  /** {@inheritDoc RefreshTokenStore.listFamilies} */
  listFamilies(userId: string): Promise<RefreshTokenFamily[]> {
    this.#sweepIfDue();
    const ids = this.#familiesByUser.get(userId) ?? new Set<string>();
    const families = [...ids].map((id) => copy(this.#families.get(id)!.family));
    return Promise.resolve(families);
  }

  #createNow(family: RefreshTokenFamily, token: RefreshTokenRecord): void {
    if (token.family_id !== family.family_id) {
      throw new TypeError('MemoryRefreshTokenStore.create: the token belongs to another family');
    }
    if (this.#families.has(family.family_id) || this.#tokens.has(token.token_hash)) {
      throw new Error('MemoryRefreshTokenStore.create: the family or the token exists already');
    }
    this.#sweepIfDue();
    if (this.#families.size >= this.#maxFamilies) this.#makeRoomFor(family.user_id);
    this.#families.set(family.family_id, { family: copy(family), tokens: [token.token_hash] });
    this.#tokens.set(token.token_hash, { ...token });
    let ids = this.#familiesByUser.get(family.user_id);
    if (!ids) this.#familiesByUser.set(family.user_id, (ids = new Set()));
    ids.add(family.family_id);
  }

  /** See {@link MemoryRefreshTokenStoreOptions.maxFamilies}. */
  #makeRoomFor(userId: string): void {
    this.#sweep();
    for (const familyId of this.#revoked) {
      if (this.#families.size < this.#maxFamilies) return;
      this.#delete(familyId);
    }
    for (const familyId of this.#familiesByUser.get(userId) ?? []) {
      if (this.#families.size < this.#maxFamilies) return;
      this.#delete(familyId);
      this.#evicted += 1;
    }
    if (this.#families.size >= this.#maxFamilies) {
      throw new Error(
        `MemoryRefreshTokenStore.create: the store holds maxFamilies (${this.#maxFamilies}) live ` +
          'families of other users; raise maxFamilies or use a shared store',
      );
    }
  }

  #sweepIfDue(): void {
    if (this.#now() - this.#lastSweep >= SWEEP_INTERVAL_MS) this.#sweep();
  }

  #sweep(): void {
    const now = this.#now();
    this.#lastSweep = now;
    for (const [id, entry] of this.#families) {
      if (familyEndsAt(entry.family) <= now) this.#delete(id);
    }
  }

  #delete(familyId: string): void {
    const entry = this.#families.get(familyId);
    if (!entry) return;
    this.#families.delete(familyId);
    this.#revoked.delete(familyId);
    for (const hash of entry.tokens) this.#tokens.delete(hash);
    const ids = this.#familiesByUser.get(entry.family.user_id);
    ids?.delete(familyId);
    if (ids?.size === 0) this.#familiesByUser.delete(entry.family.user_id);
  }
}

function copy(family: RefreshTokenFamily): RefreshTokenFamily {
  return { ...family, scope: [...family.scope] };
}
