import type { UnitGraph, UnitStatus, UnitSummary } from "../graph/index.ts";
import type { LockEntry, LoggedEvent, TimelineResponse, WaitDetail } from "../protocol/index.ts";
import type { EventLog } from "./events.ts";
import { lockList } from "./lock-holds.ts";
import type { LockTable } from "./locks.ts";
import type { StartWaiters, WaitingStart } from "./waiters.ts";
import { timelineOf } from "./wire.ts";

/**
 * What an in-process reader (the supervisor behind `up`) may know of a running server, read
 * only: the units, the starts waiting right now and who started what, the timeline in its
 * wire form, and a call on every change. It is the one way to the server's state besides
 * HTTP, and nothing in it can change that state.
 */
export interface ServerView {
  /** The server's clock: wall-clock milliseconds with sub-millisecond steps. */
  now(): number;
  /** Every registered unit, sorted by name. */
  units(): UnitSummary[];
  /** The status of `unit`, or undefined when nobody registered it. */
  statusOf(unit: string): UnitStatus | undefined;
  /** The dependencies of `unit` whose requirement is not met yet. */
  unsatisfiedOf(unit: string): string[];
  /** The starts waiting right now, with the pid and script each client gave. */
  waitingStarts(): WaitingStart[];
  /** What a waiting start of `unit` waits for, as its waiting line says it. */
  detailsOf(unit: string): WaitDetail[];
  /** Every lock held or waited for, with who holds it and who waits, in order (as `GET /v1/locks`). */
  locks(): LockEntry[];
  /** The script whose `start` started `unit`, if a client named one. */
  starterOf(unit: string): string | undefined;
  /**
   * The timeline as `GET /v1/timeline` answers it, taken at `at` (default now); units in
   * `stopped` end at the moment their script was stopped.
   */
  timeline(at?: number, stopped?: ReadonlyMap<string, number>): TimelineResponse;
  /** Replays the logged events after `after` to `listener`, then every new one; returns the unfollow. */
  followEvents(after: number, listener: (event: LoggedEvent) => void): () => void;
  /** The number of the newest event (0 before the first). */
  lastEventSeq(): number;
  /** How many listeners follow the event log (the server's own log among them). */
  followers(): number;
  /** Calls `listener` after every graph change and every start that begins or stops waiting; returns the unsubscribe. */
  onChange(listener: () => void): () => void;
}

export function viewOf(graph: UnitGraph, waiters: StartWaiters, events: EventLog, now: () => number, locks: LockTable): ServerView {
  /** Every read settles the waiters first, as every request does: the view never lags an answer. */
  const settled = <T>(read: () => T): T => {
    waiters.settle();
    return read();
  };
  return {
    now,
    units: () => settled(() => graph.units()),
    statusOf: (unit) => settled(() => graph.statusOf(unit)),
    followEvents: (after, listener) => settled(() => events.follow(after, listener)),
    followers: () => events.followers,
    lastEventSeq: () => events.lastSeq,
    unsatisfiedOf: (unit) => settled(() => graph.unsatisfiedOf(unit)),
    waitingStarts: () => settled(() => waiters.waiting()),
    detailsOf: (unit) => settled(() => waiters.detailsOf(unit)),
    starterOf: (unit) => settled(() => waiters.starterOf(unit)),
    locks: () => settled(() => lockList(locks)),
    timeline: (at, stopped) => settled(() => timelineOf(graph, at ?? now(), stopped)),
    onChange(listener) {
      const unobserve = waiters.observe(listener);
      const unsubscribe = graph.subscribe(() => listener());
      const unwatch = locks.subscribe(() => listener());
      return () => {
        unobserve();
        unsubscribe();
        unwatch();
      };
    },
  };
}
