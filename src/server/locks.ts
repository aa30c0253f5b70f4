/**
 * Named locks: one holder each, waiters served first come, first served. Pure and
 * synchronous like the graph (time comes from the clock passed in, no timers, no I/O): the
 * routes tie each claim to its client's open connection and call `withdraw` when it closes.
 */

/** Who claims a lock, as the client said: its process, its script, and the unit it runs for. */
export interface Claimant {
  pid?: number;
  script?: string;
  /** Set when `run --lock` or a start with a lock asks on behalf of a unit. */
  unit?: string;
}

/** One request for a lock, waiting or holding. */
export interface LockClaim extends Claimant {
  readonly lock: string;
  /** When the claim was made, and when it got the lock (undefined while it waits). */
  requestedAt: number;
  acquiredAt: number | undefined;
  /**
   * Called, synchronously inside the release that frees the lock, when this waiter becomes
   * the holder. Returning false declines (its client is gone): the lock moves on at once.
   */
  granted: () => boolean;
}

/** What the lock table tells the event log. */
export type LockChange = Claimant & { lock: string; at: number } & (
    | { type: "lock_waiting"; held_by: Claimant }
    | { type: "lock_acquired"; waited_ms: number }
    | { type: "lock_released"; held_ms: number }
  );

export type LockListener = (change: LockChange) => void;

interface LockState {
  holder: LockClaim | undefined;
  /** Waiters in arrival order; a Set keeps that order and drops a leaver in O(1). */
  queue: Set<LockClaim>;
}

/** Locks a server holds at once, by default: one lock costs a map entry, so this only stops abuse. */
export const DEFAULT_MAX_LOCK_CLAIMS = 10_000;

export class LockTable {
  private readonly locks = new Map<string, LockState>();
  private readonly listeners = new Set<LockListener>();
  private claims = 0;

  constructor(private readonly clock: () => number) {}

  /** Calls `listener` after every change; returns the unsubscribe. */
  subscribe(listener: LockListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Claims waiting or holding, over every lock. */
  get size(): number {
    return this.claims;
  }

  /**
   * Asks for `lock`: the claim holds it at once when nobody does (true), or joins the end of
   * its queue (false) and hears `granted` when its turn comes.
   */
  request(lock: string, claimant: Claimant, granted: () => boolean): LockClaim {
    const claim: LockClaim = { ...claimant, lock, requestedAt: this.clock(), acquiredAt: undefined, granted };
    let state = this.locks.get(lock);
    if (!state) this.locks.set(lock, (state = { holder: undefined, queue: new Set() }));
    this.claims++;
    if (state.holder === undefined) {
      this.hold(state, claim);
    } else {
      state.queue.add(claim);
      this.emit({ ...claimantOf(claim), lock, at: claim.requestedAt, type: "lock_waiting", held_by: claimantOf(state.holder) });
    }
    return claim;
  }

  /** Whether `claim` holds its lock now. */
  holds(claim: LockClaim): boolean {
    return this.locks.get(claim.lock)?.holder === claim;
  }

  /**
   * Ends `claim`: a holder releases the lock, which passes at once to the first waiter that
   * takes it; a waiter leaves the queue. Ending a claim twice does nothing.
   */
  withdraw(claim: LockClaim): void {
    const state = this.locks.get(claim.lock);
    if (!state) return;
    if (state.queue.delete(claim)) {
      this.claims--;
      this.forgetIfIdle(claim.lock, state);
      return;
    }
    if (state.holder !== claim) return;
    // A waiter whose client is gone declines: it is released in turn and the next one asked.
    for (let leaving: LockClaim | undefined = claim; leaving; ) {
      this.claims--;
      state.holder = undefined;
      const at = this.clock();
      this.emit({ ...claimantOf(leaving), lock: leaving.lock, at, type: "lock_released", held_ms: at - (leaving.acquiredAt ?? at) });
      const next: LockClaim | undefined = state.queue.values().next().value;
      if (next === undefined) break;
      state.queue.delete(next);
      this.hold(state, next);
      leaving = next.granted() ? undefined : next;
    }
    this.forgetIfIdle(claim.lock, state);
  }

  /** Every lock held or waited for, sorted by name, each with its holder and waiters in order. */
  snapshot(): Array<{ lock: string; holder: LockClaim | undefined; waiters: LockClaim[] }> {
    return [...this.locks]
      .map(([lock, { holder, queue }]) => ({ lock, holder, waiters: [...queue] }))
      .sort((a, b) => (a.lock < b.lock ? -1 : a.lock > b.lock ? 1 : 0));
  }

  /** The holder of `lock` and its waiters, or undefined when nobody holds or wants it. */
  stateOf(lock: string): { holder: LockClaim | undefined; waiters: LockClaim[] } | undefined {
    const state = this.locks.get(lock);
    return state && { holder: state.holder, waiters: [...state.queue] };
  }

  private hold(state: LockState, claim: LockClaim): void {
    state.holder = claim;
    claim.acquiredAt = this.clock();
    this.emit({ ...claimantOf(claim), lock: claim.lock, at: claim.acquiredAt, type: "lock_acquired", waited_ms: claim.acquiredAt - claim.requestedAt });
  }

  /** A lock nobody holds or wants takes no memory: names come and go with the scripts. */
  private forgetIfIdle(lock: string, state: LockState): void {
    if (state.holder === undefined && state.queue.size === 0) this.locks.delete(lock);
  }

  private emit(change: LockChange): void {
    for (const listener of this.listeners) listener(change);
  }
}

/** The claimant's identity alone, without absent fields, for events and the wire. */
export function claimantOf({ pid, script, unit }: Claimant): Claimant {
  const who: Claimant = {};
  if (pid !== undefined) who.pid = pid;
  if (script !== undefined) who.script = script;
  if (unit !== undefined) who.unit = unit;
  return who;
}
