import type { GraphChange, UnitGraph } from "../graph/index.ts";
import type { ErrorBody, LoggedEvent } from "../protocol/index.ts";
import type { LockChange, LockTable } from "./locks.ts";

/** How many events the log keeps; older ones are dropped, so a long-lived server stays small. */
export const EVENT_LOG_CAPACITY = 10_000;

type Change = GraphChange | LockChange;

export type EventListener = (event: LoggedEvent) => void;

/** Told why a follow ended from the server's side (it shuts down). */
export type FollowEnd = (error: ErrorBody["error"]) => void;

/**
 * The server's event log: the last `capacity` graph changes, numbered from 1, kept
 * as the graph emitted them and turned into wire entries only when someone reads them.
 * A change's number is where it lies in the ring, not a field: nothing is kept beside it.
 */
export class EventLog {
  private readonly ring: (Change | undefined)[];
  private nextSeq = 1;
  /** Each follower's listener, and what to call if the server ends the follow. */
  private readonly listeners = new Map<EventListener, FollowEnd>();

  constructor(
    graph: UnitGraph,
    private readonly capacity = EVENT_LOG_CAPACITY,
  ) {
    this.ring = new Array(capacity);
    graph.subscribe((change) => this.record(change));
  }

  /** Logs the changes of `locks` too, in the same sequence as the graph's. */
  watch(locks: LockTable): void {
    locks.subscribe((change) => this.record(change));
  }

  /** How many clients follow the log right now. */
  get followers(): number {
    return this.listeners.size;
  }

  /** Sequence number of the newest event (0 before the first). */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /** Sequence number of the oldest event still held (one past the newest when empty). */
  get firstSeq(): number {
    return Math.max(1, this.nextSeq - this.capacity);
  }

  /** Events with `seq` above `after`, oldest first. */
  since(after = 0): LoggedEvent[] {
    const entries: LoggedEvent[] = [];
    for (let seq = Math.max(after + 1, this.firstSeq); seq < this.nextSeq; seq++) {
      entries.push(toEntry(seq, this.ring[seq % this.capacity]!));
    }
    return entries;
  }

  /**
   * Replays the events after `after` to `listener`, then calls it with every new one, in
   * one synchronous step so that none is missed or seen twice. Returns the unsubscribe.
   */
  follow(after: number, listener: EventListener, onEnd: FollowEnd = () => {}): () => void {
    for (const entry of this.since(after)) listener(entry);
    // Asked to start beyond the newest event: skip the ones up to `after` as they come.
    const fresh: EventListener = (entry) => entry.seq > after && listener(entry);
    this.listeners.set(fresh, onEnd);
    return () => this.listeners.delete(fresh);
  }

  /** Ends every follow, telling each follower `error`; for shutdown. */
  endFollowers(error: ErrorBody["error"]): void {
    const ends = [...this.listeners.values()];
    this.listeners.clear();
    for (const end of ends) end(error);
  }

  private record(change: Change): void {
    const seq = this.nextSeq++;
    this.ring[seq % this.capacity] = change;
    if (this.listeners.size === 0) return;
    const entry = toEntry(seq, change);
    for (const listener of this.listeners.keys()) listener(entry);
  }
}

// The time of the last entry made: a failure cone's thousands of changes share one instant.
let lastAt = Number.NaN;
let lastTime = "";

function toEntry(seq: number, change: Change): LoggedEvent {
  const { at, ...rest } = change;
  if (at !== lastAt) {
    lastAt = at;
    lastTime = new Date(at).toISOString();
  }
  return { seq, time: lastTime, ...rest } as LoggedEvent;
}
