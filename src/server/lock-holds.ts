import { LONGEST_TIMER_MS, UnitsyncError, type LockClaimEntry, type LockEntry, type LockLine } from "../protocol/index.ts";
import type { LineSink } from "./http.ts";
import { claimantOf, type Claimant, type LockClaim, type LockTable } from "./locks.ts";
import { iso } from "./wire.ts";

/** Where a lock request's lines go; the lock is held for as long as it stays open. */
export type LockSink = Pick<LineSink<LockLine>, "write" | "end" | "gone">;

/** Lock requests waiting or holding at once, by default: each holds a connection. */
export const DEFAULT_MAX_LOCK_REQUESTS = 10_000;

/**
 * The `unitsync lock` requests: each claim on the lock table lives exactly as long as its
 * client's connection, so a client that exits, is killed or loses the socket releases what
 * it held (or leaves the queue) the moment the server sees the connection close.
 */
export class LockHolds {
  private readonly open = new Set<{ claim: LockClaim; sink: LockSink }>();

  constructor(
    private readonly locks: LockTable,
    private readonly maxRequests = DEFAULT_MAX_LOCK_REQUESTS,
  ) {}

  /**
   * Takes `lock` for the client behind `sink`, at once or when its turn comes, writing
   * `acquired` then; waits at most `timeoutMs` (0: for ever). Returns what to call when the
   * client goes away: it releases the lock or leaves the queue.
   */
  begin(lock: string, claimant: Claimant, sink: LockSink, timeoutMs: number): () => void {
    if (this.open.size >= this.maxRequests) {
      throw new UnitsyncError("limit_exceeded", `${this.open.size} lock requests are already open, the most this server allows`);
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const claim = this.locks.request(lock, claimant, () => {
      if (sink.gone) return false;
      clearTimeout(timer);
      sink.write({ type: "acquired", lock, waited_ms: Math.round(claim.acquiredAt! - claim.requestedAt) });
      return true;
    });
    const entry = { claim, sink };
    this.open.add(entry);
    if (this.locks.holds(claim)) {
      sink.write({ type: "acquired", lock, waited_ms: 0 });
    } else {
      sink.write({ type: "waiting", lock, held_by: claimantOf(this.locks.holderOf(lock)!), position: this.locks.positionOf(claim)! });
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          const held = this.locks.holderOf(lock);
          this.end(entry);
          sink.write({
            type: "error",
            error: { code: "timeout", message: `timeout waiting for lock ${JSON.stringify(lock)}${held ? `, held by ${whoIs(held)}` : ""}` },
          });
          sink.end();
        }, Math.min(timeoutMs, LONGEST_TIMER_MS));
      }
    }
    return () => {
      clearTimeout(timer);
      this.end(entry);
    };
  }

  /** Ends every request, e.g. at shutdown: waiters hear `line`, holders just lose the lock. */
  endAll(line: LockLine): void {
    for (const entry of [...this.open]) {
      const waiting = !this.locks.holds(entry.claim);
      this.end(entry);
      if (waiting) entry.sink.write(line);
      entry.sink.end();
    }
  }

  private end(entry: { claim: LockClaim; sink: LockSink }): void {
    if (!this.open.delete(entry)) return;
    this.locks.withdraw(entry.claim);
  }
}

/** A claimant in a one-line message: `10-apt.sh, pid 42`. */
export function whoIs({ unit, script, pid }: Claimant): string {
  const said = [unit === undefined ? undefined : `unit ${JSON.stringify(unit)}`, script, pid === undefined ? undefined : `pid ${pid}`];
  const parts = said.filter((part) => part !== undefined);
  return parts.length === 0 ? "a client" : parts.join(", ");
}

/** `GET /v1/locks`: every lock held or waited for, by name, with its holder and its queue in order. */
export function lockList(locks: LockTable): LockEntry[] {
  return locks.snapshot().map(({ lock, holder, waiters }) => {
    const entry: LockEntry = { lock, waiters: waiters.map(claimEntry) };
    if (holder) entry.holder = claimEntry(holder);
    return entry;
  });
}

function claimEntry(claim: LockClaim): LockClaimEntry {
  const entry: LockClaimEntry = { ...claimantOf(claim), requested_at: iso(claim.requestedAt) };
  if (claim.acquiredAt !== undefined) entry.acquired_at = iso(claim.acquiredAt);
  return entry;
}
