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
    | { type: "lock_left"; waited_ms: number }
  );

export type LockListener = (change: LockChange) => void;

interface LockState {
  holder: LockClaim | undefined;
  /**
   * Waiters in arrival order from `head` on. A waiter that leaves is only marked (it is
   * skipped when its turn comes), so leaving and passing the lock on cost O(1) each; a Set
   * was O(n) per release once many had left its front.
   */
  queue: LockClaim[];
  head: number;
  /** Waiters still queued, those marked as left not counted. */
  waiting: number;
}

/** Claims in a queue that have left it (withdrawn while waiting). */
const left = new WeakSet<LockClaim>();

/** Locks a server holds at once, by default: one lock costs a map entry, so this only stops abuse. */
export const DEFAULT_MAX_LOCK_CLAIMS = 10_000;

export class LockTable {
  private readonly locks = new Map<string, LockState>();
  private readonly listeners = new Set<LockListener>();
  private claims = 0;
  /** Set at shutdown: a released lock then goes to nobody, so no waiter is told it holds one. */
  private closed = false;

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
    if (!state) this.locks.set(lock, (state = { holder: undefined, queue: [], head: 0, waiting: 0 }));
    this.claims++;
    if (state.holder === undefined) {
      this.hold(state, claim);
    } else {
      state.queue.push(claim);
      state.waiting++;
      this.emit({ ...claimantOf(claim), lock, at: claim.requestedAt, type: "lock_waiting", held_by: claimantOf(state.holder) });
    }
    return claim;
  }

  /** From now on releases pass nothing on: the server is shutting down and every claim will end. */
  close(): void {
    this.closed = true;
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
    if (state.holder !== claim) {
      if (claim.acquiredAt !== undefined || left.has(claim)) return;
      left.add(claim);
      state.waiting--;
      this.claims--;
      const at = this.clock();
      this.emit({ ...claimantOf(claim), lock: claim.lock, at, type: "lock_left", waited_ms: at - claim.requestedAt });
      this.forgetIfIdle(claim.lock, state);
      return;
    }
    // A waiter whose client is gone declines: it is released in turn and the next one asked.
    for (let leaving: LockClaim | undefined = claim; leaving; ) {
      this.claims--;
      state.holder = undefined;
      const at = this.clock();
      this.emit({ ...claimantOf(leaving), lock: leaving.lock, at, type: "lock_released", held_ms: at - (leaving.acquiredAt ?? at) });
      const next = this.closed ? undefined : this.dequeue(state);
      if (next === undefined) break;
      this.hold(state, next);
      leaving = next.granted() ? undefined : next;
    }
    this.forgetIfIdle(claim.lock, state);
  }

  /** Every lock held or waited for, sorted by name, each with its holder and waiters in order. */
  snapshot(): Array<{ lock: string; holder: LockClaim | undefined; waiters: LockClaim[] }> {
    return [...this.locks]
      .map(([lock, state]) => ({ lock, holder: state.holder, waiters: queued(state) }))
      .sort((a, b) => (a.lock < b.lock ? -1 : a.lock > b.lock ? 1 : 0));
  }

  /** Who holds `lock` now, if anyone. */
  holderOf(lock: string): LockClaim | undefined {
    return this.locks.get(lock)?.holder;
  }

  /**
   * Where `claim` stands in its lock's queue: 1 for the next in line, undefined when it does
   * not wait. O(1) for the claim that joined last, O(queue) for the others.
   */
  positionOf(claim: LockClaim): number | undefined {
    const state = this.locks.get(claim.lock);
    if (!state || state.holder === claim || left.has(claim) || claim.acquiredAt !== undefined) return undefined;
    if (state.queue.at(-1) === claim) return state.waiting;
    let position = 0;
    for (let i = state.head; i < state.queue.length; i++) {
      const waiter = state.queue[i]!;
      if (left.has(waiter)) continue;
      position++;
      if (waiter === claim) return position;
    }
    return undefined;
  }

  /** The first waiter still queued, taken off the queue; the array is compacted as its front empties. */
  private dequeue(state: LockState): LockClaim | undefined {
    while (state.head < state.queue.length) {
      const next = state.queue[state.head++]!;
      if (left.has(next)) continue;
      state.waiting--;
      if (state.head > 1024 && state.head * 2 > state.queue.length) {
        state.queue = state.queue.slice(state.head);
        state.head = 0;
      }
      return next;
    }
    return undefined;
  }

  private hold(state: LockState, claim: LockClaim): void {
    state.holder = claim;
    claim.acquiredAt = this.clock();
    this.emit({ ...claimantOf(claim), lock: claim.lock, at: claim.acquiredAt, type: "lock_acquired", waited_ms: claim.acquiredAt - claim.requestedAt });
  }

  /** A lock nobody holds or wants takes no memory: names come and go with the scripts. */
  private forgetIfIdle(lock: string, state: LockState): void {
    if (state.holder === undefined && state.waiting === 0) this.locks.delete(lock);
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

/** The waiters still in `state`'s queue, in order. */
function queued(state: LockState): LockClaim[] {
  return state.queue.slice(state.head).filter((claim) => !left.has(claim));
}
