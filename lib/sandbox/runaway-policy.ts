import { ActionFailure } from './action-runner.js';
import { BoundedLru } from './capabilities/bounded-lru.js';

/** Executions in a row that end at their CPU budget or memory limit: a runaway. */
export const RUNAWAY_STREAK = 3;
/** A runaway is suspended this long, twice as long each time it runs away again. */
export const RUNAWAY_SUSPENSION_MS = 10_000;
const MAX_RUNAWAY_SUSPENSION_MS = 5 * 60_000;
/** Callers whose streaks are remembered, across all actions (the least recent are forgotten). */
const MAX_TRACKED_CALLERS = 10_000;

/** The failures that mark an execution as a runaway: CPU budget or memory limit. */
const RUNAWAY_FAILURES = new WeakSet<ActionFailure>();

/** Marks `failure` as the end of an execution the sandbox stopped (CPU budget, memory limit). */
export function runawayFailure(failure: ActionFailure): ActionFailure {
  RUNAWAY_FAILURES.add(failure);
  return failure;
}

/** Failures of the host, not of the action: they neither count toward a streak nor end one. */
const HOST_STALLED = new WeakSet<ActionFailure>();

/**
 * Marks `failure` as an execution stopped because the host was not running (descheduled), not
 * because the action used its budget.
 */
export function hostStalledFailure(failure: ActionFailure): ActionFailure {
  HOST_STALLED.add(failure);
  return failure;
}

function isRunaway(failure: unknown): boolean {
  return failure instanceof ActionFailure && RUNAWAY_FAILURES.has(failure);
}

interface Streak {
  /** Runaways in a row. */
  count: number;
  /** Epoch ms; 0 when not suspended yet. */
  suspendedUntil: number;
  /** The next suspension's length. */
  suspensionMs: number;
}

interface ActionStreak extends Streak {
  /** The distinct callers of the runaways in the current streak. */
  callers: Set<string>;
}

/**
 * Suspends runaways: an action whose executions keep running until the sandbox stops them costs the
 * server that much per request while doing nothing useful. After {@link RUNAWAY_STREAK} runaways in
 * a row its executions are refused at once with `overloaded` (503 and `Retry-After`) for
 * {@link RUNAWAY_SUSPENSION_MS}, doubling (up to five minutes) while the first execution after each
 * suspension runs away again; a completed execution ends the streak.
 *
 * A runaway may come from one caller's input (a subject token built to make the action's parsing
 * slow), so streaks are kept per caller (the key the router passes, the client's IP bucket): that
 * caller alone is suspended. The action itself is suspended for everyone only when the runaways in
 * a row come from at least {@link RUNAWAY_STREAK} distinct callers, with no completion between
 * them: what an action broken for every input looks like.
 */
export class RunawayPolicy {
  readonly #now: () => number;
  readonly #actions = new Map<string, ActionStreak>();
  readonly #callers = new BoundedLru<string, Streak>(MAX_TRACKED_CALLERS);
  /** Bumped when an action's version is replaced: its callers' older streaks are out of reach. */
  readonly #generations = new Map<string, number>();

  constructor(now: () => number) {
    this.#now = now;
  }

  /**
   * @param caller who the execution is for; executions without one count as one caller
   * @throws ActionFailure `overloaded` while the action is suspended, for everyone or for `caller`
   */
  admit(actionId: string, caller: string | undefined): void {
    if (this.#actions.size === 0 && this.#callers.size === 0) return;
    const now = this.#now();
    const action = this.#actions.get(actionId);
    if (action !== undefined && now < action.suspendedUntil) {
      throw suspended(actionId, action, now, '');
    }
    const own = this.#callers.get(this.#callerKey(actionId, caller));
    if (own !== undefined && now < own.suspendedUntil) {
      throw suspended(actionId, own, now, caller === undefined ? '' : ' for this caller');
    }
  }

  /** Counts how an execution of `actionId` for `caller` ended (`failure` undefined: it completed). */
  record(actionId: string, caller: string | undefined, failure: unknown): void {
    if (failure instanceof ActionFailure && HOST_STALLED.has(failure)) return;
    if (!isRunaway(failure)) {
      if (this.#actions.size === 0 && this.#callers.size === 0) return;
      this.#actions.delete(actionId);
      this.#callers.delete(this.#callerKey(actionId, caller));
      return;
    }
    const key = this.#callerKey(actionId, caller);
    const own = this.#callers.get(key) ?? newStreak();
    this.#callers.set(key, own);
    this.#count(own);
    let action = this.#actions.get(actionId);
    if (action === undefined) {
      action = { ...newStreak(), callers: new Set() };
      this.#actions.set(actionId, action);
    }
    action.callers.add(caller ?? '');
    if (action.callers.size >= RUNAWAY_STREAK) this.#count(action);
    else action.count += 1;
  }

  /** Suspensions in force now: of actions (for everyone), and of one caller of an action. */
  suspensions(): { actions: number; callers: number } {
    const now = this.#now();
    let actions = 0;
    for (const streak of this.#actions.values()) if (now < streak.suspendedUntil) actions += 1;
    let callers = 0;
    for (const [key, streak] of this.#callers.entries()) {
      // A streak of a replaced version's callers is out of reach: no longer in force.
      if (now < streak.suspendedUntil && this.#isCurrent(key)) callers += 1;
    }
    return { actions, callers };
  }

  /** Another version is live: suspensions of the old one's runaways do not carry over. */
  forget(actionId: string): void {
    this.#actions.delete(actionId);
    this.#generations.set(actionId, (this.#generations.get(actionId) ?? 0) + 1);
  }

  #callerKey(actionId: string, caller: string | undefined): string {
    return `${actionId}\u0000${this.#generations.get(actionId) ?? 0}\u0000${caller ?? ''}`;
  }

  /** Whether a caller key is of its action's current generation. */
  #isCurrent(key: string): boolean {
    const [actionId = '', generation] = key.split('\u0000', 2);
    return generation === String(this.#generations.get(actionId) ?? 0);
  }

  #count(streak: Streak): void {
    streak.count += 1;
    const now = this.#now();
    if (streak.count >= RUNAWAY_STREAK && now >= streak.suspendedUntil) {
      streak.suspendedUntil = now + streak.suspensionMs;
      streak.suspensionMs = Math.min(streak.suspensionMs * 2, MAX_RUNAWAY_SUSPENSION_MS);
    }
  }
}

function newStreak(): Streak {
  return { count: 0, suspendedUntil: 0, suspensionMs: RUNAWAY_SUSPENSION_MS };
}

function suspended(actionId: string, streak: Streak, now: number, scope: string): ActionFailure {
  const seconds = (streak.suspendedUntil - now) / 1000;
  return new ActionFailure(
    'overloaded',
    `action ${actionId} is suspended${scope} for ${Math.ceil(seconds)} s: its last ${streak.count} executions ran until the sandbox stopped them (CPU budget or memory limit)`,
    seconds,
  );
}
